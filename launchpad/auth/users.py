"""The user store and login throttling: SQLite (`:memory:` by default, as the original launchpad had
it) or DynamoDB (`authenticator.backend: dynamodb`, for Lambda, where memory does not outlive a container)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from launchpad.auth.passwords import hash_password, is_hash, verify_password
from launchpad.config import AuthenticatorConfig

if TYPE_CHECKING:
    import sqlite3

    from launchpad.config import Config

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, levels TEXT NOT NULL, max_age INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, at REAL NOT NULL);
"""


FAILURE_RETENTION = 86400  # DynamoDB's TTL removes failure records after a day (windows are minutes)


@dataclass(frozen=True)
class User:
    username: str
    levels: tuple[str, ...]
    max_age: int


class UserStore(ABC):
    """Users (argon2 hashes only) and login failure counts; SQLite or DynamoDB behind one interface."""

    # whether `get` may wait on the network: the API then calls it off the event loop (a thread hop
    # costs more than a local SQLite primary-key read, which the API makes on every request)
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
        """Create or replace a user from an argon2 hash."""

    @abstractmethod
    def add(self, username: str, password: str, levels: list[str], max_age: int) -> User:
        """A new user; an existing username is an error (never a silent password reset)."""

    @abstractmethod
    def get(self, username: str) -> User | None: ...

    @abstractmethod
    def delete(self, username: str) -> bool: ...

    @abstractmethod
    def users(self) -> list[User]:
        """Every user, by username."""

    @abstractmethod
    def authenticate(self, username: str, password: str) -> User | None: ...

    # throttling: failures per key (a user, a client address) within a window
    @abstractmethod
    def failures(self, key: str, window: float) -> int: ...

    @abstractmethod
    def record_failure(self, key: str) -> None: ...

    @abstractmethod
    def clear_failures(self, key: str) -> None: ...


def open_user_store(config: Config) -> UserStore | None:
    """The configured user store, seeded from `base_users`; None when no authenticator is configured."""
    auth = config.authenticator
    if auth is None:
        return None
    store: UserStore
    if auth.backend == "dynamodb":
        store = DynamoUserStore(auth.table)
    else:
        store = SqliteUserStore(auth.db if auth.db == ":memory:" else str(config.path(auth.db)))
    store.seed(auth)
    return store


class SqliteUserStore(UserStore):
    remote = False

    def __init__(self, path: str = ":memory:") -> None:
        import sqlite3  # not on Lambda, where users live in DynamoDB

        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.executescript(SCHEMA)
        self._mutex = threading.Lock()
        # A private in-memory database changes only through this object, so `get` (on every API
        # request) is answered from memory until the next write; a file may be written by others.
        self._known: dict[str, User | None] | None = {} if path == ":memory:" else None

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._mutex:
            return self._execute(sql, args).fetchall()

    def _execute(self, sql: str, args: tuple[object, ...]) -> sqlite3.Cursor:
        """Under the mutex; a write forgets what `get` remembered."""
        if self._known and not sql.startswith("SELECT"):
            self._known.clear()
        return self._db.execute(sql, args)

    def put(self, username: str, password_hash: str, levels: list[str], max_age: int) -> None:
        if not is_hash(password_hash):
            raise ValueError("password_hash must be an argon2 hash")
        self._run(
            "INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?)", (username, password_hash, json.dumps(levels), max_age)
        )

    def add(self, username: str, password: str, levels: list[str], max_age: int) -> User:
        try:
            self._run(
                "INSERT INTO users VALUES (?, ?, ?, ?)",
                (username, hash_password(password), json.dumps(levels), max_age),
            )
        except self._db.IntegrityError:  # the connection carries the DB-API exception classes
            raise ValueError(f"user {username!r} exists") from None
        return User(username, tuple(levels), max_age)

    def get(self, username: str) -> User | None:
        with self._mutex:
            if self._known is not None and username in self._known:
                return self._known[username]
            rows = self._execute("SELECT levels, max_age FROM users WHERE username = ?", (username,)).fetchall()
            user = User(username, tuple(json.loads(str(rows[0][0]))), int(str(rows[0][1]))) if rows else None
            if self._known is not None:
                self._known[username] = user
            return user

    def delete(self, username: str) -> bool:
        with self._mutex:
            return self._execute("DELETE FROM users WHERE username = ?", (username,)).rowcount == 1

    def users(self) -> list[User]:
        rows = self._run("SELECT username, levels, max_age FROM users ORDER BY username")
        return [User(str(u), tuple(json.loads(str(lv))), int(str(m))) for u, lv, m in rows]

    def authenticate(self, username: str, password: str) -> User | None:
        rows = self._run("SELECT password_hash, levels, max_age FROM users WHERE username = ?", (username,))
        stored = str(rows[0][0]) if rows else None
        if not verify_password(stored, password) or not rows:
            return None
        return User(username, tuple(json.loads(str(rows[0][1]))), int(str(rows[0][2])))

    def failures(self, key: str, window: float) -> int:
        rows = self._run("SELECT COUNT(*) FROM login_failures WHERE key = ? AND at > ?", (key, time.time() - window))
        return int(str(rows[0][0]))

    def record_failure(self, key: str) -> None:
        self._run("INSERT INTO login_failures VALUES (?, ?)", (key, time.time()))

    def clear_failures(self, key: str) -> None:
        self._run("DELETE FROM login_failures WHERE key = ?", (key,))


class DynamoUserStore(UserStore):
    """One table (`authenticator.table`): users in partition `users` (sort key: the username), login
    failures in `failures#<key>` (sort key: the time), expired by the table's TTL attribute."""

    def __init__(self, table: str = "launchpad-users", db: Any = None) -> None:
        from launchpad.state import dynamodb  # boto3 is loaded only by a process that uses DynamoDB

        self._dynamo = dynamodb
        self.table = table
        self._db = db or dynamodb.client()

    def _item(self, username: str, password_hash: str, levels: list[str], max_age: int) -> dict[str, Any]:
        return self._dynamo.encode(
            {
                "pk": "users",
                "sk": username,
                "password_hash": password_hash,
                "levels": json.dumps(levels),
                "max_age": max_age,
            }
        )

    @staticmethod
    def _user(item: dict[str, Any]) -> User:
        return User(str(item["sk"]), tuple(json.loads(item["levels"])), int(item["max_age"]))

    def _get(self, username: str) -> dict[str, Any] | None:
        key = self._dynamo.encode({"pk": "users", "sk": username})
        item = self._db.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return self._dynamo.decode(item) if item else None

    def put(self, username: str, password_hash: str, levels: list[str], max_age: int) -> None:
        if not is_hash(password_hash):
            raise ValueError("password_hash must be an argon2 hash")
        self._db.put_item(TableName=self.table, Item=self._item(username, password_hash, levels, max_age))

    def add(self, username: str, password: str, levels: list[str], max_age: int) -> User:
        try:
            self._db.put_item(
                TableName=self.table,
                Item=self._item(username, hash_password(password), levels, max_age),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            raise ValueError(f"user {username!r} exists") from None
        return User(username, tuple(levels), max_age)

    def get(self, username: str) -> User | None:
        item = self._get(username)
        return self._user(item) if item else None

    def delete(self, username: str) -> bool:
        key = self._dynamo.encode({"pk": "users", "sk": username})
        return "Attributes" in self._db.delete_item(TableName=self.table, Key=key, ReturnValues="ALL_OLD")

    def users(self) -> list[User]:
        return [self._user(item) for item in self._dynamo.query(self._db, self.table, "users")]

    def authenticate(self, username: str, password: str) -> User | None:
        item = self._get(username)
        if not verify_password(str(item["password_hash"]) if item else None, password) or not item:
            return None
        return self._user(item)

    def failures(self, key: str, window: float) -> int:
        since = self._dynamo.stamp(time.time() - window)
        answer = self._db.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk > :since",
            ExpressionAttributeValues=self._dynamo.encode({":pk": f"failures#{key}", ":since": since}),
            Select="COUNT",
            ConsistentRead=True,
        )
        return int(answer.get("Count", 0))

    def record_failure(self, key: str) -> None:
        now = time.time()
        item = {
            "pk": f"failures#{key}",
            "sk": f"{self._dynamo.stamp(now)}#{uuid.uuid4().hex[:8]}",
            self._dynamo.TTL_ATTRIBUTE: int(now + FAILURE_RETENTION),
        }
        self._db.put_item(TableName=self.table, Item=self._dynamo.encode(item))

    def clear_failures(self, key: str) -> None:
        items = self._dynamo.query(self._db, self.table, f"failures#{key}")
        with self._dynamo.batch_writer(self._db, self.table) as batch:
            for item in items:
                batch.delete_item(Key=self._dynamo.encode({"pk": item["pk"], "sk": item["sk"]}))
