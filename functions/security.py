"""Bearer-token auth as FastAPI dependencies; levels are hierarchical (`super user` ⊇ `user`)."""

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param

from functions.errors import ApiError
from functions.services import Services
from launchpad.auth.tokens import Claims, InvalidToken, decode_token
from launchpad.observability.logs import bind

OPEN = Claims("anonymous", ("user", "super user"), 0, "")  # when no authenticator is configured


async def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]


async def authenticate(svc: Services, token: str | None) -> Claims:
    """The caller's claims, with the levels the user store holds now (not those in the token)."""
    if svc.users is None:
        return OPEN
    if not token:
        raise ApiError(401, "unauthorized", "a bearer token is required")
    try:
        decoded = decode_token(svc.secret, token)
    except InvalidToken as exc:
        raise ApiError(401, "unauthorized", str(exc)) from None
    # a deleted or demoted user loses access at once; off the loop when the store is a network call
    store = svc.users
    user = await asyncio.to_thread(store.get, decoded.sub) if store.remote else store.get(decoded.sub)
    if user is None or user.generation != decoded.gen:  # deleted, or deleted and created again
        raise ApiError(401, "unauthorized", "unknown user")
    bind(user=decoded.sub)  # the request's log lines name who made it
    return Claims(decoded.sub, user.levels, decoded.exp, decoded.jti, decoded.gen)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls, and the app's services: what a guarded route needs, from one dependency."""

    who: Claims
    svc: Services


class Require(OAuth2PasswordBearer):
    """The bearer-token scheme (what /docs' Authorize button fills in) that also checks the level
    and hands over the services: one dependency per route instead of a scheme, a checker and the
    services (FastAPI solves each dependency on every request)."""

    def __init__(self, level: str) -> None:
        super().__init__(tokenUrl="/auth/token", scheme_name="OAuth2PasswordBearer", auto_error=False)
        self.level = level

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        return await self.caller(request.app.state.services, request.headers.get("Authorization"))

    async def caller(self, svc: Services, authorization: str | None) -> Caller:
        """The caller an `Authorization` header names, if it holds the level."""
        who = await authenticate(svc, bearer_token(authorization))
        if not who.allows(self.level):
            raise ApiError(403, "forbidden", f"this needs the {self.level!r} level")
        return Caller(who, svc)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, read as OAuth2PasswordBearer does."""
    scheme, param = get_authorization_scheme_param(authorization)
    return param if authorization and scheme.lower() == "bearer" else None


USER, SUPER_USER = Require("user"), Require("super user")


User = Annotated[Caller, Depends(USER)]
SuperUser = Annotated[Caller, Depends(SUPER_USER)]
