"""The lease that lets one sync run at a time per reconciler scope.

A lease lives in the state store with an expiry (`reconciler.lock_ttl`); its holder renews it
while the sync runs. A holder that dies stops renewing: another process takes the lease over
once it expires, or at once when the holder was a process of this host that no longer exists.
A holder that finds its lease gone (it was paused longer than the TTL), or cannot renew it
within the TTL (the store unreachable), stops writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from types import TracebackType

from launchpad.state.records import FollowUp, SyncMeta
from launchpad.state.store import StateStore, call

log = logging.getLogger(__name__)


def machine() -> str:
    """This host as its process ids see it: the host name and the PID namespace. Containers may
    share a host name without sharing process ids (`--network host`): a pid of another namespace
    says nothing here."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # not Linux: the host name alone
        return socket.gethostname()
    return f"{socket.gethostname()}/{namespace}"


def new_holder() -> str:
    """`host/pidns:pid:nonce`: which process holds a lease, so that one of the same host and
    PID namespace can tell it died."""
    return f"{machine()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_dead(holder: str) -> bool:
    """Whether the holder was a process of this host and PID namespace that no longer runs
    (unknown: alive)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != machine() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class Lease:
    """A held lease; `async with` renews it in the background and gives it back at the end."""

    def __init__(self, store: StateStore, scope: str, holder: str, ttl: float, meta: SyncMeta) -> None:
        self.store = store
        self.scope = scope
        self.holder = holder
        self.ttl = ttl
        self.meta = meta
        self.lost = False
        self.released = False
        self._keeper: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Lease:
        self._keeper = asyncio.create_task(self._keep())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        while not self.released and not self.lost and await self.finish():
            pass  # a follow-up nobody will run now: the next trigger covers it

    async def _keep(self) -> None:
        renewed_at = time.monotonic()
        while not self.lost:
            await asyncio.sleep(self.ttl / 3)
            try:
                renewed = await call(self.store, self.store.renew_lease, self.scope, self.holder, self.ttl)
            except Exception:  # the store is unreachable: try again, while the lease may still be ours
                if time.monotonic() - renewed_at < self.ttl:
                    log.warning("cannot renew the sync lease; retrying", exc_info=True)
                    continue
                log.error("the sync lease %s was not renewed within its TTL: this sync stops writing", self.scope)
                self.lost = True  # it expired in the store: another process may hold it now
                return
            if not renewed:
                log.error("the sync lease %s was taken over: this sync stops writing", self.scope)
                self.lost = True
            renewed_at = time.monotonic()

    async def finish(self) -> FollowUp:
        """Store the meta; the follow-up requested meanwhile (the lease is kept for it), else
        `FollowUp.NONE` and the lease is released."""
        followup = await call(self.store, self.store.finish_lease, self.scope, self.holder, self.meta)
        if not followup:
            self.released = True
        return followup


async def acquire(store: StateStore, scope: str, ttl: float, hard: bool = False) -> Lease | None:
    """The scope's lease, or None when a live holder has it (a follow-up is then requested,
    a hard one for a `hard` trigger)."""
    holder = new_holder()
    for _ in range(2):
        grant = await call(store, store.acquire_lease, scope, holder, ttl)
        if grant is None:
            current = await call(store, store.lease_holder, scope)
            if current is not None and is_dead(current):
                grant = await call(store, store.acquire_lease, scope, holder, ttl, take_from=current)
        if grant is not None:
            if grant.taken_from is not None:
                log.warning("sync lease %s taken over from %s, which died", scope, grant.taken_from)
                message = f"its process died; the lease was taken over by {holder}"
                await call(store, store.abandon_syncs, grant.taken_from, message)
            return Lease(store, scope, holder, ttl, grant.meta)
        if await call(store, store.request_followup, scope, hard):
            return None
        # the holder let go between our two calls: try once more
    return None
