"""What launchpad's SQLite stores share (state, users)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def use_wal(db: sqlite3.Connection, timeout: float) -> None:
    """WAL + NORMAL: a crash may lose the last transaction, never corrupt the file. Switching a new
    file to WAL takes a lock that SQLite's busy timeout does not wait for, so processes opening
    the file at the same moment try again until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    db.execute("PRAGMA synchronous=NORMAL")


@contextmanager
def immediate(db: sqlite3.Connection, mutex: threading.Lock) -> Iterator[sqlite3.Connection]:
    """A write transaction taken at once (BEGIN IMMEDIATE): atomic against this process's threads
    (the mutex) and against other processes on the same file (SQLite's write lock), so that
    read-then-write is safe."""
    with mutex:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def add_column(db: sqlite3.Connection, mutex: threading.Lock, table: str, column: str, declaration: str) -> None:
    """Add a column that a file written by an older launchpad lacks. Checked and added in one
    write transaction: processes that open the file at the same moment add it once."""
    with immediate(db, mutex):
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
