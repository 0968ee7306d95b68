"""Where launchpad remembers what it applied: syncs, per-object state, leases, webhook deliveries."""

from launchpad.state.records import (
    AppliedObject,
    FileError,
    Kind,
    Outcome,
    Policy,
    RunStatus,
    SyncMeta,
    SyncRecord,
    SyncStatus,
    new_sync_id,
)
from launchpad.state.store import StateStore, call, open_store

__all__ = [
    "AppliedObject",
    "FileError",
    "Kind",
    "Outcome",
    "Policy",
    "RunStatus",
    "StateStore",
    "SyncMeta",
    "SyncRecord",
    "SyncStatus",
    "call",
    "new_sync_id",
    "open_store",
]
