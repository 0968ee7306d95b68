"""Apply a plan through the runners, object by object, with bounded concurrency.

An error on one object is recorded and does not stop the others. A Temporal outage
marks the sync failed; only what was really applied is recorded as applied, so the
next sync converges.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from temporalio.service import RPCError, RPCStatusCode

from launchpad.errors import LaunchpadError, TemporalUnavailable
from launchpad.registry import Registry
from launchpad.spec.task import TaskSpec
from launchpad.spec.worker import WorkerSpec
from launchpad.state.store import AppliedObject
from launchpad.temporal.connections import Connections
from launchpad.temporal.runners import AlreadyRunning, ScheduledWorkflowRunner, runner_for
from reconciler.desired import DesiredObject
from reconciler.plan import Action, Plan, PlanItem

if TYPE_CHECKING:  # the worker machinery is heavy; the API never needs it
    from launchpad.temporal.workers import WorkerSet

OUTAGE_CODES = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED}


@dataclass
class Outcome:
    kind: str
    name: str
    action: str
    ok: bool
    message: str = ""
    wrote: bool = False  # a write RPC reached Temporal

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    put: list[AppliedObject] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    outage: str | None = None

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]


@dataclass
class Applier:
    connections: Connections
    registry: Registry
    workers: WorkerSet | None = None
    concurrency: int = 32

    async def apply(self, plan: Plan) -> ApplyResult:
        result = ApplyResult()
        if plan.refused:
            return result
        errors_by_file = {e.file: e for e in plan.errors}
        gate = asyncio.Semaphore(self.concurrency)

        async def one(item: PlanItem) -> None:
            async with gate:
                if result.outage:  # the rest would only wait for retries to time out
                    result.outcomes.append(Outcome(item.kind, item.name, str(item.action), False, "skipped: outage"))
                    return
                await self._one(item, plan.revision, errors_by_file, result)

        await asyncio.gather(*(one(item) for item in plan.items))
        return result

    async def _one(self, item: PlanItem, revision: str, errors_by_file: dict[str, Any], result: ApplyResult) -> None:
        try:
            wrote, message = await self._act(item)
        except Exception as exc:
            outage = _outage(exc)
            if outage and not result.outage:
                result.outage = outage
            message = outage or _message(exc)
            result.outcomes.append(Outcome(item.kind, item.name, str(item.action), False, message))
            if item.applied is not None and not outage:
                result.put.append(dataclasses.replace(item.applied, status="Degraded", reason=message, error=message))
            return
        result.outcomes.append(Outcome(item.kind, item.name, str(item.action), True, message, wrote))
        if item.action in (Action.DELETE, Action.FORGET, Action.STOP):
            result.removed.append((item.kind, item.name))
            return
        if item.desired is None:  # a deleted file left alone (prune off): keep its record
            return
        record = self._record(item, revision, wrote, errors_by_file)
        if record is not None:
            result.put.append(record)

    async def _act(self, item: PlanItem) -> tuple[bool, str]:
        """Do what the item says; return (whether Temporal was written, a short message)."""
        if item.action in (Action.NOOP, Action.FORGET):
            return False, item.reason
        if item.kind == "worker":
            return await self._worker(item)
        if item.action == Action.DELETE:
            return await self._delete_schedule(item)
        desired = _need(item.desired)
        spec = await asyncio.to_thread(desired.load)  # an unchanged file is read from git on demand
        assert isinstance(spec, TaskSpec)
        if item.action == Action.RESTART:
            client = await self.connections.client(*_target(item))
            await client.get_workflow_handle(spec.workflow.workflow_id).terminate("launchpad: task file changed")
        runner = runner_for(spec, self.connections, self.registry)
        version = desired.blob  # content-addressed: a revert restores the very same marker
        try:
            if isinstance(runner, ScheduledWorkflowRunner):
                deployed = await runner.deploy(spec, version, force=item.drift, exists=item.action == Action.UPDATE)
            else:
                deployed = await runner.deploy(spec, version)
        except AlreadyRunning:
            return False, "already running"
        return deployed.action != "unchanged", deployed.action

    async def _delete_schedule(self, item: PlanItem) -> tuple[bool, str]:
        applied = _need(item.applied)
        client = await self.connections.client(*_target(item))
        try:
            await client.get_schedule_handle(applied.temporal_id or "").delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return False, "already gone"
        return True, "deleted"

    async def _worker(self, item: PlanItem) -> tuple[bool, str]:
        if self.workers is None:
            return False, "recorded; workers reload in `launchpad worker --follow` / `launchpad start`"
        if item.action == Action.STOP:
            await self.workers.stop(item.name)
            return False, "stopped"
        spec = await asyncio.to_thread(_need(item.desired).load)
        assert isinstance(spec, WorkerSpec)
        await self.workers.reload(item.name, spec)
        return False, "reloaded" if item.action == Action.RELOAD else "started"

    def _record(
        self, item: PlanItem, revision: str, wrote: bool, errors_by_file: dict[str, Any]
    ) -> AppliedObject | None:
        desired = _need(item.desired)
        prev = item.applied
        if desired.last_good and prev is not None:
            error = errors_by_file.get(desired.path)
            reason = f"{error.path}: {error.message} (revision {revision[:12]})" if error else "file is broken"
            return dataclasses.replace(prev, status="Degraded", reason=f"last good version kept; {reason}")
        status, reason = "Synced", item.reason
        if item.out_of_date or (item.drift and item.action == Action.NOOP):
            status = "OutOfSync"
        server, namespace = _target(item)
        record = AppliedObject(
            kind=desired.kind,
            name=desired.name,
            path=desired.path,
            revision=revision if (prev is None or item.action != Action.NOOP) else prev.revision,
            spec_hash=desired.spec_hash if not item.out_of_date else (prev.spec_hash if prev else ""),
            blob=desired.blob,
            server=server,
            namespace=namespace,
            temporal_id=desired.temporal_id,
            # after a write the server's form is adopted at the next listing
            fingerprint=None if wrote else (item.live_fingerprint or (prev.fingerprint if prev else None)),
            status=status,
            reason=reason,
        )
        if prev is not None and _same(prev, record):
            return None
        return record


def _same(a: AppliedObject, b: AppliedObject) -> bool:
    skip = {"updated_at"}
    return all(getattr(a, f.name) == getattr(b, f.name) for f in dataclasses.fields(a) if f.name not in skip)


def _target(item: PlanItem) -> tuple[str, str]:
    assert item.target is not None
    return item.target


def _need(value: DesiredObject | AppliedObject | None) -> Any:
    assert value is not None
    return value


def _outage(exc: BaseException) -> str | None:
    if isinstance(exc, TemporalUnavailable):
        return str(exc)
    if isinstance(exc, RPCError) and exc.status in OUTAGE_CODES:
        return f"Temporal unavailable: {exc.message}"
    if isinstance(exc, RuntimeError) and "connect" in str(exc).lower():
        return f"Temporal unavailable: {exc}"
    return None


def _message(exc: BaseException) -> str:
    if isinstance(exc, LaunchpadError | RPCError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
