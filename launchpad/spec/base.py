"""Shared building blocks of the spec models: strict models and Temporal enum names."""

import hashlib
import json
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema


def model_hash(model: BaseModel, *extra: str) -> str:
    """A stable short hash of a model's content (and any extra strings)."""
    canonical = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256("\n".join([canonical, *extra]).encode()).hexdigest()[:16]


def _new_list() -> list[Any]:
    return []


def _new_dict() -> dict[str, Any]:
    return {}


def empty_list() -> Any:
    """`= []` as a field default, made fresh per instance. A literal `[]` is deep-copied by
    pydantic on every validation (about 1 µs a field); `default_factory=list` makes pydantic read
    the builtin's signature at import, slowly. The schema still shows the default."""
    return Field(default_factory=_new_list, json_schema_extra={"default": []})


def empty_dict() -> Any:
    """`= {}` as a field default: see `empty_list`."""
    return Field(default_factory=_new_dict, json_schema_extra={"default": {}})


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
