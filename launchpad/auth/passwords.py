"""Passwords are stored as argon2id hashes, never in clear (even when the config lists them so)."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@functools.cache
def _dummy() -> str:
    """Verifying an unknown user costs the same as a known one: no user enumeration by timing.
    Computed on first use, not at import (a Lambda cold start pays for imports)."""
    return _hasher.hash("launchpad-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def is_hash(value: str) -> bool:
    return value.startswith("$argon2")
