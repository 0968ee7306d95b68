"""What launchpad's SQLite stores share (state, users)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager


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
