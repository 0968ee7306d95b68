"""Who is looking at a page: the session cookie, the CSRF token, and the levels they hold.

The session is the API's own JWT, kept in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` over
https). Every state-changing form carries a CSRF token: an HMAC, keyed by the app secret, of the
session's key, which is the JWT's `jti` (or, when no authenticator is configured, the random value
of an anonymous cookie). A page of another site can neither read the token nor have the cookie
sent with its POST, and the token dies with the session. Pages are compressed, so each form
carries the token masked by a fresh random pad (as Django does): no byte of it repeats between two
responses, which takes away what a compression side channel (BREACH) would measure.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from functions.errors import ApiError
from functions.security import OPEN, authenticate
from functions.services import Services
from launchpad.auth.tokens import Claims

SESSION_COOKIE = "launchpad_session"
ANONYMOUS_COOKIE = "launchpad_anonymous"  # the CSRF key when the dashboard is open
COOKIE_PATH = "/ui"
CSRF_FIELD = "csrf"


class LoginRequired(Exception):
    """No session, or one that expired or was revoked: the browser goes to the login page."""


class Refused(ApiError):
    """A state-changing request without a valid CSRF token."""

    def __init__(self) -> None:
        super().__init__(403, "csrf_failed", "this form has expired or did not come from this site; reload the page")


@dataclass(frozen=True, slots=True)
class Viewer:
    who: Claims
    svc: Services
    csrf: str
    open: bool  # no authenticator configured: everyone is everyone
    new_key: str | None = None  # an anonymous CSRF key to set on the response

    def allows(self, level: str) -> bool:
        return self.who.allows(level)

    def form_token(self) -> str:
        """The CSRF token as a form carries it: masked anew for every form."""
        return mask(self.csrf)

    def check_csrf(self, token: object) -> None:
        if not isinstance(token, str) or not hmac.compare_digest(unmask(token), self.csrf):
            raise Refused()


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def mask(token: str) -> str:
    raw = bytes.fromhex(token)
    pad = secrets.token_bytes(len(raw))
    return (pad + _xor(pad, raw)).hex()


def unmask(masked: str) -> str:
    """The token a masked one carries; "" for anything that is not a masked token."""
    try:
        data = bytes.fromhex(masked)
    except ValueError:
        return ""
    half = len(data) // 2
    return _xor(data[:half], data[half:]).hex() if data and len(data) == 2 * half else ""


def csrf_token(secret: str, key: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{key}".encode(), hashlib.sha256).hexdigest()


async def viewer(request: Request) -> Viewer:
    """The viewer of this request; LoginRequired when a login is needed and missing or stale."""
    svc: Services = request.app.state.services
    if svc.users is None:
        key = request.cookies.get(ANONYMOUS_COOKIE)
        new_key = None if key else secrets.token_urlsafe(24)
        return Viewer(OPEN, svc, csrf_token(svc.secret, key or new_key or ""), True, new_key)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired()
    try:
        who = await authenticate(svc, token)
    except ApiError:
        raise LoginRequired() from None
    return Viewer(who, svc, csrf_token(svc.secret, who.jti), False)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=_secure(request))


def keep_anonymous_key(request: Request, response: Response, who: Viewer) -> None:
    """Open dashboards: the anonymous CSRF key lives as long as the browser session."""
    if who.new_key:
        response.set_cookie(
            ANONYMOUS_COOKIE, who.new_key, path=COOKIE_PATH, httponly=True, samesite="strict", secure=_secure(request)
        )
