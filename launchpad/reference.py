"""The configuration, task and worker reference (docs/reference.md), generated from the JSON
Schemas so that it never drifts from the models. `launchpad schema --reference` writes it."""

from __future__ import annotations

from typing import Any

from launchpad.schema import SCHEMAS, json_schema

TITLES = {"config": "Configuration file (`launchpad_configs.yaml`)", "task": "Task file", "worker": "Worker file"}


def _type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "anyOf" in prop:
        return " or ".join(dict.fromkeys(_variant(p, defs) for p in prop["anyOf"] if p.get("type") != "null"))
    if prop.get("type") == "array":
        return f"list of {_type(prop.get('items', {}), defs)}"
    if prop.get("type") == "object" and "additionalProperties" in prop:
        return "mapping"
    return str(prop.get("type", prop.get("description", "any")))


def _variant(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """One type of a union, with what its values mean (a duration's number is seconds)."""
    if "type" in prop and prop.get("description"):
        return f"{_type(prop, defs)} ({prop['description']})"
    return _type(prop, defs)


def _table(model: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    required = set(model.get("required", []))
    rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for key, prop in model.get("properties", {}).items():
        default = "required" if key in required else f"`{prop['default']}`" if prop.get("default") is not None else ""
        description = (prop.get("description") or "").replace("\n", " ")
        rows.append(f"| `{key}` | {_type(prop, defs)} | {default} | {description} |")
    return rows


def reference() -> str:
    lines = ["# Reference", "", "Generated from the JSON Schemas by `launchpad schema --reference`; do not edit.", ""]
    for kind in SCHEMAS:
        schema = json_schema(kind)
        defs = schema.get("$defs", {})
        lines += [f"## {TITLES[kind]}", "", *_table(schema, defs), ""]
        for name, model in sorted(defs.items()):
            if "properties" in model:
                about = [" ".join(model["description"].split()), ""] if model.get("description") else []
                lines += [f"### {kind}: `{name}`", "", *about, *_table(model, defs), ""]
    return "\n".join(lines).rstrip() + "\n"
