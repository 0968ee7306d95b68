"""The SQLite user store: `:memory:` (the default) or a file shared by the processes of one host."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from contextlib import AbstractContextManager

from launchpad.auth.passwords import hash_password, is_hash, verify_password
from launchpad.auth.store import ATTEMPT_RETENTION, SEEDED, User, UserStore, new_generation
from launchpad.sqlite import add_column, immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, levels TEXT NOT NULL, max_age INTEGER NOT NULL,
    generation TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS login_attempts (key TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_attempts_by_key ON login_attempts (key, at);
DROP TABLE IF EXISTS login_failures;
"""


class SqliteUserStore(UserStore):
    remote = False

    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.executescript(SCHEMA)
        self._mutex = threading.Lock()
        add_column(self._db, self._mutex, "users", "generation", "TEXT NOT NULL DEFAULT ''")
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

    @staticmethod
    def _user(username: str, levels: object, max_age: object, generation: object) -> User:
        return User(username, tuple(json.loads(str(levels))), int(str(max_age)), str(generation))

    def put(self, username: str, password_hash: str, levels: list[str], max_age: int) -> None:
        if not is_hash(password_hash):
            raise ValueError("password_hash must be an argon2 hash")
        row = (username, password_hash, json.dumps(levels), max_age, SEEDED)
        self._run("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?)", row)

    def add(self, username: str, password: str, levels: list[str], max_age: int) -> User:
        generation = new_generation()
        try:
            self._run(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                (username, hash_password(password), json.dumps(levels), max_age, generation),
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"user {username!r} exists") from None
        return User(username, tuple(levels), max_age, generation)

    def get(self, username: str) -> User | None:
        with self._mutex:
            if self._known is not None and username in self._known:
                return self._known[username]
            sql = "SELECT levels, max_age, generation FROM users WHERE username = ?"
            rows = self._execute(sql, (username,)).fetchall()
            user = self._user(username, *rows[0]) if rows else None
            if self._known is not None:
                self._known[username] = user
            return user

    def delete(self, username: str) -> bool:
        with self._mutex:
            return self._execute("DELETE FROM users WHERE username = ?", (username,)).rowcount == 1

    def users(self) -> list[User]:
        rows = self._run("SELECT username, levels, max_age, generation FROM users ORDER BY username")
        return [self._user(str(row[0]), *row[1:]) for row in rows]

    def authenticate(self, username: str, password: str) -> User | None:
        sql = "SELECT password_hash, levels, max_age, generation FROM users WHERE username = ?"
        rows = self._run(sql, (username,))
        stored = str(rows[0][0]) if rows else None
        if not verify_password(stored, password) or not rows:
            return None
        return self._user(username, *rows[0][1:])

    def _immediate(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db, self._mutex)

    def attempt(self, key: str, window: float, limit: int) -> tuple[str | None, int]:
        now = time.time()
        with self._immediate() as db:
            db.execute("DELETE FROM login_attempts WHERE at < ?", (now - ATTEMPT_RETENTION,))
            sql = "SELECT COUNT(*) FROM login_attempts WHERE key = ? AND at > ?"
            (count,) = db.execute(sql, (key, now - window)).fetchone()
            if count >= limit:
                return None, int(count)
            attempt = uuid.uuid4().hex
            db.execute("INSERT INTO login_attempts VALUES (?, ?, ?)", (key, attempt, now))
            return attempt, int(count)

    def forget_attempt(self, key: str, attempt: str) -> None:
        with self._immediate() as db:
            db.execute("DELETE FROM login_attempts WHERE key = ? AND id = ?", (key, attempt))

    def clear_attempts(self, key: str) -> None:
        with self._immediate() as db:
            db.execute("DELETE FROM login_attempts WHERE key = ?", (key,))

    def attempts(self, key: str, window: float) -> int:
        sql = "SELECT COUNT(*) FROM login_attempts WHERE key = ? AND at > ?"
        with self._mutex:
            (count,) = self._db.execute(sql, (key, time.time() - window)).fetchone()
        return int(count)
