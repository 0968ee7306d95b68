"""Sync: trigger, status, plan, history."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import APIRouter, Request

from functions.errors import ApiError
from functions.models import Accepted, PlanResponse, SyncRequest, SyncStatus, SyncSummary
from functions.security import User
from functions.services import Services
from launchpad.state import call, new_sync_id

router = APIRouter(prefix="/sync", tags=["sync"])


@dataclass(frozen=True)
class Dispatched:
    """What asking for a sync did: `started` (its id), `queued` (one was running: a follow-up
    runs after it), `dispatched` (handed to the reconcile function, on Lambda), or the status of
    a sync run inline."""

    status: str
    sync_id: str | None = None


# how the app has a sync run: in this process by default; on Lambda, by the reconcile function
Dispatch = Callable[[Services, str, bool], Awaitable[Dispatched]]  # (services, trigger, hard)


async def in_process(svc: Services, trigger: str, hard: bool) -> Dispatched:
    """The sync in the background of this process (a server's: `launchpad api`, `start`, `dev`),
    under a lease taken now; `queued` when one is already running (it then runs one follow-up)."""
    lease = await svc.reconciler.lease(hard=hard)
    if lease is None:
        return Dispatched("queued")
    sync_id = new_sync_id()
    task = asyncio.get_running_loop().create_task(svc.reconciler.sync(trigger, hard=hard, lease=lease, sync_id=sync_id))
    svc.background.add(task)
    task.add_done_callback(svc.background.discard)
    return Dispatched("started", sync_id)


@router.post("", response_model=Accepted, status_code=202)
async def trigger_sync(request: Request, caller: User, body: SyncRequest | None = None) -> Accepted:
    """Start a sync now; `{"hard": true}` also compares every object with Temporal (a drift scan).
    On Lambda the reconcile function runs it (`dispatched`, no id yet)."""
    done: Dispatched = await request.app.state.dispatch(caller.svc, f"api: {caller.who.sub}", bool(body and body.hard))
    if done.status == "queued":
        raise ApiError(409, "already_running", "a sync is already running; one follow-up sync is queued")
    return Accepted(status=done.status, id=done.sync_id)


@router.get("/status", response_model=SyncStatus)
async def sync_status(caller: User) -> dict[str, Any]:
    """Per object: Synced / OutOfSync / Degraded / Missing with the reason; the last sync, the
    broken files at the synced revision, and when Temporal was last compared in full."""
    from reconciler.status import status_report  # with the reconciler: loaded by the routes that need it

    store = caller.svc.store
    return await asyncio.to_thread(status_report, store)  # every record: in a thread even from SQLite


@router.get("/plan", response_model=PlanResponse)
async def sync_plan(caller: User) -> dict[str, Any]:
    """What a sync would do now, and why (fetches the repository, lists Temporal; writes nothing).
    One plan is made at a time: the requests that arrive while it is made get it too, so a plain
    user's requests at once cannot make the server fetch from git and list all of Temporal once each."""
    svc = caller.svc
    if svc.planning is None or svc.planning.done():
        svc.planning = asyncio.get_running_loop().create_task(_plan(svc))
    return await asyncio.shield(svc.planning)  # a caller that leaves does not cancel it for the others


async def _plan(svc: Services) -> dict[str, Any]:
    plan, _ = await svc.reconciler.plan()
    return plan.as_dict()


@router.get("/history", response_model=list[SyncSummary])
async def sync_history(caller: User) -> list[dict[str, Any]]:
    store = caller.svc.store
    return [asdict(record) for record in await call(store, store.syncs, 50)]
