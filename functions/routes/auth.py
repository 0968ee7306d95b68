"""Log in: `POST /auth/token` with a form (OAuth2 password flow, as Swagger sends it) or JSON."""

import asyncio

from fastapi import APIRouter, Request
from pydantic import ValidationError

from functions.errors import ApiError
from functions.models import Credentials, TokenResponse
from functions.security import ServicesDep
from launchpad.auth.tokens import issue_token

router = APIRouter(prefix="/auth", tags=["auth"])
MAX_FAILURES = 5
WINDOW_SECONDS = 300.0


async def _credentials(request: Request) -> Credentials:
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            return Credentials.model_validate(await request.json())
        form = await request.form()
        return Credentials.model_validate({"username": form.get("username"), "password": form.get("password")})
    except (ValidationError, ValueError):
        raise ApiError(422, "validation_error", "username and password are required") from None


@router.post(
    "/token",
    response_model=TokenResponse,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                        "required": ["username", "password"],
                    }
                },
                "application/json": {"schema": Credentials.model_json_schema()},
            },
            "required": True,
        }
    },
)
async def token(request: Request, svc: ServicesDep) -> TokenResponse:
    """Exchange a username and password for a bearer token. Repeated failures answer 429."""
    if svc.users is None:
        raise ApiError(404, "auth_disabled", "no authenticator is configured; the API is open")
    creds = await _credentials(request)
    client = request.client.host if request.client else "unknown"
    keys = (f"user:{creds.username}", f"client:{client}")
    if any(svc.users.failures(key, WINDOW_SECONDS) >= MAX_FAILURES for key in keys):
        raise ApiError(429, "too_many_attempts", "too many failed logins; try again later")
    # argon2 takes a good fraction of a second: off the event loop, or every request waits
    user = await asyncio.to_thread(svc.users.authenticate, creds.username, creds.password)
    if user is None:
        for key in keys:
            svc.users.record_failure(key)
        raise ApiError(401, "invalid_credentials", "invalid username or password")
    svc.users.clear_failures(keys[0])
    access, expires_in = issue_token(svc.secret, user.username, list(user.levels), user.max_age)
    return TokenResponse(access_token=access, expires_in=expires_in)
