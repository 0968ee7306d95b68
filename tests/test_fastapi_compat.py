"""functions/fastapi_compat.py: declaring the routes does not load `pydantic.v1`; v1 models are still refused."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

try:
    from fastapi._compat import shared
except ImportError:  # pragma: no cover - a FastAPI without the check
    shared = None


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)


def test_declaring_the_api_does_not_load_pydantic_v1() -> None:
    done = run("""
        import sys
        import functions.handler
        from functions.app import create_app
        assert "pydantic.v1" not in sys.modules, "loaded by the import"
        """)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shared is None or not hasattr(shared, "is_pydantic_v1_model_class"), reason="no v1 check here")
def test_a_pydantic_v1_model_is_still_refused() -> None:
    done = run("""
        import warnings
        warnings.simplefilter("ignore")
        import functions.routes
        from fastapi import APIRouter
        from pydantic import v1

        class Old(v1.BaseModel):
            x: int

        try:
            APIRouter().get("/old", response_model=Old)(lambda: None)
        except Exception as exc:
            print(type(exc).__name__, exc)
        else:
            raise SystemExit("a v1 model was accepted")
        """)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "pydantic.v1 models are no longer supported" in done.stdout
