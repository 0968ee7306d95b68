"""What the state store keeps: typed records, turned into JSON only by `launchpad.state.codec`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum


class Kind(StrEnum):
    """The kinds of object a sync manages."""

    SCHEDULE = "schedule"  # a task run by ScheduledWorkflowRunner
    TASK = "task"  # a deploy_on_server_start task: kept running
    WORKER = "worker"  # a worker file: run by the processes that host workers


class SyncStatus(StrEnum):
    """Where one managed object stands (Argo CD's words where they exist)."""

    SYNCED = "Synced"  # Temporal holds what the file says
    OUT_OF_SYNC = "OutOfSync"  # it differs, and this sync did not change it (drift with self_heal off, on_change: keep)
    DEGRADED = "Degraded"  # its file is broken (the last good version runs) or applying it failed
    MISSING = "Missing"  # it should exist in Temporal and does not (self_heal off, or it waits for a dependency)
    SUSPENDED = "Suspended"  # left alone: its file says `sync: {suspend: true}`, or `launchpad suspend` said so


class RunStatus(StrEnum):
    """How one sync ended (or that it has not)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"  # every object applied, every file valid
    DEGRADED = "degraded"  # applied, but some files are broken (their last good version stays) or objects wait
    FAILED = "failed"  # the sync, or some object, failed: repository or Temporal unreachable, a write refused
    REFUSED = "refused"  # the plan was refused (it would delete every managed object)
    ABANDONED = "abandoned"  # its process died; a later sync took the lease over
    ALREADY_RUNNING = "already_running"  # not run: another sync holds the lease (never stored)


@dataclass
class FileError:
    """A file that did not parse or validate at a revision, with the key path at fault."""

    file: str
    path: str
    message: str
    revision: str
    line: int | None = None
    column: int | None = None


@dataclass
class Outcome:
    """What applying one plan item did."""

    kind: Kind
    name: str
    action: str
    ok: bool
    message: str = ""
    wrote: bool = False  # a write RPC reached Temporal


@dataclass(frozen=True)
class Policy:
    """A task's sync policy as its file says it (launchpad.spec.policy), kept with its record so
    that a sync that does not read the file again still follows it."""

    suspend: bool = False
    self_heal: bool | None = None  # None: the configuration's
    prune: bool | None = None
    ignore_differences: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()


@dataclass
class AppliedObject:
    """What launchpad last applied for one object."""

    kind: Kind
    name: str
    path: str
    revision: str  # the commit at which it was applied
    spec_hash: str  # hash of the rendered task (or worker spec and code)
    blob: str = ""  # git blob sha of the file as applied: unchanged blob, nothing to parse
    server: str | None = None
    namespace: str | None = None
    temporal_id: str | None = None  # schedule id or workflow id
    # a schedule's spec as launchpad wrote it, in the server's form (launchpad.temporal.schedules
    # `fingerprint`): a drift scan compares the listing with it; None until known
    fingerprint: str | None = None
    status: SyncStatus = SyncStatus.SYNCED
    reason: str = ""
    error: str | None = None  # the last apply failed: retried by the next sync
    updated_at: datetime | None = None
    policy: Policy = field(default_factory=Policy)

    @property
    def key(self) -> tuple[Kind, str]:
        return (self.kind, self.name)

    @property
    def applied(self) -> bool:
        """False for a record of an object never written to Temporal (suspended, or waiting for a
        dependency, since its file appeared): no version of it runs."""
        return bool(self.spec_hash)


def new_sync_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class SyncRecord:
    id: str
    revision: str | None
    trigger: str
    started_at: datetime
    finished_at: datetime | None = None
    status: RunStatus = RunStatus.RUNNING
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    message: str = ""  # why the sync failed, was refused or abandoned
    holder: str = ""  # the lease holder that ran it (to close it when its process died)
    drift_scan: bool = False  # this sync compared every managed object with Temporal


@dataclass
class SyncMeta:
    """Per reconciler scope: what the last syncs established, so a poll that finds nothing new
    costs a fetch and this one read."""

    revision: str | None = None  # the last revision applied without an outage
    code: str | None = None  # the hash of users' code at that revision
    drift_scan_at: datetime | None = None  # when Temporal was last compared in full
    verified_at: datetime | None = None  # when every managed schedule was last described (actions, policies)
    checked_at: datetime | None = None  # the last poll, even one that found nothing new
    retry: list[str] = field(default_factory=list)  # files whose object failed to apply: tried again
    retry_at: datetime | None = None  # not before then, unless something else changed
    errors: list[FileError] = field(default_factory=list)  # the broken files at `revision`
    # `launchpad suspend NAME` without a commit: task name -> who suspended it, when and why;
    # dropped by `launchpad resume NAME`, or by the sync that finds the file suspending it too
    suspended: dict[str, str] = field(default_factory=dict)


class FollowUp(IntEnum):
    """What the triggers that found a sync running asked its holder for, the most of them."""

    NONE = 0
    SYNC = 1
    HARD = 2  # one of them asked for a drift scan with a verification (`hard`)


@dataclass
class LeaseGrant:
    """A lease just taken: the scope's meta, and whom it was taken from (a holder that died)."""

    meta: SyncMeta
    taken_from: str | None = None
