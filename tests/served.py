"""`launchpad api` in a child process on a free port: the real server (uvicorn) in front of the app."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from launchpad.devserver import free_port


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serve_api(config: Path, *flags: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Start `launchpad api --config CONFIG`, wait until it answers, stop it (SIGINT, then SIGKILL)."""
    port = free_port()
    log = config.parent / f"api-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "launchpad", "api", "--config", str(config), "--port", str(port), *flags],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=config.parent,
            env=env,
        )
        served = Served(f"http://127.0.0.1:{port}", process, log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{served.url}/openapi.json", timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        pytest.fail(f"launchpad api did not start:\n{served.output()}")
                    time.sleep(0.2)
            yield served
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
