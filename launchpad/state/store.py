"""The state store interface, kept small so that SQLite and DynamoDB both implement it."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launchpad.config import Config


@dataclass
class AppliedObject:
    """What launchpad last applied for one object (`kind` is schedule, task or worker)."""

    kind: str
    name: str
    path: str
    revision: str
    spec_hash: str
    blob: str = ""  # git blob sha of the file as applied: unchanged blob, nothing to parse
    server: str | None = None
    namespace: str | None = None
    temporal_id: str | None = None  # schedule id or workflow id
    fingerprint: str | None = None  # the schedule spec as the server holds it
    status: str = "Synced"  # Synced | OutOfSync | Degraded
    reason: str = ""
    error: str | None = None
    updated_at: datetime | None = None


def new_sync_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class SyncRecord:
    id: str
    revision: str | None
    trigger: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"  # running | succeeded | failed | refused
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


class StateStore(ABC):
    """Every method is one small, independent operation: no state is kept in memory."""

    # objects
    @abstractmethod
    def objects(self) -> list[AppliedObject]: ...

    @abstractmethod
    def put_objects(self, objs: list[AppliedObject]) -> None:
        """Write several objects at once (one transaction where the backend has them)."""

    @abstractmethod
    def delete_object(self, kind: str, name: str) -> None: ...

    # syncs
    @abstractmethod
    def put_sync(self, record: SyncRecord) -> None: ...

    @abstractmethod
    def syncs(self, limit: int = 20) -> list[SyncRecord]: ...

    def last_sync(self, status: str | None = None) -> SyncRecord | None:
        for record in self.syncs(limit=50):
            if status is None or record.status == status:
                return record
        return None

    # the sync lock: a lease that expires if its holder dies
    @abstractmethod
    def acquire_lock(self, name: str, holder: str, ttl_seconds: float) -> bool: ...

    @abstractmethod
    def release_lock(self, name: str, holder: str) -> None: ...

    @abstractmethod
    def request_followup(self, name: str) -> None:
        """Remember that a trigger arrived while a sync was running."""

    @abstractmethod
    def take_followup(self, name: str) -> bool:
        """True once per requested follow-up."""

    # webhook deliveries
    @abstractmethod
    def remember_delivery(self, delivery_id: str) -> bool:
        """Record a delivery id; False when it was seen before."""

    @abstractmethod
    def forget_delivery(self, delivery_id: str) -> None: ...

    # --- rate limits (webhook-triggered syncs) ---------------------------------------------------------------------

    @abstractmethod
    def reserve_slot(self, name: str, interval: float) -> float | None:
        """Reserve a start of something done at most once per `interval` seconds: the seconds to
        wait before starting it (0: now), or None when a start is already reserved for after now
        (that one covers this request too). Atomic across processes."""

    @staticmethod
    def slot_delay(now: float, next_free: float, interval: float) -> float | None:
        """`reserve_slot`'s rule: start at `next_free` (or now, if later), unless a start is already
        reserved after now (the one at `next_free - interval`)."""
        if next_free - interval > now:
            return None
        return max(0.0, next_free - now)


def open_store(config: Config) -> StateStore:
    """The configured backend: SQLite (a file, or `:memory:`) or DynamoDB (`state.table`; boto3 loads only then)."""
    if config.state.backend == "dynamodb":
        from launchpad.state.dynamodb import DynamoStateStore

        return DynamoStateStore(config.state.table)
    from launchpad.state.sqlite import SqliteStateStore

    path = config.state.path
    if path != ":memory:":
        file = config.path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        path = str(file)
    return SqliteStateStore(path)
