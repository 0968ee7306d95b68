"""Schedule options of a task run by `ScheduledWorkflowRunner`.

Calendar fields accept an int (`5`), a string (`"*"`, `"1-5"`, `"0-30/10"`,
`"MON-FRI"`, `"1,15"`), or a list of those or of `{start, end, step}` mappings,
mirroring Temporal's `ScheduleCalendarSpec` ranges.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, WithJsonSchema, field_validator
from temporalio.client import ScheduleOverlapPolicy

from launchpad.spec.base import EnumName, StrictModel, empty_list
from launchpad.types import DateTime, Duration, TimeZone

_NAMES = {
    **{d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])},
    **{
        m: i + 1
        for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
    },
}
STAR = -1
_FULL_RANGE = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "day_of_month": (1, 31),
    "month": (1, 12),
    "day_of_week": (0, 6),
}
_RANGE = re.compile(r"^(\w+)(?:-(\w+))?(?:/(\d+))?$")


def _number(token: str) -> int:
    token = token.upper()
    if token in _NAMES:
        return _NAMES[token]
    if token.isdigit():
        return int(token)
    raise ValueError(f"invalid calendar value {token!r}")


def _ranges(value: Any) -> list[dict[str, int]]:
    """Normalise a calendar field into a list of {start, end, step} ranges."""
    if isinstance(value, bool):
        raise ValueError("a calendar field cannot be a boolean")
    if isinstance(value, int):
        return [{"start": value, "end": value, "step": 1}]
    if isinstance(value, dict):
        unknown = set(value) - {"start", "end", "step"}
        if unknown or "start" not in value:
            raise ValueError("a range is {start, end?, step?}")
        start = int(value["start"])
        return [{"start": start, "end": int(value.get("end", start)), "step": int(value.get("step", 1))}]
    if isinstance(value, list):
        return [r for item in value for r in _ranges(item)]
    if isinstance(value, str):
        out: list[dict[str, int]] = []
        for part in value.replace(" ", "").split(","):
            if part == "*" or part.startswith("*/"):
                step = int(part[2:]) if part.startswith("*/") and part[2:].isdigit() else 1
                out.append({"start": STAR, "end": STAR, "step": step})  # resolved per field below
                continue
            match = _RANGE.match(part)
            if not match:
                raise ValueError(f"invalid calendar range {part!r}")
            start = _number(match[1])
            end = _number(match[2]) if match[2] else start
            out.append({"start": start, "end": end, "step": int(match[3] or 1)})
        return out
    raise ValueError(f"invalid calendar value {value!r}")


CalendarField = Annotated[
    list[dict[str, int]],
    BeforeValidator(_ranges),
    WithJsonSchema({"description": "int, '1-5', '*/10', 'MON-FRI', or a list of ranges"}),
]


class CalendarSpec(StrictModel):
    """One calendar rule; omitted fields take Temporal's defaults (second 0, minute 0, hour 0,
    every day, month and year)."""

    second: CalendarField | None = Field(default=None, description="`ScheduleCalendarSpec.second`, 0-59; unset: 0")
    minute: CalendarField | None = Field(default=None, description="`ScheduleCalendarSpec.minute`, 0-59; unset: 0")
    hour: CalendarField | None = Field(default=None, description="`ScheduleCalendarSpec.hour`, 0-23; unset: 0")
    day_of_month: CalendarField | None = Field(
        default=None, description="`ScheduleCalendarSpec.day_of_month`, 1-31; unset: every day"
    )
    month: CalendarField | None = Field(
        default=None, description="`ScheduleCalendarSpec.month`, 1-12 or JAN-DEC; unset: every month"
    )
    year: CalendarField | None = Field(default=None, description="`ScheduleCalendarSpec.year`; unset: every year")
    day_of_week: CalendarField | None = Field(
        default=None, description="`ScheduleCalendarSpec.day_of_week`, 0-6 (0 is Sunday) or SUN-SAT; unset: every day"
    )
    comment: str | None = Field(default=None, description="`ScheduleCalendarSpec.comment`: free text")

    @field_validator("second", "minute", "hour", "day_of_month", "month", "year", "day_of_week")
    @classmethod
    def _resolve_star(cls, ranges: list[dict[str, int]] | None, info: ValidationInfo) -> Any:
        """`*` means every value of the field (every year: no range at all)."""
        if ranges is None:
            return None
        out = []
        for r in ranges:
            if r["start"] != STAR:
                out.append(r)
            elif info.field_name in _FULL_RANGE:
                low, high = _FULL_RANGE[info.field_name]
                out.append({"start": low, "end": high, "step": r["step"]})
        return out


class IntervalSpec(StrictModel):
    every: Duration = Field(description="`ScheduleIntervalSpec.every`: the period between two runs")
    offset: Duration | None = Field(
        default=None,
        description="`ScheduleIntervalSpec.offset`: the phase in each period (`every: 1h, offset: 5m`: at :05)",
    )


class ScheduleOptions(StrictModel):
    """The schedule keys of the original README, flat inside `workflow:`."""

    trigger_immediately: bool = Field(
        default=False,
        description="`Client.create_schedule(trigger_immediately=)`: one run when the schedule is created",
    )
    tz: TimeZone = Field(
        default="UTC", description="`ScheduleSpec.time_zone_name`: the time zone of calendars and crons"
    )
    intervals: list[IntervalSpec] = empty_list("`ScheduleSpec.intervals`: run every period")
    calendars: list[CalendarSpec] = empty_list("`ScheduleSpec.calendars`: run at these calendar times")
    skip: list[CalendarSpec] = empty_list(
        "`ScheduleSpec.skip`: never run at these calendar times; an unset time of day means the whole day"
    )
    crons: list[str] = empty_list(
        "`ScheduleSpec.cron_expressions`: classic cron lines (minute hour day-of-month month day-of-week)"
    )
    jitter: Duration | None = Field(
        default=None, description="`ScheduleSpec.jitter`: each run starts up to this much later, at random"
    )
    start_at: DateTime | None = Field(
        default=None, description="`ScheduleSpec.start_at`: no run before this time (ISO 8601; no offset: UTC)"
    )
    end_at: DateTime | None = Field(
        default=None, description="`ScheduleSpec.end_at`: no run after this time (ISO 8601; no offset: UTC)"
    )
    catchup_window: Duration | None = Field(
        default=None,
        description="`SchedulePolicy.catchup_window`: after an outage, runs missed by more than this are dropped; "
        "unset: the server's default",
    )
    overlap: Annotated[str, EnumName(ScheduleOverlapPolicy)] = Field(
        default="SKIP", description="`SchedulePolicy.overlap`: what happens to a run due while the last one still runs"
    )
    pause_on_failure: bool = Field(
        default=False, description="`SchedulePolicy.pause_on_failure`: pause the schedule when a run fails"
    )
    limited_actions: bool = Field(
        default=False, description="`ScheduleState.limited_actions`: stop after `remaining_actions` runs"
    )
    note: str | None = Field(
        default=None, description="`ScheduleState.note`, shown in the UI; unset: a redeploy keeps the live note"
    )
    paused: bool | None = Field(
        default=None,
        description="`ScheduleState.paused`; unset: a new schedule runs, a redeploy keeps what an operator set",
    )
    remaining_actions: int = Field(
        default=0, ge=0, description="`ScheduleState.remaining_actions`: runs left when `limited_actions` is on"
    )
