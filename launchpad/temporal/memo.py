"""The memo marker on everything launchpad creates in Temporal: how later syncs and the API tell
launchpad's workflows and schedules (and which task, launchpad instance and version made them)
from others.

Ownership is read in one place, `owner`: a schedule's own memo (set at creation, which a
`temporal schedule update` cannot change) or a workflow's memo names the task and the instance
(`Config.instance`) that own it. The marker on a schedule's *action* (which an update replaces)
also carries the version and the spec hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launchpad.spec.task import TaskSpec

MARKER = "launchpad"


@dataclass(frozen=True)
class Owner:
    task: str
    instance: str | None  # None: made before markers named their instance (any instance may manage it)

    def is_(self, task: str, instance: str) -> bool:
        """Whether this is the given task of the given launchpad instance."""
        return self.task == task and self.instance in (None, instance)

    def __str__(self) -> str:
        return f"task {self.task!r}" + (f" of launchpad {self.instance!r}" if self.instance else "")


def marker(task: TaskSpec, version: str | None, instance: str, digest: str | None = None) -> dict[str, Any]:
    """The action's or workflow's marker: the task, its owner, its version (file blob) and spec hash."""
    return {"task": task.name, "instance": instance, "version": version, **({"hash": digest} if digest else {})}


def owner_marker(task: str, instance: str) -> dict[str, Any]:
    """A schedule's own memo: who owns it."""
    return {MARKER: {"task": task, "instance": instance}}


def listed_owner(fields: Mapping[str, Any]) -> Owner | None:
    """The owner named in a memo as Temporal sends it (field -> payload): only launchpad's field
    is decoded (a listing of thousands of schedules needs nothing else)."""
    payload = fields.get(MARKER)
    if payload is None:
        return None
    from temporalio.converter import PayloadConverter

    value = PayloadConverter.default.from_payload(payload)
    return owner({MARKER: value})


def owner(memo: Mapping[str, Any] | None) -> Owner | None:
    """Who owns the object whose (decoded) memo this is; None when launchpad did not make it."""
    value = (memo or {}).get(MARKER)
    if not isinstance(value, Mapping) or not isinstance(value.get("task"), str):
        return None
    instance = value.get("instance")
    return Owner(str(value["task"]), str(instance) if isinstance(instance, str) else None)
