"""`launchpad setup` then `launchpad dev` as a newcomer runs them: a commit is deployed within
seconds, the API answers with a token, and Ctrl-C stops everything, leaving no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from launchpad.devserver import free_port, temporal_cli
from tests.gitrepo import GIT_ENV, git
from tests.helpers import eventually_now

pytestmark = pytest.mark.temporal  # `launchpad dev` starts a dev server of its own

TASK = """\
name: nightly
runner: ScheduledWorkflowRunner
workflow:
  task_queue: demo
  workflow_id: nightly
  workflow: Task
  scheduler_id: nightly-{suffix}
  intervals: [{{every: 1d}}]
  workflow_kwargs: {{activity: say_hello, args: [night]}}
"""


def session_processes(sid: int) -> list[int]:
    """Processes of a session (the dev command started one; its children stay in it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    found.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return found


def test_setup_then_dev_deploys_a_commit_and_stops_cleanly(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    setup = subprocess.run(
        [sys.executable, "-m", "launchpad", "setup", "--name", "demo", "--path", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert setup.returncode == 0, setup.stderr
    port, ui_port, api_port = free_port(), free_port(), free_port()
    env = {**os.environ, "LAUNCHPAD_ADMIN_PASSWORD": "a-long-dev-password", "LAUNCHPAD_SECRET": "dev-secret-123456"}
    log = (tmp_path / "dev.log").open("w")
    dev = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "launchpad",
            "dev",
            "--port",
            str(port),
            "--ui-port",
            str(ui_port),
            "--api-port",
            str(api_port),
            "--interval",
            "0.5",
        ],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{api_port}"
    try:

        def healthy() -> bool:
            assert dev.poll() is None, (tmp_path / "dev.log").read_text()
            try:
                return httpx.get(f"{api}/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        eventually_now(healthy, 90, "launchpad dev answering /health", interval=0.3)
        printed = (tmp_path / "dev.log").read_text()
        assert f"http://127.0.0.1:{ui_port}" in printed and f"http://127.0.0.1:{api_port}/docs" in printed

        suffix = str(api_port)
        (project / "deployments/tasks/nightly.yaml").write_text(TASK.format(suffix=suffix))
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "a nightly schedule")

        def deployed() -> bool:
            listed = subprocess.run(
                [temporal_cli(), "schedule", "list", "--address", f"127.0.0.1:{port}", "-o", "json"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
                env={**os.environ, **GIT_ENV},
            )
            return f"nightly-{suffix}" in listed.stdout

        eventually_now(deployed, 10, "the commit deployed", interval=0.3)

        token = httpx.post(
            f"{api}/auth/token", data={"username": "admin", "password": "a-long-dev-password"}, timeout=30
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        status = httpx.get(f"{api}/sync/status", headers=headers, timeout=30).json()
        assert ("schedule", "nightly", "Synced") in {(o["kind"], o["name"], o["status"]) for o in status["objects"]}
        assert httpx.get(f"{api}/sync/status", timeout=30).status_code == 401

        assert len(session_processes(dev.pid)) >= 2, "the dev server runs as a child"
        dev.send_signal(signal.SIGINT)
        stopped = time.monotonic()
        dev.wait(timeout=10)
        assert time.monotonic() - stopped < 10
        assert dev.returncode == 0, (tmp_path / "dev.log").read_text()
        eventually_now(lambda: session_processes(dev.pid) == [], 3, "every child process gone")
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
        log.close()
