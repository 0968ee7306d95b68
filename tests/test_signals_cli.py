"""Signals of the commands as a user runs them: `launchpad start --log-format json` (every line
JSON, no secret in any line) and `launchpad notify test` (through HTTP and through Apprise)."""

from __future__ import annotations

import base64
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
from tests.helpers import SCHEDULE_TASK, eventually_now, gitops_config_file, run_launchpad
from tests.receiver import Receiver, receivers
from tests.test_signals import samples, value

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
            scraped = httpx.get(f"{base}/metrics", timeout=30)
            assert scraped.status_code == 200, scraped.text
            scrape = samples(scraped.text)
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
    # stderr too: Python's warnings (PyJWT's about this test's short key) are log lines, not plain text
    assert all(json.loads(line)["level"] for line in err.read_text().splitlines()), err.read_text()
    assert any(d["logger"] == "py.warnings" for d in docs)
    everything = printed + err.read_text()
    assert SECRET_VALUE not in everything and PASSWORD not in everything
    # the running process's /metrics counts its syncs (one created the schedule) and the deploy
    assert value(scrape, "launchpad_sync_total", trigger="watch", status="succeeded") >= 1
    assert value(scrape, "launchpad_apply_total", kind="schedule", action="create", result="succeeded") == 1
    assert value(scrape, "launchpad_deploys_total", runner="WorkflowRunner", result="succeeded") == 1
    assert value(scrape, "launchpad_deploy_duration_seconds_count") == 1


def pushing(config: Path, pushgateway: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`launchpad ARGS` with LP_PUSHGATEWAY (which `config` refers to) set to `pushgateway`."""
    env = {**os.environ, "LP_PUSHGATEWAY": pushgateway}
    return run_launchpad(*args, "--config", str(config), cwd=config.parent, env=env)


def test_one_shot_commands_push_their_metrics_to_the_pushgateway(tmp_path: Path, engine: Engine) -> None:
    """`launchpad reconcile` and `deploy` end before anything could scrape them: with
    `metrics.pushgateway` (here from the environment) each pushes what it did, job `launchpad`,
    grouped by command and instance, the URL's credentials as Basic auth. A gateway that fails is
    a warning, not the command's exit code; a failed deploy is notified as the API's are."""
    repo = GitRepo(tmp_path)
    prefix = f"push{uuid.uuid4().hex[:6]}"
    repo.write("deployments/tasks/hello.yaml", task_text("hello", f"{prefix}-hello"))
    repo.write(
        "deployments/tasks/nightly.yaml",
        SCHEDULE_TASK.format(name="nightly", queue=ENGINE_QUEUE, sid=f"{prefix}-nightly", every="1d"),
    )
    repo.commit("hello and nightly")
    for gateway, down, hook in receivers("ok", "fail", "ok"):
        config = gitops_config_file(
            engine.server,
            repo.remote,
            tmp_path,
            f"""
reconciler: {{instance: {prefix}}}
metrics: {{pushgateway: "${{LP_PUSHGATEWAY}}"}}
notifications: [{{name: team, url: "{hook.url}/hook", events: [deploy_failed]}}]
""",
        )
        synced = pushing(config, gateway.url.replace("//", "//pusher:pa%2Fss@"), "reconcile", "--once")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        deployed = pushing(config, down.url, "deploy", "hello")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert "could not push metrics to metrics.pushgateway: HTTP 500" in deployed.stderr
        assert down.url not in deployed.stderr
        refused = pushing(config, gateway.url, "deploy", "hello", "--set", "workflow.workflow_kwargs.args=[x]")
        assert refused.returncode == 1 and "overwrit" in refused.stderr, refused.stderr

    reconciled, failed = gateway.received
    [succeeded] = down.received
    assert reconciled.path == f"/metrics/job/launchpad/command/reconcile/instance/{prefix}"
    assert reconciled.headers["authorization"] == "Basic " + base64.b64encode(b"pusher:pa/ss").decode()
    assert failed.path == succeeded.path == f"/metrics/job/launchpad/command/deploy/instance/{prefix}"
    assert "authorization" not in failed.headers
    sync = samples(reconciled.body.decode())
    assert value(sync, "launchpad_sync_total", trigger="cli", status="succeeded") == 1
    assert value(sync, "launchpad_apply_total", kind="schedule", action="create", result="succeeded") == 1
    assert value(sync, "launchpad_objects", kind="schedule", status="Synced") == 1
    assert ("launchpad_file_errors", ()) in sync and value(sync, "launchpad_file_errors") == 0
    ok = samples(succeeded.body.decode())
    assert {key: n for key, n in ok.items() if key[0] == "launchpad_deploys_total"} == {
        ("launchpad_deploys_total", (("result", "succeeded"), ("runner", "WorkflowRunner"))): 1
    }
    assert value(ok, "launchpad_deploy_duration_seconds_count") == 1
    assert not [name for name, _ in ok if name.startswith(("launchpad_sync", "launchpad_file"))], "only what it did"
    refusal = samples(failed.body.decode())
    assert value(refusal, "launchpad_deploys_total", runner="unknown", result="failed") == 1
    assert (
        value(refusal, "launchpad_notifications_total", target="team", event="deploy_failed", result="delivered") == 1
    )
    [notified] = hook.events("deploy_failed")
    assert notified.json()["object"]["name"] == "hello" and "overwrit" in notified.json()["message"]


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
