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

    second: CalendarField | None = None
    minute: CalendarField | None = None
    hour: CalendarField | None = None
    day_of_month: CalendarField | None = None
    month: CalendarField | None = None
    year: CalendarField | None = None
    day_of_week: CalendarField | None = None
    comment: str | None = None

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
    every: Duration
    offset: Duration | None = None


class ScheduleOptions(StrictModel):
    """The schedule keys of the original README, flat inside `workflow:`."""

    trigger_immediately: bool = False
    tz: TimeZone = "UTC"
    intervals: list[IntervalSpec] = empty_list()
    calendars: list[CalendarSpec] = empty_list()
    skip: list[CalendarSpec] = empty_list()
    crons: list[str] = empty_list()
    jitter: Duration | None = None
    start_at: DateTime | None = None
    end_at: DateTime | None = None
    catchup_window: Duration | None = None
    overlap: Annotated[str, EnumName(ScheduleOverlapPolicy)] = "SKIP"
    pause_on_failure: bool = False
    limited_actions: bool = False
    note: str | None = None
    paused: bool | None = None
    remaining_actions: int = Field(default=0, ge=0)
