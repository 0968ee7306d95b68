"""User management (super users). A user deleted and created again is a new user: tokens issued
to the first one stay refused (launchpad.auth.store.User.generation)."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path

from functions.errors import ApiError
from functions.models import Accepted, UserCreate, UserInfo
from functions.security import SuperUser
from functions.services import Services
from launchpad.auth.store import UserStore

router = APIRouter(prefix="/users", tags=["users"])


def _store(svc: Services) -> UserStore:
    if svc.users is None:
        raise ApiError(404, "auth_disabled", "no authenticator is configured")
    return svc.users


@router.get("", response_model=list[UserInfo])
async def list_users(caller: SuperUser) -> list[UserInfo]:
    store = _store(caller.svc)
    listed = await asyncio.to_thread(store.users) if store.remote else store.users()
    return [UserInfo(username=u.username, auth_level=list(u.levels), max_age=u.max_age) for u in listed]


@router.post("", response_model=UserInfo, status_code=201)
async def create_user(caller: SuperUser, body: UserCreate) -> UserInfo:
    store = _store(caller.svc)
    try:  # argon2 (and a network store): off the event loop
        user = await asyncio.to_thread(store.add, body.username, body.password, list(body.auth_level), body.max_age)
    except ValueError:
        raise ApiError(409, "conflict", f"user {body.username!r} exists; delete it first") from None
    return UserInfo(username=user.username, auth_level=list(user.levels), max_age=user.max_age)


@router.delete("/{username}", response_model=Accepted)
async def delete_user(caller: SuperUser, username: Annotated[str, Path(max_length=100)]) -> Accepted:
    if username == caller.who.sub:
        raise ApiError(409, "conflict", "you cannot delete yourself")
    store = _store(caller.svc)
    deleted = await asyncio.to_thread(store.delete, username) if store.remote else store.delete(username)
    if not deleted:
        raise ApiError(404, "not_found", f"no user {username!r}")
    return Accepted(status="deleted", id=username)
