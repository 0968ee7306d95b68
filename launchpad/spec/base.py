"""Shared building blocks of the spec models: strict models and Temporal enum names."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def enum_names(enum: type[Enum], exclude: tuple[str, ...] = ("UNSPECIFIED",)) -> list[str]:
    return [name for name in enum.__members__ if name not in exclude]


def TemporalEnum(enum: type[Enum], exclude: tuple[str, ...] = ("UNSPECIFIED",)) -> Any:
    """A str field whose value must name a member of a temporalio enum (case-insensitive)."""
    allowed = enum_names(enum, exclude)

    def check(value: Any) -> str:
        name = str(value).strip().upper() if isinstance(value, str) else value
        if name not in allowed:
            raise ValueError(f"invalid value {value!r}; allowed: {', '.join(allowed)}")
        return name

    return Annotated[str, BeforeValidator(check), WithJsonSchema({"enum": allowed})]
