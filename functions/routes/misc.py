"""Health (no auth) and user management (super users)."""

import asyncio
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from functions.errors import ApiError, error_response
from functions.models import Accepted, Health, UserCreate, UserInfo
from functions.security import ServicesDep, SuperUser
from functions.services import Services
from launchpad.auth.users import UserStore

health = APIRouter(tags=["health"])
_TIMEOUT = timedelta(seconds=3)
users = APIRouter(prefix="/users", tags=["users"])


@health.get("/health", response_model=Health, responses={503: {"description": "Temporal unreachable"}})
async def get_health(svc: ServicesDep) -> Health | JSONResponse:
    """200 when the default Temporal server answers, 503 otherwise."""
    server, namespace = svc.config.temporalio.resolve()
    try:
        client = await svc.connections.client(server.name, namespace)
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=_TIMEOUT)
    except Exception as exc:
        svc.connections.forget_all()
        return error_response(503, "temporal_unavailable", f"{server.name} at {server.address}: {type(exc).__name__}")
    return Health(status="ok", server=server.name, address=server.address)


def _store(svc: Services) -> UserStore:
    if svc.users is None:
        raise ApiError(404, "auth_disabled", "no authenticator is configured")
    return svc.users


@users.get("", response_model=list[UserInfo])
async def list_users(caller: SuperUser) -> list[UserInfo]:
    store = _store(caller.svc)
    return [UserInfo(username=u.username, auth_level=list(u.levels), max_age=u.max_age) for u in store.users()]


@users.post("", response_model=UserInfo, status_code=201)
async def create_user(caller: SuperUser, body: UserCreate) -> UserInfo:
    store = _store(caller.svc)
    if any(u.username == body.username for u in store.users()):
        raise ApiError(409, "conflict", f"user {body.username!r} exists; delete it first")
    user = await asyncio.to_thread(store.add, body.username, body.password, list(body.auth_level), body.max_age)
    return UserInfo(username=user.username, auth_level=list(user.levels), max_age=user.max_age)


@users.delete("/{username}", response_model=Accepted)
async def delete_user(caller: SuperUser, username: Annotated[str, Path(max_length=100)]) -> Accepted:
    if username == caller.who.sub:
        raise ApiError(409, "conflict", "you cannot delete yourself")
    if not _store(caller.svc).delete(username):
        raise ApiError(404, "not_found", f"no user {username!r}")
    return Accepted(status="deleted", id=username)
