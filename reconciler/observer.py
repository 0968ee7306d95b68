"""What a finished sync or deploy signals: metrics, a log line per applied object, notifications.

Attached to a reconciler (`attach`) as one of its `observers` and `deploy_observers`.

Notifications follow **transitions**, as Argo CD's triggers do: a subject (a broken file, an
object that failed to apply, the sync itself) is notified once when it breaks (`degraded`,
`sync_failed`) and once when it recovers (`recovered`); while it stays broken nothing more is
sent. The subjects last reported broken are kept in the state store (`notices`), so a restart
or a second reconciler does not send them again; syncs are serialized by the lease and observers
run under it. A sync that found nothing new (no plan) and changed no subject's state reads and
writes no notice (this process's copy of them answers), except once per process to load that copy.
Events without a state (`drift_healed`, `pruned`) are sent by the sync that did them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from launchpad.config import Config
from launchpad.links import object_page, temporal_page
from launchpad.notify.events import Event
from launchpad.observability.deploys import Deployed
from launchpad.observability.logs import scrub
from launchpad.observability.metrics import (
    APPLIES,
    DEPLOY_SECONDS,
    DEPLOYS,
    DRIFT_HEALED,
    FILE_ERRORS,
    LAST_SYNC,
    OBJECTS,
    PRUNED,
    SYNC_SECONDS,
    SYNCS,
    Metrics,
    trigger_label,
)
from launchpad.observability.signals import Signals
from launchpad.state.records import Kind, RunStatus, SyncStatus
from launchpad.state.store import StateStore, call
from reconciler.desired import stem
from reconciler.plan import Action, PlanItem
from reconciler.source import under
from reconciler.sync import LEASE

if TYPE_CHECKING:
    from reconciler.source import GitSource
    from reconciler.sync import Reconciler, SyncResult

log = logging.getLogger("launchpad.sync")
SYNC = "sync"  # the subject of a whole sync's failure
GONE = (Action.DELETE, Action.FORGET, Action.STOP)


@dataclass
class Notice:
    """What was last sent about a subject that is broken (stored until it recovers)."""

    kind: str  # degraded | sync_failed
    message: str
    revision: str | None = None
    object_kind: str | None = None
    name: str | None = None
    file: str | None = None
    key_path: str | None = None

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def load(cls, text: str) -> Notice:
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Assessment:
    """What one sync tells of its subjects' states."""

    broken: dict[str, Notice] = field(default_factory=dict)  # subject → why it is broken now
    covered: set[str] = field(default_factory=lambda: {SYNC})  # subjects whose state this sync knows
    files_known: bool = False  # the sync knows every broken file (so every `file:` subject is covered)
    gone: set[str] = field(default_factory=set)  # objects deleted: forgotten without a notification
    items: dict[str, PlanItem] = field(default_factory=dict)  # subject → its plan item (for links)

    def covers(self, subject: str) -> bool:
        return subject in self.covered or (self.files_known and subject.startswith("file:"))


def whole_failure(result: SyncResult) -> bool:
    """The sync as a whole failed (repository or Temporal unreachable, lease lost, refused), as
    opposed to some objects failing to apply."""
    if result.status == RunStatus.REFUSED:
        return True
    return result.status == RunStatus.FAILED and (result.plan is None or bool(result.message))


def assess(result: SyncResult) -> Assessment:
    out = Assessment()
    if whole_failure(result):
        out.broken[SYNC] = Notice("sync_failed", result.message or "the sync failed", result.revision)
        return out
    out.files_known = True  # a sync that ran, or found nothing new, knows the broken files at its revision
    for error in result.errors:
        subject = f"file:{error.file}"
        out.broken.setdefault(
            subject,
            Notice(
                "degraded", error.message, error.revision, file=error.file, key_path=error.path, name=stem(error.file)
            ),
        )
    for item, outcome in result.applied:
        if item.orphan:
            continue
        subject = f"{item.kind}:{item.name}"
        out.covered.add(subject)
        out.items[subject] = item
        if item.action in GONE and outcome.ok:
            out.gone.add(subject)
        elif not outcome.ok:
            out.broken[subject] = Notice(
                "degraded", outcome.message, result.revision, str(item.kind), item.name, item.path
            )
    return out


@dataclass
class Transitions:
    events: list[tuple[str, str, Notice]] = field(default_factory=list)  # (event kind, subject, notice)
    put: dict[str, str] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.events or self.put or self.drop)


def transitions(assessment: Assessment, known: dict[str, Notice]) -> Transitions:
    """Against what was last sent: what broke (send, remember), what recovered (send, forget),
    what went away (forget)."""
    out = Transitions()
    for subject, notice in assessment.broken.items():
        if subject not in known:
            out.events.append((notice.kind, subject, notice))
            out.put[subject] = notice.dump()
    for subject, was in known.items():
        if subject in assessment.broken or not assessment.covers(subject):
            continue
        out.drop.add(subject)
        if subject not in assessment.gone:
            out.events.append(("recovered", subject, was))
    return out


class SyncObserver:
    """One reconciler's: counts, logs and notifies what its syncs and deploys did."""

    def __init__(self, signals: Signals, store: StateStore, source: GitSource) -> None:
        self.signals = signals
        self.metrics: Metrics = signals.metrics
        self.config: Config = signals.config
        self.store = store
        self.source = source
        self._known: dict[str, Notice] | None = None  # the subjects last reported broken (the store's, as last read)

    # syncs

    async def observe(self, result: SyncResult) -> None:
        if result.status == RunStatus.ALREADY_RUNNING:
            return
        self._count(result)
        self._log(result)
        if self.signals.outbox.targets:
            await self._notify(result)

    def _count(self, result: SyncResult) -> None:
        status = str(result.status)
        self.metrics.add(SYNCS, trigger_label(result.trigger), status)
        if result.started_at is not None:
            self.metrics.add(SYNC_SECONDS, value=(datetime.now(UTC) - result.started_at).total_seconds())
        self.metrics.add(LAST_SYNC, status, value=datetime.now(UTC).timestamp())
        for outcome in result.outcomes:
            if outcome.action != Action.NOOP and (outcome.wrote or not outcome.ok):
                self.metrics.add(APPLIES, outcome.kind, outcome.action, "succeeded" if outcome.ok else "failed")
        for kind, item in self._done(result):
            self.metrics.add(DRIFT_HEALED if kind == "drift_healed" else PRUNED, item.kind)

    @staticmethod
    def _done(result: SyncResult) -> list[tuple[str, PlanItem]]:
        """The heals and prunes the sync made (written, and succeeded)."""
        done = []
        for item, outcome in result.applied:
            if not (outcome.ok and outcome.wrote):
                continue
            if item.drift and item.action != Action.NOOP:
                done.append(("drift_healed", item))
            elif item.action == Action.DELETE:
                done.append(("pruned", item))
        return done

    def _log(self, result: SyncResult) -> None:
        for item, outcome in result.applied:
            if outcome.action == Action.NOOP and outcome.ok:
                continue
            fields = {
                "kind": str(item.kind),
                "name": item.name,
                "action": outcome.action,
                "result": "succeeded" if outcome.ok else "failed",
                "temporal_id": item.temporal_id,
                "drift": item.drift,
            }
            level = logging.INFO if outcome.ok else logging.WARNING
            log.log(
                level, "%s %s: %s %s", item.kind, item.name, outcome.action, outcome.message, extra={"fields": fields}
            )
        for error in result.plan.errors if result.plan else []:
            where = {"file": error.file, "key_path": error.path, "line": error.line}
            log.warning("%s: %s: %s", error.file, error.path, error.message, extra={"fields": where})

    async def _notify(self, result: SyncResult) -> None:
        assessment = assess(result)
        fresh = self._known is None or result.plan is not None  # once per process, then whenever a sync planned
        known = await self._load() if fresh or self._known is None else self._known
        changes = transitions(assessment, known)
        if changes and not fresh:  # a poll saw a change: decide on the store's state, not this copy
            known = await self._load()
            changes = transitions(assessment, known)
        self._known = known
        if changes.put or changes.drop:
            await call(self.store, self.store.put_notices, changes.put, changes.drop)
            for subject in changes.drop:
                self._known.pop(subject, None)
            self._known.update({subject: Notice.load(text) for subject, text in changes.put.items()})
        wanted = [
            (kind, subject, notice) for kind, subject, notice in changes.events if self.signals.outbox.wants(kind)
        ]
        done = [(kind, item) for kind, item in self._done(result) if self.signals.outbox.wants(kind)]
        if not wanted and not done:
            return
        commit = await asyncio.to_thread(self._commit_message, result.revision)
        events = [self._event(kind, subject, notice, result, assessment, commit) for kind, subject, notice in wanted]
        events += [self._done_event(kind, item, result, commit) for kind, item in done]
        self.signals.outbox.post(events)

    async def _load(self) -> dict[str, Notice]:
        stored = await call(self.store, self.store.notices)
        return {subject: Notice.load(text) for subject, text in stored.items()}

    def _commit_message(self, revision: str | None) -> str | None:
        if not revision:
            return None
        try:
            return self.source.message(revision)
        except Exception:  # an unknown revision, a cache being replaced: the message is optional
            return None

    # events

    def _links(self, kind: str | None, name: str | None, item: PlanItem | None, revision: str | None) -> dict[str, str]:
        links: dict[str, str] = {}
        public = self.config.public_url.rstrip("/") if self.config.public_url else None
        page = object_page(kind, name) if kind and name else "/ui/syncs"
        if public and page:
            links["dashboard"] = public + page
        if item is not None and item.target is not None and kind:
            server, namespace = item.target
            ui = self.config.temporalio.server(server).ui_url
            if temporal := temporal_page(ui, kind, namespace, item.temporal_id):
                links["temporal"] = temporal
        if revision and (commit := self.config.repository.commit_url(revision)):
            links["commit"] = commit
        return links

    def _file_kind(self, path: str) -> str:
        return str(Kind.WORKER) if under(path, [self.config.workers_dir]) else str(Kind.TASK)

    def _event(
        self,
        kind: str,
        subject: str,
        notice: Notice,
        result: SyncResult,
        assessment: Assessment,
        commit: str | None,
    ) -> Event:
        if kind == "recovered":
            what = "the sync succeeds again" if subject == SYNC else "back to Synced"
            message = f"{what} (it was: {notice.message})"
            revision = result.revision
        else:
            message, revision = notice.message, notice.revision or result.revision
        link_kind = notice.object_kind or (self._file_kind(notice.file) if notice.file else None)
        return Event(
            kind,
            subject,
            scrub(message),
            object_kind=notice.object_kind,
            name=notice.name,
            file=notice.file,
            key_path=notice.key_path,
            revision=revision,
            commit_message=commit if revision == result.revision else None,
            sync_id=result.id or None,
            instance=self.config.instance,
            links=self._links(link_kind, notice.name, assessment.items.get(subject), revision),
        )

    def _done_event(self, kind: str, item: PlanItem, result: SyncResult, commit: str | None) -> Event:
        return Event(
            kind,
            f"{item.kind}:{item.name}",
            scrub(item.reason),
            object_kind=str(item.kind),
            name=item.name,
            file=item.path,
            revision=result.revision,
            commit_message=commit,
            sync_id=result.id or None,
            instance=self.config.instance,
            links=self._links(str(item.kind), item.name, item, result.revision),
        )

    # deploys

    async def deployed(self, deployed: Deployed) -> None:
        result = "failed" if deployed.error is not None else "succeeded"
        self.metrics.add(DEPLOYS, deployed.runner, result)
        self.metrics.add(DEPLOY_SECONDS, value=deployed.seconds)
        fields: dict[str, Any] = {
            "task": deployed.task,
            "runner": deployed.runner,
            "result": result,
            "duration": round(deployed.seconds, 6),
        }
        if deployed.result is not None:
            done = deployed.result
            fields |= {"action": done.action, "temporal_id": done.schedule_id or done.workflow_id}
            log.info("deploy %s: %s", deployed.task, done.action, extra={"fields": fields})
            return
        log.warning("deploy %s failed: %s", deployed.task, deployed.error, extra={"fields": fields})
        if getattr(deployed.error, "kind", None) == "not_found" or not self.signals.outbox.wants("deploy_failed"):
            return  # an unknown task is the caller's mistake, not an incident
        event = Event(
            "deploy_failed",
            f"deploy:{deployed.task}",
            scrub(str(deployed.error)),
            object_kind="task",
            name=deployed.task,
            instance=self.config.instance,
            links=self._links("task", deployed.task, None, None),
        )
        self.signals.outbox.post([event])


def attach(reconciler: Reconciler, signals: Signals) -> SyncObserver:
    """Make the reconciler's syncs and deploys signal through `signals`."""
    observer = SyncObserver(signals, reconciler.store, reconciler.source)
    reconciler.observers.append(observer.observe)
    reconciler.deploy_observers.append(observer.deployed)
    return observer


async def measure_state(store: StateStore, metrics: Metrics, scope: str = LEASE) -> None:
    """Set the gauges of the managed set from the state store (what every process shares):
    objects by kind and status, and the broken files at the synced revision."""
    counts = await asyncio.to_thread(store.tally_objects)  # a scan of the records: never on the event loop
    meta = await call(store, store.meta, scope)
    for kind in Kind:
        for status in SyncStatus:
            metrics.add(OBJECTS, str(kind), str(status), value=counts.get((str(kind), str(status)), 0))
    metrics.add(FILE_ERRORS, value=len(meta.errors))
