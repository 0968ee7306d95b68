"""The user store (SQLite; `:memory:` by default as the original launchpad had it) and login throttling."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass

from launchpad.auth.passwords import hash_password, is_hash, verify_password
from launchpad.config import AuthenticatorConfig

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, levels TEXT NOT NULL, max_age INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, at REAL NOT NULL);
"""


@dataclass(frozen=True)
class User:
    username: str
    levels: tuple[str, ...]
    max_age: int


class UserStore:
    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.executescript(SCHEMA)
        self._mutex = threading.Lock()

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._mutex:
            return self._db.execute(sql, args).fetchall()

    def seed(self, config: AuthenticatorConfig) -> None:
        """Load `base_users`; clear-text passwords are hashed before they are stored."""
        for user in config.base_users:
            secret = user.password_hash or ""
            if user.password is not None:
                secret = hash_password(user.password.get_secret_value())
            self.put(user.username, secret, list(user.auth_level), user.max_age)

    def put(self, username: str, password_hash: str, levels: list[str], max_age: int) -> None:
        if not is_hash(password_hash):
            raise ValueError("password_hash must be an argon2 hash")
        self._run(
            "INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?)", (username, password_hash, json.dumps(levels), max_age)
        )

    def add(self, username: str, password: str, levels: list[str], max_age: int) -> User:
        """A new user; an existing username is an error (never a silent password reset)."""
        try:
            self._run(
                "INSERT INTO users VALUES (?, ?, ?, ?)",
                (username, hash_password(password), json.dumps(levels), max_age),
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"user {username!r} exists") from None
        return User(username, tuple(levels), max_age)

    def get(self, username: str) -> User | None:
        rows = self._run("SELECT levels, max_age FROM users WHERE username = ?", (username,))
        return User(username, tuple(json.loads(str(rows[0][0]))), int(str(rows[0][1]))) if rows else None

    def delete(self, username: str) -> bool:
        with self._mutex:
            return self._db.execute("DELETE FROM users WHERE username = ?", (username,)).rowcount == 1

    def users(self) -> list[User]:
        rows = self._run("SELECT username, levels, max_age FROM users ORDER BY username")
        return [User(str(u), tuple(json.loads(str(lv))), int(str(m))) for u, lv, m in rows]

    def authenticate(self, username: str, password: str) -> User | None:
        rows = self._run("SELECT password_hash, levels, max_age FROM users WHERE username = ?", (username,))
        stored = str(rows[0][0]) if rows else None
        if not verify_password(stored, password) or not rows:
            return None
        return User(username, tuple(json.loads(str(rows[0][1]))), int(str(rows[0][2])))

    # throttling: failures per key (a user, a client address) within a window
    def failures(self, key: str, window: float) -> int:
        rows = self._run("SELECT COUNT(*) FROM login_failures WHERE key = ? AND at > ?", (key, time.time() - window))
        return int(str(rows[0][0]))

    def record_failure(self, key: str) -> None:
        self._run("INSERT INTO login_failures VALUES (?, ?)", (key, time.time()))

    def clear_failures(self, key: str) -> None:
        self._run("DELETE FROM login_failures WHERE key = ?", (key,))
