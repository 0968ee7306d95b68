"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright, against
the app served by uvicorn, the session's Temporal dev server and real git repositories.

Every test asserts what a person sees on the page, and checks what Temporal holds with an
independent client (the `temporal` CLI or the SDK) where the page claims something about it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.async_api import Page, expect
from temporalio.api.enums.v1 import EventType
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from tests.apiharness import ADMIN, ALICE, task_text
from tests.helpers import SCHEDULE_TASK, eventually, temporal_json
from tests.uiharness import ROOT, WEB_URL, browser, dashboard, screenshot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.temporal
ENGINE_QUEUE = "lp-engine-tests"


def managed_examples() -> dict[str, str]:
    """name -> kind of every object the example repository describes, read from the files
    (a schedule, a deploy-on-start task, a worker), independently of the reconciler."""
    out = {}
    for file in sorted((ROOT / "deployments/tasks").glob("*.yaml")):
        doc = yaml.safe_load(file.read_text())
        if doc.get("template"):
            continue
        if doc["workflow"].get("scheduler_id"):
            out[doc["name"]] = "schedule"
        elif doc.get("deploy_on_server_start"):
            out[doc["name"]] = "task"
    for file in sorted((ROOT / "deployments/workers").glob("*.yaml")):
        out[file.stem] = "worker"
    return out


async def object_rows(page: Page) -> dict[str, list[str]]:
    """The overview's object table as a person reads it: name -> the row's cell texts."""
    cells = await page.locator("table.objects tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))"
    )
    return {row[1]: row for row in cells if len(row) == 7}


async def test_login_wrong_then_right_password_overview_lists_every_example(dashboard: Any, tmp_path: Path) -> None:
    dash = await dashboard(examples=True)
    result = await dash.sync()
    assert result.status == "succeeded", result
    page = await dash.page()
    await page.goto(dash.url + "/ui")
    await expect(page).to_have_url(re.compile(r"/ui/login"))
    await page.get_by_label("Username").fill(ADMIN[0])
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("p.error")).to_have_text("invalid username or password")
    await expect(page).to_have_url(re.compile(r"/ui/login"))

    await page.get_by_label("Password").fill(ADMIN[1])
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    rows = await object_rows(page)
    expected = managed_examples()
    assert set(rows) == set(expected), (sorted(rows), sorted(expected))
    stored = {o.name: o for o in dash.services.store.objects()}
    for name, kind in expected.items():
        kind_cell, _, status, reason, revision, where, _ = rows[name]
        assert (kind_cell, status, reason) == (kind, stored[name].status, stored[name].reason)
        assert status == "Synced" and revision == result.revision[:12] and where == "local/default"
    last = page.locator("section.last")
    await expect(last).to_contain_text(result.revision[:12])
    await expect(last).to_contain_text("succeeded")
    await expect(last.get_by_role("link", name=result.revision[:12])).to_have_attribute(
        "href", WEB_URL.replace("{sha}", result.revision)
    )
    await screenshot(page, "overview", tmp_path)


async def test_csrf_and_cookie_flags(dashboard: Any) -> None:
    """As a plain user: the session cookie's flags, the CSRF check, and Sync now (user level)."""
    dash = await dashboard()
    page = await dash.login(ALICE)
    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies["launchpad_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict" and session["path"] == "/ui"
    assert await page.evaluate("document.cookie") == ""  # scripts cannot read the session

    before = len(dash.services.store.syncs())
    refused = await page.request.post(dash.url + "/ui/sync", form={}, max_redirects=0)
    assert refused.status == 403
    assert "did not come from this site" in await refused.text()
    forged = await page.request.post(dash.url + "/ui/sync", form={"csrf": "00" * 64}, max_redirects=0)
    assert forged.status == 403
    assert len(dash.services.store.syncs()) == before  # nothing started

    await page.get_by_role("button", name="Sync now").click()  # the page's own form carries the token
    await expect(page.locator("p.notice")).to_contain_text("started")
    await expect(page.locator("section.last")).to_contain_text("ui: alice", timeout=30_000)
    await expect(page.locator("section.last .badge")).to_have_text("succeeded")
    assert [s.trigger for s in dash.services.store.syncs()] == ["ui: alice"]  # recorded, as the user's

    # bearer tokens keep working for the API, the cookie does not replace them
    api = await page.request.get(dash.url + "/sync/status")
    assert api.status == 401
    login = await page.request.post(dash.url + "/auth/token", form={"username": ADMIN[0], "password": ADMIN[1]})
    token = (await login.json())["access_token"]
    status = await page.request.get(dash.url + "/sync/status", headers={"Authorization": f"Bearer {token}"})
    assert status.status == 200


async def test_open_dashboard_says_so(dashboard: Any) -> None:
    dash = await dashboard(open=True)
    page = await dash.page()
    await page.goto(dash.url + "/ui")
    await expect(page.locator(".banner")).to_contain_text("No authenticator is configured")
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    refused = await page.request.post(dash.url + "/ui/sync", form={}, max_redirects=0)
    assert refused.status == 403  # open, but a form of another site still cannot act
    await page.get_by_role("button", name="Sync now").click()
    await expect(page.locator("p.notice")).to_contain_text("started")


def schedule_file(name: str, sid: str, every: str = "1h") -> str:
    return SCHEDULE_TASK.format(name=name, sid=sid, queue=ENGINE_QUEUE, every=every)


async def test_broken_commit_shows_file_key_path_and_revision_and_keeps_last_good(
    dashboard: Any, tmp_path: Path
) -> None:
    dash = await dashboard()
    name = f"{dash.prefix}-report"
    sid, path = f"{name}-sched", f"deployments/tasks/{name}.yaml"
    good = dash.commit({path: schedule_file(name, sid, "1h")}, "a schedule")
    assert (await dash.sync()).status == "succeeded"
    broken = dash.commit({path: schedule_file(name, sid, "every-other-tuesday")}, "typo in the interval")
    await dash.sync()

    page = await dash.login()
    problem = page.locator("tr.file-error")
    await expect(problem).to_have_count(1)
    await expect(problem).to_contain_text(path)
    await expect(problem).to_contain_text("workflow.intervals.0.every")
    await expect(problem.get_by_role("link", name=broken[:12])).to_have_attribute(
        "href", WEB_URL.replace("{sha}", broken)
    )
    await expect(problem).to_contain_text(f"schedule {name}: running the last good version from {good[:12]}")
    row = (await object_rows(page))[name]
    assert row[2] == "Degraded" and "last good version kept" in row[3], row
    # the sync itself was degraded, not succeeded: a file of it is broken (reconciler/sync.py)
    await expect(page.locator("section.last .badge")).to_have_text("degraded")
    # Temporal still runs the last good version: the schedule fires every hour
    assert described(dash, sid)["schedule"]["spec"]["interval"] == [{"interval": "3600s"}]
    await screenshot(page, "broken-commit", tmp_path)

    fixed = dash.commit({path: schedule_file(name, sid, "2h")}, "fix the interval")
    assert (await dash.sync()).status == "succeeded"
    await page.reload()
    await expect(page.locator("tr.file-error")).to_have_count(0)
    row = (await object_rows(page))[name]
    assert row[2] == "Synced" and row[4] == fixed[:12], row
    assert described(dash, sid)["schedule"]["spec"]["interval"] == [{"interval": "7200s"}]


async def test_overview_refreshes_itself(dashboard: Any) -> None:
    dash = await dashboard()
    page = await dash.login()
    await expect(page.locator("section.last")).to_contain_text("No sync has run yet")
    name = f"{dash.prefix}-later"
    dash.commit({f"deployments/tasks/{name}.yaml": schedule_file(name, f"{name}-sched")})
    await dash.sync()  # no reload: the page fetches itself every few seconds
    await expect(page.locator("table.objects")).to_contain_text(name, timeout=15_000)
    await expect(page.locator("section.last")).to_contain_text("succeeded")


async def test_schedule_page_next_runs_controls_and_recent_actions_equal_temporal(
    dashboard: Any, tmp_path: Path
) -> None:
    dash = await dashboard()
    name = f"{dash.prefix}-hourly"
    sid = f"{name}-sched"
    dash.commit({f"deployments/tasks/{name}.yaml": schedule_file(name, sid, "1h")})
    assert (await dash.sync()).status == "succeeded"
    page = await dash.login()
    before = next_runs(dash, sid)
    await page.get_by_role("link", name=name, exact=True).click()
    await expect(page.get_by_role("heading", name=name)).to_be_visible()

    shown = await page.locator("ol.next-runs time").evaluate_all("ts => ts.map(t => t.getAttribute('datetime'))")
    # Temporal is read before and after the page: an hour that turns while the page renders
    # shifts the list by one, and the page must equal one of the two readings.
    assert [parse_time(t) for t in shown] in (before, next_runs(dash, sid)) and len(before) == 5
    ui = f"http://127.0.0.1:{dash.engine.server.ui_port}"
    await expect(page.locator("a.temporal")).to_have_attribute("href", f"{ui}/namespaces/default/schedules/{sid}")
    await expect(page.locator("section.live")).to_contain_text("running")
    await expect(page.locator("pre.spec")).to_contain_text(f"scheduler_id: {sid}")
    await expect(page.locator("section.versions details")).to_have_count(1)
    await expect(page.locator("table.recent")).to_contain_text("no run yet")

    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator("p.notice")).to_have_text("Schedule paused.")
    await expect(page.locator("section.live")).to_contain_text("paused through the launchpad dashboard by admin")
    assert described(dash, sid)["schedule"]["state"] == {
        "paused": True,
        "notes": "paused through the launchpad dashboard by admin",
    }
    await page.get_by_role("button", name="Unpause").click()
    await expect(page.locator("p.notice")).to_have_text("Schedule unpaused.")
    await expect(live_field(page, "state")).to_have_text(
        "running · note: unpaused through the launchpad dashboard by admin"
    )
    state = described(dash, sid)["schedule"]["state"]
    assert not state.get("paused") and state["notes"] == "unpaused through the launchpad dashboard by admin"

    await page.get_by_role("button", name="Trigger now").click()
    await expect(page.locator("p.notice")).to_have_text("Schedule triggered: a run starts now.")
    actions = await eventually(lambda: described(dash, sid)["info"].get("recentActions"), 10, "the triggered run")
    started = [a["startWorkflowResult"] for a in reversed(actions)]  # the page lists the newest first
    await page.reload()
    rows = await page.locator("table.recent tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))"
    )
    assert [(r[2], r[3]) for r in rows] == [(s["workflowId"], s["runId"]) for s in started], rows
    await screenshot(page, "object", tmp_path)


def described(dash: Any, sid: str) -> Any:
    """The schedule as `temporal schedule describe` shows it: an independent client."""
    return temporal_json(dash.engine.server, "schedule", "describe", "--schedule-id", sid)


def next_runs(dash: Any, sid: str) -> list[datetime]:
    return [parse_time(t) for t in described(dash, sid)["info"]["futureActionTimes"][:5]]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def started_input(dash: Any, workflow_id: str) -> Any:
    """The input the workflow was started with, from its history in Temporal."""
    handle = (await dash.engine.client()).get_workflow_handle(workflow_id)
    history = await handle.fetch_history()
    started = history.events[0]
    assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    payloads = started.workflow_execution_started_event_attributes.input.payloads
    return DataConverter.default.payload_converter.from_payloads(payloads)[0]


async def test_deploy_form_overwrite_starts_the_workflow_with_it(dashboard: Any) -> None:
    dash = await dashboard()
    name = f"{dash.prefix}-sum"
    wid = f"{name}-wf"
    dash.commit({f"deployments/tasks/{name}.yaml": task_text(name, wid, args="[1]", overwritable=True)})
    page = await dash.login(target=f"/ui/tasks/{name}")
    await expect(page.get_by_role("heading", name=name)).to_contain_text("on demand")
    await page.get_by_label("path 1").fill("workflow.workflow_kwargs.args.0")
    await page.get_by_label("value 1").fill("41")
    await page.get_by_role("button", name="Deploy", exact=True).click()
    await expect(page.locator("p.notice")).to_contain_text(f"workflow {wid}")
    assert (await started_input(dash, wid))["args"] == [41]
    await expect(page.locator("section.live")).to_contain_text(wid)

    # a path the file does not have: the form says why and keeps what was typed
    await page.get_by_label("path 1").fill("workflow.no_such_key")
    await page.get_by_label("value 1").fill("x")
    await page.get_by_role("button", name="Deploy", exact=True).click()
    await expect(page.locator("p.error")).to_contain_text("Deploy refused")
    await expect(page.get_by_label("path 1")).to_have_value("workflow.no_such_key")


async def test_deploy_this_version_starts_that_version_and_refuses_another_branch(dashboard: Any) -> None:
    dash = await dashboard()
    name = f"{dash.prefix}-versioned"
    wid, path = f"{name}-wf", f"deployments/tasks/{name}.yaml"
    first = dash.commit({path: task_text(name, wid, args="[1]")}, "first version")
    dash.commit({path: task_text(name, wid, args="[2]")}, "second version")
    # a commit the branch never had: pushed to another branch of the same remote
    dash.repo.git("checkout", "-q", "-b", "unreviewed")
    dash.repo.write(path, task_text(name, f"{name}-forged", args="[99]"))
    unmerged = dash.repo.commit("not reviewed", push=False)
    dash.repo.git("push", "-q", "origin", "unreviewed")
    dash.repo.git("checkout", "-q", dash.repo.branch)

    page = await dash.login(target=f"/ui/tasks/{name}")
    older = page.locator("section.versions details").nth(1)
    await older.locator("summary").click()
    await expect(older.locator("summary")).to_contain_text(first[:12])
    await older.get_by_role("button", name="Deploy this version").click()
    await expect(page.locator("p.notice")).to_contain_text(f"workflow {wid}")
    assert (await started_input(dash, wid))["args"] == [1]  # the older version's file, not the head's [2]

    # a ref off the branch, forged into the form: refused on the page, nothing started
    newest = page.locator("section.versions details").first
    await newest.locator("input[name=ref]").evaluate("(input, sha) => { input.value = sha }", unmerged)
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await newest.get_by_role("button", name="Deploy this version").click()
    assert (await answer.value).status == 422
    await expect(page.locator("p.error")).to_have_text(f"Deploy refused: unknown revision '{unmerged}'")
    with pytest.raises(RPCError) as missing:
        await (await dash.engine.client()).get_workflow_handle(f"{name}-forged").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    assert (await started_input(dash, wid))["args"] == [1]


async def test_deploy_form_lets_a_super_user_and_only_them_overwrite_a_guarded_key(dashboard: Any) -> None:
    """The form decides as the API does: a key that names the workflow, listed by the file, is a
    super user's to overwrite (the form used to refuse it to every viewer)."""
    dash = await dashboard()
    name = f"{dash.prefix}-wide"
    text = task_text(name, f"{name}-wf", overwritable=True).replace("overwritable: true", "overwritable: [workflow]")
    dash.commit({f"deployments/tasks/{name}.yaml": text})

    async def deploy_as(who: tuple[str, str], workflow_id: str) -> Page:
        page = await dash.login(who, target=f"/ui/tasks/{name}")
        await page.get_by_label("path 1").fill("workflow.workflow_id")
        await page.get_by_label("value 1").fill(workflow_id)
        await page.get_by_role("button", name="Deploy", exact=True).click()
        return page

    alice = await deploy_as(ALICE, f"{name}-by-alice")
    await expect(alice.locator("p.error")).to_contain_text("names the workflow it starts")
    admin = await deploy_as(ADMIN, f"{name}-by-admin")
    await expect(admin.locator("p.notice")).to_contain_text(f"workflow {name}-by-admin")
    assert (await started_input(dash, f"{name}-by-admin"))["args"] == [1]


async def test_values_from_the_environment_are_stars_on_the_object_page(dashboard: Any) -> None:
    """As in `GET /tasks/{name}`: a value a file takes from the environment is shown as ***,
    in the spec and wherever else the page shows the file's values."""
    dash = await dashboard()
    name = f"{dash.prefix}-secretive"
    text = task_text(name, f"{name}-wf", args='["${UI_TOKEN}", plain]').replace(
        "runner: WorkflowRunner", 'description: "paged: ${UI_PAGER}"\nrunner: WorkflowRunner'
    )
    dash.commit({f"deployments/tasks/{name}.yaml": text})
    dash.services.reconciler.env = {"UI_TOKEN": "s3cr3t-token-4711", "UI_PAGER": "+41-79-555-0100"}
    page = await dash.login(target=f"/ui/tasks/{name}")
    shown = yaml.safe_load(await page.locator("pre.spec").inner_text())
    assert shown["workflow"]["workflow_kwargs"]["args"] == ["***", "plain"]
    login = await page.request.post(dash.url + "/auth/token", form={"username": ADMIN[0], "password": ADMIN[1]})
    bearer = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
    api = await (await page.request.get(f"{dash.url}/tasks/{name}", headers=bearer)).json()
    assert shown == api["spec"]  # the page shows what the API shows
    await expect(page.locator("p.description")).to_have_text("***")
    html = await page.content()
    assert "s3cr3t-token-4711" not in html and "+41-79-555-0100" not in html


def service_file(name: str, wid: str, args: str = "[1]") -> str:
    """A deploy-on-start task whose workflow keeps running: no worker polls its queue."""
    text = task_text(name, wid, args=args).replace(
        "runner: WorkflowRunner", "runner: WorkflowRunner\ndeploy_on_server_start: true"
    )
    return text.replace(f"task_queue: {ENGINE_QUEUE}", "task_queue: nobody-polls-this")


async def test_out_of_sync_object_shows_desired_against_live(dashboard: Any) -> None:
    dash = await dashboard()
    name = f"{dash.prefix}-keeper"
    wid, path = f"{name}-wf", f"deployments/tasks/{name}.yaml"
    dash.commit({path: service_file(name, wid, args="[1]")})
    assert (await dash.sync()).status == "succeeded"
    dash.commit({path: service_file(name, wid, args="[2]")}, "new argument")
    await dash.sync()  # on_change: keep: the running workflow keeps its version
    page = await dash.login()
    row = (await object_rows(page))[name]
    assert row[2] == "OutOfSync", row
    await page.get_by_role("link", name=name, exact=True).click()
    diff = page.locator("pre.diff").first
    await expect(page.get_by_role("heading", name="Desired vs live")).to_be_visible()
    await expect(diff).to_contain_text("-    args: [1]")
    await expect(diff).to_contain_text("+    args: [2]")
    assert (await started_input(dash, wid))["args"] == [1]  # what runs in Temporal is the old version


async def test_user_sees_no_super_user_buttons_and_a_forged_post_is_refused(dashboard: Any) -> None:
    dash = await dashboard()
    name = f"{dash.prefix}-service"
    wid = f"{name}-wf"
    dash.commit({f"deployments/tasks/{name}.yaml": service_file(name, wid)})
    assert (await dash.sync()).status == "succeeded"

    admin = await dash.login(target=f"/ui/tasks/{name}")
    await expect(admin.get_by_role("button", name="Terminate")).to_be_visible()
    alice = await dash.login(ALICE, target=f"/ui/tasks/{name}")
    running = temporal_json(dash.engine.server, "workflow", "describe", "--workflow-id", wid)["workflowExecutionInfo"]
    assert running["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"
    await expect(live_field(alice, "status")).to_have_text("RUNNING")
    await expect(live_field(alice, "run id")).to_have_text(running["execution"]["runId"])
    await expect(alice.get_by_role("button", name="Terminate")).to_have_count(0)
    await expect(alice.get_by_role("button", name="Cancel")).to_have_count(0)

    token = await alice.locator("input[name=csrf]").first.get_attribute("value")
    forged = await alice.request.post(
        f"{dash.url}/ui/tasks/{name}/workflow/terminate", form={"csrf": token or ""}, max_redirects=0
    )
    assert forged.status == 403
    assert "super user" in await forged.text()
    described = temporal_json(dash.engine.server, "workflow", "describe", "--workflow-id", wid)
    assert described["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"

    await admin.get_by_role("button", name="Terminate").click()
    await expect(admin.locator("p.notice")).to_have_text("Workflow terminated.")
    described = temporal_json(dash.engine.server, "workflow", "describe", "--workflow-id", wid)
    assert described["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_TERMINATED"
    await expect(live_field(admin, "status")).to_have_text("TERMINATED")
    await expect(live_field(admin, "run id")).to_have_text(running["execution"]["runId"])


def live_field(page: Page, term: str) -> Any:
    """What the page's "Live in Temporal" section says for one term (status, run id, state)."""
    return page.locator(f"section.live dt:text-is('{term}') + dd")


async def test_a_script_in_a_description_is_shown_as_text_and_runs_nothing(dashboard: Any) -> None:
    dash = await dashboard()
    name = f"{dash.prefix}-xss"
    payload = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    text = task_text(name, f"{name}-wf").replace(
        "runner: WorkflowRunner", f"description: {json.dumps(payload)}\nrunner: WorkflowRunner"
    )
    dash.commit({f"deployments/tasks/{name}.yaml": text}, f"add {payload}")
    page = await dash.page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.goto(dash.url + f"/ui/tasks/{name}")
    await page.get_by_label("Username").fill(ADMIN[0])
    await page.get_by_label("Password").fill(ADMIN[1])
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("p.description")).to_have_text(payload)
    await expect(page.locator("section.versions")).to_contain_text(payload)  # the commit message too
    await page.goto(dash.url + "/ui/tasks")
    await page.wait_for_timeout(500)
    assert dialogs == []
    assert await page.locator("script:not([src])").count() == 0


async def test_sync_history_and_plan_pages(dashboard: Any) -> None:
    dash = await dashboard()
    name = f"{dash.prefix}-planned"
    path = f"deployments/tasks/{name}.yaml"
    dash.commit({path: schedule_file(name, f"{name}-sched", "1h")})
    first = await dash.sync()
    dash.commit({path: schedule_file(name, f"{name}-sched", "3h")}, "every three hours")
    page = await dash.login(target="/ui/plan")
    change = page.locator("table").first.locator("tr", has_text=name)
    await expect(change).to_contain_text("update")
    await expect(change).to_contain_text("spec changed")

    await page.get_by_role("link", name="Syncs").click()
    record = page.locator(f"#sync-{first.id}")
    await expect(record).to_contain_text("succeeded")
    await expect(record.locator("tr", has_text=name)).to_contain_text("create")
    await expect(record.locator("tr", has_text=name)).to_contain_text("ok, wrote")
