"""Apply a plan through the runners, object by object, with bounded concurrency.

Each object's record is written as soon as it is applied (`Recorder`), so a sync killed at any
line loses at most the last few records, and the next sync adopts what they described (drift
scan) or applies them again as no-ops (refresh). An error on one object is recorded and does not
stop the others. A Temporal outage ends the writes; what was not tried is not recorded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from temporalio.service import RPCError, RPCStatusCode

from launchpad.errors import LaunchpadError
from launchpad.registry import Registry
from launchpad.spec.dependencies import levels
from launchpad.spec.task import TaskSpec
from launchpad.spec.worker import WorkerSpec
from launchpad.state.records import AppliedObject, FileError, Kind, Outcome, SyncStatus
from launchpad.state.store import StateStore, call
from launchpad.temporal.connections import Connections, outage_of
from launchpad.temporal.memo import owner
from launchpad.temporal.runners import AlreadyRunning, NotManaged, ScheduledWorkflowRunner, runner_for
from launchpad.temporal.schedules import build_spec, fingerprint
from reconciler.live import Target, describe_schedule
from reconciler.plan import CREATES, MANAGED_IN_TEMPORAL, WRITES, Action, Plan, PlanItem

if TYPE_CHECKING:  # the worker machinery is heavy; the API never needs it
    from launchpad.temporal.workers import WorkerSet


class LeaseLost(LaunchpadError):
    """The sync's lease expired and another sync may hold it: stop writing."""

    code = "lease_lost"
    kind = "conflict"


@dataclass
class Recorder:
    """Writes records as objects are applied, a few at a time (one transaction or batch each)."""

    store: StateStore
    batch: int = 64
    interval: float = 0.25  # seconds: the most a crash loses
    _puts: dict[tuple[Kind, str], AppliedObject] = field(default_factory=dict)
    _deletes: set[tuple[Kind, str]] = field(default_factory=set)
    _flushed: float = field(default_factory=time.monotonic)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def put(self, obj: AppliedObject) -> None:
        self._deletes.discard(obj.key)
        self._puts[obj.key] = obj
        await self._maybe_flush()

    async def delete(self, key: tuple[Kind, str]) -> None:
        self._puts.pop(key, None)
        self._deletes.add(key)
        await self._maybe_flush()

    async def _maybe_flush(self) -> None:
        if len(self._puts) + len(self._deletes) >= self.batch or time.monotonic() - self._flushed >= self.interval:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            puts, deletes = list(self._puts.values()), set(self._deletes)
            self._puts.clear()
            self._deletes.clear()
            self._flushed = time.monotonic()
            if puts:
                await call(self.store, self.store.put_objects, puts)
            if deletes:
                await call(self.store, self.store.delete_objects, deletes)


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    outage: str | None = None
    retry: set[str] = field(default_factory=set)  # files whose objects the next sync must try again

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def told(self, item: PlanItem, ok: bool, message: str, wrote: bool = False) -> None:
        """What applying the item did: an outcome of the sync, kept on the item too (two items
        may share kind, name and action: orphans of one task in two namespaces)."""
        item.outcome = Outcome(item.kind, item.name, str(item.action), ok, message, wrote)
        self.outcomes.append(item.outcome)


@dataclass
class Applier:
    connections: Connections
    registry: Registry
    recorder: Recorder
    workers: WorkerSet | None = None
    concurrency: int = 32
    instance: str = ""  # this launchpad's name in ownership markers
    lost: Callable[[], bool] = lambda: False  # the lease is gone: stop writing

    async def apply(self, plan: Plan) -> ApplyResult:
        """Namespaces first; then creations and updates in dependency order (each level at once,
        bounded by `concurrency`), an object waiting while a dependency failed or waits; then
        prunes, dependants before what they depend on."""
        result = ApplyResult()
        if plan.refused:
            return result
        errors_by_file = {e.file: e for e in plan.errors}
        gate = asyncio.Semaphore(self.concurrency)
        unready: dict[str, str] = {}  # task name -> why what depends on it waits (it failed or waits)

        async def one(item: PlanItem) -> None:
            async with gate:
                if result.outage or self.lost():  # the rest would only wait for retries to time out
                    why = "skipped: outage" if result.outage else "skipped: lease lost"
                    result.told(item, False, why)
                    return
                waiting = item.waiting or _waits_on(item, unready)
                if waiting and item.action in WRITES:
                    unready[item.name] = f"it waits ({waiting})"
                    await self._wait(item, waiting, plan.revision, result)
                elif not await self._one(item, plan.revision, errors_by_file, result):
                    unready[item.name] = "its apply failed in this sync"

        try:
            await self._namespaces(plan, result)
            for batch in batches(plan.items):
                busy = []
                for item in batch:
                    if item.action == Action.NOOP and not item.blocked:  # no task each: a drift scan has thousands
                        await self._one(item, plan.revision, errors_by_file, result)
                    else:
                        busy.append(item)
                await asyncio.gather(*(one(item) for item in busy))
        finally:
            await self.recorder.flush()
        return result

    async def _namespaces(self, plan: Plan, result: ApplyResult) -> None:
        """Register the configured namespaces that objects are about to be created in (once a sync,
        only when something is created): on a new server, the first sync does not fail."""
        config = self.connections.config
        wanted = sorted({item.target for item in plan.items if item.target and item.action in CREATES})
        for server_name, namespace in wanted:
            server = config.server(server_name)
            for ns in server.namespaces:
                if ns.name != namespace:
                    continue
                try:
                    await self.connections.ensure_namespace(server, ns)
                except Exception as exc:  # the objects in it fail on their own, with their own error
                    outage = outage_of(exc)
                    if outage:
                        result.outage = outage
                        return

    async def _one(
        self, item: PlanItem, revision: str, errors_by_file: dict[str, FileError], result: ApplyResult
    ) -> bool:
        """Apply one item and record it; False when it failed."""
        try:
            wrote, message, written = await self._act(item)
        except Exception as exc:
            outage = outage_of(exc)
            if outage and not result.outage:
                result.outage = outage
            message = outage or _message(exc)
            result.told(item, False, message)
            if not outage:
                await self._failed(item, revision, message, result)
            return False
        result.told(item, True, message, wrote)
        if item.orphan and not (item.applied and item.applied.path):  # it has no record: nothing to keep
            return True
        if item.action in (Action.DELETE, Action.FORGET, Action.STOP):
            await self.recorder.delete((item.kind, item.name))
            return True
        if item.desired is None:  # a deleted file's object left alone (prune off, suspended): its record says so
            if item.applied is not None:
                kept = dataclasses.replace(item.applied, status=item.status, reason=item.reason)
                if not _same(item.applied, kept):
                    await self.recorder.put(kept)
            return True
        record = self._record(item, revision, wrote, written, errors_by_file)
        if record.status in (SyncStatus.DEGRADED, SyncStatus.MISSING):
            result.retry.add(record.path)
        if item.applied is None or not _same(item.applied, record):
            await self.recorder.put(record)
        return True

    async def _wait(self, item: PlanItem, why: str, revision: str, result: ApplyResult) -> None:
        """Leave the object as it is, say which dependency it waits for, and try it next sync."""
        result.told(item, True, why)
        item.wait(why)
        record = _held(item, revision, why)
        result.retry.add(record.path)
        if item.applied is None or not _same(item.applied, record):
            await self.recorder.put(record)

    async def _failed(self, item: PlanItem, revision: str, message: str, result: ApplyResult) -> None:
        """Record the failure, on the object's record or a new one, so the next sync retries it."""
        if item.path:
            result.retry.add(item.path)
        if item.applied is not None and item.applied.path:
            await self.recorder.put(
                dataclasses.replace(item.applied, status=SyncStatus.DEGRADED, reason=message, error=message)
            )
        elif item.desired is not None:
            # a version that never ran: the record names none (`applied` is false), so the next
            # sync plans the object anew instead of taking it as applied and deleted out of band
            record = _held(item, revision, message)
            await self.recorder.put(dataclasses.replace(record, status=SyncStatus.DEGRADED, error=message))

    async def _act(self, item: PlanItem) -> tuple[bool, str, str | None]:
        """Do what the item says; return (whether Temporal was written, a short message, the
        fingerprint of the schedule as written)."""
        if self.lost() and item.action not in (Action.NOOP, Action.FORGET):
            raise LeaseLost("the sync's lease was lost: not writing")
        if item.blocked:
            raise NotManaged(item.blocked)
        if item.action in (Action.NOOP, Action.FORGET):
            return False, item.reason, None
        if item.kind == Kind.WORKER:
            wrote, message = await self._worker(item)
            return wrote, message, None
        if item.action == Action.DELETE:
            applied = item.recorded
            wrote = await self._delete_schedule(_target(item), applied.temporal_id or "", applied.name)
            return wrote, "deleted" if wrote else "already gone", None
        desired = item.wanted
        spec = await asyncio.to_thread(desired.load)  # an unchanged file is read from git on demand
        assert isinstance(spec, TaskSpec)
        if item.action == Action.RESTART:
            client = await self.connections.client(*_target(item))
            await client.get_workflow_handle(spec.workflow.workflow_id).terminate("launchpad: task file changed")
        if item.takes_over is not None:  # the id passes to this task: the deleted task's schedule goes first
            await self._delete_schedule(_target(item), item.temporal_id or "", item.takes_over)
        runner = runner_for(spec, self.connections, self.registry, self.instance)
        version = desired.blob  # content-addressed: a revert restores the very same marker
        try:
            if isinstance(runner, ScheduledWorkflowRunner):
                # adopting a schedule the store has no record of: its marker may name this very
                # file while its spec was edited by hand, so it is written from the file
                force = item.drift or (item.action == Action.UPDATE and item.applied is None)
                deployed = await runner.deploy(spec, version, force=force, exists=item.action == Action.UPDATE)
            else:
                deployed = await runner.deploy(spec, version)
        except AlreadyRunning:
            return False, "already running", None
        wrote = deployed.action != "unchanged"
        written = None
        if desired.kind == Kind.SCHEDULE:
            written = await self._written(item, spec)
            if item.retire is not None:
                await self._delete_schedule(*item.retire, desired.name)
        return wrote, deployed.action, written

    async def _written(self, item: PlanItem, spec: TaskSpec) -> str | None:
        """The fingerprint of the schedule as the server now holds it: told from the spec sent,
        or, when the server rewrites what was sent (cron strings), read back by a describe."""
        predicted = fingerprint(build_spec(spec), spec.ignore_differences)
        if predicted is not None:
            return predicted
        target, schedule_id = _target(item), spec.workflow.scheduler_id or ""
        found = await describe_schedule(self.connections, target, schedule_id, spec.ignore_differences)
        return found.fingerprint if found else None

    async def _delete_schedule(self, target: Target, schedule_id: str, task: str) -> bool:
        """Delete the schedule if it is still this task's (a hand-made or re-created one stays)."""
        client = await self.connections.client(*target)
        handle = client.get_schedule_handle(schedule_id)
        try:
            found = owner(await (await handle.describe()).memo())
            if found is None or not found.is_(task, self.instance):
                return False
            await handle.delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return False
        return True

    async def _worker(self, item: PlanItem) -> tuple[bool, str]:
        if self.workers is None:
            return False, "recorded; workers reload in `launchpad worker --follow` / `launchpad start`"
        if item.action == Action.STOP:
            await self.workers.stop(item.name)
            return False, "stopped"
        spec = await asyncio.to_thread(item.wanted.load)
        assert isinstance(spec, WorkerSpec)
        await self.workers.reload(item.name, spec)
        return False, "reloaded" if item.action == Action.RELOAD else "started"

    def _record(
        self, item: PlanItem, revision: str, wrote: bool, written: str | None, errors_by_file: dict[str, FileError]
    ) -> AppliedObject:
        desired = item.wanted
        prev = item.applied
        if item.status == SyncStatus.SUSPENDED:
            return _held(item, revision, item.reason)
        fp = written if written is not None else _kept_fingerprint(item)
        if prev is not None and prev.applied and (desired.last_good or item.status == SyncStatus.OUT_OF_SYNC):
            # the file is broken, or a running task keeps an older version: what runs is the previous record
            reason = item.reason
            if desired.last_good:
                error = errors_by_file.get(desired.path)
                where = f"{error.path}: {error.message} (revision {revision[:12]})" if error else ""
                reason = f"last good version kept; {where or 'file is broken'}"
            return dataclasses.replace(
                prev, status=item.status, reason=reason, fingerprint=fp, error=None, policy=desired.policy
            )
        server, namespace = _target(item)
        degraded = item.status == SyncStatus.DEGRADED
        return AppliedObject(
            kind=desired.kind,
            name=desired.name,
            path=desired.path,
            revision=revision if (prev is None or item.action != Action.NOOP) else prev.revision,
            spec_hash=desired.spec_hash,
            blob=desired.blob,
            server=server,
            namespace=namespace,
            temporal_id=desired.temporal_id,
            fingerprint=fp,
            status=item.status,
            reason=item.reason,
            error=item.reason if degraded else None,
            policy=desired.policy,
        )


def _held(item: PlanItem, revision: str, reason: str) -> AppliedObject:
    """The record of an object this sync leaves as it is (suspended, or waiting): the version that
    runs stays recorded, so a later sync still sees what differs; an object never applied gets a
    record without a version (`AppliedObject.applied` is false), which every sync plans anew."""
    desired = item.wanted
    prev = item.applied
    if prev is not None and prev.applied:
        return dataclasses.replace(
            prev, path=desired.path, status=item.status, reason=reason, error=None, policy=desired.policy
        )
    server, namespace = _target(item)
    return AppliedObject(
        desired.kind,
        desired.name,
        desired.path,
        revision,
        "",
        "",
        server,
        namespace,
        desired.temporal_id,
        status=item.status,
        reason=reason,
        policy=desired.policy,
    )


def batches(items: list[PlanItem]) -> list[list[PlanItem]]:
    """The order of a plan: creations and updates by dependency level (objects on a cycle last),
    then the deletes, dependants first."""
    writes = [i for i in items if i.action != Action.DELETE]
    deletes = [i for i in items if i.action == Action.DELETE]
    out = _by_level(writes)
    return out + _by_level(deletes)[::-1]


def _by_level(items: list[PlanItem]) -> list[list[PlanItem]]:
    graph = {i.name: i.depends_on for i in items if i.kind in MANAGED_IN_TEMPORAL}
    depth = levels(graph)
    last = max(depth.values(), default=0) + 1
    grouped: dict[int, list[PlanItem]] = {}
    for item in items:
        level = depth.get(item.name, last) if item.kind in MANAGED_IN_TEMPORAL else 0
        grouped.setdefault(level, []).append(item)
    return [grouped[level] for level in sorted(grouped)]


def _waits_on(item: PlanItem, unready: dict[str, str]) -> str | None:
    for dep in item.depends_on:
        if dep in unready:
            return f"waiting for {dep!r}: {unready[dep]}"
    return None


def _kept_fingerprint(item: PlanItem) -> str | None:
    """No write: the fingerprint stays what it was, or, if it was never known, what Temporal shows."""
    prev = item.applied
    if prev is not None and prev.fingerprint is not None:
        return prev.fingerprint
    return item.live_fingerprint


_COMPARED = tuple(f.name for f in dataclasses.fields(AppliedObject) if f.name != "updated_at")


def _same(a: AppliedObject, b: AppliedObject) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in _COMPARED)


def _target(item: PlanItem) -> Target:
    assert item.target is not None
    return item.target


def _message(exc: BaseException) -> str:
    if isinstance(exc, LaunchpadError | RPCError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
