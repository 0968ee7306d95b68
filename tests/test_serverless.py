"""Lambda packaging and emulation: `osls package`, the API under serverless-offline (real API
Gateway v2 events through Mangum), and the webhook's asynchronous invoke of `reconcile`."""

from __future__ import annotations

import base64
import contextlib
import gzip
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
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from launchpad.devserver import free_port
from launchpad.state.sqlite import SqliteStateStore
from launchpad.state.store import AppliedObject
from tests.apiharness import task_text
from tests.aws import moto_server  # noqa: F401  (a fixture)
from tests.conftest import Engine
from tests.gitrepo import GitRepo
from tests.helpers import eventually, eventually_now, gitops_config_file, gitops_yaml
from tests.receiver import receivers

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

    def ran(*triggers: str, drift_scan: bool = False) -> bool:
        syncs = store.syncs()
        return any(s.trigger in triggers and s.finished_at and s.status == "succeeded" for s in syncs) and (
            not drift_scan or any(s.trigger in triggers and s.drift_scan for s in syncs)
        )

    await eventually(lambda: ran("webhook: github"), 60, "the reconcile function running", interval=0.5)
    # its own sync, or, when the webhook's still held the lease, the hard follow-up it asked for
    hard = ("api: ops", "follow-up")
    await eventually(lambda: ran(*hard, drift_scan=True), 60, "a hard sync for POST /sync", interval=0.5)


# what the issue names (#17), written out rather than read from the catalog the sink itself uses:
# each metric's dimensions, in order; `_seconds` metrics are in Seconds, the others are counts
EMF_METRICS = {
    "launchpad_sync_total": ["trigger", "status"],
    "launchpad_sync_duration_seconds": [],
    "launchpad_last_sync_timestamp_seconds": ["status"],
    "launchpad_objects": ["kind", "status"],
    "launchpad_file_errors": [],
    "launchpad_apply_total": ["kind", "action", "result"],
    "launchpad_drift_healed_total": ["kind"],
    "launchpad_pruned_total": ["kind"],
    "launchpad_deploys_total": ["runner", "result"],
    "launchpad_deploy_duration_seconds": [],
    "launchpad_webhook_deliveries_total": ["provider", "result"],
    "launchpad_notifications_total": ["target", "event", "result"],
    "launchpad_http_requests_total": ["route", "method", "status"],
    "launchpad_http_request_duration_seconds": ["route", "method"],
}


def check_emf(stdout: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], object]:
    """The EMF documents among the printed lines of one invocation: metric and labels → value.
    Each names a metric of EMF_METRICS with its dimensions and unit, and they are one flush: one
    run of consecutive lines with one timestamp, each series once."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], object] = {}
    at: list[tuple[int, int]] = []  # (line number, timestamp) of each document
    for number, line in enumerate(stdout.splitlines()):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not isinstance(doc, dict) or "_aws" not in doc:
            continue
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        [metric] = directive["Metrics"]
        name = metric["Name"]
        dimensions = EMF_METRICS[name]
        assert directive["Namespace"] == "launchpad"
        assert metric["Unit"] == ("Seconds" if name.endswith("_seconds") else "Count"), metric
        assert directive["Dimensions"] == [dimensions]
        assert isinstance(doc["_aws"]["Timestamp"], int)
        key = (name, tuple(sorted((label, doc[label]) for label in dimensions)))
        assert key not in found, f"{key} twice: more than one flush"
        found[key] = doc[name]
        at.append((number, doc["_aws"]["Timestamp"]))
    assert found, "no EMF line"
    lines = [number for number, _ in at]
    assert lines == list(range(lines[0], lines[0] + len(lines))), "one flush writes its lines together"
    assert len({stamp for _, stamp in at}) == 1, "one flush, one timestamp"
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


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """functions.handler as a new container finds it (nothing built yet); the logging it sets up
    for Lambda replaces copies of the root logger's handlers, given back afterwards."""
    import functions.handler as module

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr(module, "_services", None)
    monkeypatch.setattr(module, "_api", None)
    return module


@dataclass
class LambdaContext:
    """What the runtime passes: here, a fixed time left."""

    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_the_reconcile_handler_waits_for_a_receiver_that_never_answers_only_its_time_left(
    tmp_path: Path,
    engine: Engine,
    handler: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Notifications go out before the invocation returns (the container freezes after), within
    the time left less the margin: a receiver that never answers is abandoned then, and counted
    as a failed delivery in the invocation's one EMF flush."""
    repo = GitRepo(tmp_path)
    repo.write("deployments/tasks/broken.yaml", "name: broken\nrunner: ScheduledWorkflowRunner\n")
    repo.commit("a broken file: degraded")
    remaining_ms = 3500
    budget = (remaining_ms - handler.MARGIN_MS) / 1000  # below one attempt's timeout (5 s), let alone retries
    for [hanging] in receivers("hang"):
        target = f'notifications: [{{name: hangs, url: "{hanging.url}/hook", events: [degraded]}}]\n'
        monkeypatch.setenv("LAUNCHPAD_CONFIG", str(gitops_config_file(engine.server, repo.remote, tmp_path, target)))
        began = time.monotonic()
        summary = handler.reconcile({"trigger": "invoke"}, LambdaContext(remaining_ms))
        took = time.monotonic() - began
        assert summary["status"] == "degraded" and len(hanging.received) == 1
    emf = check_emf(capsys.readouterr().out)
    assert (
        emf[("launchpad_notifications_total", (("event", "degraded"), ("result", "failed"), ("target", "hangs")))] == 1
    )
    [synced] = emf[("launchpad_sync_duration_seconds", ())]
    assert budget <= took - synced < budget + 2, f"waited {took - synced:.2f}s for the receiver"


def test_the_lambda_api_refuses_to_serve_an_open_api(
    tmp_path: Path, handler: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """API Gateway serves anyone: without an authenticator (every caller a super user) or with the
    scaffold's dev defaults, the `api` function answers 503 and says why, as `launchpad api`
    refuses to bind beyond loopback."""
    open_api = tmp_path / "open.yaml"
    open_api.write_text(f"state: {{path: {tmp_path}/state.db}}\nrepository: {{cache_dir: {tmp_path}/cache}}\n")
    defaults = tmp_path / "defaults.yaml"
    defaults.write_text(
        open_api.read_text() + "app: {secret: insecure-dev-secret-123}\n"
        "authenticator:\n  base_users: [{username: admin, password: change-me, auth_level: [user, super user]}]\n"
        f"  db: {tmp_path}/users.db\n"
    )
    for config, says in ((open_api, "open API"), (defaults, "dev defaults")):
        monkeypatch.setenv("LAUNCHPAD_CONFIG", str(config))
        monkeypatch.setattr(handler, "_services", None)
        monkeypatch.setattr(handler, "_api", None)
        answer = handler.api(api_gateway_event("GET", "/tasks"), None)
        body = json.loads(answer["body"])
        assert answer["statusCode"] == 503 and body["error"] == "refused_open_api" and says in body["message"]


def browser_event(method: str, path: str, cookies: list[str] | None = None, form: str = "") -> dict[str, Any]:
    """`api_gateway_event` as a browser's request reaches the function: its headers and API
    Gateway's forwarding ones, the cookies in the v2 `cookies` field, a form body base64-encoded."""
    event: dict[str, Any] = api_gateway_event(method, path)
    event["headers"] |= {
        "accept": "text/html",
        "accept-encoding": "gzip, deflate, br",
        "sec-fetch-site": "same-origin",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if cookies:
        event["cookies"] = cookies
    if form:
        event["headers"]["content-type"] = "application/x-www-form-urlencoded"
        event["body"], event["isBase64Encoded"] = base64.b64encode(form.encode()).decode(), True
    return event


def html_of(answer: dict[str, Any]) -> str:
    """A page as the function answered it (gzip-compressed for a browser, then base64 for API Gateway)."""
    assert answer["headers"]["content-type"] == "text/html; charset=utf-8", answer
    body = base64.b64decode(answer["body"]) if answer["isBase64Encoded"] else answer["body"].encode()
    return (gzip.decompress(body) if answer["headers"].get("content-encoding") == "gzip" else body).decode()


def test_the_dashboard_through_the_lambda_handler(
    tmp_path: Path, handler: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/ui` on Lambda, in this process: API Gateway v2 events through the `api` function (Mangum).
    The login page; the login's session cookie in the v2 `cookies` field, `HttpOnly`,
    `SameSite=Strict` and `Secure` (API Gateway serves https); the overview with that cookie."""
    config = tmp_path / "lambda.yaml"
    config.write_text(
        f"state: {{path: {tmp_path}/state.db}}\nrepository: {{cache_dir: {tmp_path}/cache}}\n"
        "app: {secret: lambda-ui-secret-0123456789abcdef}\n"
        f"authenticator:\n  base_users: [{{username: ops, password: ops-password}}]\n  db: {tmp_path}/users.db\n"
    )
    nightly = AppliedObject("schedule", "nightly", "deployments/tasks/nightly.yaml", "ab" * 20, "h", reason="in sync")
    SqliteStateStore(str(tmp_path / "state.db")).put_objects([nightly])
    monkeypatch.setenv("LAUNCHPAD_CONFIG", str(config))

    login_page = handler.api(browser_event("GET", "/ui/login"), None)
    assert login_page["statusCode"] == 200 and "default-src 'none'" in login_page["headers"]["content-security-policy"]
    assert '<form class="login" method="post" action="/ui/login">' in html_of(login_page)

    form = urlencode({"username": "ops", "password": "ops-password", "next": "/ui"})
    logged_in = handler.api(browser_event("POST", "/ui/login", form=form), None)
    assert (logged_in["statusCode"], logged_in["headers"]["location"]) == (303, "/ui"), logged_in
    [cookie] = logged_in["cookies"]
    session, *flags = [part.strip() for part in cookie.split(";")]
    assert session.startswith("launchpad_session=ey")
    assert {"HttpOnly", "SameSite=strict", "Secure", "Path=/ui"} <= set(flags), flags

    overview = handler.api(browser_event("GET", "/ui", cookies=[session]), None)
    assert overview["statusCode"] == 200 and overview["headers"]["content-encoding"] == "gzip", overview
    page = html_of(overview)
    assert "<h1>Overview</h1>" in page and '<a href="/ui/tasks/nightly">nightly</a>' in page
    no_session = handler.api(browser_event("GET", "/ui"), None)
    assert (no_session["statusCode"], no_session["headers"]["location"]) == (303, "/ui/login?next=%2Fui")
