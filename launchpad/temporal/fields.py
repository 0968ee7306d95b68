"""A task as the fields Temporal receives, readable and comparable: what `launchpad plan --ref`
diffs field by field (`spec.intervals[0].every: 1h → 2h`, `action.args[0].args[0]: "a" → "b"`).

A schedule is built as a sync builds it (`build_schedule`), so the diff shows what the server is
sent (a skip rule's whole day, a deprecated policy's replacement), under the names of the SDK's
`Schedule`: `spec`, `action`, `policies`, `state`. A deploy-on-start task is its `start_workflow`
options under `action`. Launchpad's own keys (`sync`, `ignore_differences`, `depends_on`,
`on_change`) follow, as they change how the object is synced.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from temporalio.client import ScheduleCalendarSpec, ScheduleRange
from temporalio.common import RetryPolicy, TypedSearchAttributes

from launchpad.spec.task import TaskSpec
from launchpad.temporal.memo import MARKER
from launchpad.temporal.options import start_options
from launchpad.temporal.schedules import build_schedule

_CALENDAR_FIELDS = ("second", "minute", "hour", "day_of_month", "month", "year", "day_of_week")
UNSET = "(unset)"


class Shown(str):
    """A value shown as it is, unquoted (a duration `1h`, a calendar range `1-5`)."""


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: str  # as shown: `1h`, `"a"`, `(unset)`
    new: str
    ignored: bool = False  # under the task's ignore_differences: an update keeps the live value

    def __str__(self) -> str:
        note = " (ignored: ignore_differences keeps the live value)" if self.ignored else ""
        return f"{self.path}: {self.old} → {self.new}{note}"


def compact(value: timedelta) -> str:
    """`1h30m`, `45s`, `500ms`, `2d`: the compact form task files accept."""
    micros = round(value.total_seconds() * 1_000_000)
    if micros == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000)):
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    if micros:
        parts.append(f"{micros // 1000}ms" if micros % 1000 == 0 else f"{micros}us")
    return "".join(parts)


def fields(task: TaskSpec) -> dict[str, Any]:
    """The task as plain, readable data."""
    wf = task.workflow
    if task.is_scheduled:
        schedule = build_schedule(task, None, "")
        action = schedule.action
        out: dict[str, Any] = {
            "spec": _plain(
                {
                    "calendars": [_calendar(c) for c in schedule.spec.calendars],
                    "intervals": [{"every": i.every, "offset": i.offset} for i in schedule.spec.intervals],
                    "skip": [_calendar(c) for c in schedule.spec.skip],
                    "cron_expressions": list(schedule.spec.cron_expressions),
                    "start_at": schedule.spec.start_at,
                    "end_at": schedule.spec.end_at,
                    "jitter": schedule.spec.jitter,
                    "time_zone": schedule.spec.time_zone_name,
                }
            ),
            "action": _plain(
                {
                    "workflow": wf.workflow,
                    "args": list(getattr(action, "args", [])),
                    "id": wf.workflow_id,
                    "task_queue": wf.task_queue,
                    "execution_timeout": wf.execution_timeout,
                    "run_timeout": wf.run_timeout,
                    "task_timeout": wf.task_timeout,
                    "retry_policy": wf.retry_policy and wf.retry_policy.model_dump(exclude_none=True),
                    "memo": wf.memo,
                    "search_attributes": wf.search_attributes,
                }
            ),
            "policies": _plain(
                {
                    "overlap": schedule.policy.overlap,
                    "catchup_window": wf.catchup_window,
                    "pause_on_failure": schedule.policy.pause_on_failure,
                }
            ),
            "state": _plain(
                {
                    "paused": wf.paused,  # unset: a redeploy keeps what an operator set
                    "note": wf.note,
                    "limited_actions": wf.limited_actions,
                    "remaining_actions": wf.remaining_actions,
                }
            ),
        }
    else:
        options = start_options(task)
        options["memo"] = {k: v for k, v in options["memo"].items() if k != MARKER}
        out = {"action": _plain({"workflow": wf.workflow, "args": [task.workflow.workflow_kwargs], **options})}
    out |= _plain(
        {
            "sync": task.sync.model_dump(),
            "ignore_differences": list(task.ignore_differences),
            "depends_on": list(task.depends_on),
            "on_change": task.on_change if task.deploy_on_server_start else None,
        }
    )
    return out


def _calendar(spec: ScheduleCalendarSpec) -> dict[str, Any]:
    out: dict[str, Any] = {name: [_range(r) for r in getattr(spec, name)] for name in _CALENDAR_FIELDS}
    out["comment"] = spec.comment
    return out


def _range(r: ScheduleRange) -> Shown:
    text = str(r.start) if r.end in (0, r.start) else f"{r.start}-{r.end}"
    return Shown(text if (r.step or 1) == 1 else f"{text}/{r.step}")


def _plain(value: Any) -> Any:
    """SDK and pydantic values as JSON-like data; durations and enums as shown values."""
    if isinstance(value, Shown):
        return value
    if isinstance(value, timedelta):
        return Shown(compact(value))
    if isinstance(value, datetime):
        return Shown(value.isoformat())
    if isinstance(value, Enum):
        return Shown(value.name)
    if isinstance(value, RetryPolicy):
        return _plain(vars(value))
    if isinstance(value, TypedSearchAttributes):
        return {pair.key.name: _plain(pair.value) for pair in value}
    if hasattr(value, "model_dump"):
        return _plain(value.model_dump(mode="json", exclude_none=True))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """`{"spec": {"intervals": [{"every": 1h}]}}` -> `{"spec.intervals[0].every": 1h}`; an empty
    list or mapping is a leaf."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out |= flatten(item, f"{path}.{key}" if path else str(key))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, item in enumerate(value):
            out |= flatten(item, f"{path}[{index}]")
        return out
    return {path: value}


def show(value: Any) -> str:
    if value is None:
        return UNSET
    if isinstance(value, Shown):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, default=str, ensure_ascii=False)


def diff(old: TaskSpec | None, new: TaskSpec | None, ignore: Collection[str] = ()) -> list[FieldChange]:
    """The fields that differ between two versions of a task (either may be None: created,
    deleted), in path order. `ignore`: the paths (`spec.jitter`) whose changes an update would
    not apply, flagged."""
    before = flatten(fields(old)) if old else {}
    after = flatten(fields(new)) if new else {}
    changes = []
    for path in sorted(set(before) | set(after), key=_order):
        a, b = before.get(path), after.get(path)
        if show(a) == show(b) or (_empty(a) and _empty(b)):  # `[]` became items: the items say it
            continue
        ignored = any(path == p or path.startswith((f"{p}.", f"{p}[")) for p in ignore)
        changes.append(FieldChange(path, show(a), show(b), ignored))
    return changes


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


_SECTIONS = ("spec", "action", "policies", "state", "sync", "ignore_differences", "depends_on", "on_change")


def _order(path: str) -> tuple[int, str]:
    head = path.split(".", 1)[0].split("[", 1)[0]
    return (_SECTIONS.index(head) if head in _SECTIONS else len(_SECTIONS), path)
