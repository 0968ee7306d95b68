"""A schedule from a task, and the canonical form schedules are compared in.

The server rewrites what it is sent (missing calendar fields filled in, zero durations dropped,
cron strings turned into calendars), and SDK objects may print differently across temporalio
releases. So schedules are compared by `canonical_spec`: a plain, normalised dict that a
schedule launchpad built and the same schedule as a listing or a describe returns have alike.
`fingerprint` hashes it; the state store keeps the fingerprint of what each sync wrote.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import RetryPolicy
from temporalio.converter import PayloadConverter
from temporalio.service import RPCError, RPCStatusCode

from launchpad.spec.schedule import CalendarSpec
from launchpad.spec.task import TaskSpec
from launchpad.temporal.memo import MARKER, marker
from launchpad.temporal.options import search_attributes, workflow_input
from launchpad.temporal.workflows import retry_policy

_WHOLE_DAY = {"second": (0, 59), "minute": (0, 59), "hour": (0, 23)}
# what the server holds for a calendar field that was not given
_CALENDAR_DEFAULTS: dict[str, list[list[int]]] = {
    "second": [[0, 0, 1]],
    "minute": [[0, 0, 1]],
    "hour": [[0, 0, 1]],
    "day_of_month": [[1, 31, 1]],
    "month": [[1, 12, 1]],
    "year": [],
    "day_of_week": [[0, 6, 1]],
}


def calendar(spec: CalendarSpec, *, skip: bool = False) -> ScheduleCalendarSpec:
    """Temporal's calendar spec. Omitted fields keep Temporal's defaults (second, minute and
    hour 0), except in `skip`, where an omitted time of day means the whole day: skipping
    `{month: DEC, day_of_month: 25}` skips Christmas, not only its midnight."""
    fields: dict[str, Any] = {"comment": spec.comment}
    for name in ("second", "minute", "hour", "day_of_month", "month", "year", "day_of_week"):
        ranges = getattr(spec, name)
        if ranges is not None:
            fields[name] = [ScheduleRange(r["start"], r["end"], r["step"]) for r in ranges]
        elif skip and name in _WHOLE_DAY:
            fields[name] = [ScheduleRange(*_WHOLE_DAY[name])]
    return ScheduleCalendarSpec(**fields)


def build_spec(task: TaskSpec) -> ScheduleSpec:
    wf = task.workflow
    return ScheduleSpec(
        calendars=[calendar(c) for c in wf.calendars],
        intervals=[ScheduleIntervalSpec(every=i.every, offset=i.offset) for i in wf.intervals],
        cron_expressions=list(wf.crons),
        skip=[calendar(c, skip=True) for c in wf.skip],
        start_at=wf.start_at,
        end_at=wf.end_at,
        jitter=wf.jitter,
        time_zone_name=wf.tz,
    )


def build_schedule(task: TaskSpec, version: str | None, digest: str, instance: str = "") -> Schedule:
    wf = task.workflow
    stamp = marker(task, version, instance, digest)
    action = ScheduleActionStartWorkflow(
        wf.workflow,
        workflow_input(task),
        id=wf.workflow_id,
        task_queue=wf.task_queue or "",
        execution_timeout=wf.execution_timeout,
        run_timeout=wf.run_timeout,
        task_timeout=wf.task_timeout,
        retry_policy=retry_policy(wf.retry_policy),
        memo={**wf.memo, MARKER: stamp},
        typed_search_attributes=search_attributes(wf.search_attributes),
    )
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy[wf.overlap], pause_on_failure=wf.pause_on_failure)
    if wf.catchup_window is not None:
        policy.catchup_window = wf.catchup_window
    state = ScheduleState(
        note=wf.note,
        paused=bool(wf.paused),
        limited_actions=wf.limited_actions,
        remaining_actions=wf.remaining_actions,
    )
    schedule = Schedule(action=action, spec=build_spec(task), policy=policy, state=state)
    stamp["action"] = action_fingerprint(schedule, task.ignore_differences)  # what a verification compares with
    return schedule


def action_marker(schedule: Schedule) -> dict[str, Any] | None:
    """The marker on a described schedule's action (its version and spec hash), if launchpad wrote it."""
    memo = getattr(schedule.action, "memo", None) or {}
    payload = memo.get(MARKER)
    if payload is None:
        return None
    value = PayloadConverter.default.from_payload(payload) if hasattr(payload, "data") else payload
    return value if isinstance(value, dict) else None


def _seconds(value: timedelta | None) -> float:
    return value.total_seconds() if value else 0.0


def _instant(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _ranges(ranges: Sequence[ScheduleRange]) -> list[list[int]]:
    return [[r.start, max(r.end, r.start), r.step or 1] for r in ranges]


def _calendar(spec: ScheduleCalendarSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: _ranges(getattr(spec, name)) or default for name, default in _CALENDAR_DEFAULTS.items()
    }
    out["comment"] = spec.comment or ""
    return out


def canonical_spec(spec: ScheduleSpec, ignore: Collection[str] = ()) -> dict[str, Any] | None:
    """The spec as the server holds it, as plain data, without the `ignore`d fields (a task's
    `ignore_differences`, `spec.jitter`...); None when that cannot be told without asking the
    server (cron strings: the server turns them into calendars)."""
    if spec.cron_expressions:
        return None
    left_out = {path.removeprefix("spec.") for path in ignore if path.startswith("spec.")}
    canonical = {
        "calendars": [_calendar(c) for c in spec.calendars],
        "intervals": [[_seconds(i.every), _seconds(i.offset)] for i in spec.intervals],
        "skip": [_calendar(c) for c in spec.skip],
        "start_at": _instant(spec.start_at),
        "end_at": _instant(spec.end_at),
        "jitter": _seconds(spec.jitter),
        "time_zone": spec.time_zone_name or "",
    }
    return {key: value for key, value in canonical.items() if key not in left_out}


SERVER_CATCHUP_WINDOW = 365 * 24 * 3600.0  # what the server stores for a catchup window sent as zero


def canonical_action(schedule: Schedule, ignore: Collection[str] = ()) -> dict[str, Any]:
    """What the schedule starts and its policies, as plain data alike for a `Schedule` launchpad
    built (arguments as values) and the same schedule described (arguments as payloads), without
    launchpad's marker and the `ignore`d policies. A listing shows none of it: a verification
    describes each schedule to compare it."""
    policy = schedule.policy
    policies = {
        "overlap": policy.overlap.name,
        "catchup_window": _seconds(policy.catchup_window) or SERVER_CATCHUP_WINDOW,
        "pause_on_failure": policy.pause_on_failure,
    }
    canonical: dict[str, Any] = {key: value for key, value in policies.items() if f"policies.{key}" not in ignore}
    action = schedule.action
    if not isinstance(action, ScheduleActionStartWorkflow):
        return canonical | {"action": type(action).__name__}
    retry = action.retry_policy
    return canonical | {
        "workflow": action.workflow,
        "args": [_payload_text(arg) for arg in action.args],
        "id": action.id,
        "task_queue": action.task_queue,
        "timeouts": [_seconds(t) for t in (action.execution_timeout, action.run_timeout, action.task_timeout)],
        "retry": None if retry is None else _retry(retry),
        "memo": {key: _payload_text(value) for key, value in sorted((action.memo or {}).items()) if key != MARKER},
    }


def _retry(retry: RetryPolicy) -> list[Any]:
    """A retry policy with the defaults the server fills in (1 s, 2.0, 100 times the first interval)."""
    initial = _seconds(retry.initial_interval) or 1.0
    maximum = _seconds(retry.maximum_interval) or 100 * initial
    errors = sorted(retry.non_retryable_error_types or ())
    return [initial, retry.backoff_coefficient or 2.0, maximum, retry.maximum_attempts, errors]


def action_fingerprint(schedule: Schedule, ignore: Collection[str] = ()) -> str:
    """A short hash of `canonical_action`: the marker carries the one of what launchpad wrote."""
    text = json.dumps(canonical_action(schedule, ignore), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _payload_text(value: Any) -> str:
    """A value as the default converter sends it (a described schedule holds the payload itself)."""
    payload = value if isinstance(value, Payload) else PayloadConverter.default.to_payload(value)
    return payload.data.decode(errors="replace")


def fingerprint(spec: ScheduleSpec, ignore: Collection[str] = ()) -> str | None:
    """A short hash of the canonical spec without the ignored fields (None when it has none)."""
    canonical = canonical_spec(spec, ignore)
    if canonical is None:
        return None
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# where each ignorable path (launchpad.spec.policy) lives on a Schedule: (part, attribute)
_LIVE_FIELDS = {
    "spec.calendars": ("spec", "calendars"),
    "spec.intervals": ("spec", "intervals"),
    "spec.skip": ("spec", "skip"),
    "spec.start_at": ("spec", "start_at"),
    "spec.end_at": ("spec", "end_at"),
    "spec.jitter": ("spec", "jitter"),
    "spec.time_zone": ("spec", "time_zone_name"),
    "policies.overlap": ("policy", "overlap"),
    "policies.catchup_window": ("policy", "catchup_window"),
    "policies.pause_on_failure": ("policy", "pause_on_failure"),
}


def keep_live(desired: Schedule, live: Schedule, paths: Collection[str]) -> None:
    """Give `desired` the live values of the ignored fields, so an update (for another reason)
    does not undo the hand edits `ignore_differences` allows."""
    for path in paths:
        part, attribute = _LIVE_FIELDS[path]
        setattr(getattr(desired, part), attribute, getattr(getattr(live, part), attribute))


async def describe(client: Client, schedule_id: str) -> ScheduleDescription | None:
    """The schedule as Temporal holds it now; None when it does not exist."""
    try:
        return await client.get_schedule_handle(schedule_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


PAST = {"pause": "paused", "unpause": "unpaused", "trigger": "triggered"}


async def operate(client: Client, schedule_id: str, operation: str, by: str) -> str:
    """Pause, unpause or trigger a schedule now; the note says who did it (`by`). Returns what
    was done, in the past tense."""
    handle = client.get_schedule_handle(schedule_id)
    if operation == "pause":
        await handle.pause(note=f"paused through {by}")
    elif operation == "unpause":
        await handle.unpause(note=f"unpaused through {by}")
    else:
        await handle.trigger()
    return PAST[operation]
