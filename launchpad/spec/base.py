"""Shared building blocks of the spec models: strict models and Temporal enum names."""

import hashlib
import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema


def model_hash(model: BaseModel, *extra: str, exclude: set[str] | None = None) -> str:
    """A stable short hash of a model's content (but `exclude`'s fields) and any extra strings."""
    canonical = json.dumps(model.model_dump(mode="json", exclude=exclude), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256("\n".join([canonical, *extra]).encode()).hexdigest()[:16]


def _new_list() -> list[Any]:
    return []


def _new_dict() -> dict[str, Any]:
    return {}


def empty_list(description: str | None = None) -> Any:
    """`= []` as a field default, made fresh per instance. A literal `[]` is deep-copied by
    pydantic on every validation; `default_factory=list` makes pydantic read the builtin's
    signature at import, slowly. The schema still shows the default."""
    return Field(default_factory=_new_list, json_schema_extra={"default": []}, description=description)


def empty_dict(description: str | None = None) -> Any:
    """`= {}` as a field default: see `empty_list`."""
    return Field(default_factory=_new_dict, json_schema_extra={"default": {}}, description=description)


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def enum_names(enum: type[Enum], exclude: tuple[str, ...] = ("UNSPECIFIED",)) -> list[str]:
    return [name for name in enum.__members__ if name not in exclude]


@dataclass(frozen=True)
class EnumName:
    """`Annotated[str, EnumName(SomeTemporalEnum)]`: the value must name a member of the enum
    (case-insensitive, stored upper-case); the JSON Schema lists the allowed names."""

    enum: type[Enum]
    exclude: tuple[str, ...] = ("UNSPECIFIED",)

    @property
    def allowed(self) -> list[str]:
        return enum_names(self.enum, self.exclude)

    def check(self, value: Any) -> Any:
        name = value.strip().upper() if isinstance(value, str) else value
        if name not in self.allowed:
            raise ValueError(f"invalid value {value!r}; allowed: {', '.join(self.allowed)}")
        return name

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"enum": self.allowed}
