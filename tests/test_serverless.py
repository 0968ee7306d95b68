"""Lambda packaging and emulation: `osls package`, the API under serverless-offline (real API
Gateway v2 events through Mangum), and the webhook's asynchronous invoke of `reconcile`."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from launchpad.devserver import free_port
from launchpad.state.sqlite import SqliteStateStore
from tests.apiharness import task_text
from tests.aws import moto_server  # noqa: F401  (a fixture)
from tests.conftest import Engine
from tests.gitrepo import GitRepo
from tests.helpers import eventually, eventually_now, gitops_config_file, gitops_yaml

pytestmark = pytest.mark.temporal  # the dev server, serverless-offline and osls (npm)

ROOT = Path(__file__).resolve().parents[1]
OSLS = ROOT / "node_modules" / ".bin" / "osls"


def osls_env(**extra: str) -> dict[str, str]:
    """No AWS credentials at all: packaging and the emulator must not need them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, "VIRTUAL_ENV": sys.prefix, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off", **extra}


def osls_package(out: Path, param: str) -> subprocess.CompletedProcess[str]:
    """`osls package` into `out` with one `--param`; no AWS credentials involved."""
    return subprocess.run(
        [str(OSLS), "package", "--package", str(out), "--param", param],
        cwd=ROOT,
        env=osls_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_osls_package_builds_the_stack(tmp_path: Path) -> None:
    out = tmp_path / "package"
    done = osls_package(out, "reconcileRate=rate(10 minutes)")
    assert done.returncode == 0, done.stdout + done.stderr
    stack = json.loads((out / "cloudformation-template-update-stack.json").read_text())
    resources = {name: r["Type"] for name, r in stack["Resources"].items()}
    assert resources["HttpApi"] == "AWS::ApiGatewayV2::Api"
    assert resources["HttpApiRouteDefault"] == "AWS::ApiGatewayV2::Route"
    assert resources["ApiLambdaFunction"] == resources["ReconcileLambdaFunction"] == "AWS::Lambda::Function"
    assert resources["StateTable"] == resources["UsersTable"] == "AWS::DynamoDB::Table"
    rule = stack["Resources"]["ReconcileEventsRuleSchedule1"]
    assert rule["Type"] == "AWS::Events::Rule"
    assert rule["Properties"]["ScheduleExpression"] == "rate(10 minutes)" and rule["Properties"]["State"] == "ENABLED"
    # the scheduled event reaches the handler as EventBridge sends it (`source: aws.events`: a poll);
    # a fixed `Input` replaced it, and every five minutes a sync that found nothing new was recorded
    assert [target.get("Input") for target in rule["Properties"]["Targets"]] == [None]
    api = stack["Resources"]["ApiLambdaFunction"]["Properties"]
    assert api["Handler"] == "functions/handler.api" and api["Runtime"] == "python3.11"
    statements = stack["Resources"]["IamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"dynamodb:PutItem", "ssm:GetParameter", "secretsmanager:GetSecretValue", "lambda:InvokeFunction"} <= actions
    assert "dynamodb:*" not in actions and "*" not in actions
    listing = subprocess.run(["unzip", "-Z1", str(out / "launchpad.zip")], capture_output=True, text=True, check=True)
    files = listing.stdout.split()
    assert "functions/handler.py" in files and "launchpad/config.py" in files
    assert not [f for f in files if f.startswith(("tests/", "node_modules/", ".venv/", "bench/"))]
    disabled = osls_package(tmp_path / "off", "reconcileEnabled=false")
    assert disabled.returncode == 0, disabled.stderr
    off = json.loads((tmp_path / "off" / "cloudformation-template-update-stack.json").read_text())
    assert off["Resources"]["ReconcileEventsRuleSchedule1"]["Properties"]["State"] == "DISABLED"


@pytest.fixture
def offline(tmp_path: Path, engine: Engine) -> Iterator[dict[str, object]]:
    """serverless-offline serving the API (and the reconcile function's invoke endpoint)."""
    repo = GitRepo(tmp_path)
    prefix = f"sls{uuid.uuid4().hex[:6]}"
    repo.write(
        "deployments/tasks/hello.yaml", task_text("hello", f"{prefix}-hello", args="[offline]", overwritable=True)
    )
    repo.commit("hello")
    http_port, lambda_port = free_port(), free_port()
    config = gitops_config_file(
        engine.server,
        repo.remote,
        tmp_path,
        """
app: {secret: offline-secret}
webhook: {secret: hook-secret}
authenticator:
  base_users: [{username: ops, password: ops-password, auth_level: [user, super user]}]
""",
    )
    env = osls_env(
        AWS_ENDPOINT_URL_LAMBDA=f"http://127.0.0.1:{lambda_port}",
        AWS_ACCESS_KEY_ID="offline",
        AWS_SECRET_ACCESS_KEY="offline",
        AWS_DEFAULT_REGION="us-east-1",
    )
    process = subprocess.Popen(
        [
            str(OSLS),
            "offline",
            "start",
            "--host",
            "127.0.0.1",
            "--httpPort",
            str(http_port),
            "--lambdaPort",
            str(lambda_port),
            "--param",
            f"configFile={config}",
            "--param",
            "reconcileEnabled=false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{http_port}"
    try:

        def answering() -> bool:
            assert process.poll() is None, "serverless-offline exited"
            try:
                return httpx.get(f"{base}/health", timeout=30).status_code in (200, 503)
            except httpx.HTTPError:
                return False

        eventually_now(answering, 120, "serverless-offline answering /health", interval=0.5)
        yield {"base": base, "prefix": prefix, "state": tmp_path / "state.db", "repo": repo}
    finally:
        process.terminate()  # stopped by its own PID, then whatever it spawned
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


async def test_the_api_under_serverless_offline(offline: dict[str, object], engine: Engine) -> None:
    base, prefix = str(offline["base"]), str(offline["prefix"])
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        login = await http.post("/auth/token", data={"username": "ops", "password": "ops-password"})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert (await http.get("/tasks", headers={"Authorization": "Bearer nope"})).status_code == 401
        deployed = await http.post("/tasks/deploy/hello", headers=auth, json={})
        assert deployed.status_code == 200, deployed.text
        client = await engine.client()
        assert await client.get_workflow_handle(f"{prefix}-hello").result() == {"one": "offline"}
        status = await http.get("/sync/status", headers=auth)
        assert status.status_code == 200 and status.json()["objects"] == []

        # the webhook hands the sync to the reconcile function: an asynchronous invoke that the
        # emulator's Lambda endpoint receives and runs
        body = json.dumps({"ref": "refs/heads/main"}).encode()
        signature = "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
        started = time.monotonic()
        hook = await http.post(
            "/webhooks/git",
            content=body,
            headers={
                "X-Hub-Signature-256": signature,
                "X-GitHub-Delivery": uuid.uuid4().hex,
                "content-type": "application/json",
            },
        )
        assert hook.status_code == 202 and hook.json()["status"] == "dispatched", hook.text
        assert time.monotonic() - started < 10
        # so does POST /sync (it started a background task, frozen with the container)
        asked = await http.post("/sync", headers=auth, json={"hard": True})
        assert asked.status_code == 202 and asked.json() == {"status": "dispatched", "id": None}, asked.text
    store = SqliteStateStore(str(offline["state"]))

    def ran(trigger: str) -> bool:
        return any(s.trigger == trigger and s.finished_at and s.status == "succeeded" for s in store.syncs())

    await eventually(lambda: ran("webhook: github"), 60, "the reconcile function running", interval=0.5)
    await eventually(lambda: ran("api: ops"), 60, "the reconcile function running for POST /sync", interval=0.5)


def check_emf(stdout: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], object]:
    """The EMF documents among the printed lines, checked against the metric catalog (names,
    dimensions, units): metric and labels → value."""
    from launchpad.observability.metrics import CATALOG

    catalog = {metric.name: metric for metric in CATALOG}
    found: dict[tuple[str, tuple[tuple[str, str], ...]], object] = {}
    for line in stdout.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not isinstance(doc, dict) or "_aws" not in doc:
            continue
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        [metric] = directive["Metrics"]
        expected = catalog[metric["Name"]]
        assert directive["Namespace"] == "launchpad" and metric["Unit"] == expected.unit
        assert directive["Dimensions"] == [list(expected.labels)]
        assert isinstance(doc["_aws"]["Timestamp"], int)
        found[(expected.name, tuple(sorted((label, doc[label]) for label in expected.labels)))] = doc[expected.name]
    return found


def test_osls_invoke_local_reconcile_with_state_in_dynamodb(tmp_path: Path, engine: Engine, moto_server: str) -> None:
    """`osls invoke local -f reconcile`: one sync against a real git repository and the dev
    server, with its state in DynamoDB served by moto on loopback."""
    from launchpad.state.dynamodb import DynamoStateStore, create_tables

    table = f"state-{uuid.uuid4().hex[:8]}"
    create_tables(table)
    repo = GitRepo(tmp_path)
    sid = f"lambda-{uuid.uuid4().hex[:8]}"
    repo.write(
        "deployments/tasks/nightly.yaml",
        f"""name: nightly
runner: ScheduledWorkflowRunner
workflow: {{task_queue: q, workflow_id: {sid}, workflow: Task, scheduler_id: {sid}, intervals: [{{every: 1d}}],
           workflow_kwargs: {{activity: zero}}}}
""",
    )
    head = repo.commit("nightly")
    config = tmp_path / "lambda.yaml"
    config.write_text(gitops_yaml(engine.server, repo.remote, tmp_path, state=f"{{backend: dynamodb, table: {table}}}"))
    env = osls_env(**{k: v for k, v in os.environ.items() if k.startswith("AWS_")})
    done = subprocess.run(
        [
            str(OSLS),
            "invoke",
            "local",
            "-f",
            "reconcile",
            "--param",
            f"configFile={config}",
            "--data",
            json.dumps({"trigger": "invoke local"}),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    printed = "\n" + done.stdout
    summary = json.loads(printed[printed.rindex("\n{") :])  # the handler's answer comes last
    assert (summary["status"], summary["revision"], summary["writes"]) == ("succeeded", head, 1)
    emf = check_emf(done.stdout)
    assert emf[("launchpad_sync_total", (("status", "succeeded"), ("trigger", "invoke")))] == 1
    assert emf[("launchpad_apply_total", (("action", "create"), ("kind", "schedule"), ("result", "succeeded")))] == 1
    assert emf[("launchpad_objects", (("kind", "schedule"), ("status", "Synced")))] == 1
    assert emf[("launchpad_file_errors", ())] == 0
    assert len(emf[("launchpad_sync_duration_seconds", ())]) == 1
    store = DynamoStateStore(table)
    [record] = store.syncs()
    assert (record.trigger, record.status) == ("invoke local", "succeeded")
    assert [(o.kind, o.name, o.status) for o in store.objects()] == [("schedule", "nightly", "Synced")]


def api_gateway_event(method: str, path: str) -> dict[str, object]:
    """An API Gateway HTTP API event (payload format 2.0), as it reaches the `api` function."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc123.execute-api.eu-west-1.amazonaws.com", "user-agent": "curl/8.5.0"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7"},
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": "30/Nov/2026:05:00:00 +0000",
            "timeEpoch": 1796014800000,
        },
        "isBase64Encoded": False,
    }


def test_the_lambda_api_refuses_to_serve_an_open_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """API Gateway serves anyone: without an authenticator (every caller a super user) or with the
    scaffold's dev defaults, the `api` function answers 503 and says why, as `launchpad api`
    refuses to bind beyond loopback."""
    import functions.handler as handler

    open_api = tmp_path / "open.yaml"
    open_api.write_text(f"state: {{path: {tmp_path}/state.db}}\nrepository: {{cache_dir: {tmp_path}/cache}}\n")
    defaults = tmp_path / "defaults.yaml"
    defaults.write_text(
        open_api.read_text() + "app: {secret: insecure-dev-secret-123}\n"
        "authenticator:\n  base_users: [{username: admin, password: change-me, auth_level: [user, super user]}]\n"
        f"  db: {tmp_path}/users.db\n"
    )
    root = logging.getLogger()  # the handler sets up Lambda's logging: give it copies to replace
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    for config, says in ((open_api, "open API"), (defaults, "dev defaults")):
        monkeypatch.setenv("LAUNCHPAD_CONFIG", str(config))
        monkeypatch.setattr(handler, "_services", None)
        monkeypatch.setattr(handler, "_api", None)
        answer = handler.api(api_gateway_event("GET", "/tasks"), None)
        body = json.loads(answer["body"])
        assert answer["statusCode"] == 503 and body["error"] == "refused_open_api" and says in body["message"]
