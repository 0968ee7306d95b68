"""SQLite state store: the embedded default (one file, zero set-up)."""

from __future__ import annotations

import copy
import sqlite3
import threading
import time
from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import ClassVar

from launchpad.sqlite import add_column, immediate, use_wal
from launchpad.state.codec import dump, load_meta, load_object, load_sync
from launchpad.state.records import AppliedObject, FollowUp, Kind, LeaseGrant, SyncMeta, SyncRecord, SyncStatus
from launchpad.state.store import StateStore

DELIVERY_TTL = 7 * 86400.0  # forges redeliver within days, not weeks
BUSY_TIMEOUT = 30.0  # seconds another process may hold the file's write lock
CHUNK = 500  # parameters per `IN (...)`: well under SQLite's limit

SCHEMA = """
CREATE TABLE IF NOT EXISTS syncs (
    id TEXT PRIMARY KEY, started_at REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY, holder TEXT, expires_at REAL NOT NULL DEFAULT 0, followup INTEGER NOT NULL DEFAULT 0,
    meta TEXT);
CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS notices (subject TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS slots (name TEXT PRIMARY KEY, next_free REAL NOT NULL);
"""


class SqliteStateStore(StateStore):
    remote: ClassVar[bool] = False

    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT)
        if path != ":memory:":
            use_wal(self._db, BUSY_TIMEOUT)
        self._db.executescript(SCHEMA)
        self._mutex = threading.Lock()
        add_column(self._db, self._mutex, "locks", "meta", "TEXT")  # before the lease held the scope's meta
        self._objects = self._table("objects")

    def _table(self, name: str) -> str:
        """The objects table of a scope (the default scope's is `objects`), created on first use."""
        self._db.executescript(
            f'CREATE TABLE IF NOT EXISTS "{name}" ('
            "kind TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, name));"
            f'CREATE INDEX IF NOT EXISTS "{name}_by_name" ON "{name}" (name);'
        )
        return f'"{name}"'

    def scoped(self, scope: str) -> SqliteStateStore:
        view = copy.copy(self)
        with self._mutex:
            view._objects = self._table(f"objects:{scope}")
        return view

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._mutex:
            return self._db.execute(sql, args).fetchall()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db, self._mutex)

    # objects
    def objects(self) -> list[AppliedObject]:
        return [
            load_object(str(data)) for (data,) in self._run(f"SELECT data FROM {self._objects} ORDER BY kind, name")
        ]

    def objects_named(self, names: Collection[str]) -> list[AppliedObject]:
        wanted = sorted(set(names))
        out = []
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._run(f"SELECT data FROM {self._objects} WHERE name IN ({marks})", tuple(chunk))
            out += [load_object(str(data)) for (data,) in rows]
        return sorted(out, key=lambda o: o.key)

    def count_objects(self, kinds: Collection[Kind]) -> int:
        marks = ",".join("?" * len(kinds))
        return int(str(self._run(f"SELECT COUNT(*) FROM {self._objects} WHERE kind IN ({marks})", tuple(kinds))[0][0]))

    def tally_objects(self) -> dict[tuple[str, str], int]:
        status_of = "COALESCE(json_extract(data, '$.status'), ?)"  # records older than statuses are Synced
        sql = f"SELECT kind, {status_of}, COUNT(*) FROM {self._objects} GROUP BY 1, 2"
        return {(str(kind), str(status)): int(str(n)) for kind, status, n in self._run(sql, (str(SyncStatus.SYNCED),))}

    def put_objects(self, objs: list[AppliedObject]) -> None:
        now = datetime.now(UTC)
        for obj in objs:
            obj.updated_at = now
        rows = [(str(obj.kind), obj.name, dump(obj)) for obj in objs]
        with self._transaction() as db:
            db.executemany(f"INSERT OR REPLACE INTO {self._objects} VALUES (?, ?, ?)", rows)

    def delete_objects(self, keys: Collection[tuple[Kind, str]]) -> None:
        with self._transaction() as db:
            db.executemany(f"DELETE FROM {self._objects} WHERE kind = ? AND name = ?", [(str(k), n) for k, n in keys])

    # syncs
    def put_sync(self, record: SyncRecord) -> None:
        self._run(
            "INSERT OR REPLACE INTO syncs VALUES (?, ?, ?)", (record.id, record.started_at.timestamp(), dump(record))
        )

    def syncs(self, limit: int = 20) -> list[SyncRecord]:
        rows = self._run("SELECT data FROM syncs ORDER BY started_at DESC LIMIT ?", (limit,))
        return [load_sync(str(data)) for (data,) in rows]

    # the lease
    def acquire_lease(self, scope: str, holder: str, ttl: float, *, take_from: str | None = None) -> LeaseGrant | None:
        now = time.time()
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO locks (name, holder, expires_at) VALUES (?, NULL, 0)", (scope,))
            current, expires, meta = db.execute(
                "SELECT holder, expires_at, meta FROM locks WHERE name = ?", (scope,)
            ).fetchone()
            free = current is None or expires < now or current == holder
            if not free and (take_from is None or current != take_from):
                return None
            db.execute(
                "UPDATE locks SET holder = ?, expires_at = ?, followup = 0 WHERE name = ?", (holder, now + ttl, scope)
            )
        taken = current if current not in (None, holder) else None
        return LeaseGrant(load_meta(meta), taken)

    def lease_holder(self, scope: str) -> str | None:
        rows = self._run("SELECT holder FROM locks WHERE name = ? AND expires_at >= ?", (scope, time.time()))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def renew_lease(self, scope: str, holder: str, ttl: float) -> bool:
        with self._mutex:
            cursor = self._db.execute(
                "UPDATE locks SET expires_at = ? WHERE name = ? AND holder = ?", (time.time() + ttl, scope, holder)
            )
            return cursor.rowcount == 1

    def finish_lease(self, scope: str, holder: str, meta: SyncMeta) -> FollowUp:
        with self._transaction() as db:
            row = db.execute("SELECT holder, followup FROM locks WHERE name = ?", (scope,)).fetchone()
            if row is None or row[0] != holder:
                return FollowUp.NONE  # lost meanwhile: the new holder's meta stands
            followup = FollowUp(min(int(row[1]), FollowUp.HARD))
            if followup:
                db.execute("UPDATE locks SET followup = 0, meta = ? WHERE name = ?", (dump(meta), scope))
            else:
                db.execute(
                    "UPDATE locks SET holder = NULL, expires_at = 0, meta = ? WHERE name = ?", (dump(meta), scope)
                )
            return followup

    def request_followup(self, scope: str, hard: bool = False) -> bool:
        wanted = FollowUp.HARD if hard else FollowUp.SYNC
        with self._mutex:
            cursor = self._db.execute(
                "UPDATE locks SET followup = MAX(followup, ?) "
                "WHERE name = ? AND holder IS NOT NULL AND expires_at >= ?",
                (int(wanted), scope, time.time()),
            )
            return cursor.rowcount == 1

    def meta(self, scope: str) -> SyncMeta:
        rows = self._run("SELECT meta FROM locks WHERE name = ?", (scope,))
        return load_meta(str(rows[0][0]) if rows and rows[0][0] else None)

    # notifications
    def notices(self) -> dict[str, str]:
        return {str(subject): str(data) for subject, data in self._run("SELECT subject, data FROM notices")}

    def put_notices(self, put: Mapping[str, str], drop: Collection[str]) -> None:
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO notices VALUES (?, ?)", list(put.items()))
            db.executemany("DELETE FROM notices WHERE subject = ?", [(subject,) for subject in drop])

    # webhook deliveries
    def remember_delivery(self, delivery_id: str) -> bool:
        now = time.time()
        with self._mutex:
            self._db.execute("DELETE FROM deliveries WHERE seen_at < ?", (now - DELIVERY_TTL,))
            cursor = self._db.execute("INSERT OR IGNORE INTO deliveries VALUES (?, ?)", (delivery_id, now))
            return cursor.rowcount == 1

    def forget_delivery(self, delivery_id: str) -> None:
        self._run("DELETE FROM deliveries WHERE id = ?", (delivery_id,))

    # --- rate limits (webhook-triggered syncs) ---------------------------------------------------------------------

    def reserve_slot(self, name: str, interval: float) -> float | None:
        now = time.time()
        with self._transaction() as db:  # the read and the write, as one step for every process
            row = db.execute("SELECT next_free FROM slots WHERE name = ?", (name,)).fetchone()
            delay = self.slot_delay(now, float(row[0]) if row else 0.0, interval)
            if delay is not None:
                db.execute("INSERT OR REPLACE INTO slots VALUES (?, ?)", (name, now + delay + interval))
        return delay
