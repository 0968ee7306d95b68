"""Sync: trigger, status, plan, history."""

import asyncio
from typing import Any

from fastapi import APIRouter

from functions.errors import ApiError
from functions.models import Accepted, PlanResponse, SyncStatus, SyncSummary
from functions.security import User
from functions.services import Services
from launchpad.state.store import new_sync_id

router = APIRouter(prefix="/sync", tags=["sync"])


def start_sync(svc: Services, trigger: str) -> str | None:
    """Take the lock and run the sync in the background; None when one is already running."""
    holder = svc.reconciler.begin()
    if holder is None:
        return None
    sync_id = new_sync_id()
    task = asyncio.get_running_loop().create_task(svc.reconciler.run(holder, trigger, sync_id))
    svc.background.add(task)
    task.add_done_callback(svc.background.discard)
    return sync_id


@router.post("", response_model=Accepted, status_code=202)
async def trigger_sync(caller: User) -> Accepted:
    sync_id = start_sync(caller.svc, f"api: {caller.who.sub}")
    if sync_id is None:
        raise ApiError(409, "already_running", "a sync is already running; one follow-up sync is queued")
    return Accepted(status="started", id=sync_id)


def _sync(record: Any) -> dict[str, Any]:
    return dict(vars(record))


@router.get("/status", response_model=SyncStatus)
async def sync_status(caller: User) -> dict[str, Any]:
    """Per object: Synced / OutOfSync / Degraded with the reason, and the last sync."""
    store = caller.svc.store
    last = store.last_sync()
    return {"objects": [vars(o) for o in store.objects()], "last_sync": _sync(last) if last else None}


@router.get("/plan", response_model=PlanResponse)
async def sync_plan(caller: User) -> dict[str, Any]:
    """What a sync would do now, and why (fetches the repository; writes nothing)."""
    plan, _ = await caller.svc.reconciler.plan()
    return plan.as_dict()


@router.get("/history", response_model=list[SyncSummary])
async def sync_history(caller: User) -> list[dict[str, Any]]:
    return [_sync(record) for record in caller.svc.store.syncs(limit=50)]
