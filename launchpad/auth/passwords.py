"""Passwords are stored as argon2id hashes, never in clear (even when the config lists them so)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@functools.cache
def _hasher() -> PasswordHasher:
    """argon2id with the library's current recommended parameters. Loaded on the first login or
    hash: a request with a token never needs it, and a Lambda cold start pays for every import."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy() -> str:
    """Verifying an unknown user costs the same as a known one: no user enumeration by timing."""
    return _hasher().hash("launchpad-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def is_hash(value: str) -> bool:
    return value.startswith("$argon2")
