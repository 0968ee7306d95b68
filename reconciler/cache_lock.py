"""The lock of one repository cache, held by whoever changes it: threads of this process and
other processes (an API, `launchpad reconcile`, `launchpad deploy`) on the same cache folder.

A thread lock inside, an advisory `flock` on a file beside the cache outside; re-entrant for the
thread that holds it. The kernel drops a `flock` when its holder dies, so a killed process never
leaves this lock taken: whatever git lock files (`index.lock`, `<ref>.lock`) such a process left
in the cache are, while this lock is held, stale by definition.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class CacheBusy(Exception):
    """The lock was not free within the timeout."""


class CacheLock:
    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout
        if not self._thread_lock.acquire(timeout=self.timeout):
            raise CacheBusy(f"{self.path} is held by another thread")
        try:
            if self._depth == 0:
                self._fd = self._take_file_lock(deadline)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    os.close(self._fd)  # closing the descriptor releases the flock
                    self._fd = None
        finally:
            self._thread_lock.release()

    def _take_file_lock(self, deadline: float) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise CacheBusy(f"{self.path} is held by another process") from None
                time.sleep(0.05)
