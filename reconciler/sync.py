"""One sync at a time per scope: fetch → desired → observe → plan → apply, each object recorded as applied.

Two kinds of sync, as Argo CD separates a refresh from its periodic full comparison:

- a **refresh** (every poll, webhook or hook) diffs the new head against the last synced revision
  and plans only the changed files, plus the objects it knows to be off (failed, degraded). It
  lists nothing in Temporal. A poll that finds the same revision and nothing to retry costs a
  fetch and one state-store read;
- a **drift scan** lists Temporal and compares every managed object: it heals hand edits and
  deletions and prunes orphans. It runs every `reconciler.drift_interval`, on `--hard` /
  `{"hard": true}`, on the first sync and whenever the last synced revision is unknown. A
  listing shows a schedule's spec, not its action or policies: every `reconciler.verify_interval`,
  and on `--hard`, the scan also describes every managed schedule (a **verification**).

The lock is a lease (reconciler.lease). A trigger that arrives while a sync runs returns
"already running" at once and causes exactly one follow-up sync when the running one ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from launchpad.config import Config
from launchpad.errors import LaunchpadError
from launchpad.observability.deploys import DeployObserver
from launchpad.observability.logs import bind, scoped
from launchpad.registry import Registry
from launchpad.spec.document import TaskDocument
from launchpad.state import AppliedObject, FileError, Kind, Outcome, RunStatus, SyncMeta, SyncRecord, new_sync_id
from launchpad.state.records import FollowUp
from launchpad.state.store import StateStore, call
from launchpad.temporal.connections import Connections
from reconciler.apply import Applier, Recorder
from reconciler.desired import DesiredObject, DesiredState, code_hash, load_desired, stem
from reconciler.lease import Lease, acquire
from reconciler.live import Key, Live, LiveSchedule, Target, list_schedules, look, scan
from reconciler.plan import MANAGED_IN_TEMPORAL, Action, Plan, PlanItem, make_plan
from reconciler.source import GitSource, under

if TYPE_CHECKING:  # the worker machinery is heavy; the API never needs it
    from launchpad.temporal.workers import WorkerSet
    from reconciler.deploy import TaskFile

log = logging.getLogger(__name__)
LEASE = "sync"
RETRY_AFTER = timedelta(seconds=10)  # a failed object is tried again by the first sync after this


class SyncRunning(LaunchpadError):
    """Another sync holds the lease (one follow-up sync is queued)."""

    code = "sync_running"
    kind = "conflict"


@dataclass(frozen=True)
class Scope:
    """What a reconciler manages when not everything: some kinds, only these names, only the files
    under these folders, only the objects on these namespaces (`ns` or `server/ns`) — each filter
    applies when given. A named scope has a lease, a sync history position and an instance name of
    its own (`<instance>/<name>`), so several reconcilers share one repository and state store
    without touching each other's objects (docs/scaling.md)."""

    kinds: frozenset[Kind] = frozenset(Kind)
    names: frozenset[str] = frozenset()
    folders: tuple[str, ...] = ()
    namespaces: frozenset[str] = frozenset()
    name: str = ""

    def manages(self, kind: Kind, name: str, path: str, target: Target) -> bool:
        return (
            kind in self.kinds
            and (not self.names or name in self.names)
            and (not self.folders or under(path, list(self.folders)))
            and (not self.namespaces or target[1] in self.namespaces or f"{target[0]}/{target[1]}" in self.namespaces)
        )

    def read(self, config: Config) -> list[str]:
        """The folders a sync reads: a scope of workers never parses a task file."""
        if self.folders:
            return list(self.folders)
        tasks = [config.tasks_dir] if self.kinds - {Kind.WORKER} else []
        return tasks + ([config.workers_dir] if Kind.WORKER in self.kinds else [])

    @classmethod
    def named(cls, config: Config, name: str) -> Scope:
        """A scope of the configuration (`reconciler.scopes`)."""
        for scope in config.reconciler.scopes:
            if scope.name == name:
                return cls(folders=tuple(scope.folders), namespaces=frozenset(scope.namespaces), name=scope.name)
        known = ", ".join(s.name for s in config.reconciler.scopes) or "none"
        raise LaunchpadError(f"no scope {name!r} in reconciler.scopes (configured: {known})")


def lease_key(scope: Scope | None) -> str:
    """The key of the lease (and of the sync meta) of a reconciler of this scope."""
    return f"{LEASE}:{scope.name}" if scope and scope.name else LEASE


def scoped_store(store: StateStore, scope: Scope | None) -> StateStore:
    """The view of the state store a reconciler of this scope keeps its objects in."""
    return store.scoped(scope.name) if scope and scope.name else store


@dataclass
class SyncResult:
    id: str  # "" when nothing was run (already running) or nothing was new (not recorded)
    status: RunStatus
    revision: str | None = None
    plan: Plan | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    message: str = ""
    drift_scan: bool = False
    follow_ups: list[SyncResult] = field(default_factory=list)  # run under the same lease right after
    trigger: str = ""  # set for observers, with the start time
    started_at: datetime | None = None

    @property
    def applied(self) -> list[tuple[PlanItem, Outcome]]:
        """Each plan item with what applying it did; the items the sync did not reach are left
        out. Read by the observers once the sync is over (metrics, logs, notifications)."""
        if self.plan is None:
            return []
        return [(item, item.outcome) for item in self.plan.items if item.outcome is not None]

    @property
    def writes(self) -> int:
        return sum(1 for o in self.outcomes if o.wrote)

    @property
    def runs(self) -> list[SyncResult]:
        """This sync and its follow-ups, in order."""
        return [self, *self.follow_ups]


@dataclass
class Listing:
    """What a drift scan lists: namespaces, and per schedule the fields its fingerprint leaves out."""

    targets: set[Target] = field(default_factory=set)
    ignore: dict[Key, tuple[str, ...]] = field(default_factory=dict)


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


def _status(plan: Plan, outcomes: list[Outcome], outage: str | None, lost: bool) -> RunStatus:
    if plan.refused:
        return RunStatus.REFUSED
    if outage or lost or any(not o.ok for o in outcomes):
        return RunStatus.FAILED
    waiting = any(item.waiting for item in plan.items)  # an object waits for a dependency: not all applied
    return RunStatus.DEGRADED if plan.errors or waiting else RunStatus.SUCCEEDED


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
        self.store = scoped_store(store, scope)
        self._all_scopes = store  # where the other reconcilers' records are (a dependency may be theirs)
        self.connections = connections or Connections(config.temporalio)
        self.source = source or source_for(config)
        self.env = env
        self.registry = Registry.builtin()
        self.workers = workers
        self.instance = f"{config.instance}/{scope.name}" if scope and scope.name else config.instance
        self.lease_key = lease_key(scope)
        # called with each finished sync (its plan holds each object's previous record); an
        # observer's failure is logged and never fails the sync
        self.observers: list[Callable[[SyncResult], Awaitable[None]]] = []
        self.deploy_observers: list[DeployObserver] = []  # told of each deploy (reconciler.deploy)
        self._code_hash: str | None = None
        self._code_revision: str | None = None  # the revision whose code is loaded (deploys ask per call)
        self._documents: dict[str, TaskDocument] = {}
        self._targets: dict[tuple[str | None, str | None], Target] = {}
        # (head, task) → what a deploy at that head reads from git: a commit never changes
        self.deploy_inputs: dict[tuple[str, str], tuple[TaskFile, TaskDocument]] = {}

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
        """Where an object lands (memoised: a drift scan asks for every object, and the servers of
        the configuration do not change under a reconciler)."""
        key = (server, namespace)
        if key not in self._targets:
            target, ns = self.config.temporalio.resolve(server, namespace)
            self._targets[key] = (target.name, ns)
        return self._targets[key]

    def _manages(self, obj: AppliedObject | DesiredObject) -> bool:
        if self.scope is None:
            return True
        try:
            target = self.resolve(obj.server, obj.namespace)
        except LaunchpadError:  # a server or namespace the config does not know: the plan reports it
            target = (obj.server or "", obj.namespace or "")
        return self.scope.manages(obj.kind, obj.name, obj.path, target)

    def _elsewhere(self) -> list[StateStore]:
        """The records of the other reconcilers sharing this state store: the other configured
        scopes', and the unscoped reconciler's when this one has a scope."""
        own = self.scope.name if self.scope else ""
        views = [self._all_scopes] if own else []
        return views + [self._all_scopes.scoped(s.name) for s in self.config.reconciler.scopes if s.name != own]

    async def _depended_on(
        self, desired: DesiredState, covered: Collection[AppliedObject], *, all_ours: bool
    ) -> list[AppliedObject]:
        """The records of the tasks the desired objects depend on that the plan does not cover:
        this reconciler's (unless `covered` holds all of them already), else another scope's (a task
        of another scope is ready to depend on once that scope's reconciler has synced it). One
        batched read per store, when needed."""
        needed = {d for o in desired.objects.values() for d in o.policy.depends_on} - {o.name for o in covered}
        found: list[AppliedObject] = []
        for store in [*([] if all_ours else [self.store]), *self._elsewhere()]:
            missing = needed - {o.name for o in found if o.kind in MANAGED_IN_TEMPORAL}
            if not missing:
                break
            found += await call(store, store.objects_named, missing)
        return found

    def folders(self) -> list[str]:
        return self.scope.read(self.config) if self.scope else [self.config.tasks_dir, self.config.workers_dir]

    def load_code(self, revision: str, code: str | None = None) -> None:
        """Import users' code from a head of the branch: the code the workers run. Never a revision
        a request named (a deploy at an older `ref` still runs today's code), so no unmerged code
        is ever imported. Runs git: call it from a thread, not from the event loop."""
        if self.code_loaded(revision):
            return
        if self.config.code_paths:
            code = code or code_hash(self.source, revision, self.config)
            if code != self._code_hash:
                with self.source.worktree(revision) as root:  # no other checkout until the import is done
                    paths = [root / p for p in self.config.code_paths]
                    self.registry.load_paths(paths, [root / p for p in self.config.code_skips])
                self._code_hash = code
        self._code_revision = revision

    def code_loaded(self, revision: str) -> bool:
        """Whether this head's code is the code imported (every deploy asks: one comparison)."""
        return revision == self._code_revision

    # planning

    async def plan(
        self, revision: str | None = None, *, hard: bool = True, verify: bool = False
    ) -> tuple[Plan, DesiredState]:
        """A dry run: what a sync would do now (by default with a drift scan; with `verify`, also
        describing every managed schedule, as a hard sync does), without writing."""
        head = revision if revision else await asyncio.to_thread(self.source.fetch)
        meta = await call(self.store, self.store.meta, self.lease_key)
        return await self._plan(head, meta, complete=hard or verify, verify=verify)

    async def _plan(
        self, head: str, meta: SyncMeta, *, complete: bool, verify: bool = False
    ) -> tuple[Plan, DesiredState]:
        refresh = not complete and meta.revision is not None and meta.code is not None
        if refresh and not await asyncio.to_thread(self.source.contains, meta.revision or ""):
            refresh = False  # history was rewritten, or the cache is new: compare everything
        if refresh:
            return await self._refresh(head, meta)
        # every record: in a thread even from SQLite (a drift scan beside the API holds its event loop)
        applied = [o for o in await asyncio.to_thread(self.store.objects) if self._manages(o)]
        # the listing (the server's time) runs while the repository is read (this process's time)
        known = self._listing(applied)
        listing = asyncio.create_task(list_schedules(self.connections, known.targets, known.ignore))
        try:
            files = await asyncio.to_thread(self.source.files, head, self.folders())
            code = await asyncio.to_thread(code_hash, self.source, head, self.config)
            desired = await self._desired(head, files, applied, code)
        except BaseException:
            listing.cancel()
            raise
        live = await self._scan(desired, applied, known, await listing, verify=verify)
        others = await self._depended_on(desired, applied, all_ours=True)  # another scope's tasks they depend on
        settings, suspended = self.config.reconciler, meta.suspended
        plan = make_plan(
            desired, applied, live, settings, self.resolve, instance=self.instance, others=others, suspended=suspended
        )
        return plan, desired

    async def _refresh(self, head: str, meta: SyncMeta) -> tuple[Plan, DesiredState]:
        """Only what changed since `meta.revision`, and what the last sync left to retry."""
        folders, code_paths = self.folders(), self.config.code_paths
        since = meta.revision or ""
        changes = await asyncio.to_thread(self.source.changes, since, head, [*folders, *code_paths])
        paths = {c.path for c in changes} | {c.old_path for c in changes if c.old_path}
        files = [p for p in paths if under(p, folders)] + meta.retry
        code = meta.code or ""
        if code_paths and any(under(p, code_paths) for p in paths):
            code = await asyncio.to_thread(code_hash, self.source, head, self.config)
            if self.scope is None or Kind.WORKER in self.scope.kinds:  # every worker reloads with new code
                files += list(await asyncio.to_thread(self.source.files, head, [self.config.workers_dir]))
        names = {stem(p) for p in files}
        found = await call(self.store, self.store.objects_named, names) if names else []
        applied = [o for o in found if self._manages(o)]
        wanted = {*files, *(o.path for o in applied)}
        gone: dict[str, str | None] = {c.old_path: None for c in changes if c.old_path}  # renamed away
        known = gone | {c.path: c.blob for c in changes}
        blobs = {path: blob for path in wanted if (blob := known.get(path))}
        if rest := sorted(wanted - known.keys()):  # files to retry, objects whose file did not change
            blobs |= await asyncio.to_thread(self.source.blobs, head, rest)
        desired = await self._desired(head, blobs, applied, code)
        places = [(o.kind, o.server, o.namespace, o.temporal_id) for o in desired.objects.values()]
        places += [(o.kind, o.server, o.namespace, o.temporal_id) for o in applied]
        workflows = [(self.resolve(server, ns), wid or "") for kind, server, ns, wid in places if kind == Kind.TASK]
        live = await look(self.connections, workflows)
        managed = None
        if any(o.path not in blobs for o in applied if o.kind in MANAGED_IN_TEMPORAL):  # some file went away
            managed = await call(self.store, self.store.count_objects, MANAGED_IN_TEMPORAL)
        read = {*files, *blobs}  # files not read again keep the errors the last sync found in them
        kept = [e for e in meta.errors if e.file not in read]
        desired.errors, desired.broken = kept + desired.errors, desired.broken | {stem(e.file) for e in kept}
        others = await self._depended_on(desired, applied, all_ours=False)  # what they wait for
        plan = make_plan(
            desired,
            applied,
            live,
            self.config.reconciler,
            self.resolve,
            instance=self.instance,
            managed=managed,
            others=others,
            suspended=meta.suspended,
        )
        return plan, desired

    async def _desired(
        self, head: str, files: Mapping[str, str], applied: list[AppliedObject], code: str
    ) -> DesiredState:
        desired = await asyncio.to_thread(load_desired, self.source, head, files, applied, code, self.env)
        desired.objects = {key: obj for key, obj in desired.objects.items() if self._manages(obj)}
        return desired

    def _listing(self, objects: list[AppliedObject] | list[DesiredObject]) -> Listing:
        """What a drift scan lists for these objects: the namespaces they are on (and the other
        configured namespaces of those servers, where orphans may hide), and each schedule's
        ignored fields."""
        listing = Listing()
        for obj in objects:
            if obj.kind == Kind.SCHEDULE:
                key = (self.resolve(obj.server, obj.namespace), obj.temporal_id or "")
                listing.targets.add(key[0])
                listing.ignore[key] = tuple(obj.policy.ignore_differences)
        if self.scope is None or Kind.SCHEDULE in self.scope.kinds:
            for server in {t[0] for t in listing.targets}:
                config = self.config.temporalio.server(server)
                listing.targets |= {(server, ns) for ns in config.namespace_names}
        return listing

    async def _scan(
        self,
        desired: DesiredState,
        applied: list[AppliedObject],
        known: Listing,
        listed: dict[Key, LiveSchedule],
        *,
        verify: bool,
    ) -> Live:
        """Complete the listing made from the state store's records with what the desired state
        adds (new namespaces, changed ignored fields), and confirm what looks like drift (with
        `verify`, describe every managed schedule)."""
        wanted = self._listing(list(desired.objects.values()))
        if more := wanted.targets - known.targets:
            listed |= await list_schedules(self.connections, more, wanted.ignore)
        expected = {
            (self.resolve(o.server, o.namespace), o.temporal_id or ""): o.fingerprint
            for o in applied
            if o.kind == Kind.SCHEDULE
        }
        ignore = known.ignore | wanted.ignore
        recheck = [key for key, fields in wanted.ignore.items() if tuple(fields) != tuple(known.ignore.get(key, ()))]
        workflows = [
            (self.resolve(o.server, o.namespace), o.temporal_id or "")
            for o in desired.objects.values()
            if o.kind == Kind.TASK
        ]
        concurrency = self.config.reconciler.concurrency
        return await scan(
            self.connections, listed, expected, workflows, ignore, recheck, verify=verify, concurrency=concurrency
        )

    # the lease

    async def lease(self, *, hard: bool = False) -> Lease | None:
        """The sync lease, or None when another sync holds it (it then runs one follow-up, hard
        when this trigger or another asked for it)."""
        return await acquire(self.store, self.lease_key, self.config.reconciler.lock_ttl.total_seconds(), hard)

    @contextlib.asynccontextmanager
    async def locked(self, trigger: str) -> AsyncIterator[Lease]:
        """Hold the sync lease for a change that must not interleave with a sync (a commit by the
        API); SyncRunning when another sync holds it."""
        lease = await self.lease()
        if lease is None:
            raise SyncRunning(f"a sync is running; retry in a moment ({trigger})")
        async with lease:
            yield lease

    # syncing

    async def sync(
        self,
        trigger: str = "manual",
        *,
        hard: bool = False,
        poll: bool = False,
        lease: Lease | None = None,
        sync_id: str | None = None,
    ) -> SyncResult:
        """Run one sync (and the follow-ups requested meanwhile), or answer "already running" at
        once. A `poll` that finds nothing new leaves no record (a trigger someone asked for does).
        With `lease` (from `lease()`), run under it and give it back at the end."""
        if lease is None:
            lease = await self.lease(hard=hard)
            if lease is None:
                return SyncResult("", RunStatus.ALREADY_RUNNING, message="a sync is already running")
        async with lease:
            return await self.run(lease, trigger, hard=hard, poll=poll, sync_id=sync_id)

    async def run(
        self, lease: Lease, trigger: str, *, hard: bool = False, poll: bool = False, sync_id: str | None = None
    ) -> SyncResult:
        """Sync under a held lease, then once more for each follow-up requested meanwhile."""
        first = await self._once(lease, trigger, hard, poll, sync_id)
        while not lease.lost and (followup := await lease.finish()):
            first.follow_ups.append(await self._once(lease, "follow-up", followup == FollowUp.HARD, True, None))
        return first

    @scoped  # the log context bound here ends with the sync
    async def _once(self, lease: Lease, trigger: str, hard: bool, poll: bool, sync_id: str | None) -> SyncResult:
        started = datetime.now(UTC)
        meta = lease.meta
        record = SyncRecord(sync_id or new_sync_id(), None, trigger, started, holder=lease.holder)
        bind(sync_id=record.id, trigger=trigger)
        recorded = False
        try:
            head = await asyncio.to_thread(self.source.fetch)
            bind(revision=head)
            complete = hard or self._scan_due(meta, started)
            verify = complete and (hard or self._verify_due(meta, started))
            meta.checked_at = started
            if not complete and head == meta.revision and not (meta.retry and started >= (meta.retry_at or started)):
                status = RunStatus.DEGRADED if meta.errors else RunStatus.SUCCEEDED
                result = SyncResult(record.id, status, head, errors=list(meta.errors), message="up to date")
                if poll:
                    result.id = ""
                    await self._observe(result, record)
                    return result
                return await self._finish(record, result)
            record.revision, record.drift_scan = head, complete
            await call(self.store, self.store.put_sync, record)
            recorded = True
            plan, desired = await self._plan(head, meta, complete=complete, verify=verify)
            await asyncio.to_thread(self.load_code, desired.revision, desired.code_hash)  # what apply runs
            applier = Applier(
                self.connections,
                self.registry,
                Recorder(self.store),
                self.workers,
                self.config.reconciler.concurrency,
                self.instance,
                lost=lambda: lease.lost,
            )
            applied = await applier.apply(plan)
            if applied.outage:
                self.connections.forget_all()
            elif not lease.lost and not plan.refused:
                meta.revision, meta.code, meta.errors = head, desired.code_hash, plan.errors
                meta.retry, meta.retry_at = sorted(applied.retry), started + RETRY_AFTER
                meta.suspended = {n: note for n, note in meta.suspended.items() if n not in plan.settled}
                if plan.complete:
                    meta.drift_scan_at = started
                    meta.verified_at = started if verify else meta.verified_at
            status = _status(plan, applied.outcomes, applied.outage, lease.lost)
            message = plan.refused or applied.outage or ("the sync lease was lost" if lease.lost else "")
            result = SyncResult(
                record.id, status, head, plan, applied.outcomes, plan.errors, message, drift_scan=plan.complete
            )
        except LaunchpadError as exc:
            self.connections.forget_all()
            result = SyncResult(record.id, RunStatus.FAILED, record.revision, message=str(exc))
        except Exception as exc:  # a bug or an unforeseen failure: the sync is failed, never left running
            log.exception("sync %s failed unexpectedly", record.id)
            result = SyncResult(record.id, RunStatus.FAILED, record.revision, message=f"unexpected error: {exc!r}")
        except BaseException:
            record.status, record.message, record.finished_at = RunStatus.FAILED, "interrupted", datetime.now(UTC)
            if recorded:
                with contextlib.suppress(Exception):
                    await asyncio.shield(call(self.store, self.store.put_sync, record))
            raise
        return await self._finish(record, result)

    def _scan_due(self, meta: SyncMeta, now: datetime) -> bool:
        if meta.revision is None or meta.drift_scan_at is None:
            return True
        return now - meta.drift_scan_at >= self.config.reconciler.drift_interval

    def _verify_due(self, meta: SyncMeta, now: datetime) -> bool:
        return meta.verified_at is None or now - meta.verified_at >= self.config.reconciler.verify_interval

    async def _finish(self, record: SyncRecord, result: SyncResult) -> SyncResult:
        record.finished_at = datetime.now(UTC)
        record.status = result.status
        record.revision = result.revision
        record.outcomes = [o for o in result.outcomes if o.action != Action.NOOP or not o.ok]
        record.errors = result.errors
        record.message = result.message
        await call(self.store, self.store.put_sync, record)
        log.info("sync %s %s at %s", record.id, record.status, (record.revision or "?")[:12])
        await self._observe(result, record)
        return result

    async def _observe(self, result: SyncResult, record: SyncRecord) -> None:
        result.trigger, result.started_at = record.trigger, record.started_at
        for observer in self.observers:
            try:
                await observer(result)
            except Exception:
                log.exception("a sync observer failed")

    async def turn(self, trigger: str = "watch") -> SyncResult | None:
        """One turn of a sync loop (`reconcile --watch`, `launchpad start` and `dev`): a polling
        sync, or None when it failed outside the sync's own guard (the state store unreachable
        while the lease is taken or given back, say). That is logged, and the loop goes on: a
        store that fails once must not end the process that keeps Temporal in step."""
        try:
            return await self.sync(trigger, poll=True)
        except Exception:
            log.exception("a %s sync failed outside the sync; the next turn tries again", trigger)
            return None

    async def watch(
        self,
        interval: float,
        stop: asyncio.Event,
        jitter: float = 0.1,
        on_result: Callable[[SyncResult], None] | None = None,
    ) -> None:
        """Sync every `interval` seconds (± jitter, so replicas do not align) until `stop` is set."""
        while not stop.is_set():
            result = await self.turn()
            if on_result and result:
                on_result(result)
            delay = interval * (1 + random.uniform(-jitter, jitter))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
