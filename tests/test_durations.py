from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from launchpad.types import Duration

adapter: TypeAdapter[timedelta] = TypeAdapter(Duration)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (10, timedelta(seconds=10)),
        (1.5, timedelta(seconds=1.5)),
        ("42", timedelta(seconds=42)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("P1D", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ({"seconds": 10, "minutes": 1}, timedelta(seconds=70)),
        ({"days": 1, "hours": 2}, timedelta(days=1, hours=2)),
    ],
)
def test_duration_spellings(raw: object, expected: timedelta) -> None:
    assert adapter.validate_python(raw) == expected


@pytest.mark.parametrize("raw", ["soon", "1x", {"parsecs": 3}, True, -5, "1h-30m"])
def test_bad_durations(raw: object) -> None:
    with pytest.raises(ValidationError):
        adapter.validate_python(raw)
