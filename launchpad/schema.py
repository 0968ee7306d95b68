"""JSON Schemas of the file formats, for editors, CI and the generated reference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from launchpad.config import Config
from launchpad.spec.task import TaskSpec
from launchpad.spec.worker import WorkerSpec

SCHEMAS: dict[str, type[BaseModel]] = {"task": TaskSpec, "worker": WorkerSpec, "config": Config}


def json_schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = SCHEMAS[kind].model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"launchpad {kind} file"
    return schema


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in SCHEMAS:
        path = out / f"{kind}.schema.json"
        path.write_text(json.dumps(json_schema(kind), indent=2) + "\n")
        written.append(path)
    return written
