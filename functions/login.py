"""Logging in: throttling, the password check and the token, for `POST /auth/token` and the web UI.

One function so that every way in (the API's OAuth2 password flow, the dashboard's login form)
goes through the same checks.
"""

from __future__ import annotations

import asyncio

from functions.errors import ApiError
from functions.services import Services
from launchpad.auth.tokens import issue_token

MAX_FAILURES = 5
WINDOW_SECONDS = 300.0


async def login(svc: Services, username: str, password: str, client: str) -> tuple[str, int]:
    """A bearer token and its lifetime in seconds for a correct password; ApiError otherwise
    (401 wrong credentials, 429 too many failures, 404 when no authenticator is configured)."""
    if svc.users is None:
        raise ApiError(404, "auth_disabled", "no authenticator is configured; the API is open")
    keys = (f"user:{username}", f"client:{client}")
    if any(svc.users.failures(key, WINDOW_SECONDS) >= MAX_FAILURES for key in keys):
        raise ApiError(429, "too_many_attempts", "too many failed logins; try again later")
    # argon2 takes a good fraction of a second: off the event loop, or every request waits
    user = await asyncio.to_thread(svc.users.authenticate, username, password)
    if user is None:
        for key in keys:
            svc.users.record_failure(key)
        raise ApiError(401, "invalid_credentials", "invalid username or password")
    svc.users.clear_failures(keys[0])
    return issue_token(svc.secret, user.username, list(user.levels), user.max_age)
