"""Log in: `POST /auth/token` with a form (OAuth2 password flow, as Swagger sends it) or JSON."""

from fastapi import APIRouter, Request
from pydantic import ValidationError

from functions.errors import ApiError
from functions.login import login
from functions.models import Credentials, TokenResponse
from functions.security import ServicesDep

router = APIRouter(prefix="/auth", tags=["auth"])


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
    access, expires_in = await login(svc, creds.username, creds.password, client)
    return TokenResponse(access_token=access, expires_in=expires_in)
