"""Attacks by a plain user's token on the real API (the session's dev server, a real repository):
overwrites that would escalate, inputs that used to answer 500, tokens of re-created users,
replayed webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from tests.apiharness import ADMIN, ALICE, WEBHOOK_SECRET, Api, api, task_text  # noqa: F401
from tests.conftest import ENGINE_QUEUE

pytestmark = pytest.mark.temporal


async def settle(api: Api) -> None:
    """Every background task has ended, the ones those started included."""
    while api.services.background:
        await asyncio.wait_for(asyncio.gather(*list(api.services.background)), timeout=120)
        await asyncio.sleep(0)


async def synced(api: Api) -> None:
    assert (await api.call("POST", "/sync")).status_code == 202
    await settle(api)


# --- 2. an overwrite cannot escalate -----------------------------------------------------------------------------


async def test_a_users_overwrite_cannot_escalate(api: Api) -> None:
    client = await api.engine.client()
    victim = await client.start_workflow(
        "AwaitedTask", {"activity": "one"}, id=f"{api.prefix}-victim", task_queue=ENGINE_QUEUE
    )
    sid = f"{api.prefix}-every-second"
    api.task("open", task_text("open", f"{api.prefix}-open", overwritable=True))
    wide = task_text("wide", f"{api.prefix}-wide").replace(
        "overwritable: false", "overwritable: [runner, server, namespace, workflow]"
    )
    api.task("wide", wide)
    api.repo.commit("two overwritable tasks")
    await synced(api)
    terminate = {"workflow.workflow_id": victim.id, "workflow.id_conflict_policy": "TERMINATE_EXISTING"}
    schedule = {"runner": "ScheduledWorkflowRunner", "workflow.scheduler_id": sid, "workflow.intervals": [{"every": 1}]}
    whole = {
        "workflow": {
            "task_queue": "elsewhere",
            "workflow_id": "x",
            "workflow": "Task",
            "workflow_kwargs": {"activity": "one"},
        }
    }
    attempts = [
        ("open", terminate, "not overwritable: this task allows workflow.workflow_kwargs"),
        ("wide", terminate, "workflow.workflow_id names the workflow it starts"),
        ("wide", {"workflow.id_conflict_policy": "TERMINATE_EXISTING"}, "decides what happens to a running workflow"),
        ("wide", schedule, "runner decides what starts the task"),
        ("wide", {"workflow.scheduler_id": sid, "workflow.intervals": [{"every": 1}]}, "decides how often"),
        ("wide", {"runner": "WorkflowRunnerWithTempWorker"}, "a runner may start a worker in the API process"),
        ("wide", {"namespace": "lp-second"}, "namespace decides where the task runs"),
        ("wide", {"server": "elsewhere"}, "server decides where the task runs"),
        ("wide", {"workflow.task_queue": "elsewhere"}, "workflow.task_queue decides where the task runs"),
        ("wide", whole, "decides where the task runs"),
        ("open", {"workflow.workflow_kwargs.task_queue": "another-teams-queue"}, "decides where the task runs"),
    ]
    for name, overwrite, why in attempts:
        answer = await api.call("POST", f"/tasks/deploy/{name}", who=ALICE, json={"overwrite": overwrite})
        assert answer.status_code == 422, (name, overwrite, answer.text)
        body = answer.json()
        assert body["error"] == "invalid_spec" and why in body["message"], (name, overwrite, body)
        assert body["details"][0]["path"] and body["details"][0]["path"] in body["message"]
    # nothing happened in Temporal
    assert (await victim.describe()).status == WorkflowExecutionStatus.RUNNING
    with pytest.raises(RPCError):
        await client.get_schedule_handle(sid).describe()
    # what the files allow still works: the arguments for a user, a listed key for a super user
    args = await api.call(
        "POST", "/tasks/deploy/open", who=ALICE, json={"overwrite": {"workflow.workflow_kwargs.args": [7]}}
    )
    assert args.status_code == 200, args.text
    assert await client.get_workflow_handle(args.json()["workflow_id"]).result() == {"one": 7}
    listed = await api.call(
        "POST", "/tasks/deploy/wide", who=ADMIN, json={"overwrite": {"workflow.workflow_id": f"{api.prefix}-by-admin"}}
    )
    assert listed.status_code == 200 and listed.json()["workflow_id"] == f"{api.prefix}-by-admin", listed.text
    shown = await api.call("GET", "/tasks/wide", who=ALICE)
    assert shown.json()["overwrite_paths"] == ["runner", "server", "namespace", "workflow"]
    await victim.terminate()


# --- 6. no 500 for a user's mistake ------------------------------------------------------------------------------


async def test_mistakes_that_used_to_be_500s_are_4xx(api: Api) -> None:
    api.task("tpl", task_text("tpl", f"{api.prefix}-tpl", args='["hi {{ who }}"]', template=True, overwritable=True))
    api.repo.commit("tpl")
    await synced(api)
    named_self = await api.call("POST", "/tasks/deploy/tpl", json={"template_args": {"who": "x", "self": "y"}})
    assert named_self.status_code == 422 and named_self.json()["details"][0]["path"] == "template", named_self.text
    digits = await api.call(
        "POST",
        "/tasks/deploy/tpl",
        json={"template_args": {"who": "x"}, "overwrite": {"workflow.workflow_kwargs.args." + "9" * 5000: 1}},
    )
    assert digits.status_code == 422 and "no index" in digits.json()["message"], digits.text[:300]
    for retention in (1e15, float("1e308"), 3.2e9):
        answer = await api.call(
            "POST", "/servers/local/namespaces", json={"name": "lp-forever", "retention": retention}
        )
        assert answer.status_code == 422 and answer.json()["details"][0]["path"] == "retention", answer.text
    for body in ('{"name": "lp-forever", "retention": Infinity}', '{"name": "lp-forever", "retention": NaN}'):
        headers = {**await api.headers(), "content-type": "application/json"}
        answer = await api.http.post("/servers/local/namespaces", content=body, headers=headers)
        assert answer.status_code == 422, answer.text


# --- 4. a token does not outlive its user ------------------------------------------------------------------------


async def test_a_token_of_a_deleted_user_stays_refused_when_the_name_is_created_again(api: Api) -> None:
    bob = {"username": "bob", "password": "bob-password-42"}
    assert (await api.call("POST", "/users", json=bob)).status_code == 201
    old = await api.headers(("bob", bob["password"]))
    assert (await api.http.get("/tasks", headers=old)).status_code == 200
    assert (await api.call("DELETE", "/users/bob")).status_code == 200
    assert (await api.call("POST", "/users", json=bob)).status_code == 201  # the same name and password
    refused = await api.http.get("/tasks", headers=old)
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized", refused.text
    assert (await api.http.get("/tasks", headers=await api.headers(("bob", bob["password"])))).status_code == 200
    again = await api.call("POST", "/users", json=bob)
    assert again.status_code == 409 and again.json()["error"] == "conflict"


# --- 7. webhook replay -------------------------------------------------------------------------------------------


def replay(body: bytes, delivery: str | None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "X-GitHub-Event": "push",
    }
    return headers | ({"X-GitHub-Delivery": delivery} if delivery else {})


async def quiet(api: Api) -> int:
    """The number of syncs recorded, once the ones started by now have ended (not those scheduled later)."""
    await asyncio.sleep(0.3)
    for _ in range(200):
        syncs = api.services.store.syncs()
        if all(s.finished_at is not None for s in syncs):
            return len(syncs)
        await asyncio.sleep(0.1)
    raise AssertionError("a sync did not end")


async def test_a_replayed_signed_body_does_not_start_a_sync_each_time(api: Api) -> None:
    api.services.config.webhook.min_interval = timedelta(seconds=6)
    body = json.dumps({"ref": "refs/heads/main", "after": "1" * 40}).encode()
    missing = await api.http.post("/webhooks/git", content=body, headers=replay(body, None))
    assert missing.status_code == 422 and missing.json()["error"] == "missing_delivery_id", missing.text
    statuses = []
    for _ in range(5):  # the same signed body, a new delivery id each time, each after the last sync ended
        answer = await api.http.post("/webhooks/git", content=body, headers=replay(body, str(uuid.uuid4())))
        assert answer.status_code == 202, answer.text
        statuses.append(answer.json()["status"].split(" ")[0])
        assert await quiet(api) == 1
    assert statuses == ["started", "scheduled", "coalesced:", "coalesced:", "coalesced:"]
    await settle(api)  # the one scheduled at the end of the interval
    syncs = api.services.store.syncs()
    assert [s.trigger for s in syncs] == ["webhook: github", "webhook: github"]
    assert syncs[0].started_at - syncs[1].started_at >= timedelta(seconds=5)
    assert all(s.status == "succeeded" for s in syncs), syncs


# --- path traversal ----------------------------------------------------------------------------------------------


async def test_task_names_cannot_leave_the_tasks_folder(api: Api) -> None:
    before = api.repo.git("ls-remote", str(api.repo.remote), "main")
    content = task_text("x", f"{api.prefix}-x")
    names = ["..", "...", "../hello", "..%2Fhello", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2fhello", "a%2F..%2F..%2Fb"]
    names += ["hello%00", "hello.yaml%2F..", ".hello", "-hello", "hello%5C..%5Cx", "%2Fetc%2Fpasswd", "~root"]
    headers = await api.headers()  # a super user's: every route below is open to them
    for name in names:
        for method, url, kwargs in (
            ("GET", f"/tasks/{name}", {}),
            ("GET", f"/tasks/{name}/versions", {}),
            ("POST", f"/tasks/deploy/{name}", {}),
            ("PUT", f"/tasks/{name}", {"json": {"content": content}}),
            ("DELETE", f"/tasks/{name}", {}),
        ):
            answer = await api.http.request(method, url, headers=headers, **kwargs)
            assert answer.status_code in (404, 405, 422), (method, url, answer.status_code, answer.text)
            assert answer.json()["error"], answer.text
    assert api.repo.git("ls-remote", str(api.repo.remote), "main") == before, "nothing was committed"


async def test_plans_asked_for_at_once_are_made_once(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan fetches from git and lists all of Temporal: twenty requests of a plain user at once
    get one plan between them (made once, answered to all), not twenty."""
    reconciler = api.services.reconciler
    planned = reconciler.plan
    made = 0

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal made
        made += 1
        return await planned(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reconciler, "plan", counted)
    alice = await api.headers(ALICE)
    answers = await asyncio.gather(*(api.http.get("/sync/plan", headers=alice) for _ in range(20)))
    assert [a.status_code for a in answers] == [200] * 20 and len({a.text for a in answers}) == 1
    assert made == 1
