"""FastAPI's check for `pydantic.v1` models, run only once something has loaded `pydantic.v1`.

FastAPI (0.12x and later) checks the types of every route it declares against
`pydantic.v1.BaseModel`, importing `pydantic.v1` to do it: the largest single cost of declaring
launchpad's routes, ~25 ms of each Lambda cold start (docs/lambda.md). No `pydantic.v1` model can
exist before that module is loaded, so until then the answer is "no" without importing it; once
anything has loaded it, FastAPI's own check runs and refuses v1 models as before.
"""

import sys
from typing import Any


def guard_pydantic_v1_check() -> None:
    try:
        from fastapi._compat import shared
    except ImportError:  # a FastAPI without the check
        return
    check = getattr(shared, "is_pydantic_v1_model_class", None)
    if check is None:
        return

    def checked(cls: Any) -> bool:
        return "pydantic.v1" in sys.modules and bool(check(cls))

    shared.is_pydantic_v1_model_class = checked


guard_pydantic_v1_check()
