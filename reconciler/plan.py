"""The plan: per managed object, what a sync would do and why. A value you can print and test.

Pure: it compares the desired state, the state store's applied objects and what Temporal
holds, and performs no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from launchpad.config import ReconcilerConfig
from launchpad.state.store import AppliedObject
from reconciler.desired import DesiredObject, DesiredState, FileError
from reconciler.live import Live, Target


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    START = "start"
    RESTART = "restart"
    RELOAD = "reload"
    STOP = "stop"
    FORGET = "forget"  # drop from the state store, touch nothing in Temporal
    NOOP = "noop"


WRITES = {Action.CREATE, Action.UPDATE, Action.DELETE, Action.START, Action.RESTART}


@dataclass
class PlanItem:
    kind: str
    name: str
    action: Action
    reason: str
    target: Target | None = None
    desired: DesiredObject | None = None
    applied: AppliedObject | None = None
    drift: bool = False
    out_of_date: bool = False
    live_fingerprint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": str(self.action),
            "reason": self.reason,
            "drift": self.drift,
            "server": self.target[0] if self.target else None,
            "namespace": self.target[1] if self.target else None,
        }


@dataclass
class Plan:
    revision: str
    items: list[PlanItem] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    refused: str | None = None

    @property
    def changes(self) -> list[PlanItem]:
        return [item for item in self.items if item.action != Action.NOOP]

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "refused": self.refused,
            "items": [item.as_dict() for item in self.items],
            "errors": [error.as_dict() for error in self.errors],
        }


Resolver = Callable[[str | None, str | None], Target]


def make_plan(
    desired: DesiredState,
    applied: list[AppliedObject],
    live: Live,
    settings: ReconcilerConfig,
    resolve: Resolver,
) -> Plan:
    plan = Plan(desired.revision, errors=list(desired.errors))
    by_key = {(obj.kind, obj.name): obj for obj in applied}
    for key, obj in sorted(desired.objects.items()):
        target = resolve(obj.server, obj.namespace)
        prev = by_key.get(key)
        if obj.kind == "schedule":
            item = _schedule(obj, prev, live, target, settings)
        elif obj.kind == "task":
            item = _task(obj, prev, live, target)
        else:
            item = _worker(obj, prev)
        item.target, item.desired, item.applied = target, obj, prev
        plan.items.append(item)
    for key, prev in sorted(by_key.items()):
        if key not in desired.objects:
            plan.items.append(_removed(prev, live, resolve(prev.server, prev.namespace), settings))
    _guard_empty(plan, desired, applied, settings)
    return plan


def _schedule(
    obj: DesiredObject, prev: AppliedObject | None, live: Live, target: Target, settings: ReconcilerConfig
) -> PlanItem:
    found = live.schedules.get((target, obj.temporal_id or ""))
    fp = found.fingerprint if found else None

    def item(action: Action, reason: str, drift: bool = False) -> PlanItem:
        return PlanItem(obj.kind, obj.name, action, reason, drift=drift, live_fingerprint=fp)

    if found is None:
        if prev is None:
            return item(Action.CREATE, "new schedule")
        if settings.self_heal:
            return item(Action.CREATE, "drift: deleted out of band; restoring", drift=True)
        return item(Action.NOOP, "drift: deleted out of band (self_heal off)", drift=True)
    if found.task != obj.name:
        return item(Action.NOOP, f"schedule id is owned by task {found.task!r}")
    if prev is None:
        return item(Action.UPDATE, "exists but not in the state store; adopting")
    if prev.spec_hash != obj.spec_hash:
        return item(Action.UPDATE, "spec changed")
    if prev.fingerprint and prev.fingerprint != found.fingerprint:
        if settings.self_heal:
            return item(Action.UPDATE, "drift: changed out of band; restoring", drift=True)
        return item(Action.NOOP, "drift: changed out of band (self_heal off)", drift=True)
    if prev.error:
        return item(Action.UPDATE, "last apply failed; retrying")
    return item(Action.NOOP, "in sync")


def _task(obj: DesiredObject, prev: AppliedObject | None, live: Live, target: Target) -> PlanItem:
    found = live.workflows.get((target, obj.temporal_id or ""))
    if found is None or not found.running:
        return PlanItem(obj.kind, obj.name, Action.START, "not running")
    if prev is not None and prev.spec_hash == obj.spec_hash:
        return PlanItem(obj.kind, obj.name, Action.NOOP, "running at the current version")
    if prev is None and found.task == obj.name:
        return PlanItem(obj.kind, obj.name, Action.NOOP, "running; adopted")
    if obj.on_change == "restart":
        return PlanItem(obj.kind, obj.name, Action.RESTART, "file changed while running (on_change: restart)")
    return PlanItem(obj.kind, obj.name, Action.NOOP, "running an older version (on_change: keep)", out_of_date=True)


def _worker(obj: DesiredObject, prev: AppliedObject | None) -> PlanItem:
    if prev is None:
        return PlanItem(obj.kind, obj.name, Action.START, "new worker")
    if prev.spec_hash != obj.spec_hash:
        return PlanItem(obj.kind, obj.name, Action.RELOAD, "worker file or code changed")
    return PlanItem(obj.kind, obj.name, Action.NOOP, "in sync")


def _removed(prev: AppliedObject, live: Live, target: Target, settings: ReconcilerConfig) -> PlanItem:
    def item(action: Action, reason: str) -> PlanItem:
        return PlanItem(prev.kind, prev.name, action, reason, target=target, applied=prev)

    if prev.kind == "worker":
        return item(Action.STOP, "worker file deleted")
    if prev.kind == "task":
        return item(Action.FORGET, "file deleted; a running workflow is left alone")
    found = live.schedules.get((target, prev.temporal_id or ""))
    if not settings.prune:
        return item(Action.NOOP, "file deleted; prune is off")
    if found is None:
        return item(Action.FORGET, "file deleted; schedule already gone")
    if found.task != prev.name:
        return item(Action.FORGET, f"file deleted; schedule now owned by {found.task!r}, left alone")
    return item(Action.DELETE, "file deleted")


def _guard_empty(plan: Plan, desired: DesiredState, applied: list[AppliedObject], settings: ReconcilerConfig) -> None:
    """Refuse a sync that would delete every managed object (the wrong-path accident)."""
    managed = [o for o in applied if o.kind in ("schedule", "task")]
    remaining = [o for o in desired.objects.values() if o.kind in ("schedule", "task")]
    deletes = [i for i in plan.items if i.action == Action.DELETE]
    if managed and not remaining and deletes and not settings.allow_empty:
        plan.refused = (
            f"refusing to delete every managed object ({len(managed)}); "
            "set reconciler.allow_empty: true if this is intended"
        )
