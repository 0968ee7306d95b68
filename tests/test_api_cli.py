"""`launchpad api` as a user starts it: uvicorn serving the app, with or without the access log."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from launchpad.devserver import free_port

pytestmark = pytest.mark.temporal  # `launchpad api` runs uvicorn in a subprocess


def serve(tmp_path: Path, *flags: str) -> str:
    """Start `launchpad api`, fetch /openapi.json and a missing route once, stop it; what it printed."""
    config = tmp_path / "launchpad_configs.yaml"
    config.write_text(f"temporalio:\n  servers: [{{name: local, ip: 127.0.0.1, port: {free_port()}}}]\n")
    port = free_port()
    out = tmp_path / f"api{len(flags)}.log"
    with out.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "launchpad", "api", "--config", str(config), "--port", str(port), *flags],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    answer = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        pytest.fail(f"launchpad api did not start: {out.read_text()}")
                    time.sleep(0.2)
            assert answer.status_code == 200
            assert answer.json()["info"]["title"] == "launchpad"
            assert httpx.get(f"http://127.0.0.1:{port}/no-such-route?x=1", timeout=2).status_code == 404
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=15)
    return out.read_text()


def test_api_logs_each_request_by_default(tmp_path: Path) -> None:
    """uvicorn's access line (client, request line with the query, status), once per request."""
    printed = serve(tmp_path)
    assert printed.count('"GET /openapi.json HTTP/1.1" 200') == 1
    assert printed.count('"GET /no-such-route?x=1 HTTP/1.1" 404') == 1
    assert "127.0.0.1:" in printed.split('"GET /openapi.json')[0].splitlines()[-1]


def test_api_without_access_log_still_serves(tmp_path: Path) -> None:
    printed = serve(tmp_path, "--no-access-log")
    assert "GET /openapi.json" not in printed
    assert "Uvicorn running on" in printed  # the server's own log stays
