"""Where launchpad remembers what it applied: syncs, per-object state, locks, webhook deliveries."""

from launchpad.state.store import AppliedObject, StateStore, SyncRecord, open_store

__all__ = ["AppliedObject", "StateStore", "SyncRecord", "open_store"]
