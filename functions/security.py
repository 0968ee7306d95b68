"""Bearer-token auth as FastAPI dependencies; levels are hierarchical (`super user` ⊇ `user`)."""

from __future__ import annotations

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


async def claims(svc: ServicesDep, token: Annotated[str | None, Depends(bearer)]) -> Claims:
    if svc.users is None:
        return OPEN
    if not token:
        raise ApiError(401, "unauthorized", "a bearer token is required")
    try:
        decoded = decode_token(svc.secret, token)
    except InvalidToken as exc:
        raise ApiError(401, "unauthorized", str(exc)) from None
    # a deleted or demoted user loses access at once; off the loop, as DynamoDB is a network call
    user = await asyncio.to_thread(svc.users.get, decoded.sub)
    if user is None:
        raise ApiError(401, "unauthorized", "unknown user")
    return Claims(decoded.sub, user.levels, decoded.exp, decoded.jti)


def require(level: str):  # type: ignore[no-untyped-def]
    async def check(who: Annotated[Claims, Depends(claims)]) -> Claims:
        if not who.allows(level):
            raise ApiError(403, "forbidden", f"this needs the {level!r} level")
        return who

    return check


User = Annotated[Claims, Depends(require("user"))]
SuperUser = Annotated[Claims, Depends(require("super user"))]
