"""The memo marker on everything launchpad creates in Temporal: how later syncs and the API
tell launchpad's workflows and schedules (and which task and version made them) from others."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launchpad.spec.task import TaskSpec

MARKER = "launchpad"


def marker(task: TaskSpec, version: str | None, digest: str | None = None) -> dict[str, Any]:
    return {"task": task.name, "version": version, **({"hash": digest} if digest else {})}
