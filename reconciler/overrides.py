"""`launchpad suspend NAME` / `resume NAME`: an emergency stop for one object, without a commit.

An override lives in the scope's `SyncMeta` (which every sync reads with its lease, so a refresh
pays nothing for it) and is written under the sync lease, so it never races a sync. The object's
record says so at once (status Suspended). A resume lifts the override and runs a sync, which
rewrites the object from its file, as Flux's `resume` reconciles at once. A sync that finds the
file itself suspending the object drops the override: git agrees, and takes over again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import socket
from datetime import UTC, datetime

from launchpad.errors import LaunchpadError
from launchpad.state.records import AppliedObject, SyncStatus
from launchpad.state.store import call
from reconciler.lease import Lease
from reconciler.plan import MANAGED_IN_TEMPORAL, OVERRIDDEN
from reconciler.sync import Reconciler, SyncResult, SyncRunning

WAIT_FOR_LEASE = 60.0  # seconds an override waits for a running sync to end


class OverrideError(LaunchpadError):
    code = "override_error"
    kind = "conflict"


async def _managed(reconciler: Reconciler, name: str) -> AppliedObject:
    found = await call(reconciler.store, reconciler.store.objects_named, [name])
    managed = [o for o in found if o.kind in MANAGED_IN_TEMPORAL]
    if not managed:
        raise OverrideError(f"no schedule or task named {name!r} is managed here (see `launchpad status`)")
    return managed[0]


def who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    return f"{user}@{socket.gethostname()}"


async def _leased(reconciler: Reconciler, trigger: str, timeout: float) -> Lease:
    """The sync lease, waiting up to `timeout` seconds for a running sync to end."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        lease = await reconciler.lease()
        if lease is not None:
            return lease
        if asyncio.get_running_loop().time() > deadline:
            raise SyncRunning(f"a sync is running; `launchpad {trigger}` gave up waiting for it")
        await asyncio.sleep(0.5)


async def suspend(reconciler: Reconciler, name: str, reason: str = "", timeout: float = WAIT_FOR_LEASE) -> str:
    """Suspend one object until `resume`; the note (who, when, why) is what status shows."""
    lease = await _leased(reconciler, "suspend", timeout)
    async with lease:
        record = await _managed(reconciler, name)
        if record.policy.suspend:
            return f"{name} is already suspended by its file (sync.suspend: true)"
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        note = f"by {who()} on {when}" + (f": {reason}" if reason else "")
        lease.meta.suspended[name] = note
        kept = dataclasses.replace(record, status=SyncStatus.SUSPENDED, reason=f"{OVERRIDDEN}: {note}")
        await call(reconciler.store, reconciler.store.put_objects, [kept])
    return f"{name} suspended ({note}); `launchpad resume {name}` lifts it"


async def resume(reconciler: Reconciler, name: str, timeout: float = WAIT_FOR_LEASE) -> SyncResult:
    """Lift the override and sync at once: the object is rewritten from its file."""
    lease = await _leased(reconciler, "resume", timeout)
    async with lease:
        meta = lease.meta
        record = await _managed(reconciler, name)
        if name not in meta.suspended:
            by_file = "; its file suspends it (sync.suspend: true): commit the change that resumes it"
            raise OverrideError(
                f"{name} is not suspended by `launchpad suspend`{by_file if record.policy.suspend else ''}"
            )
        del meta.suspended[name]
        meta.retry = sorted({*meta.retry, record.path})  # the next sync plans its file again, now
        meta.retry_at = datetime.now(UTC)
        return await reconciler.run(lease, f"resume {name}")
