"""Every key of the task, worker and configuration files says what it does (JSON Schema
`description`), so editors show it on hover and docs/reference.md has no empty description."""

from __future__ import annotations

from typing import Any

import pytest

from launchpad.reference import reference
from launchpad.schema import SCHEMAS, json_schema


def undescribed(kind: str) -> list[str]:
    """`model.key` of every property without a description, in the file's schema and its $defs."""
    schema = json_schema(kind)
    models: dict[str, dict[str, Any]] = {"<root>": schema, **schema.get("$defs", {})}
    return [
        f"{name}.{key}"
        for name, model in models.items()
        for key, prop in model.get("properties", {}).items()
        if not str(prop.get("description", "")).strip()
    ]


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_every_property_has_a_description(kind: str) -> None:
    assert json_schema(kind)["properties"], "the walk must see the schema's keys"
    assert undescribed(kind) == [], f"{kind} keys without a description (Field(description=...))"


def test_the_reference_has_no_empty_description() -> None:
    rows = [line for line in reference().splitlines() if line.startswith("| `")]
    assert len(rows) > 150, "every key of the three files is a row"
    empty = [row for row in rows if not row.rstrip(" |").rsplit("|", 1)[-1].strip()]
    assert empty == []
