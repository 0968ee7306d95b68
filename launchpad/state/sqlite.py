"""SQLite state store: the embedded default (one file, zero set-up)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict, fields
from datetime import UTC, datetime

from launchpad.state.store import AppliedObject, StateStore, SyncRecord

DELIVERY_TTL = 7 * 86400.0  # forges redeliver within days, not weeks


SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, name));
CREATE TABLE IF NOT EXISTS syncs (
    id TEXT PRIMARY KEY, started_at REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY, holder TEXT, expires_at REAL NOT NULL DEFAULT 0, followup INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS slots (name TEXT PRIMARY KEY, next_free REAL NOT NULL);
"""


def _dump(value: object) -> str:
    return json.dumps(asdict(value), default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))  # type: ignore[call-overload]


def _dates(data: dict[str, object], *names: str) -> dict[str, object]:
    for name in names:
        if isinstance(data.get(name), str):
            data[name] = datetime.fromisoformat(data[name])  # type: ignore[arg-type]
    return data


class SqliteStateStore(StateStore):
    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        if path != ":memory:":
            # WAL + NORMAL: a crash may lose the last sync's record, never corrupt the file
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._mutex = threading.Lock()

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._mutex:
            return self._db.execute(sql, args).fetchall()

    def objects(self) -> list[AppliedObject]:
        known = {f.name for f in fields(AppliedObject)}
        out = []
        for (data,) in self._run("SELECT data FROM objects ORDER BY kind, name"):
            raw = {k: v for k, v in json.loads(str(data)).items() if k in known}
            out.append(AppliedObject(**_dates(raw, "updated_at")))  # type: ignore[arg-type]
        return out

    def put_objects(self, objs: list[AppliedObject]) -> None:
        now = datetime.now(UTC)
        for obj in objs:
            obj.updated_at = now
        rows = [(obj.kind, obj.name, _dump(obj)) for obj in objs]
        with self._mutex:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def delete_object(self, kind: str, name: str) -> None:
        self._run("DELETE FROM objects WHERE kind = ? AND name = ?", (kind, name))

    def put_sync(self, record: SyncRecord) -> None:
        self._run(
            "INSERT OR REPLACE INTO syncs VALUES (?, ?, ?)",
            (record.id, record.started_at.timestamp(), _dump(record)),
        )

    def syncs(self, limit: int = 20) -> list[SyncRecord]:
        rows = self._run("SELECT data FROM syncs ORDER BY started_at DESC LIMIT ?", (limit,))
        return [SyncRecord(**_dates(json.loads(str(d)), "started_at", "finished_at")) for (d,) in rows]  # type: ignore[arg-type]

    def acquire_lock(self, name: str, holder: str, ttl_seconds: float) -> bool:
        now = time.time()
        with self._mutex:
            self._db.execute("INSERT OR IGNORE INTO locks (name, holder, expires_at) VALUES (?, NULL, 0)", (name,))
            cursor = self._db.execute(
                "UPDATE locks SET holder = ?, expires_at = ? WHERE name = ? AND (expires_at < ? OR holder = ?)",
                (holder, now + ttl_seconds, name, now, holder),
            )
            return cursor.rowcount == 1

    def release_lock(self, name: str, holder: str) -> None:
        self._run("UPDATE locks SET holder = NULL, expires_at = 0 WHERE name = ? AND holder = ?", (name, holder))

    def request_followup(self, name: str) -> None:
        self._run("UPDATE locks SET followup = 1 WHERE name = ?", (name,))

    def take_followup(self, name: str) -> bool:
        with self._mutex:
            cursor = self._db.execute("UPDATE locks SET followup = 0 WHERE name = ? AND followup = 1", (name,))
            return cursor.rowcount == 1

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
        with self._mutex:
            self._db.execute("BEGIN IMMEDIATE")  # the read and the write, as one step for every process
            try:
                row = self._db.execute("SELECT next_free FROM slots WHERE name = ?", (name,)).fetchone()
                delay = self.slot_delay(now, float(row[0]) if row else 0.0, interval)
                if delay is not None:
                    self._db.execute("INSERT OR REPLACE INTO slots VALUES (?, ?)", (name, now + delay + interval))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return delay
