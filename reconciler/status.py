"""Where the managed objects stand, as `launchpad status --json` prints it and `GET /sync/status` answers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from launchpad.state.store import StateStore
from reconciler.sync import LEASE


def status_report(store: StateStore, scope: str = LEASE) -> dict[str, Any]:
    """What `status --json` prints (and `GET /sync/status` answers): objects, last sync, broken files."""
    meta = store.meta(scope)
    last = store.last_sync()
    return {
        "objects": [asdict(o) for o in store.objects()],
        "last_sync": asdict(last) if last else None,
        "revision": meta.revision,
        "errors": [asdict(e) for e in meta.errors],
        "drift_scan_at": meta.drift_scan_at,
        "verified_at": meta.verified_at,
        "checked_at": meta.checked_at,
        "suspended": meta.suspended,  # `launchpad suspend` overrides: name -> who, when, why
    }
