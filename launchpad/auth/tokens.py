"""JWT access tokens: HS256 only, with sub, gen (the user's generation), levels, iat, exp and jti."""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass

import jwt

from launchpad.errors import LaunchpadError

ALGORITHM = "HS256"
LEVELS = ("user", "super user")  # ordered: each level includes the ones before it


class InvalidToken(LaunchpadError):
    code = "invalid_token"


@dataclass(frozen=True)
class Claims:
    sub: str
    levels: tuple[str, ...]
    exp: int
    jti: str
    gen: str = ""  # the generation of the user it was issued to (launchpad.auth.store.User)

    def allows(self, required: str) -> bool:
        """Levels are hierarchical: a `super user` can do all a `user` can."""
        rank = LEVELS.index(required)
        return any(level in LEVELS and LEVELS.index(level) >= rank for level in self.levels)


def issue_token(secret: str, username: str, levels: list[str], max_age: int, generation: str) -> tuple[str, int]:
    now = int(time.time())
    payload = {
        "sub": username,
        "gen": generation,
        "levels": list(levels),
        "iat": now,
        "exp": now + max_age,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM), max_age


def decode_token(secret: str, token: str) -> Claims:
    """The token's claims if its signature holds and it has not expired."""
    claims = _verified(secret, token)
    if claims.exp <= time.time():
        raise InvalidToken("token expired")
    return claims


@functools.lru_cache(maxsize=1024)
def _verified(secret: str, token: str) -> Claims:
    """Signature and claim checks, once per token: a client sends the same token on every request.

    Only tokens that pass are cached (an exception is never cached), and the result depends on
    the token and the secret alone, so nothing can be stale but the expiry, checked on every call.
    """
    try:
        required = ["sub", "gen", "exp", "iat", "jti"]
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": required})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except jwt.PyJWTError:
        raise InvalidToken("invalid token") from None
    levels = payload.get("levels")
    if not isinstance(levels, list) or not all(isinstance(level, str) for level in levels):
        raise InvalidToken("invalid token")
    return Claims(str(payload["sub"]), tuple(levels), int(payload["exp"]), str(payload["jti"]), str(payload["gen"]))
