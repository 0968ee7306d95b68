"""AWS for tests: one moto server (a real HTTP endpoint, as boto3 sees AWS) for the session.

Import the fixture by name in a test module (`from tests.aws import moto_server`). It sets
AWS_ENDPOINT_URL (which boto3 honours natively), fake credentials and a region for the rest of
the session, and restores the environment when the session ends.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from launchpad.devserver import free_port
from tests.helpers import eventually_now


def _command(port: int) -> list[str]:
    beside = Path(sys.executable).parent / "moto_server"
    if beside.exists():
        return [str(beside), "-H", "127.0.0.1", "-p", str(port)]
    if found := shutil.which("moto_server"):
        return [found, "-H", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def _answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, f"moto_server exited with {process.returncode}"
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The endpoint URL of a running moto server; AWS clients made during the session use it."""
    pytest.importorskip("moto.server", reason="moto[server] is not installed (pip install 'moto[server]')")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = pytest.MonkeyPatch()
    try:
        eventually_now(lambda: _answers(url, process), 30, f"moto_server answering at {url}", interval=0.05)
        env.setenv("AWS_ENDPOINT_URL", url)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"):
            env.delenv(name, raising=False)
        yield url
    finally:
        env.undo()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
