"""Bearer-token auth as FastAPI dependencies; levels are hierarchical (`super user` ⊇ `user`)."""

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from functions.errors import ApiError
from functions.services import Services
from launchpad.auth.tokens import Claims, InvalidToken, decode_token

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
    if user is None:
        raise ApiError(401, "unauthorized", "unknown user")
    return Claims(decoded.sub, user.levels, decoded.exp, decoded.jti)


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
        svc = request.app.state.services
        who = await authenticate(svc, await super().__call__(request))
        if not who.allows(self.level):
            raise ApiError(403, "forbidden", f"this needs the {self.level!r} level")
        return Caller(who, svc)


User = Annotated[Caller, Depends(Require("user"))]
SuperUser = Annotated[Caller, Depends(Require("super user"))]
