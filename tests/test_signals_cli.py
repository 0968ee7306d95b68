"""Signals of the commands as a user runs them: `launchpad start --log-format json` (every line
JSON, no secret in any line) and `launchpad notify test` (through HTTP and through Apprise)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchpad.devserver import free_port
from tests.apiharness import task_text
from tests.conftest import ENGINE_QUEUE, Engine
from tests.gitrepo import GitRepo
from tests.helpers import eventually_now, gitops_config_file
from tests.receiver import Receiver, receivers

SECRET_VALUE = "env-injected-s3cret-7f3a9"
PASSWORD = "admin-pa55word-xyz"
JSON_LOGS = ("--interval", "1", "--log-format", "json")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    for [started] in receivers("ok"):
        yield started


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_start_logs_json_lines_with_context_and_no_secret(tmp_path: Path, engine: Engine) -> None:
    repo = GitRepo(tmp_path)
    prefix = f"log{uuid.uuid4().hex[:6]}"
    repo.write("deployments/tasks/hello.yaml", task_text("hello", f"{prefix}-hello", args='["${LP_TOKEN}"]'))
    repo.write(
        "deployments/tasks/nightly.yaml",
        f"""
        name: nightly
        runner: ScheduledWorkflowRunner
        workflow:
          task_queue: {ENGINE_QUEUE}
          workflow_id: {prefix}-nightly
          workflow: Task
          scheduler_id: {prefix}-nightly
          intervals: [{{every: 1d}}]
          workflow_kwargs: {{activity: one, args: ["${{LP_TOKEN}}"]}}
        """,
    )
    repo.commit("hello and nightly, with a secret from the environment")
    api_port = free_port()
    config = gitops_config_file(
        engine.server,
        repo.remote,
        tmp_path,
        f"""
app: {{secret: json-logs-jwt-secret-0123456789}}
authenticator:
  base_users: [{{username: admin, password: "{PASSWORD}", auth_level: [user, super user]}}]
""",
    )
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    env = {**os.environ, "LP_TOKEN": SECRET_VALUE}
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "launchpad", "start", "--config", str(config), "--port", str(api_port), *JSON_LOGS],
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
        try:
            eventually_now(
                lambda: any(d.get("kind") == "schedule" for d in lines_of(out)), 60, "the sync's lines", interval=0.2
            )
            base = f"http://127.0.0.1:{api_port}"
            login = httpx.post(f"{base}/auth/token", data={"username": "admin", "password": PASSWORD}, timeout=30)
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access_token']}", "X-Request-ID": "req-0001"}
            deployed = httpx.post(f"{base}/tasks/deploy/hello", json={}, headers=auth, timeout=30)
            assert deployed.status_code == 200, deployed.text
            eventually_now(
                lambda: any(d.get("request_id") == "req-0001" for d in lines_of(out)),
                60,
                "the request's line",
                interval=0.2,
            )
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)

    printed = out.read_text()
    docs = lines_of(out)  # every line of stdout is one JSON object
    assert len(docs) == len(printed.splitlines())
    assert all({"time", "level", "logger", "message"} <= set(d) for d in docs)
    synced = [d for d in docs if d["message"].startswith("sync ") and d.get("sync_id")]
    assert synced and all(d["trigger"] == "watch" and d["revision"] == repo.head() for d in synced)
    [created] = [d for d in docs if d.get("kind") == "schedule" and d.get("name") == "nightly"]
    assert created["action"] == "create" and created["result"] == "succeeded"
    assert created["temporal_id"] == f"{prefix}-nightly" and created["sync_id"] == synced[0]["sync_id"]
    [request] = [d for d in docs if d.get("request_id") == "req-0001" and d["logger"] == "launchpad.access"]
    assert request["method"] == "POST" and request["route"] == "/tasks/deploy/{name}" and request["status"] == 200
    assert request["user"] == "admin" and request["duration"] > 0
    [deploy] = [d for d in docs if d.get("task") == "hello"]
    assert (
        deploy["request_id"] == "req-0001" and deploy["runner"] == "WorkflowRunner" and deploy["result"] == "succeeded"
    )
    everything = printed + err.read_text()
    assert SECRET_VALUE not in everything and PASSWORD not in everything


def notify_config(tmp_path: Path, url: str, fmt: str = "generic", more: str = "") -> Path:
    config = tmp_path / "launchpad_configs.yaml"
    target = f'name: team, url: "{url}", format: {fmt}, events: [degraded]{more}'
    config.write_text(f"notifications:\n  - {{{target}}}\n")
    return config


def notify_test(config: Path, target: str = "team") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launchpad", "notify", "test", target, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_notify_test_sends_a_sample_and_prints_the_answer(tmp_path: Path, receiver: Receiver) -> None:
    done = notify_test(notify_config(tmp_path, f"{receiver.url}/hook"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "team: delivered: HTTP 200: ok: received" in done.stdout
    [sample] = receiver.received
    assert sample.headers["x-launchpad-event"] == "test" and sample.json()["event"] == "test"
    unknown = notify_test(tmp_path / "launchpad_configs.yaml", "nobody")
    assert unknown.returncode == 1 and "no notification target 'nobody'" in unknown.stderr


def test_notify_test_reports_a_receiver_that_fails(tmp_path: Path) -> None:
    for [failing] in receivers("fail"):
        done = notify_test(notify_config(tmp_path, f"{failing.url}/hook", "slack", ", retries: 1"))
        assert done.returncode == 1
        assert "team: failed: HTTP 500: receiver error" in done.stdout
        assert len(failing.received) == 2  # the first attempt and the one retry configured


def test_an_apprise_url_goes_through_apprise(tmp_path: Path, receiver: Receiver) -> None:
    """`apprise://host/token` is Apprise's own API server: Apprise POSTs the message to its /notify."""
    url = receiver.url.replace("http://", "apprise://") + "/launchpad-token"
    done = notify_test(notify_config(tmp_path, url))
    assert done.returncode == 0, done.stdout + done.stderr
    [sent] = receiver.received
    assert sent.path.startswith("/notify") and sent.headers["user-agent"] == "Apprise"
    assert "launchpad-token" in sent.path + sent.body.decode() + json.dumps(sent.headers)
    form = urllib.parse.parse_qs(sent.body.decode())  # Apprise's API takes a form
    assert form["title"] == ["launchpad: test notification"]
    assert form["body"][0].startswith("a test message from launchpad")
