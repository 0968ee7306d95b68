"""The user store interface: users (argon2 hashes only) and login attempts, kept small so that
SQLite (`:memory:` by default, as the original launchpad had it) and DynamoDB
(`authenticator.backend: dynamodb`, for Lambda, where memory does not outlive a container) both
implement it."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from launchpad.auth.passwords import hash_password

if TYPE_CHECKING:
    from launchpad.config import AuthenticatorConfig, Config

SEEDED = "config"  # the generation of the users the configuration defines (see User.generation)
ATTEMPT_RETENTION = 86400.0  # attempts are kept a day (throttling windows are minutes)


def new_generation() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class User:
    username: str
    levels: tuple[str, ...]
    max_age: int
    # which incarnation of the name this is: a user created through the API gets a new one, so a
    # token issued to a deleted user never works for a later user of the same name; the users of
    # the configuration share SEEDED (every replica and restart seeds them alike)
    generation: str = SEEDED


class UserStore(ABC):
    """Users and login attempts; SQLite or DynamoDB behind one interface."""

    # whether calls may wait on the network: the API then makes them off the event loop (a thread
    # hop costs more than a local SQLite primary-key read, which the API makes on every request)
    remote: ClassVar[bool] = True

    def seed(self, config: AuthenticatorConfig) -> None:
        """Load `base_users`; clear-text passwords are hashed before they are stored."""
        for user in config.base_users:
            secret = user.password_hash or ""
            if user.password is not None:
                secret = hash_password(user.password.get_secret_value())
            self.put(user.username, secret, list(user.auth_level), user.max_age)

    @abstractmethod
    def put(self, username: str, password_hash: str, levels: list[str], max_age: int) -> None:
        """Create or replace a user of the configuration (generation SEEDED) from an argon2 hash."""

    @abstractmethod
    def add(self, username: str, password: str, levels: list[str], max_age: int) -> User:
        """A new user, of a new generation; an existing username is an error (never a silent reset)."""

    @abstractmethod
    def get(self, username: str) -> User | None: ...

    @abstractmethod
    def delete(self, username: str) -> bool: ...

    @abstractmethod
    def users(self) -> list[User]:
        """Every user, by username."""

    @abstractmethod
    def authenticate(self, username: str, password: str) -> User | None: ...

    # login attempts per key (a username, a client address), over a sliding window
    @abstractmethod
    def attempt(self, key: str, window: float, limit: int) -> tuple[str | None, int]:
        """In one atomic step: count the key's attempts of the last `window` seconds and, when
        there are fewer than `limit`, record one more. (its id, the count before it), or
        (None, the count) when the limit is reached. Atomic across threads and processes, so
        concurrent attempts can never all pass a check made before any of them is recorded."""

    @abstractmethod
    def forget_attempt(self, key: str, attempt: str) -> None:
        """Remove one recorded attempt (it turned out not to be a failure)."""

    @abstractmethod
    def clear_attempts(self, key: str) -> None: ...

    @abstractmethod
    def attempts(self, key: str, window: float) -> int:
        """The key's attempts of the last `window` seconds."""


def open_user_store(config: Config) -> UserStore | None:
    """The configured user store, seeded from `base_users`; None when no authenticator is configured."""
    auth = config.authenticator
    if auth is None:
        return None
    store: UserStore
    if auth.backend == "dynamodb":
        from launchpad.auth.dynamodb import DynamoUserStore  # boto3: only for a process that uses it

        store = DynamoUserStore(auth.table)
    else:
        from launchpad.auth.sqlite import SqliteUserStore

        store = SqliteUserStore(auth.db if auth.db == ":memory:" else str(config.path(auth.db)))
    store.seed(auth)
    return store
