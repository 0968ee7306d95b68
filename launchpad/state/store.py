"""The state store interface, kept small so that SQLite and DynamoDB both implement it."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, ClassVar, ParamSpec, TypeVar

from launchpad.state.records import AppliedObject, FollowUp, Kind, LeaseGrant, RunStatus, SyncMeta, SyncRecord

if TYPE_CHECKING:
    from launchpad.config import Config


class StateStore(ABC):
    """Every method is one small, independent operation: no state is kept in memory.

    `remote` stores wait on the network: async code calls them from a thread (`call`), never on
    the event loop thread.
    """

    remote: ClassVar[bool] = True

    @abstractmethod
    def scoped(self, scope: str) -> StateStore:
        """The same store, whose objects are those of a reconciler scope (its own set of records;
        syncs, leases and deliveries stay shared, leases and metas being keyed by scope already)."""

    # objects
    @abstractmethod
    def objects(self) -> list[AppliedObject]:
        """Every object, by kind and name."""

    @abstractmethod
    def objects_named(self, names: Collection[str]) -> list[AppliedObject]:
        """The objects of any kind with these names (one batched read, not one per name)."""

    @abstractmethod
    def count_objects(self, kinds: Collection[Kind]) -> int: ...

    @abstractmethod
    def tally_objects(self) -> dict[tuple[str, str], int]:
        """How many objects there are of each (kind, status): the gauges `/metrics` serves at
        every scrape, without building every record."""

    @abstractmethod
    def put_objects(self, objs: list[AppliedObject]) -> None:
        """Write several objects at once (one transaction where the backend has them)."""

    @abstractmethod
    def delete_objects(self, keys: Collection[tuple[Kind, str]]) -> None: ...

    # syncs
    @abstractmethod
    def put_sync(self, record: SyncRecord) -> None: ...

    @abstractmethod
    def syncs(self, limit: int = 20) -> list[SyncRecord]:
        """The newest first."""

    def last_sync(self, status: RunStatus | None = None) -> SyncRecord | None:
        for record in self.syncs(limit=50):
            if status is None or record.status == status:
                return record
        return None

    def abandon_syncs(self, holder: str, message: str) -> None:
        """Close the records of the syncs a dead lease holder left `running`."""
        for record in self.syncs(limit=50):
            if record.holder == holder and record.status == RunStatus.RUNNING:
                record.status, record.message = RunStatus.ABANDONED, message
                self.put_sync(record)

    # the lease of a reconciler scope, which also holds the scope's SyncMeta
    @abstractmethod
    def acquire_lease(self, scope: str, holder: str, ttl: float, *, take_from: str | None = None) -> LeaseGrant | None:
        """Take the lease when nobody holds it, its holder's lease expired, or its holder is
        `take_from` (a holder the caller knows is dead); None when another holds it. A pending
        follow-up request is cleared: the sync about to run covers it."""

    @abstractmethod
    def lease_holder(self, scope: str) -> str | None:
        """Who holds an unexpired lease now."""

    @abstractmethod
    def renew_lease(self, scope: str, holder: str, ttl: float) -> bool:
        """False when the lease is no longer the holder's (it expired and was taken)."""

    @abstractmethod
    def finish_lease(self, scope: str, holder: str, meta: SyncMeta) -> FollowUp:
        """Store the meta; then keep the lease and answer the follow-up requested meanwhile (the
        caller runs it), else release the lease and answer `FollowUp.NONE`."""

    @abstractmethod
    def request_followup(self, scope: str, hard: bool = False) -> bool:
        """Ask the lease's holder for one more sync (a hard one if any request says so); False
        when nobody holds the lease (then the caller should run the sync itself)."""

    @abstractmethod
    def meta(self, scope: str) -> SyncMeta:
        """The scope's meta as last stored (no lease needed: for status)."""

    # notifications: the subjects (a file, the sync) whose last notification said they are broken
    @abstractmethod
    def notices(self) -> dict[str, str]:
        """Subject → JSON of the last notice sent about it, for every subject last reported
        broken (one read: a small set)."""

    @abstractmethod
    def put_notices(self, put: Mapping[str, str], drop: Collection[str]) -> None:
        """Record the notices just sent and forget the subjects that recovered (one transaction or batch)."""

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


P = ParamSpec("P")
R = TypeVar("R")


async def call(store: StateStore, method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`method(*args)` of the store: in a thread when the store is remote, inline otherwise. A
    read of every record (`objects`, a status report) goes to a thread whatever the store
    (`asyncio.to_thread` at the call): thousands of records take long to build even from SQLite."""
    if store.remote:
        return await asyncio.to_thread(method, *args, **kwargs)
    return method(*args, **kwargs)


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
