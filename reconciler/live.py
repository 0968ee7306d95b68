"""What Temporal holds now, for the objects launchpad manages (read-only calls)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from temporalio.client import ScheduleSpec, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from launchpad.temporal.connections import Connections
from launchpad.temporal.memo import MARKER

Target = tuple[str, str]  # (server, namespace)


def fingerprint(spec: ScheduleSpec) -> str:
    """The schedule spec as the server holds it (listing and describing give the same form)."""
    return hashlib.sha256(repr(spec).encode()).hexdigest()[:16]


@dataclass
class LiveSchedule:
    schedule_id: str
    task: str
    fingerprint: str


@dataclass
class LiveWorkflow:
    workflow_id: str
    running: bool
    task: str | None = None


@dataclass
class Live:
    schedules: dict[tuple[Target, str], LiveSchedule] = field(default_factory=dict)
    workflows: dict[tuple[Target, str], LiveWorkflow] = field(default_factory=dict)


async def observe(
    connections: Connections,
    schedule_targets: Iterable[Target],
    workflows: Iterable[tuple[Target, str]],
    expected: dict[tuple[Target, str], str | None],
) -> Live:
    """List the schedules launchpad owns (by memo marker) and describe deploy-on-start workflows.

    `expected` maps the schedules the state store says were applied to their stored
    fingerprint; those missing from the listing or listed differently are described.
    """
    live = Live()
    for target in set(schedule_targets):
        client = await connections.client(*target)
        async for listed in await client.list_schedules():
            memo = await listed.memo()
            owner = memo.get(MARKER) if isinstance(memo, dict) else None
            if isinstance(owner, dict) and listed.schedule is not None:
                live.schedules[(target, listed.id)] = LiveSchedule(
                    listed.id, str(owner.get("task")), fingerprint(listed.schedule.spec)
                )
    # a listing can lag behind writes: confirm what looks like drift with a describe (a read)
    doubtful = [
        (target, sid)
        for (target, sid), stored in expected.items()
        if (known := live.schedules.get((target, sid))) is None or (stored and known.fingerprint != stored)
    ]
    confirmed = await asyncio.gather(*(describe_schedule(connections, t, sid) for t, sid in doubtful))
    for key, schedule in zip(doubtful, confirmed, strict=True):
        if schedule is None:
            live.schedules.pop(key, None)
        else:
            live.schedules[key] = schedule
    workflows = list(workflows)
    found = await asyncio.gather(*(describe_workflow(connections, target, wid) for target, wid in workflows))
    for (target, wid), workflow in zip(workflows, found, strict=True):
        live.workflows[(target, wid)] = workflow
    return live


async def describe_workflow(connections: Connections, target: Target, workflow_id: str) -> LiveWorkflow:
    client = await connections.client(*target)
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return LiveWorkflow(workflow_id, running=False)
        raise
    memo = await described.memo()
    owner = memo.get(MARKER) if isinstance(memo, dict) else None
    return LiveWorkflow(
        workflow_id,
        running=described.status == WorkflowExecutionStatus.RUNNING,
        task=str(owner.get("task")) if isinstance(owner, dict) else None,
    )


async def describe_schedule(connections: Connections, target: Target, schedule_id: str) -> LiveSchedule | None:
    """One schedule as Temporal holds it now; None when missing or not launchpad's."""
    client = await connections.client(*target)
    try:
        described = await client.get_schedule_handle(schedule_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    owner = (await described.memo()).get(MARKER)
    if not isinstance(owner, dict):
        return None
    return LiveSchedule(schedule_id, str(owner.get("task")), fingerprint(described.schedule.spec))
