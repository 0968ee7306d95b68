"""Workflows and schedules in Temporal, by id; `server` and `namespace` default by the config's rules."""

import functools
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecutionStatus

from functions.models import Accepted, ScheduleInfo, SignalRequest, WorkflowInfo
from functions.security import Caller, SuperUser, User
from launchpad.temporal.memo import MARKER

workflows = APIRouter(prefix="/workflows", tags=["workflows"])
schedules = APIRouter(prefix="/schedules", tags=["schedules"])
Id = Annotated[str, Path(min_length=1, max_length=1000)]
Operation = Annotated[str, Path(pattern="^(pause|unpause|trigger)$")]


@functools.cache
def builtin_workflows() -> frozenset[str]:
    """The built-in workflows (they answer the `status` query); the engine is loaded on first need."""
    from launchpad.registry import Registry

    return frozenset(Registry.builtin().names("workflow"))


class Target(BaseModel):
    """`?server=&namespace=`, one query model: FastAPI analyses it once per route, not per parameter."""

    server: str | None = Field(default=None, max_length=200)
    namespace: str | None = Field(default=None, max_length=200)


Where = Annotated[Target, Query()]


async def client_for(caller: Caller, where: Target) -> Client:
    return await caller.svc.connections.client(where.server, where.namespace)


@workflows.get("/{workflow_id}", response_model=WorkflowInfo)
async def describe_workflow(caller: User, where: Where, workflow_id: Id) -> dict[str, Any]:
    """Describe a workflow; built-in ones also answer their `status` query."""
    handle = (await client_for(caller, where)).get_workflow_handle(workflow_id)
    described = await handle.describe()
    query_status = None
    if described.workflow_type in builtin_workflows():
        try:
            query_status = await handle.query("status")
        except Exception:  # a closed workflow whose worker is gone cannot answer; describe still does
            query_status = None
    return {
        "workflow_id": described.id,
        "run_id": described.run_id,
        "workflow_type": described.workflow_type,
        "status": (described.status or WorkflowExecutionStatus.RUNNING).name,
        "task_queue": described.task_queue,
        "start_time": described.start_time,
        "close_time": described.close_time,
        "memo": await described.memo(),
        "query_status": query_status,
    }


@workflows.post("/{workflow_id}/signals/{signal}", response_model=Accepted, status_code=202)
async def signal_workflow(
    caller: User, where: Where, workflow_id: Id, signal: Id, body: SignalRequest | None = None
) -> Accepted:
    handle = (await client_for(caller, where)).get_workflow_handle(workflow_id)
    await handle.signal(signal, args=(body or SignalRequest()).args)
    return Accepted(status="signalled", id=workflow_id)


@workflows.post("/{workflow_id}/cancel", response_model=Accepted, status_code=202)
async def cancel_workflow(caller: SuperUser, where: Where, workflow_id: Id) -> Accepted:
    await (await client_for(caller, where)).get_workflow_handle(workflow_id).cancel()
    return Accepted(status="cancel requested", id=workflow_id)


@workflows.post("/{workflow_id}/terminate", response_model=Accepted)
async def terminate_workflow(caller: SuperUser, where: Where, workflow_id: Id) -> Accepted:
    handle = (await client_for(caller, where)).get_workflow_handle(workflow_id)
    await handle.terminate(f"terminated through the launchpad API by {caller.who.sub}")
    return Accepted(status="terminated", id=workflow_id)


async def _schedule_info(schedule_id: str, schedule: Any, memo: Mapping[str, Any], next_times: Any) -> dict[str, Any]:
    owner = memo.get(MARKER) if isinstance(memo, dict) else None
    action = getattr(schedule, "action", None)
    return {
        "schedule_id": schedule_id,
        "workflow_type": getattr(action, "workflow", None),
        "paused": schedule.state.paused,
        "note": schedule.state.note,
        "managed_by": owner.get("task") if isinstance(owner, dict) else None,
        "next_action_times": list(next_times or []),
    }


@schedules.get("", response_model=list[ScheduleInfo])
async def list_schedules(caller: User, where: Where) -> list[dict[str, Any]]:
    out = []
    async for listed in await (await client_for(caller, where)).list_schedules():
        if listed.schedule is not None:
            info = listed.info.next_action_times if listed.info else []
            out.append(await _schedule_info(listed.id, listed.schedule, await listed.memo(), info))
    return out


@schedules.get("/{schedule_id}", response_model=ScheduleInfo)
async def get_schedule(caller: User, where: Where, schedule_id: Id) -> dict[str, Any]:
    described = await (await client_for(caller, where)).get_schedule_handle(schedule_id).describe()
    return await _schedule_info(
        schedule_id, described.schedule, dict(await described.memo()), described.info.next_action_times
    )


@schedules.post("/{schedule_id}/{operation}", response_model=Accepted)
async def operate_schedule(caller: User, where: Where, schedule_id: Id, operation: Operation) -> Accepted:
    """Pause, unpause or trigger a schedule now (the note records who did it)."""
    from launchpad.temporal.schedules import operate

    done = await operate(
        await client_for(caller, where), schedule_id, operation, f"the launchpad API by {caller.who.sub}"
    )
    return Accepted(status=done, id=schedule_id)


@schedules.delete("/{schedule_id}", response_model=Accepted)
async def delete_schedule(caller: SuperUser, where: Where, schedule_id: Id) -> Accepted:
    await (await client_for(caller, where)).get_schedule_handle(schedule_id).delete()
    return Accepted(status="deleted", id=schedule_id)
