"""Bearer-token auth as FastAPI dependencies; levels are hierarchical (`super user` ⊇ `user`)."""

import asyncio
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from functions.errors import ApiError
from functions.services import Services
from launchpad.auth.tokens import Claims, InvalidToken, decode_token

bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
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


def require(level: str):  # type: ignore[no-untyped-def]
    """One dependency per level (FastAPI resolves each sub-dependency on every request: keep them few)."""

    async def check(request: Request, token: Annotated[str | None, Depends(bearer)]) -> Claims:
        who = await authenticate(request.app.state.services, token)
        if not who.allows(level):
            raise ApiError(403, "forbidden", f"this needs the {level!r} level")
        return who

    return check


User = Annotated[Claims, Depends(require("user"))]
SuperUser = Annotated[Claims, Depends(require("super user"))]
