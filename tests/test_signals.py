"""Signals against real processes: `/metrics` of the app after syncs and a deploy (the dev server,
a git repository), and notifications received by real local HTTP servers."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from functions.app import create_app
from functions.services import Services
from launchpad.config import parse_config
from launchpad.observability.logs import JsonFormatter, TextFormatter
from launchpad.state.sqlite import SqliteStateStore
from reconciler.sync import Reconciler
from tests.apiharness import ADMIN, api_config_text, task_text
from tests.conftest import ENGINE_QUEUE, Engine
from tests.gitrepo import GitRepo
from tests.helpers import SCHEDULE_TASK, eventually, gitops_yaml
from tests.receiver import Receiver, receivers
from tests.test_api_webhooks import github, push

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
GENERIC_SECRET = "receiver-signing-secret"


def samples(text: str) -> Samples:
    """Every sample of a scrape, by name and labels (parsed by prometheus_client's own parser)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scrape: Samples, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


@dataclass
class Stack:
    http: httpx.AsyncClient
    services: Services
    repo: GitRepo
    engine: Engine
    prefix: str
    root: Path

    async def scrape(self, token: str | None = None) -> Samples:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = await self.http.get("/metrics", headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/plain")
        return samples(answer.text)

    async def login(self) -> dict[str, str]:
        answer = await self.http.post("/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def schedule(self, name: str, every: str = "1h") -> None:
        text = SCHEDULE_TASK.format(name=name, queue=ENGINE_QUEUE, sid=self.sid(name), every=every)
        self.repo.write(f"deployments/tasks/{name}.yaml", text)

    def sid(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def reconciler(self) -> Reconciler:
        return self.services.reconciler

    async def delivered(self) -> None:
        await self.services.signals.outbox.drain(30)


ConfigText = Callable[[Engine, Path, GitRepo, str], str]


async def stack_for(
    root: Path,
    engine: Engine,
    extra: str = "",
    text: ConfigText = api_config_text,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """The app on the session's dev server; its configuration is `text` (the API harness's, with
    `extra`), `${VAR}` references taken from `env`."""
    repo = GitRepo(root)
    prefix = f"sig{uuid.uuid4().hex[:6]}"
    repo.write("deployments/tasks/hello.yaml", task_text("hello", f"{prefix}-hello", args="[world]"))
    repo.commit("hello")
    config = parse_config(text(engine, root, repo, extra), "api-config.yaml", env=env or {})
    services = Services.from_config(config, SqliteStateStore(str(root / "state.db")), engine.connections)
    app = create_app(config, services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://launchpad.test") as http:
        yield Stack(http, services, repo, engine, prefix, root)


@pytest.fixture
async def stack(tmp_path: Path, engine: Engine) -> AsyncIterator[Stack]:
    async for made in stack_for(tmp_path, engine):
        yield made


@pytest.fixture
def ok_receivers() -> Iterator[list[Receiver]]:
    yield from receivers("ok", "ok")


def targets(generic: str, slack: str, slack_events: str | None = None) -> str:
    """Two targets; the Slack one takes only `slack_events` when given (else all events)."""
    only = f", events: {slack_events}" if slack_events else ""
    return f"""
notifications:
  - {{name: ops-generic, url: "{generic}/hook", format: generic, secret: {GENERIC_SECRET}}}
  - {{name: ops-slack, url: "{slack}/services/T0/B0/XYZ", format: slack{only}}}
public_url: https://launchpad.example.test
"""


async def test_metrics_count_a_sync_with_one_create_and_one_update_and_an_api_deploy(stack: Stack) -> None:
    stack.schedule("alpha")
    stack.repo.commit("alpha")
    assert (await stack.reconciler.sync("manual")).status == "succeeded"
    before = await stack.scrape()

    stack.schedule("alpha", every="2h")  # an update
    stack.schedule("beta")  # a create
    stack.repo.commit("alpha every 2h; beta")
    result = await stack.reconciler.sync("manual")
    assert result.status == "succeeded" and result.writes == 2
    deployed = await stack.http.post("/tasks/deploy/hello", json={}, headers=await stack.login())
    assert deployed.status_code == 200, deployed.text
    after = await stack.scrape()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    applies = {k: v - before.get(k, 0.0) for k, v in after.items() if k[0] == "launchpad_apply_total"}
    applies = {k: v for k, v in applies.items() if v}
    assert applies == {
        ("launchpad_apply_total", (("action", "create"), ("kind", "schedule"), ("result", "succeeded"))): 1.0,
        ("launchpad_apply_total", (("action", "update"), ("kind", "schedule"), ("result", "succeeded"))): 1.0,
    }
    assert moved("launchpad_sync_total", trigger="manual", status="succeeded") == 1
    assert moved("launchpad_sync_duration_seconds_count") == 1
    assert value(after, "launchpad_last_sync_timestamp_seconds", status="succeeded") >= time.time() - 60
    assert moved("launchpad_deploys_total", runner="WorkflowRunner", result="succeeded") == 1
    assert moved("launchpad_deploy_duration_seconds_count") == 1
    route = {"route": "/tasks/deploy/{name}", "method": "POST"}
    assert moved("launchpad_http_requests_total", **route, status="200") == 1
    assert moved("launchpad_http_request_duration_seconds_count", **route) == 1
    assert value(after, "launchpad_objects", kind="schedule", status="Synced") == 2
    assert value(after, "launchpad_file_errors") == 0
    # labels carry templates, never raw paths, names of users or arguments
    labels = {v for (_, pairs) in after for (_, v) in pairs}
    assert not [v for v in labels if "hello" in v or ADMIN[0] in v or "world" in v]

    stack.repo.write("deployments/tasks/beta.yaml", "name: beta\nrunner: [not, a, runner\n")
    stack.repo.commit("break beta")
    assert (await stack.reconciler.sync("manual")).status == "degraded"
    broken = await stack.scrape()
    assert value(broken, "launchpad_file_errors") == 1
    assert value(broken, "launchpad_objects", kind="schedule", status="Degraded") == 1
    assert value(broken, "launchpad_objects", kind="schedule", status="Synced") == 1


async def test_metrics_need_the_bearer_token_when_one_is_configured(tmp_path: Path, engine: Engine) -> None:
    async for stack in stack_for(tmp_path, engine, "metrics: {bearer_token: scrape-token-1234}\n"):
        assert (await stack.http.get("/metrics")).status_code == 401
        wrong = await stack.http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"
        assert "launchpad_file_errors" in {name for name, _ in await stack.scrape("scrape-token-1234")}


async def test_request_ids_are_kept_or_made_and_sent_back(stack: Stack) -> None:
    given = await stack.http.get("/health", headers={"X-Request-ID": "trace-abc.123"})
    assert given.headers["x-request-id"] == "trace-abc.123"
    made = await stack.http.get("/health", headers={"X-Request-ID": "not a token\t"})
    assert made.headers["x-request-id"] != "not a token\t" and len(made.headers["x-request-id"]) == 32
    missing = await stack.http.get("/no/such/route/hello")
    scrape = await stack.scrape()
    assert missing.status_code == 404
    assert value(scrape, "launchpad_http_requests_total", route="unmatched", method="GET", status="404") == 1


async def test_a_method_the_client_makes_up_is_labelled_other(stack: Stack) -> None:
    """The method label comes from a fixed list: a client cannot make a new series per request."""
    for made_up in ("XYZZY1", "XYZZY2"):
        await stack.http.request(made_up, "/health")
    scrape = await stack.scrape()
    assert not [key for key in scrape if any(k == "method" and v.startswith("XYZZY") for k, v in key[1])]
    assert value(scrape, "launchpad_http_requests_total", route="/health", method="other", status="405") == 2


HOOK_SECRET = "hook-s3cret-from-the-env-41d8"
SCRAPE_TOKEN = "scrape-t0ken-from-the-env-9c2e"


def secrets_from_env(engine: Engine, root: Path, repo: GitRepo, extra: str) -> str:
    """A launchpad whose webhook secret and scrape token are environment references."""
    more = 'webhook: {secret: "${LP_HOOK_SECRET}", min_interval: 0}\nmetrics: {bearer_token: "${LP_SCRAPE_TOKEN}"}\n'
    return gitops_yaml(engine.server, repo.remote, root, more + extra)


async def test_the_webhook_secret_and_the_scrape_token_reach_no_log_line(tmp_path: Path, engine: Engine) -> None:
    """Both from the environment, both used (a signed delivery and its sync, a scrape), both put
    in a URL by a careless client (the access line shows the query): masked in every line, in
    both formats. The deliveries are counted by provider and result."""
    captured = {"json": io.StringIO(), "text": io.StringIO()}
    handlers = [logging.StreamHandler(captured["json"]), logging.StreamHandler(captured["text"])]
    handlers[0].setFormatter(JsonFormatter())
    handlers[1].setFormatter(TextFormatter())
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    env = {"LP_HOOK_SECRET": HOOK_SECRET, "LP_SCRAPE_TOKEN": SCRAPE_TOKEN}
    try:
        async for stack in stack_for(tmp_path, engine, text=secrets_from_env, env=env):
            stack.schedule("nightly")
            stack.repo.commit("nightly")
            body = push()
            signed = await stack.http.post(
                f"/webhooks/git?secret={HOOK_SECRET}", content=body, headers=github(body, secret=HOOK_SECRET)
            )
            assert signed.status_code == 202, signed.text
            forged = await stack.http.post("/webhooks/git", content=body, headers=github(body, secret="a-guess"))
            assert forged.status_code == 401
            store = stack.services.store
            await eventually(
                lambda store=store: any(s.trigger == "webhook: github" and s.finished_at for s in store.syncs()),
                60,
                "the delivery's sync",
            )
            auth = {"Authorization": f"Bearer {SCRAPE_TOKEN}"}
            scraped = await stack.http.get(f"/metrics?token={SCRAPE_TOKEN}", headers=auth)
            assert scraped.status_code == 200
            scrape = samples(scraped.text)
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)

    assert value(scrape, "launchpad_webhook_deliveries_total", provider="github", result="accepted") == 1
    assert value(scrape, "launchpad_webhook_deliveries_total", provider="github", result="rejected") == 1
    lines = [json.loads(line) for line in captured["json"].getvalue().splitlines()]
    messages = [line["message"] for line in lines]
    assert any("POST /webhooks/git?secret=*** HTTP" in m for m in messages), "the delivery's access line, masked"
    assert any("GET /metrics?token=*** HTTP" in m for m in messages), "the scrape's access line, masked"
    assert any(line.get("trigger") == "webhook: github" and line.get("kind") == "schedule" for line in lines)
    for fmt, out in captured.items():
        assert HOOK_SECRET not in out.getvalue() and SCRAPE_TOKEN not in out.getvalue(), fmt
    assert "?secret=*** HTTP" in captured["text"].getvalue()


async def test_one_notification_per_transition_across_syncs_restarts_and_replicas(
    tmp_path: Path, engine: Engine, ok_receivers: list[Receiver]
) -> None:
    generic, slack = ok_receivers
    async for stack in stack_for(tmp_path, engine, targets(generic.url, slack.url)):
        stack.schedule("nightly")
        stack.repo.commit("nightly")
        assert (await stack.reconciler.sync("manual")).status == "succeeded"
        await stack.delivered()
        assert generic.received == [] and slack.received == []

        stack.repo.write(
            "deployments/tasks/nightly.yaml", "name: nightly\nrunner: ScheduledWorkflowRunner\nworkflow: 5\n"
        )
        broken_at = stack.repo.commit("break nightly's workflow")
        for _ in range(3):
            assert (await stack.reconciler.sync("manual")).status == "degraded"
        # a restart, or a second reconciler on the same state store: nothing is sent again
        replica = Services.from_config(stack.services.config, SqliteStateStore(str(tmp_path / "state.db")))
        replica.connections = stack.services.connections
        assert (await replica.reconciler.sync("manual")).status == "degraded"
        await replica.reconciler.sync("watch", poll=True)
        await replica.signals.outbox.drain(30)
        await stack.delivered()
        [degraded] = generic.events("degraded")
        assert len(slack.events("degraded")) == 1 and len(generic.received) == 1

        body = degraded.json()
        assert body["event"] == "degraded" and body["subject"] == "file:deployments/tasks/nightly.yaml"
        assert body["object"]["file"] == "deployments/tasks/nightly.yaml" and body["object"]["key_path"] == "workflow"
        assert body["revision"] == broken_at and body["commit_message"] == "break nightly's workflow"
        assert body["links"]["dashboard"] == "https://launchpad.example.test/ui/tasks/nightly"
        expected = "sha256=" + hmac.new(GENERIC_SECRET.encode(), degraded.body, hashlib.sha256).hexdigest()
        assert degraded.headers["x-launchpad-signature"] == expected
        assert hmac.compare_digest(degraded.headers["x-launchpad-signature"], expected)

        message = slack.events("degraded")[0].json()
        assert isinstance(message["text"], str) and "nightly" in message["text"]
        [attachment] = message["attachments"]
        assert {"color", "title", "text", "fields"} <= set(attachment) and attachment["color"] == "danger"
        assert any(f["title"] == "Revision" and broken_at[:12] in f["value"] for f in attachment["fields"])
        assert "x-launchpad-signature" not in slack.events("degraded")[0].headers

        stack.schedule("nightly")
        stack.repo.commit("fix nightly")
        assert (await stack.reconciler.sync("manual")).status == "succeeded"
        assert (await stack.reconciler.sync("manual")).status == "succeeded"
        await stack.delivered()
        [recovered] = generic.events("recovered")
        assert recovered.json()["subject"] == "file:deployments/tasks/nightly.yaml"
        assert len(slack.events("recovered")) == 1

        client = await engine.client()
        await client.get_schedule_handle(stack.sid("nightly")).delete()  # by hand, out of band
        healed = await stack.reconciler.sync("manual", hard=True)
        assert healed.status == "succeeded" and healed.writes == 1
        await stack.reconciler.sync("manual", hard=True)
        await stack.delivered()
        [drift] = generic.events("drift_healed")
        assert drift.json()["object"] == {
            "kind": "schedule",
            "name": "nightly",
            "file": "deployments/tasks/nightly.yaml",
            "key_path": None,
        }
        assert drift.json()["links"]["temporal"].endswith(f"/namespaces/default/schedules/{stack.sid('nightly')}")
        assert len(slack.events("drift_healed")) == 1
        assert len(generic.received) == len(slack.received) == 3

        stack.repo.delete("deployments/tasks/nightly.yaml")
        stack.schedule("hourly")  # not every schedule goes: the sync is not refused
        stack.repo.commit("retire nightly for hourly")
        await stack.reconciler.sync("manual")
        await stack.delivered()
        assert [r.json()["object"]["name"] for r in generic.events("pruned")] == ["nightly"]
        scrape = await stack.scrape()
        for event, count in (("degraded", 1), ("recovered", 1), ("drift_healed", 1), ("pruned", 1)):
            assert (
                value(scrape, "launchpad_notifications_total", target="ops-slack", event=event, result="delivered")
                == count
            )
        assert value(scrape, "launchpad_drift_healed_total", kind="schedule") == 1
        assert value(scrape, "launchpad_pruned_total", kind="schedule") == 1


async def test_a_failed_sync_and_a_failed_deploy_are_notified(
    tmp_path: Path, engine: Engine, ok_receivers: list[Receiver]
) -> None:
    generic, slack = ok_receivers  # Slack takes deploy failures only: it hears of nothing else
    async for stack in stack_for(tmp_path, engine, targets(generic.url, slack.url, "[deploy_failed]")):
        assert (await stack.reconciler.sync("manual")).status == "succeeded"
        remote = stack.repo.remote.rename(tmp_path / "moved.git")  # the repository becomes unreachable
        assert (await stack.reconciler.sync("manual")).status == "failed"
        assert (await stack.reconciler.sync("manual")).status == "failed"
        remote.rename(stack.repo.remote)
        assert (await stack.reconciler.sync("manual")).status == "succeeded"

        headers = await stack.login()
        refused = {"overwrite": {"workflow.workflow_kwargs.args": ["x"]}}  # hello is not overwritable
        failed = await stack.http.post("/tasks/deploy/hello", json=refused, headers=headers)
        assert failed.status_code in (403, 422), failed.text
        missing = await stack.http.post("/tasks/deploy/no-such-task", json={}, headers=headers)
        assert missing.status_code == 404
        await stack.delivered()
        [sync_failed] = generic.events("sync_failed")
        assert sync_failed.json()["subject"] == "sync" and "cannot fetch" in sync_failed.json()["message"]
        [back] = generic.events("recovered")
        assert back.json()["subject"] == "sync" and back.json()["links"]["dashboard"].endswith("/ui/syncs")
        [deploy_failed] = generic.events("deploy_failed")  # the unknown task is the caller's mistake: not sent
        assert deploy_failed.json()["object"]["name"] == "hello" and "overwrit" in deploy_failed.json()["message"]
        assert len(generic.received) == 3
        assert [r.headers["x-launchpad-event"] for r in slack.received] == ["deploy_failed"]
        scrape = await stack.scrape()
        assert value(scrape, "launchpad_deploys_total", runner="unknown", result="failed") == 2
        sent = sorted(
            (dict(labels)["target"], dict(labels)["event"])
            for (name, labels), count in scrape.items()
            if name == "launchpad_notifications_total" and count
        )
        assert sent == [
            ("ops-generic", "deploy_failed"),
            ("ops-generic", "recovered"),
            ("ops-generic", "sync_failed"),
            ("ops-slack", "deploy_failed"),  # the events Slack does not take were never attempted
        ]


async def test_receivers_that_hang_or_fail_never_delay_or_fail_a_sync(tmp_path: Path, engine: Engine) -> None:
    timeout = 3.0
    for hanging, failing in receivers("hang", "fail"):
        extra = f"""
notifications:
  - {{name: hangs, url: "{hanging.url}/x", timeout: {timeout:g}s, retries: 1}}
  - {{name: fails, url: "{failing.url}/x", format: slack, timeout: {timeout:g}s, retries: 1}}
"""
        async for stack in stack_for(tmp_path, engine, extra):
            stack.schedule("nightly")
            stack.repo.commit("nightly")
            assert (await stack.reconciler.sync("manual")).status == "succeeded"
            stack.repo.write("deployments/tasks/nightly.yaml", "name: nightly\nrunner: ScheduledWorkflowRunner\n")
            stack.repo.commit("break nightly")
            began = time.monotonic()
            result = await stack.reconciler.sync("manual")
            took = time.monotonic() - began
            assert result.status == "degraded"
            assert took < timeout, f"the sync waited for a receiver: {took:.2f}s"
            assert stack.services.signals.outbox.pending == 2  # both deliveries go on in the background
            began = time.monotonic()
            await stack.delivered()
            assert time.monotonic() - began < 2 * timeout + 5  # each attempt is bounded by the timeout
            scrape = await stack.scrape()
            for target in ("hangs", "fails"):
                assert (
                    value(scrape, "launchpad_notifications_total", target=target, event="degraded", result="failed")
                    == 1
                )
            assert len(failing.received) == 2 and len(hanging.received) == 2  # one retry each
