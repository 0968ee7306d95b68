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
from launchpad.errors import LaunchpadError
from launchpad.spec.dependencies import cycles, describe, levels
from launchpad.state.records import AppliedObject, FileError, Kind, Outcome, SyncStatus
from reconciler.desired import DesiredObject, DesiredState, stem
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
    waiting: str | None = None  # the dependency it waits for, and why (it writes nothing this sync)
    takes_over: str | None = None  # the deleted task whose schedule (same place and id) it replaces
    outcome: Outcome | None = None  # what applying it did (set by the apply)

    @property
    def temporal_id(self) -> str | None:
        source = self.desired or self.applied
        return source.temporal_id if source else None

    def wait(self, why: str) -> None:
        """Hold the item back for this sync (a dependency is not there): a write it would make
        waits, and its object stays Missing (not created yet) or OutOfSync."""
        self.waiting = why
        if self.action in WRITES:
            self.status = SyncStatus.MISSING if self.action in CREATES else SyncStatus.OUT_OF_SYNC

    @property
    def path(self) -> str | None:
        """The file the object comes from (its record's, once the file is gone); None if unknown."""
        source = self.desired or self.applied
        return source.path if source and source.path else None

    @property
    def wanted(self) -> DesiredObject:
        """What the file describes; asked only of the actions that have a file to apply."""
        if self.desired is None:
            raise LookupError(f"{self.kind} {self.name}: a {self.action} item has no desired object")
        return self.desired

    @property
    def recorded(self) -> AppliedObject:
        """What the store records; asked only of the actions on a recorded object."""
        if self.applied is None:
            raise LookupError(f"{self.kind} {self.name}: a {self.action} item has no record")
        return self.applied

    @property
    def depends_on(self) -> tuple[str, ...]:
        source = self.desired or self.applied
        return source.policy.depends_on if source else ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "name": self.name,
            "action": str(self.action),
            "reason": self.reason,
            "drift": self.drift,
            "status": str(self.status),
            "orphan": self.orphan,
            "waiting": self.waiting,
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
    settled: set[str] = field(default_factory=set)  # `launchpad suspend` overrides the files now agree with

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
WRITES = (Action.CREATE, Action.UPDATE, Action.START, Action.RESTART)  # what waits for dependencies
CREATES = (Action.CREATE, Action.START)  # what makes an object that is not there yet
OVERRIDDEN = "suspended by `launchpad suspend` (not in git)"
KEPT_HAND_EDIT = "drift: changed out of band (self_heal off)"


def make_plan(
    desired: DesiredState,
    applied: Collection[AppliedObject],
    live: Live,
    settings: ReconcilerConfig,
    resolve: Resolver,
    *,
    instance: str = "",
    managed: int | None = None,
    others: Collection[AppliedObject] = (),
    suspended: Mapping[str, str] | None = None,
) -> Plan:
    """`applied`: the recorded objects the plan covers (all of them for a drift scan, those of
    the changed files for a refresh). `instance`: this launchpad's name in ownership markers.
    `managed`: how many schedules and tasks the state store holds in all (for the guard;
    defaults to those in `applied`). `others`: records outside the plan that its objects depend
    on. `suspended`: the `launchpad suspend` overrides (name -> note)."""
    plan = Plan(desired.revision, errors=list(desired.errors), complete=live.complete)
    overrides = suspended or {}
    by_key = {obj.key: obj for obj in applied}
    for key, obj in sorted(desired.objects.items()):
        target = resolve(obj.server, obj.namespace)
        prev = by_key.get(key)
        version = prev if prev is not None and prev.applied else None  # a version of it runs
        if obj.kind in MANAGED_IN_TEMPORAL and (obj.policy.suspend or obj.name in overrides):
            item = _suspended(obj, overrides.get(obj.name))
            if obj.policy.suspend and obj.name in overrides:
                plan.settled.add(obj.name)
        elif obj.kind == Kind.SCHEDULE:
            item = _schedule(obj, version, live, target, settings, instance)
        elif obj.kind == Kind.TASK:
            item = _task(obj, version, live, target, instance)
        else:
            item = _worker(obj, version)
        item.target, item.desired, item.applied = target, obj, prev
        if version is not None and version.kind == Kind.SCHEDULE and item.action != Action.NOOP:
            old = (resolve(version.server, version.namespace), version.temporal_id or "")
            if old != (target, obj.temporal_id or ""):
                item.retire = old
        plan.items.append(item)
    for key, prev in sorted(by_key.items()):
        if key not in desired.objects:
            target = resolve(prev.server, prev.namespace)
            plan.items.append(_removed(prev, live, target, settings, instance, overrides.get(prev.name)))
    if live.complete:
        plan.items += _orphans(desired, by_key, live, settings, instance, resolve)
    _takeovers(plan.items)
    _dependencies(plan, desired, [*applied, *others])
    _guard_empty(plan, desired, applied, settings, managed)
    return plan


def _suspended(obj: DesiredObject, override: str | None) -> PlanItem:
    if obj.policy.suspend:
        reason = "suspended (sync.suspend in the file)"
    else:
        reason = f"{OVERRIDDEN}: {override}" if override else OVERRIDDEN
    return PlanItem(obj.kind, obj.name, Action.NOOP, reason, status=SyncStatus.SUSPENDED)


def _resumed(prev: AppliedObject | None) -> bool:
    """It was suspended when last recorded, and is not now: rewritten from its file, since an
    operator may have changed it by hand meanwhile (also where a listing cannot see it)."""
    return prev is not None and prev.status == SyncStatus.SUSPENDED


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

    status = _applied_status(obj)
    changed = prev is None or prev.spec_hash != obj.spec_hash or prev.kind != obj.kind
    self_heal = settings.self_heal if obj.policy.self_heal is None else obj.policy.self_heal

    def rewrite() -> PlanItem | None:
        """The file asks for a write whatever Temporal holds: it changed, or it was resumed."""
        if changed:
            return item(Action.UPDATE, "spec changed", status=status)
        if _resumed(prev):
            return item(Action.UPDATE, "resumed: rewritten from the file", drift=True, status=status)
        return None

    if not live.complete:  # a refresh: nothing is known of the schedule but what the state store says
        if prev is None:
            return item(Action.CREATE, "new schedule", status=status)
        if written := rewrite():
            return written
        if prev.error:
            return item(Action.UPDATE, "last apply failed; retrying", status=status)
        if status == SyncStatus.SYNCED and prev.status in (SyncStatus.OUT_OF_SYNC, SyncStatus.MISSING):
            return item(Action.NOOP, prev.reason, status=prev.status)  # drift is re-checked by the next scan
        return item(Action.NOOP, "in sync", status=status)
    if found is None:
        if prev is None:
            return item(Action.CREATE, "new schedule", status=status)
        if self_heal or _resumed(prev):
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
    if written := rewrite():
        return written
    if _drifted(prev, found):
        if self_heal:
            return item(Action.UPDATE, "drift: changed out of band; restoring", drift=True, status=status)
        return item(Action.NOOP, KEPT_HAND_EDIT, drift=True, status=SyncStatus.OUT_OF_SYNC)
    if not self_heal and found.action_drift is None and prev.reason == KEPT_HAND_EDIT:
        # a listing shows the spec alone: a kept hand edit of the action stays reported until a verification
        return item(Action.NOOP, KEPT_HAND_EDIT, drift=True, status=SyncStatus.OUT_OF_SYNC)
    if prev.error:
        return item(Action.UPDATE, "last apply failed; retrying", status=status)
    return item(Action.NOOP, "in sync", status=status)


def _applied_status(obj: DesiredObject) -> SyncStatus:
    """What an object is once its file is applied: Degraded when that is its last good version."""
    return SyncStatus.DEGRADED if obj.last_good else SyncStatus.SYNCED


def _drifted(prev: AppliedObject, found: LiveSchedule) -> bool:
    """Whether the schedule differs from what launchpad last wrote: its spec (unknown: not drift),
    or, when it was described, its action or policies."""
    return bool(found.action_drift) or (prev.fingerprint is not None and found.fingerprint != prev.fingerprint)


def _task(obj: DesiredObject, prev: AppliedObject | None, live: Live, target: Target, instance: str) -> PlanItem:
    found = live.workflows.get((target, obj.temporal_id or ""))
    status = _applied_status(obj)
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
    status = _applied_status(obj)
    if prev is None:
        return PlanItem(obj.kind, obj.name, Action.START, "new worker", status=status)
    if prev.spec_hash != obj.spec_hash:
        return PlanItem(obj.kind, obj.name, Action.RELOAD, "worker file or code changed", status=status)
    return PlanItem(obj.kind, obj.name, Action.NOOP, "in sync", status=status)


def _removed(
    prev: AppliedObject,
    live: Live,
    target: Target,
    settings: ReconcilerConfig,
    instance: str,
    override: str | None,
) -> PlanItem:
    def item(action: Action, reason: str) -> PlanItem:
        return PlanItem(prev.kind, prev.name, action, reason, target=target, applied=prev)

    if prev.kind == Kind.WORKER:
        return item(Action.STOP, "worker file deleted")
    if override is not None:  # an emergency override holds whatever git says
        suspended = item(Action.NOOP, f"file deleted; {OVERRIDDEN}, left alone until resumed")
        suspended.status = SyncStatus.SUSPENDED
        return suspended
    if not prev.applied:
        return item(Action.FORGET, "file deleted; it was never applied")
    if prev.kind == Kind.TASK:
        return item(Action.FORGET, "file deleted; a running workflow is left alone")
    found = live.schedules.get((target, prev.temporal_id or ""))
    if not (settings.prune if prev.policy.prune is None else prev.policy.prune):
        if live.complete and found is None:
            return item(Action.FORGET, "file deleted; schedule already gone")
        orphan = item(Action.NOOP, "orphan: file deleted, prune is off; the schedule stays")
        orphan.orphan, orphan.status = True, SyncStatus.OUT_OF_SYNC
        return orphan
    if not live.complete:  # the delete itself checks that the schedule is still this task's
        return item(Action.DELETE, "file deleted")
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
    resolve: Resolver,
) -> list[PlanItem]:
    """Schedules this launchpad instance made for a task that no file describes and the state
    store does not know: a sync died before recording them, or the state store was lost. Never
    those of a broken file (its name is still wanted), of another instance, or of no launchpad.
    A schedule is accounted for where its file or record puts it (server, namespace and id): the
    one a moved file left in its old namespace is an orphan."""

    def place(obj: DesiredObject | AppliedObject) -> tuple[Target, str | None, str] | None:
        try:
            return resolve(obj.server, obj.namespace), obj.temporal_id, obj.name
        except LaunchpadError:  # a server the configuration no longer has: nothing to match
            return None

    objects: list[DesiredObject | AppliedObject] = [*desired.objects.values(), *applied.values()]
    accounted = {place(o) for o in objects if o.kind == Kind.SCHEDULE}
    items = []
    for (target, schedule_id), found in sorted(live.schedules.items()):
        if found.owner is None or found.owner.instance != instance:
            continue
        task = found.owner.task
        if task in desired.broken or (target, schedule_id, task) in accounted:
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


def _takeovers(items: list[PlanItem]) -> None:
    """A file renamed with its schedule id kept: the new task's schedule replaces the deleted
    task's in the same sync (that one deleted first, then this one created). Otherwise the create
    fails on an id another task holds while the prune runs after it: a sync without the schedule,
    and one more to create it."""
    pruned = {(i.target, i.temporal_id): i for i in items if i.kind == Kind.SCHEDULE and i.action == Action.DELETE}
    for item in items:
        gone = pruned.get((item.target, item.temporal_id))
        if gone is None or item.kind != Kind.SCHEDULE or item.action != Action.CREATE or item.desired is None:
            continue
        item.takes_over, item.blocked = gone.name, None
        item.reason = f"takes over the schedule of task {gone.name!r}, whose file is gone"
        item.status = _applied_status(item.wanted)
        gone.action, gone.reason = Action.FORGET, f"file deleted; its schedule is replaced by task {item.name!r}"


def _dependencies(plan: Plan, desired: DesiredState, records: Collection[AppliedObject]) -> None:
    """Mark what waits for a dependency (and why), and name cycles as errors of their files."""
    items = {i.name: i for i in plan.items if i.kind in MANAGED_IN_TEMPORAL and i.desired is not None}
    if not any(item.depends_on for item in items.values()):
        return
    known = {o.name: o for o in records if o.kind in MANAGED_IN_TEMPORAL}
    graph = {name: list(item.depends_on) for name, item in items.items()}
    for name, record in known.items():
        graph.setdefault(name, list(record.policy.depends_on))
    gone = {i.name for i in plan.items if i.kind in MANAGED_IN_TEMPORAL and i.desired is None}
    broken = desired.broken | {stem(e.file) for e in plan.errors}
    for cycle in cycles(graph):
        for name in cycle:
            if name in items:
                path = items[name].wanted.path
                plan.errors.append(FileError(path, "depends_on", describe(cycle), plan.revision))
                items[name].wait(describe(cycle))
    depth = levels(graph)
    for _, item in sorted(items.items(), key=lambda pair: (depth.get(pair[0], len(graph)), pair[0])):
        if item.waiting is None and item.action in WRITES:
            for dep in item.depends_on:
                why = "its file was deleted" if dep in gone else _unready(dep, items, known, broken)
                if why:
                    item.wait(f"waiting for {dep!r}: {why}")
                    break


def _unready(
    name: str, items: Mapping[str, PlanItem], known: Mapping[str, AppliedObject], broken: Collection[str]
) -> str | None:
    """Why the dependency `name` is not there to depend on (None: it is, or will be, applied first)."""
    item = items.get(name)
    if item is not None:
        if item.waiting is not None and item.action in WRITES:
            return f"it waits itself ({item.waiting})"
        if item.blocked:
            return f"Degraded: {item.blocked}"
        if item.wanted.last_good:
            return "Degraded: its file is broken (its last good version runs)"
        if item.status == SyncStatus.MISSING:
            return f"Missing: {item.reason}"
        return None
    record = known.get(name)
    if record is not None:
        return f"{record.status}: {record.reason}" if record.status in WAITED_ON else None
    if name in broken:
        return "its file is broken"
    return "missing: no reconciled task of that name"


WAITED_ON = (SyncStatus.DEGRADED, SyncStatus.MISSING)


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
        recorded = {a.key for a in applied}
        left = total - len(removed) + sum(1 for o in remaining if o.key not in recorded)
    if left <= 0:
        deleting = sum(1 for i in plan.items if i.action == Action.DELETE)
        plan.refused = (
            f"refusing to delete every managed object ({deleting} schedule(s) would go, none would remain); "
            "set reconciler.allow_empty: true if this is intended"
        )
