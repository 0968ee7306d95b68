"""The plan: per managed object, what a sync would do and why. A value you can print and test.

Pure: it compares the desired state, the state store's applied objects and what Temporal holds
(`Live`), and performs no I/O. With a complete `Live` (a drift scan) an object absent from it
does not exist in Temporal; with an incomplete one (a refresh) nothing is known of schedules,
and the plan trusts the state store, leaving existence to the write itself.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from launchpad.config import ReconcilerConfig
from launchpad.state.records import AppliedObject, FileError, Kind, SyncStatus
from reconciler.desired import DesiredObject, DesiredState
from reconciler.live import Live, LiveSchedule, Target


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


@dataclass
class PlanItem:
    kind: Kind
    name: str
    action: Action
    reason: str
    target: Target | None = None
    desired: DesiredObject | None = None
    applied: AppliedObject | None = None
    drift: bool = False  # Temporal was changed out of band
    status: SyncStatus = SyncStatus.SYNCED  # what the object is once the item is applied
    live_fingerprint: str | None = None  # the spec as the server holds it, when known
    retire: tuple[Target, str] | None = None  # a schedule this object leaves (its id or namespace changed)
    orphan: bool = False  # a schedule of this instance that no file or record describes
    blocked: str | None = None  # why the action cannot be done (it fails without writing)

    @property
    def temporal_id(self) -> str | None:
        source = self.desired or self.applied
        return source.temporal_id if source else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
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
    complete: bool = True  # compared with a full listing of Temporal (a drift scan)

    @property
    def changes(self) -> list[PlanItem]:
        return [item for item in self.items if item.action != Action.NOOP]

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "refused": self.refused,
            "drift_scan": self.complete,
            "items": [item.as_dict() for item in self.items],
            "errors": [vars(error) for error in self.errors],
        }


Resolver = Callable[[str | None, str | None], Target]
MANAGED_IN_TEMPORAL = (Kind.SCHEDULE, Kind.TASK)


def make_plan(
    desired: DesiredState,
    applied: Collection[AppliedObject],
    live: Live,
    settings: ReconcilerConfig,
    resolve: Resolver,
    *,
    instance: str = "",
    managed: int | None = None,
) -> Plan:
    """`applied`: the recorded objects the plan covers (all of them for a drift scan, those of
    the changed files for a refresh). `instance`: this launchpad's name in ownership markers.
    `managed`: how many schedules and tasks the state store holds in all (for the guard;
    defaults to those in `applied`)."""
    plan = Plan(desired.revision, errors=list(desired.errors), complete=live.complete)
    by_key = {obj.key: obj for obj in applied}
    for key, obj in sorted(desired.objects.items()):
        target = resolve(obj.server, obj.namespace)
        prev = by_key.get(key)
        if obj.kind == Kind.SCHEDULE:
            item = _schedule(obj, prev, live, target, settings, instance)
        elif obj.kind == Kind.TASK:
            item = _task(obj, prev, live, target, instance)
        else:
            item = _worker(obj, prev)
        item.target, item.desired, item.applied = target, obj, prev
        if prev is not None and prev.kind == Kind.SCHEDULE and item.action != Action.NOOP:
            old = (resolve(prev.server, prev.namespace), prev.temporal_id or "")
            if old != (target, obj.temporal_id or ""):
                item.retire = old
        plan.items.append(item)
    for key, prev in sorted(by_key.items()):
        if key not in desired.objects:
            plan.items.append(_removed(prev, live, resolve(prev.server, prev.namespace), settings, instance))
    if live.complete:
        plan.items += _orphans(desired, by_key, live, settings, instance)
    _guard_empty(plan, desired, applied, settings, managed)
    return plan


def _schedule(
    obj: DesiredObject,
    prev: AppliedObject | None,
    live: Live,
    target: Target,
    settings: ReconcilerConfig,
    instance: str,
) -> PlanItem:
    found = live.schedules.get((target, obj.temporal_id or ""))
    fp = found.fingerprint if found else None

    def item(action: Action, reason: str, *, drift: bool = False, status: SyncStatus = SyncStatus.SYNCED) -> PlanItem:
        return PlanItem(obj.kind, obj.name, action, reason, drift=drift, status=status, live_fingerprint=fp)

    status = SyncStatus.DEGRADED if obj.last_good else SyncStatus.SYNCED
    changed = prev is None or prev.spec_hash != obj.spec_hash or prev.kind != obj.kind
    if not live.complete:  # a refresh: nothing is known of the schedule but what the state store says
        if prev is None:
            return item(Action.CREATE, "new schedule", status=status)
        if changed:
            return item(Action.UPDATE, "spec changed", status=status)
        if prev.error:
            return item(Action.UPDATE, "last apply failed; retrying", status=status)
        if status == SyncStatus.SYNCED and prev.status in (SyncStatus.OUT_OF_SYNC, SyncStatus.MISSING):
            return item(Action.NOOP, prev.reason, status=prev.status)  # drift is re-checked by the next scan
        return item(Action.NOOP, "in sync", status=status)
    if found is None:
        if prev is None:
            return item(Action.CREATE, "new schedule", status=status)
        if settings.self_heal:
            return item(Action.CREATE, "drift: deleted out of band; restoring", drift=True, status=status)
        return item(Action.NOOP, "drift: deleted out of band (self_heal off)", drift=True, status=SyncStatus.MISSING)
    if found.owner is None or not found.owner.is_(obj.name, instance):
        holder = str(found.owner) if found.owner else "a schedule launchpad did not create"
        blocked = item(
            Action.CREATE, f"schedule id {obj.temporal_id!r} is held by {holder}", status=SyncStatus.DEGRADED
        )
        blocked.blocked = blocked.reason
        return blocked
    if prev is None:
        return item(Action.UPDATE, "exists but not in the state store; adopting", status=status)
    if changed:
        return item(Action.UPDATE, "spec changed", status=status)
    if _drifted(prev, found):
        if settings.self_heal:
            return item(Action.UPDATE, "drift: changed out of band; restoring", drift=True, status=status)
        return item(
            Action.NOOP, "drift: changed out of band (self_heal off)", drift=True, status=SyncStatus.OUT_OF_SYNC
        )
    if prev.error:
        return item(Action.UPDATE, "last apply failed; retrying", status=status)
    return item(Action.NOOP, "in sync", status=status)


def _drifted(prev: AppliedObject, found: LiveSchedule) -> bool:
    """Whether the schedule differs from what launchpad last wrote (unknown: not drift)."""
    return prev.fingerprint is not None and found.fingerprint != prev.fingerprint


def _task(obj: DesiredObject, prev: AppliedObject | None, live: Live, target: Target, instance: str) -> PlanItem:
    found = live.workflows.get((target, obj.temporal_id or ""))
    status = SyncStatus.DEGRADED if obj.last_good else SyncStatus.SYNCED
    if found is None or not found.running:
        return PlanItem(obj.kind, obj.name, Action.START, "not running", status=status)
    if prev is not None and prev.spec_hash == obj.spec_hash and prev.kind == obj.kind:
        return PlanItem(obj.kind, obj.name, Action.NOOP, "running at the current version", status=status)
    if prev is None and found.owner is not None and found.owner.is_(obj.name, instance) and found.version == obj.blob:
        return PlanItem(obj.kind, obj.name, Action.NOOP, "running this version; adopted", status=status)
    if obj.on_change == "restart":
        return PlanItem(obj.kind, obj.name, Action.RESTART, "file changed while running (on_change: restart)")
    return PlanItem(
        obj.kind,
        obj.name,
        Action.NOOP,
        "running an older version (on_change: keep)",
        status=SyncStatus.OUT_OF_SYNC,
    )


def _worker(obj: DesiredObject, prev: AppliedObject | None) -> PlanItem:
    status = SyncStatus.DEGRADED if obj.last_good else SyncStatus.SYNCED
    if prev is None:
        return PlanItem(obj.kind, obj.name, Action.START, "new worker", status=status)
    if prev.spec_hash != obj.spec_hash:
        return PlanItem(obj.kind, obj.name, Action.RELOAD, "worker file or code changed", status=status)
    return PlanItem(obj.kind, obj.name, Action.NOOP, "in sync", status=status)


def _removed(prev: AppliedObject, live: Live, target: Target, settings: ReconcilerConfig, instance: str) -> PlanItem:
    def item(action: Action, reason: str) -> PlanItem:
        return PlanItem(prev.kind, prev.name, action, reason, target=target, applied=prev)

    if prev.kind == Kind.WORKER:
        return item(Action.STOP, "worker file deleted")
    if prev.kind == Kind.TASK:
        return item(Action.FORGET, "file deleted; a running workflow is left alone")
    if not settings.prune:
        return item(Action.NOOP, "file deleted; prune is off")
    if not live.complete:  # the delete itself checks that the schedule is still this task's
        return item(Action.DELETE, "file deleted")
    found = live.schedules.get((target, prev.temporal_id or ""))
    if found is None:
        return item(Action.FORGET, "file deleted; schedule already gone")
    if found.owner is None or not found.owner.is_(prev.name, instance):
        return item(Action.FORGET, f"file deleted; schedule now held by {found.owner or 'another'}, left alone")
    return item(Action.DELETE, "file deleted")


def _orphans(
    desired: DesiredState,
    applied: Mapping[tuple[Kind, str], AppliedObject],
    live: Live,
    settings: ReconcilerConfig,
    instance: str,
) -> list[PlanItem]:
    """Schedules this launchpad instance made for a task that no file describes and the state
    store does not know: a sync died before recording them, or the state store was lost. Never
    those of a broken file (its name is still wanted), of another instance, or of no launchpad."""
    wanted = {(obj.temporal_id, obj.name) for obj in desired.objects.values() if obj.kind == Kind.SCHEDULE}
    known = {(obj.temporal_id, obj.name) for obj in applied.values() if obj.kind == Kind.SCHEDULE}
    items = []
    for (target, schedule_id), found in sorted(live.schedules.items()):
        if found.owner is None or found.owner.instance != instance:
            continue
        task = found.owner.task
        if task in desired.broken or (schedule_id, task) in wanted | known:
            continue
        orphan = AppliedObject(Kind.SCHEDULE, task, "", "", "", server=target[0], namespace=target[1])
        orphan.temporal_id = schedule_id
        if settings.prune:
            reason = "orphan: made by this launchpad for no current file"
            items.append(PlanItem(Kind.SCHEDULE, task, Action.DELETE, reason, target, applied=orphan, orphan=True))
        else:
            reason = "orphan: prune is off"
            items.append(PlanItem(Kind.SCHEDULE, task, Action.NOOP, reason, target, applied=orphan, orphan=True))
    return items


def _guard_empty(
    plan: Plan,
    desired: DesiredState,
    applied: Collection[AppliedObject],
    settings: ReconcilerConfig,
    managed: int | None,
) -> None:
    """Refuse a sync that would leave no schedule or task while deleting some (the wrong-path
    accident: a misconfigured tasks folder, perhaps with a lost state store)."""
    if settings.allow_empty or not any(i.action == Action.DELETE for i in plan.items):
        return
    remaining = [o for o in desired.objects.values() if o.kind in MANAGED_IN_TEMPORAL]
    if plan.complete:
        left = len(remaining)
    else:  # only the changed files are known: count from the state store's total
        total = managed if managed is not None else sum(1 for o in applied if o.kind in MANAGED_IN_TEMPORAL)
        removed = [i for i in plan.items if i.action in (Action.DELETE, Action.FORGET) and i.applied and i.applied.path]
        left = total - len(removed) + sum(1 for o in remaining if (o.kind, o.name) not in {a.key for a in applied})
    if left <= 0:
        deleting = sum(1 for i in plan.items if i.action == Action.DELETE)
        plan.refused = (
            f"refusing to delete every managed object ({deleting} schedule(s) would go, none would remain); "
            "set reconciler.allow_empty: true if this is intended"
        )
