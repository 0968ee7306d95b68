"""ScheduledWorkflowRunner: options land, re-applying is idempotent, operators' pauses survive."""

from __future__ import annotations

import uuid

import pytest

from launchpad.temporal.runners import NotManaged
from tests.conftest import ENGINE_QUEUE, Engine
from tests.helpers import SCHEDULE_TASK, temporal_json

FULL = """
name: {name}
runner: ScheduledWorkflowRunner
workflow:
  task_queue: {queue}
  workflow_id: {name}-wf
  workflow: Task
  scheduler_id: {sid}
  tz: America/New_York
  intervals: [{{every: 2h, offset: 10m}}]
  calendars: [{{hour: "9-17/2", minute: 30, day_of_week: MON-FRI, comment: office}}]
  skip: [{{month: DEC, day_of_month: 25}}]
  crons: ["15 3 * * *"]
  jitter: 30s
  start_at: "2030-01-01T00:00:00Z"
  end_at: "2031-06-01T00:00:00Z"
  catchup_window: 10m
  overlap: BUFFER_ONE
  pause_on_failure: true
  paused: true
  note: managed
  workflow_kwargs: {{activity: zero}}
"""
SIMPLE = SCHEDULE_TASK


def ids() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return f"sched-{suffix}", f"schedule-{suffix}"


def describe(engine: Engine, sid: str) -> dict:
    return temporal_json(engine.server, "schedule", "describe", "--schedule-id", sid)


async def test_schedule_options_land(engine: Engine) -> None:
    name, sid = ids()
    result = await engine.deploy(FULL.format(name=name, sid=sid, queue=ENGINE_QUEUE), name)
    assert (result.action, result.schedule_id) == ("created", sid)
    schedule = describe(engine, sid)["schedule"]
    spec = schedule["spec"]
    assert spec["interval"] == [{"interval": "7200s", "phase": "600s"}]
    office, cron = spec["structuredCalendar"]
    assert office["hour"] == [{"start": 9, "end": 17, "step": 2}]
    assert office["minute"] == [{"start": 30, "end": 30, "step": 1}]
    assert office["dayOfWeek"] == [{"start": 1, "end": 5, "step": 1}]
    assert office["comment"] == "office"
    assert (cron["hour"], cron["minute"]) == (
        [{"start": 3, "end": 3, "step": 1}],
        [{"start": 15, "end": 15, "step": 1}],
    )
    [skip] = spec["excludeStructuredCalendar"]
    assert skip["month"] == [{"start": 12, "end": 12, "step": 1}]
    assert skip["dayOfMonth"] == [{"start": 25, "end": 25, "step": 1}]
    assert skip["hour"] == [{"end": 23, "step": 1}], "an omitted time of day in skip means the whole day"
    assert spec["timezoneName"] == "America/New_York"
    assert spec["jitter"] == "30s"
    assert (spec["startTime"], spec["endTime"]) == ("2030-01-01T00:00:00Z", "2031-06-01T00:00:00Z")
    assert schedule["policies"] == {
        "overlapPolicy": "SCHEDULE_OVERLAP_POLICY_BUFFER_ONE",
        "catchupWindow": "600s",
        "pauseOnFailure": True,
    }
    assert schedule["state"] == {"notes": "managed", "paused": True}
    action = schedule["action"]["startWorkflow"]
    assert (action["workflowId"], action["workflowType"]["name"]) == (f"{name}-wf", "Task")


async def test_reapplying_unchanged_writes_nothing_and_a_change_updates(engine: Engine) -> None:
    name, sid = ids()
    text = SIMPLE.format(name=name, sid=sid, queue=ENGINE_QUEUE, every="1h")
    assert (await engine.deploy(text, name)).action == "created"
    before = describe(engine, sid)
    assert (await engine.deploy(text, name)).action == "unchanged"
    after = describe(engine, sid)
    assert after["conflictToken"] == before["conflictToken"], "an unchanged re-apply must not write"
    assert "updateTime" not in after["info"]

    changed = SIMPLE.format(name=name, sid=sid, queue=ENGINE_QUEUE, every="45m")
    assert (await engine.deploy(changed, name)).action == "updated"
    updated = describe(engine, sid)
    assert updated["schedule"]["spec"]["interval"] == [{"interval": "2700s"}]
    assert updated["conflictToken"] != before["conflictToken"]


async def test_an_operator_pause_survives_reapply_and_update(engine: Engine) -> None:
    name, sid = ids()
    text = SIMPLE.format(name=name, sid=sid, queue=ENGINE_QUEUE, every="1h")
    await engine.deploy(text, name)
    temporal_json(engine.server, "schedule", "toggle", "--schedule-id", sid, "--pause", "--reason", "incident 42")
    assert (await engine.deploy(text, name)).action == "unchanged"
    assert describe(engine, sid)["schedule"]["state"] == {"notes": "incident 42", "paused": True}
    changed = SIMPLE.format(name=name, sid=sid, queue=ENGINE_QUEUE, every="2h")
    assert (await engine.deploy(changed, name)).action == "updated"
    assert describe(engine, sid)["schedule"]["state"] == {"notes": "incident 42", "paused": True}


async def test_a_schedule_launchpad_does_not_own_is_never_touched(engine: Engine) -> None:
    name, sid = ids()
    temporal_json(
        engine.server,
        "schedule",
        "create",
        "--schedule-id",
        sid,
        "--interval",
        "5m",
        "--workflow-id",
        "foreign",
        "--task-queue",
        ENGINE_QUEUE,
        "--type",
        "Task",
        "--paused",  # it would start argument-less Task runs on the engine's worker every 5 minutes
    )
    with pytest.raises(NotManaged):
        await engine.deploy(SIMPLE.format(name=name, sid=sid, queue=ENGINE_QUEUE, every="1h"), name)
    assert [i["interval"] for i in describe(engine, sid)["schedule"]["spec"]["interval"]] == ["300s"]
