"""What Temporal holds now, for the objects launchpad manages (read-only calls).

A drift scan (`scan`) lists every schedule of the namespaces involved: one paginated listing
per namespace, whatever the number of schedules. Listings lag writes by tens of milliseconds,
so a schedule the listing shows differently from what launchpad last wrote, or not at all, is
described (a read of that one schedule) before it counts as drift. A listing shows a schedule's
spec but not its action or policies: a verification (`verify`) describes every managed schedule
and compares those with the fingerprint launchpad's marker carries of what it wrote. A refresh
(`look`) lists nothing and describes only the deploy-on-start workflows it is asked about.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from temporalio.client import Schedule, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from launchpad.temporal.connections import Connections
from launchpad.temporal.memo import MARKER, Owner, listed_owner, owner
from launchpad.temporal.schedules import action_fingerprint, action_marker, describe, fingerprint

Target = tuple[str, str]  # (server, namespace)

log = logging.getLogger(__name__)


@dataclass
class LiveSchedule:
    schedule_id: str
    owner: Owner | None  # None: not launchpad's
    fingerprint: str | None  # of the spec as the server holds it
    # described: whether its action or policies are not what launchpad wrote; None: only listed
    action_drift: bool | None = None


@dataclass
class LiveWorkflow:
    workflow_id: str
    running: bool
    owner: Owner | None = None
    version: str | None = None  # the file blob its marker names


@dataclass
class Live:
    """`complete`: every schedule of the scanned namespaces is here, so one that is absent does not exist."""

    complete: bool = False
    schedules: dict[tuple[Target, str], LiveSchedule] = field(default_factory=dict)
    workflows: dict[tuple[Target, str], LiveWorkflow] = field(default_factory=dict)


Key = tuple[Target, str]  # (where, schedule id)


async def list_schedules(
    connections: Connections, targets: Iterable[Target], ignore: Mapping[Key, Collection[str]]
) -> dict[Key, LiveSchedule]:
    """Every schedule of the targets, as the listing shows it (one paginated call per namespace).
    `ignore`: per schedule, the fields its fingerprint leaves out (its task's ignore_differences).
    Only launchpad's schedules get a fingerprint: one it did not make is never compared, only
    refused, so a namespace full of other schedules costs their ids, not their specs."""
    found: dict[Key, LiveSchedule] = {}
    for target in sorted(set(targets)):
        client = await connections.client(*target)
        try:
            async for listed in await client.list_schedules():
                if listed.schedule is not None:
                    key, owner = (target, listed.id), listed_owner(listed.raw_entry.memo.fields)
                    fp = fingerprint(listed.schedule.spec, ignore.get(key, ())) if owner else None
                    found[key] = LiveSchedule(listed.id, owner, fp)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise  # else a namespace not registered yet: it holds nothing (the apply registers it first)
    return found


async def scan(
    connections: Connections,
    schedules: dict[Key, LiveSchedule],
    expected: Mapping[Key, str | None],
    workflows: Iterable[tuple[Target, str]],
    ignore: Mapping[Key, Collection[str]] | None = None,
    recheck: Iterable[Key] = (),
    *,
    verify: bool = False,
    concurrency: int = 32,
) -> Live:
    """A drift scan's view from a listing: confirm by a describe the schedules the state store
    expects (`expected`: id → fingerprint last written) but the listing shows otherwise or not at
    all, and those in `recheck` (listed with other `ignore`d fields than they have now); with
    `verify`, describe every one the state store expects."""
    live = Live(complete=True, schedules=schedules)
    ignored = ignore or {}
    doubtful = {
        key
        for key, written in expected.items()
        if (known := live.schedules.get(key)) is None or (written is not None and known.fingerprint != written)
    }
    doubtful |= {key for key in recheck if key in live.schedules}
    checked = sorted(doubtful | (set(expected) & live.schedules.keys() if verify else set()))
    gate = asyncio.Semaphore(concurrency)

    async def confirm(key: Key) -> LiveSchedule | BaseException | None:
        async with gate:
            try:
                return await describe_schedule(connections, *key, ignored.get(key, ()))
            except Exception as exc:
                if key in doubtful:  # the plan needs this answer
                    raise
                return exc  # only verified: the listing's view stands until the next verification

    confirmed = await asyncio.gather(*(confirm(key) for key in checked))
    failed = 0
    for key, schedule in zip(checked, confirmed, strict=True):
        if isinstance(schedule, BaseException):
            failed += 1
        elif schedule is None:
            live.schedules.pop(key, None)
        else:
            live.schedules[key] = schedule
    if failed:
        log.warning(
            "verification: %d of %d schedules could not be described; the next verification tries again",
            failed,
            len(checked),
        )
    await _workflows(connections, live, workflows)
    return live


async def look(connections: Connections, workflows: Iterable[tuple[Target, str]]) -> Live:
    """No listing: only the state of these deploy-on-start workflows."""
    live = Live(complete=False)
    await _workflows(connections, live, workflows)
    return live


async def _workflows(connections: Connections, live: Live, workflows: Iterable[tuple[Target, str]]) -> None:
    wanted = sorted(set(workflows))
    found = await asyncio.gather(*(describe_workflow(connections, target, wid) for target, wid in wanted))
    for (target, wid), workflow in zip(wanted, found, strict=True):
        live.workflows[(target, wid)] = workflow


async def describe_workflow(connections: Connections, target: Target, workflow_id: str) -> LiveWorkflow:
    client = await connections.client(*target)
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return LiveWorkflow(workflow_id, running=False)
        raise
    memo = await described.memo()
    marker = memo.get(MARKER) if isinstance(memo, dict) else None
    return LiveWorkflow(
        workflow_id,
        running=described.status == WorkflowExecutionStatus.RUNNING,
        owner=owner(memo),
        version=str(marker["version"]) if isinstance(marker, dict) and marker.get("version") else None,
    )


async def describe_schedule(
    connections: Connections, target: Target, schedule_id: str, ignore: Collection[str] = ()
) -> LiveSchedule | None:
    """One schedule as Temporal holds it now (its fingerprint without the `ignore`d fields); None
    when it does not exist."""
    described = await describe(await connections.client(*target), schedule_id)
    if described is None:
        return None
    schedule = described.schedule
    found = owner(await described.memo())
    return LiveSchedule(schedule_id, found, fingerprint(schedule.spec, ignore), _action_drift(schedule, ignore))


def _action_drift(schedule: Schedule, ignore: Collection[str]) -> bool:
    """Whether the action or policies differ from what launchpad's marker says it wrote: a hand
    edit that kept the marker changed them, or one that replaced the action dropped the marker.
    A marker without the fingerprint (written before launchpad kept one) proves nothing."""
    marker = action_marker(schedule)
    if marker is None:
        return True
    written = marker.get("action")
    return written is not None and written != action_fingerprint(schedule, ignore)
