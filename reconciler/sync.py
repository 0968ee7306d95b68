"""One sync at a time: fetch → desired → observe → plan → apply → record.

The lock is a lease in the state store (it expires if its holder dies). A trigger
that arrives while a sync runs returns "already running" at once and causes exactly
one follow-up sync when the running one ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from launchpad.config import Config
from launchpad.errors import LaunchpadError
from launchpad.registry import Registry
from launchpad.spec.document import TaskDocument
from launchpad.state.store import StateStore, SyncRecord, new_sync_id
from launchpad.temporal.connections import Connections
from reconciler.apply import Applier, ApplyResult
from reconciler.desired import DesiredState, code_hash, load_desired
from reconciler.live import Live, Target, observe
from reconciler.plan import Plan, make_plan
from reconciler.source import GitSource, SourceError

if TYPE_CHECKING:  # the worker machinery is heavy; the API never needs it
    from launchpad.temporal.workers import WorkerSet

log = logging.getLogger(__name__)
LOCK = "sync"


@dataclass(frozen=True)
class Scope:
    """What a reconciler manages when not everything: some kinds, and only these names if given."""

    kinds: frozenset[str]
    names: frozenset[str] = frozenset()

    def manages(self, kind: str, name: str) -> bool:
        return kind in self.kinds and (not self.names or name in self.names)

    def folders(self, config: Config) -> list[str]:
        """Only these are read: a scope of workers never parses a task file."""
        tasks = [config.tasks_dir] if self.kinds - {"worker"} else []
        return tasks + ([config.workers_dir] if "worker" in self.kinds else [])


@dataclass
class SyncResult:
    id: str
    status: str  # succeeded | failed | refused | already_running
    revision: str | None = None
    plan: Plan | None = None
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    @property
    def writes(self) -> int:
        return sum(1 for o in self.outcomes if o.get("wrote"))


def source_for(config: Config) -> GitSource:
    url = config.repository.url
    if "://" not in url and not url.startswith("git@"):
        url = str(config.path(url).resolve())
    return GitSource(
        url,
        config.repository.branch,
        config.path(config.repository.cache_dir),
        token_env=config.repository.token_env,
        ssh_key_env=config.repository.ssh_key_env,
    )


class Reconciler:
    def __init__(
        self,
        config: Config,
        store: StateStore,
        *,
        connections: Connections | None = None,
        workers: WorkerSet | None = None,
        source: GitSource | None = None,
        env: Mapping[str, str] | None = None,
        scope: Scope | None = None,
    ) -> None:
        """`scope` limits what this reconciler manages (default: every object); a worker process
        following the repository manages its workers and nothing else."""
        self.config = config
        self.scope = scope
        self.store = store
        self.connections = connections or Connections(config.temporalio)
        self.source = source or source_for(config)
        self.env = env
        self.registry = Registry.builtin()
        self.workers = workers
        self._code_hash: str | None = None
        self._code_revision: str | None = None  # the revision whose code is loaded (deploys ask per call)
        self._documents: dict[str, TaskDocument] = {}

    def document(self, path: str, blob: str) -> TaskDocument:
        """A task file parsed once per content (a pure function of the blob, so caching is safe).
        Reads git on a miss: call it from a thread, not from the event loop."""
        key = f"{blob}:{path}"
        document = self._documents.get(key)
        if document is None:
            document = TaskDocument.parse(self.source.read_blob(blob), path, self.env)
            if len(self._documents) > 2048:
                self._documents.clear()
            self._documents[key] = document
        return document

    def resolve(self, server: str | None, namespace: str | None) -> Target:
        target, ns = self.config.temporalio.resolve(server, namespace)
        return (target.name, ns)

    async def plan(self, revision: str | None = None) -> tuple[Plan, DesiredState]:
        """Fetch, load the desired state, look at Temporal and compare: no writes."""
        head = revision if revision else await asyncio.to_thread(self.source.fetch)
        applied = [o for o in self.store.objects() if self._manages(o.kind, o.name)]
        folders = self.scope.folders(self.config) if self.scope else None
        desired = await asyncio.to_thread(load_desired, self.source, head, self.config, applied, self.env, folders)
        desired.objects = {key: obj for key, obj in desired.objects.items() if self._manages(*key)}
        await asyncio.to_thread(self.load_code, desired.revision, desired.code_hash)
        live = await self._observe(desired, applied)
        plan = make_plan(desired, applied, live, self.config.reconciler, self.resolve)
        return plan, desired

    def _manages(self, kind: str, name: str) -> bool:
        return self.scope is None or self.scope.manages(kind, name)

    def load_code(self, revision: str, code: str | None = None) -> None:
        """Import users' code from a head of the branch: the code the workers run. Never a revision
        a request named (a deploy at an older `ref` still runs today's code), so no unmerged code
        is ever imported. Runs git: call it from a thread, not from the event loop."""
        if not self.config.code_paths or revision == self._code_revision:
            return
        code = code or code_hash(self.source, revision, self.config)
        if code != self._code_hash:
            with self.source.worktree(revision) as root:  # no other checkout until the import is done
                paths = [root / p for p in self.config.code_paths]
                self.registry.load_paths(paths, [root / p for p in self.config.code_skips])
            self._code_hash = code
        self._code_revision = revision

    async def _observe(self, desired: DesiredState, applied: list[Any]) -> Live:
        schedules: set[Target] = set()
        expected: dict[tuple[Target, str], str | None] = {}
        workflows: list[tuple[Target, str]] = []
        for obj in desired.objects.values():
            target = self.resolve(obj.server, obj.namespace)
            if obj.kind == "schedule":
                schedules.add(target)
            elif obj.kind == "task":
                workflows.append((target, obj.temporal_id or ""))
        for obj in applied:
            if obj.kind == "schedule":
                target = self.resolve(obj.server, obj.namespace)
                schedules.add(target)
                expected[(target, obj.temporal_id or "")] = obj.fingerprint
        return await observe(self.connections, schedules, workflows, expected)

    def begin(self) -> str | None:
        """Take the sync lock; None (and one follow-up queued) when a sync is already running."""
        holder = uuid.uuid4().hex
        if self.store.acquire_lock(LOCK, holder, self.config.reconciler.lock_ttl.total_seconds()):
            return holder
        self.store.request_followup(LOCK)
        return None

    def release(self, holder: str) -> None:
        self.store.release_lock(LOCK, holder)

    async def run(self, holder: str, trigger: str, sync_id: str | None = None) -> SyncResult:
        """Run a sync under the lock taken by `begin`, then the follow-up if one was queued.

        A trigger can arrive between the last follow-up check and the release: so after
        releasing, look once more and, if a follow-up is queued and the lock is free, go on.
        """
        result = await self._locked(holder, trigger, sync_id)
        while self.store.take_followup(LOCK) and (holder := self.begin() or "") != "":
            result = await self._locked(holder, "follow-up")
        return result

    async def _locked(self, holder: str, trigger: str, sync_id: str | None = None) -> SyncResult:
        ttl = self.config.reconciler.lock_ttl.total_seconds()
        keeper = asyncio.create_task(self._keep_lease(holder, ttl))
        try:
            result = await self._sync_once(trigger, sync_id)
            while self.store.take_followup(LOCK):
                result = await self._sync_once("follow-up")
            return result
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            self.release(holder)

    async def sync(self, trigger: str = "manual") -> SyncResult:
        """Run one sync, or answer "already running" at once (and queue one follow-up)."""
        holder = self.begin()
        if holder is None:
            return SyncResult(id="", status="already_running", message="a sync is already running")
        return await self.run(holder, trigger)

    async def _keep_lease(self, holder: str, ttl: float) -> None:
        while True:
            await asyncio.sleep(ttl / 3)
            self.store.acquire_lock(LOCK, holder, ttl)

    async def _sync_once(self, trigger: str, sync_id: str | None = None) -> SyncResult:
        record = SyncRecord(sync_id or new_sync_id(), None, trigger, datetime.now(UTC))
        self.store.put_sync(record)
        try:
            plan, _ = await self.plan()
        except (LaunchpadError, SourceError, RuntimeError, OSError) as exc:
            self.connections.forget_all()
            return self._finish(record, SyncResult(record.id, "failed", message=str(exc)))
        record.revision = plan.revision
        applier = Applier(self.connections, self.registry, self.workers, self.config.reconciler.concurrency)
        applied = await applier.apply(plan)
        self._record_objects(applied)
        status = "refused" if plan.refused else "failed" if (applied.outage or applied.failed) else "succeeded"
        if applied.outage:
            self.connections.forget_all()
        result = SyncResult(
            record.id,
            status,
            plan.revision,
            plan,
            [o.as_dict() for o in applied.outcomes],
            [e.as_dict() for e in plan.errors],
            plan.refused or applied.outage or "",
        )
        return self._finish(record, result)

    def _record_objects(self, applied: ApplyResult) -> None:
        if applied.put:
            self.store.put_objects(applied.put)
        for kind, name in applied.removed:
            self.store.delete_object(kind, name)

    def _finish(self, record: SyncRecord, result: SyncResult) -> SyncResult:
        record.finished_at = datetime.now(UTC)
        record.status = result.status
        record.outcomes = [o for o in result.outcomes if o["action"] != "noop" or not o["ok"]]
        record.errors = result.errors + ([{"message": result.message}] if result.message else [])
        self.store.put_sync(record)
        log.info("sync %s %s at %s", record.id, record.status, (record.revision or "?")[:12])
        return result

    async def watch(
        self,
        interval: float,
        stop: asyncio.Event,
        jitter: float = 0.1,
        on_result: Callable[[SyncResult], None] | None = None,
    ) -> None:
        """Sync every `interval` seconds (± jitter, so replicas do not align) until `stop` is set."""
        while not stop.is_set():
            result = await self.sync("watch")
            if on_result:
                on_result(result)
            delay = interval * (1 + random.uniform(-jitter, jitter))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
