"""The HTTP API, route by route, against the real dev server and a real git repository."""

from __future__ import annotations

import asyncio

from launchpad.state.records import FollowUp
from tests.apiharness import ALICE, Api, api, task_text  # noqa: F401
from tests.conftest import ENGINE_QUEUE
from tests.helpers import SCHEDULE_TASK, temporal_json


async def settle(api: Api) -> None:
    await asyncio.gather(*list(api.services.background))


async def test_list_and_show_tasks_redacts_env_values(api: Api) -> None:
    api.task(
        "secretive",
        "namespace: ${TEAM_NAMESPACE}\n"
        + task_text("secretive", f"{api.prefix}-s", args='["${API_TOKEN:-dev-token}", plain]'),
    )
    api.repo.commit("secretive")
    api.services.reconciler.env = {"API_TOKEN": "s3cr3t-value", "TEAM_NAMESPACE": "default"}
    listed = await api.call("GET", "/tasks")
    assert listed.status_code == 200
    names = {t["name"] for t in listed.json()}
    assert "hello" in names
    shown = await api.call("GET", "/tasks/hello")
    assert shown.status_code == 200
    assert shown.json()["spec"]["workflow"]["workflow_kwargs"]["args"] == ["world"]
    await api.call("POST", "/sync")  # fetches the new commit
    await settle(api)
    secret = await api.call("GET", "/tasks/secretive")
    assert secret.status_code == 200, secret.text
    assert secret.json()["spec"]["workflow"]["workflow_kwargs"]["args"] == ["***", "plain"]
    assert "s3cr3t-value" not in secret.text
    # the summaries hide them too (the namespace read from the environment was shown as it was)
    assert secret.json()["namespace"] == "***" and secret.json()["spec"]["namespace"] == "***"
    summaries = {t["name"]: t for t in (await api.call("GET", "/tasks")).json()}
    assert summaries["secretive"]["namespace"] == "***"
    missing = await api.call("GET", "/tasks/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "task_not_found"


async def test_deploy_lands_in_temporal_and_reports_ids(api: Api) -> None:
    deployed = await api.call("POST", "/tasks/deploy/hello", json={})
    assert deployed.status_code == 200, deployed.text
    body = deployed.json()
    assert (body["task"], body["action"], body["server"], body["namespace"]) == ("hello", "started", "local", "default")
    assert body["workflow_id"] == f"{api.prefix}-hello" and body["run_id"] and body["version"]
    client = await api.engine.client()
    assert await client.get_workflow_handle(body["workflow_id"]).result() == {"one": "world"}
    again = await api.call("POST", "/tasks/deploy/hello")
    assert again.status_code == 200, "a completed id can be reused (default policy)"


async def test_template_and_overwrite_land_exactly(api: Api) -> None:
    api.task(
        "tpl",
        task_text("tpl", api.prefix + "-tpl-{{ n }}", args='"{{ items }}"', template=True, overwritable=True),
    )
    api.repo.commit("tpl")
    await api.call("POST", "/sync")
    await settle(api)
    deployed = await api.call(
        "POST",
        "/tasks/deploy/tpl",
        json={
            "template_args": {"n": 1, "items": [1, 2]},
            "overwrite": {"workflow.workflow_kwargs.activity": "three", "workflow.workflow_kwargs.args": [1, 2, 3]},
        },
    )
    assert deployed.status_code == 200, deployed.text
    wid = deployed.json()["workflow_id"]
    assert wid == f"{api.prefix}-tpl-1"
    client = await api.engine.client()
    assert await client.get_workflow_handle(wid).result() == [1, 2, 3]
    plain = await api.call("POST", "/tasks/deploy/tpl", json={"template_args": {"n": 2, "items": [["x", 1]]}})
    assert plain.json()["workflow_id"] == f"{api.prefix}-tpl-2"
    assert await client.get_workflow_handle(plain.json()["workflow_id"]).result() == {"one": ["x", 1]}


async def test_template_injection_is_inert(api: Api) -> None:
    api.task("inj", task_text("inj", api.prefix + "-inj", args='["{{ who }}"]', template=True))
    api.repo.commit("inj")
    await api.call("POST", "/sync")
    await settle(api)
    client = await api.engine.client()
    for attack in ["{{ ''.__class__.__mro__[1].__subclasses__() }}", 'x", "task_queue": "evil', "x\nworkflow_id: evil"]:
        deployed = await api.call("POST", "/tasks/deploy/inj", json={"template_args": {"who": attack}})
        assert deployed.status_code == 200, deployed.text
        assert deployed.json()["workflow_id"] == f"{api.prefix}-inj"
        assert await client.get_workflow_handle(f"{api.prefix}-inj").result() == {"one": attack}
    code = await api.call("POST", "/tasks/deploy/inj", json={"template_args": {"who": "{{ 7 * 7 }}"}})
    assert await client.get_workflow_handle(code.json()["workflow_id"]).result() == {"one": "{{ 7 * 7 }}"}
    refused = await api.call("POST", "/tasks/deploy/hello", json={"template_args": {"who": "x"}})
    assert refused.status_code == 422 and refused.json()["error"] == "invalid_spec"
    assert refused.json()["details"][0]["path"] == "template"


async def test_deploy_errors_are_json_with_field_paths(api: Api) -> None:
    bad = await api.call("POST", "/tasks/deploy/hello", json={"overwrite": {"workflow.workflow_id": "x"}})
    assert bad.status_code == 422 and bad.json()["details"][0]["path"] == "overwritable"
    typo = await api.call("POST", "/tasks/deploy/hello", json={"overwrit": {}})
    assert typo.status_code == 422 and typo.json()["error"] == "validation_error"
    assert typo.json()["details"][0]["path"] == "overwrit"
    started = await api.call("POST", "/tasks/deploy/hello")
    assert started.status_code == 200
    wf = task_text("busy", api.prefix + "-busy").replace("workflow: Task", "workflow: AwaitedTask")
    api.task("busy", wf)
    api.repo.commit("busy")
    await api.call("POST", "/sync")
    await settle(api)
    assert (await api.call("POST", "/tasks/deploy/busy")).status_code == 200
    conflict = await api.call("POST", "/tasks/deploy/busy")
    assert conflict.status_code == 409 and conflict.json() == {
        "error": "already_running",
        "message": f"workflow '{api.prefix}-busy' is already running",
        "details": {"workflow_id": f"{api.prefix}-busy"},
    }
    await (await api.engine.client()).get_workflow_handle(f"{api.prefix}-busy").terminate()


async def test_user_mistakes_map_to_their_status(api: Api) -> None:
    """Each error kind has its status: an unknown revision is the caller's input, an unknown server is not found."""
    bad_ref = await api.call("POST", "/tasks/deploy/hello", json={"ref": "no-such-branch"})
    assert bad_ref.status_code == 422 and bad_ref.json()["error"] == "unknown_revision", bad_ref.text
    for unusable in ("\x00", "--all", "main\nHEAD"):  # git could not be given these at all
        refused = await api.call("POST", "/tasks/deploy/hello", json={"ref": unusable})
        assert refused.status_code == 422 and refused.json()["error"] == "unknown_revision", refused.text
    no_server = await api.call("GET", "/workflows/anything", params={"server": "nowhere"})
    assert no_server.status_code == 404 and no_server.json()["error"] == "unknown_target", no_server.text


async def test_put_task_commits_pushes_and_deploys(api: Api) -> None:
    sid = f"{api.prefix}-put"
    content = f"""name: fresh
runner: ScheduledWorkflowRunner
workflow:
  task_queue: {ENGINE_QUEUE}
  workflow_id: {sid}-wf
  workflow: Task
  scheduler_id: {sid}
  intervals: [{{every: 1h}}]
  workflow_kwargs: {{activity: zero}}
"""
    written = await api.call("PUT", "/tasks/fresh", json={"content": content, "message": "add fresh"})
    assert written.status_code == 200, written.text
    body = written.json()
    assert body["sync_status"] == "succeeded"
    api.repo.git("pull", "-q", "origin", "main")
    log = api.repo.git("log", "-1", "--format=%an|%s", "--", "deployments/tasks/fresh.yaml")
    assert log == "admin|add fresh"
    assert api.repo.head() == body["revision"]
    described = temporal_json(api.engine.server, "schedule", "describe", "--schedule-id", sid)
    assert described["schedule"]["spec"]["interval"] == [{"interval": "3600s"}]
    again = await api.call("PUT", "/tasks/fresh", json={"content": content, "message": "add fresh again"})
    assert again.status_code == 200 and again.json()["revision"] == body["revision"], again.text  # no empty commit
    invalid = await api.call("PUT", "/tasks/fresh", json={"content": content.replace("every: 1h", "every: soon")})
    assert invalid.status_code == 422 and invalid.json()["details"][0]["path"] == "workflow.intervals.0.every"
    traversal = await api.call("PUT", "/tasks/..%2F..%2Fetc%2Fpasswd", json={"content": content})
    assert traversal.status_code in (404, 422)
    dotted = await api.call("PUT", "/tasks/..", json={"content": content})
    assert dotted.status_code in (404, 405, 422)
    named = await api.call("PUT", "/tasks/..passwd", json={"content": content})
    assert named.status_code == 404 and named.json()["error"] == "task_not_found"
    user = await api.call("PUT", "/tasks/fresh", who=ALICE, json={"content": content})
    assert user.status_code == 403
    anchor = content.replace("name: fresh", "name: anchor").replace(sid, sid + "-anchor")
    assert (await api.call("PUT", "/tasks/anchor", json={"content": anchor})).json()["sync_status"] == "succeeded"
    deleted = await api.call("DELETE", "/tasks/fresh")
    assert deleted.status_code == 200 and deleted.json()["sync_status"] == "succeeded"
    assert sid not in {s["scheduleId"] for s in temporal_json(api.engine.server, "schedule", "list") or []}


async def test_workflow_routes(api: Api) -> None:
    started = (await api.call("POST", "/tasks/deploy/hello")).json()
    client = await api.engine.client()
    await client.get_workflow_handle(started["workflow_id"]).result()
    described = await api.call("GET", f"/workflows/{started['workflow_id']}")
    assert described.status_code == 200, described.text
    info = described.json()
    assert info["workflow_type"] == "Task" and info["status"] == "COMPLETED"
    assert info["query_status"] == {"state": "completed", "results": [{"one": "world"}], "errors": []}
    assert info["memo"]["launchpad"]["task"] == "hello"
    waiting = await client.start_workflow(
        "AwaitedTask", {"activity": "one", "args": [0]}, id=f"{api.prefix}-aw", task_queue=ENGINE_QUEUE
    )
    signalled = await api.call("POST", f"/workflows/{waiting.id}/signals/start", json={"args": ["via-api"]})
    assert signalled.status_code == 202
    assert await waiting.result() == {"one": "via-api"}
    other = await client.start_workflow(
        "AwaitedTask", {"activity": "one"}, id=f"{api.prefix}-aw2", task_queue=ENGINE_QUEUE
    )
    assert (await api.call("POST", f"/workflows/{other.id}/terminate", who=ALICE)).status_code == 403
    assert (await api.call("POST", f"/workflows/{other.id}/terminate")).status_code == 200
    assert (await other.describe()).status.name == "TERMINATED"
    assert (await api.call("GET", "/workflows/does-not-exist")).json()["error"] == "not_found"
    assert (await api.call("GET", "/workflows/x?server=nope")).status_code == 404


async def test_schedule_routes(api: Api) -> None:
    sid = f"{api.prefix}-sched"
    temporal_json(
        api.engine.server,
        "schedule",
        "create",
        "--schedule-id",
        sid,
        "--interval",
        "1h",
        "--workflow-id",
        sid,
        "--task-queue",
        ENGINE_QUEUE,
        "--type",
        "Task",
    )
    listed = await api.call("GET", "/schedules")
    assert sid in {s["schedule_id"] for s in listed.json()}
    paused = await api.call("POST", f"/schedules/{sid}/pause", who=ALICE)
    assert paused.json().get("status") == "paused", paused.text
    shown = (await api.call("GET", f"/schedules/{sid}")).json()
    assert shown["paused"] is True and "alice" in shown["note"]
    assert (await api.call("POST", f"/schedules/{sid}/unpause")).status_code == 200
    assert (await api.call("POST", f"/schedules/{sid}/trigger")).json()["status"] == "triggered"
    assert (await api.call("POST", f"/schedules/{sid}/explode")).status_code == 422
    assert (await api.call("DELETE", f"/schedules/{sid}", who=ALICE)).status_code == 403
    assert (await api.call("DELETE", f"/schedules/{sid}")).json()["status"] == "deleted"
    gone = await api.call("GET", f"/schedules/{sid}")
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"


async def test_servers_namespaces_and_workers(api: Api) -> None:
    servers = (await api.call("GET", "/servers")).json()
    assert servers[0]["name"] == "local" and servers[0]["default"] is True
    assert [n["name"] for n in servers[0]["namespaces"]] == ["default", "lp-second"]
    created = await api.call(
        "POST", "/servers/local/namespaces", json={"name": f"{api.prefix}-ns", "retention": 172800}
    )
    assert created.status_code == 201 and created.json()["action"] == "created"
    described = temporal_json(api.engine.server, "operator", "namespace", "describe", namespace=f"{api.prefix}-ns")
    assert described["config"]["workflowExecutionRetentionTtl"] == "172800s"
    assert (await api.call("POST", "/servers/local/namespaces", who=ALICE, json={"name": "zz-ns"})).status_code == 403
    assert (await api.call("POST", "/servers/nope/namespaces", json={"name": "zz-ns"})).status_code == 404
    api.repo.write(
        "deployments/workers/engine.yaml",
        f"worker:\n  task_queue: {ENGINE_QUEUE}\n  workflows: [Task]\n  activities: [zero]\n",
    )
    api.repo.write("deployments/workers/idle.yaml", "worker:\n  task_queue: nobody-polls-this\n")
    api.repo.commit("workers")
    await api.call("POST", "/sync")
    await settle(api)
    workers = {w["name"]: w for w in (await api.call("GET", "/workers")).json()}
    assert workers["engine"]["pollers"] >= 1 and workers["idle"]["pollers"] == 0


async def test_sync_routes(api: Api) -> None:
    sid = f"{api.prefix}-synced"
    api.repo.write(
        "deployments/tasks/synced.yaml",
        f"""name: synced
runner: ScheduledWorkflowRunner
workflow: {{task_queue: {ENGINE_QUEUE}, workflow_id: {sid}, workflow: Task, scheduler_id: {sid}, intervals: [{{every: 1h}}], workflow_kwargs: {{activity: zero}}}}
""",
    )
    api.repo.commit("synced")
    plan = (await api.call("GET", "/sync/plan")).json()
    assert {"kind": "schedule", "name": "synced", "action": "create"}.items() <= next(
        i for i in plan["items"] if i["name"] == "synced"
    ).items()
    headers = await api.headers()
    held = await api.services.reconciler.lease()  # a sync "running" elsewhere (another replica, say)
    assert held is not None
    busy = await api.http.post("/sync", headers=headers)
    assert busy.status_code == 409 and busy.json()["error"] == "already_running"
    assert await held.finish() == FollowUp.SYNC, "the running sync is asked for one follow-up"
    hard = await api.http.post("/sync", headers=headers, json={"hard": True})
    assert hard.status_code == 409
    assert await held.finish() == FollowUp.HARD, "a hard request is not lost in the follow-up"
    assert not await held.finish()
    triggered = await api.http.post("/sync", headers=headers)
    assert triggered.status_code == 202 and triggered.json()["id"]
    await settle(api)
    status = (await api.call("GET", "/sync/status")).json()
    assert {"kind": "schedule", "name": "synced", "status": "Synced"}.items() <= next(
        o for o in status["objects"] if o["name"] == "synced"
    ).items()
    assert status["last_sync"]["status"] == "succeeded"
    history = (await api.call("GET", "/sync/history")).json()
    assert history[0]["id"] == triggered.json()["id"] and history[0]["trigger"] == "api: admin"


async def test_sync_status_reports_a_sync_with_a_broken_file_as_degraded(api: Api) -> None:
    """A sync that applied every good file but met a broken one is Degraded in the API as in the
    CLI (it once said `succeeded`, the broken file nowhere in the answer)."""
    for name, every in (("fine", "1h"), ("bad", "sometimes")):
        text = SCHEDULE_TASK.format(name=name, sid=f"{api.prefix}-{name}", queue=ENGINE_QUEUE, every=every)
        api.task(name, text)
    api.repo.commit("one good file, one broken")
    assert (await api.call("POST", "/sync")).status_code == 202
    await settle(api)
    status = (await api.call("GET", "/sync/status", who=ALICE)).json()
    assert status["last_sync"]["status"] == "degraded", status["last_sync"]
    assert [(e["file"], e["path"]) for e in status["errors"]] == [
        ("deployments/tasks/bad.yaml", "workflow.intervals.0.every")
    ]
    assert [(o["name"], o["status"]) for o in status["objects"]] == [("fine", "Synced")]
    history = (await api.call("GET", "/sync/history")).json()
    assert history[0]["status"] == "degraded"


async def test_a_hard_sync_request_runs_a_drift_scan_and_a_plain_one_does_not(api: Api) -> None:
    """`POST /sync {"hard": true}` compares Temporal in full (a deleted schedule comes back, the
    verification runs); a plain `POST /sync` plans only what changed in git."""
    sid = f"{api.prefix}-scanned"
    api.task("scanned", SCHEDULE_TASK.format(name="scanned", sid=sid, queue=ENGINE_QUEUE, every="1h"))
    api.repo.commit("one schedule")
    assert (await api.call("POST", "/sync")).status_code == 202
    await settle(api)
    before = (await api.call("GET", "/sync/status")).json()
    temporal_json(api.engine.server, "schedule", "delete", "--schedule-id", sid)
    assert (await api.call("POST", "/sync", json={})).status_code == 202
    await settle(api)
    listed = {s["scheduleId"] for s in temporal_json(api.engine.server, "schedule", "list") or []}
    assert sid not in listed, "a refresh does not look at Temporal"
    assert (await api.call("POST", "/sync", json={"hard": True})).status_code == 202
    await settle(api)
    described = temporal_json(api.engine.server, "schedule", "describe", "--schedule-id", sid)
    assert described["schedule"]["spec"]["interval"] == [{"interval": "3600s"}]
    after = (await api.call("GET", "/sync/status")).json()
    assert after["last_sync"]["drift_scan"] is True
    assert after["drift_scan_at"] > before["drift_scan_at"] and after["verified_at"] > before["verified_at"]


async def test_errors_are_json_never_stack_traces(api: Api) -> None:
    unknown = await api.call("GET", "/no/such/route")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    wrong_method = await api.call("PATCH", "/tasks")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"
    not_json = await api.http.post(
        "/tasks/deploy/hello", content=b"{not json", headers={**await api.headers(), "content-type": "application/json"}
    )
    assert not_json.status_code == 422 and "Traceback" not in not_json.text
