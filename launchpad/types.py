"""Pydantic field types for the YAML formats: durations, datetimes, time zones.

Durations accept seconds (int/float or numeric string), ISO 8601 (`PT1H30M`),
compact strings (`1h30m`, `500ms`, `2d`) and the `{minutes: 1, seconds: 10}`
mappings of the original launchpad templates.
"""

import functools
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, TypeAdapter, WithJsonSchema

_COMPACT = re.compile(r"(\d+(?:\.\d+)?)(ms|w|d|h|m|s)")
_COMPACT_FULL = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|w|d|h|m|s))+")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DICT_KEYS = {"weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds"}


@functools.cache
def _iso() -> TypeAdapter[timedelta]:
    """pydantic's ISO 8601 duration parser, built when a file first spells a duration that way."""
    return TypeAdapter(timedelta)


def parse_duration(value: Any) -> Any:
    """Turn any accepted duration spelling into a timedelta (or leave it to pydantic)."""
    if isinstance(value, bool):
        raise ValueError("a duration cannot be a boolean")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, dict):
        unknown = set(value) - _DICT_KEYS
        if unknown:
            raise ValueError(f"unknown duration unit(s) {sorted(unknown)}; use {sorted(_DICT_KEYS)}")
        return timedelta(**{key: float(amount) for key, amount in value.items()})
    if isinstance(value, str):
        return _parse_text(value)
    return value


@functools.lru_cache(maxsize=512)
def _parse_text(value: str) -> timedelta:
    """Kept per spelling: a task has a handful of durations and is validated on every deploy."""
    text = value.strip().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(seconds=float(text))
    if _COMPACT_FULL.fullmatch(text):
        return timedelta(seconds=sum(float(n) * _UNITS[unit] for n, unit in _COMPACT.findall(text)))
    try:
        return _iso().validate_python(text)
    except ValueError:
        raise ValueError(f"invalid duration {value!r}: use seconds, ISO 8601 (PT1H30M) or 1h30m") from None


def _non_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    return value


def _aware(value: datetime) -> datetime:
    """Naive datetimes are read as UTC, so a file means the same on every machine."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: use an IANA name like 'Europe/Paris'") from None
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(_non_negative),
    PlainSerializer(lambda d: d.total_seconds(), return_type=float),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "description": "seconds"},
                {"type": "string", "description": "seconds, ISO 8601 or 1h30m"},
                {"type": "object", "additionalProperties": {"type": "number"}},
            ]
        }
    ),
]
DateTime = Annotated[datetime, AfterValidator(_aware)]
TimeZone = Annotated[
    str,
    AfterValidator(_timezone),
    WithJsonSchema({"type": "string", "description": "IANA time zone name"}),
]

__all__ = ["DateTime", "Duration", "TimeZone", "available_timezones", "parse_duration"]
