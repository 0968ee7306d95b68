"""Logging in: throttling, the password check and the token, for `POST /auth/token` and the web UI.

One function so that every way in (the API's OAuth2 password flow, the dashboard's login form)
goes through the same checks. The throttle (launchpad.auth.throttle) counts the attempt before
the password is checked; `client` is the address the server saw (a proxy's forwarded address
only when the configuration trusts that proxy: `api.forwarded_allow_ips`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from functions.errors import ApiError
from functions.services import Services
from launchpad.auth.store import UserStore
from launchpad.auth.throttle import Throttle
from launchpad.auth.tokens import issue_token
from launchpad.config import MAX_USERNAME

T = TypeVar("T")
THROTTLE = Throttle()


async def _call(store: UserStore, fn: Callable[..., T], *args: object) -> T:
    """A store call; off the event loop when the store is a network call."""
    return await asyncio.to_thread(fn, *args) if store.remote else fn(*args)


async def login(svc: Services, username: str, password: str, client: str) -> tuple[str, int]:
    """A bearer token and its lifetime in seconds for a correct password; ApiError otherwise
    (401 wrong credentials, 429 too many attempts, 404 when no authenticator is configured)."""
    store = svc.users
    if store is None:
        raise ApiError(404, "auth_disabled", "no authenticator is configured; the API is open")
    if not 0 < len(username) <= MAX_USERNAME:  # no user has such a name, and a store could not key it
        raise ApiError(401, "invalid_credentials", "invalid username or password")
    admission = await _call(store, THROTTLE.admit, store, username, client)
    if admission is None:
        raise ApiError(429, "too_many_attempts", "too many failed logins; try again later")
    # argon2 takes a good fraction of a second: off the event loop, or every request waits
    user = await asyncio.to_thread(store.authenticate, username, password)
    if user is None:
        raise ApiError(401, "invalid_credentials", "invalid username or password")
    await _call(store, THROTTLE.succeeded, store, admission)
    return issue_token(svc.secret, user.username, list(user.levels), user.max_age, user.generation)
