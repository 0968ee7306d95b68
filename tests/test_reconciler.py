"""The GitOps loop end to end: real git repositories, the real dev server, the temporal CLI."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from launchpad.config import Config, parse_config
from launchpad.devserver import DevServer
from launchpad.state import FileError
from launchpad.state.records import LeaseGrant
from launchpad.state.sqlite import SqliteStateStore
from reconciler.sync import Reconciler, SyncResult
from tests.conftest import ENGINE_QUEUE, Engine
from tests.gitrepo import GitRepo
from tests.helpers import SCHEDULE_TASK, eventually, gitops_yaml, temporal_json

SCHEDULE = SCHEDULE_TASK
SERVICE = """
name: {name}
runner: WorkflowRunner
deploy_on_server_start: true
on_change: {on_change}
workflow:
  task_queue: {queue}
  workflow_id: {wid}
  workflow: AwaitedTask
  workflow_kwargs: {{activity: one, args: [{arg}]}}
"""
WORKER = """
worker:
  task_queue: {queue}
  workflows: [Task]
  activities: [zero]
"""


def gitops_config(server: DevServer, root: Path, repo: GitRepo, extra: str = "") -> Config:
    return parse_config(gitops_yaml(server, repo.remote, root, extra), "gitops.yaml", env={})


@dataclass
class GitOps:
    repo: GitRepo
    reconciler: Reconciler
    server: DevServer
    prefix: str

    def sid(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def schedule(self, name: str, every: str = "1h") -> None:
        text = SCHEDULE.format(name=name, sid=self.sid(name), queue=ENGINE_QUEUE, every=every)
        self.repo.write(f"deployments/tasks/{name}.yaml", text)

    def service(self, name: str, arg: str = "v1", on_change: str = "keep") -> None:
        text = SERVICE.format(name=name, wid=self.sid(name), queue=ENGINE_QUEUE, arg=arg, on_change=on_change)
        self.repo.write(f"deployments/tasks/{name}.yaml", text)

    async def sync(self, *, hard: bool = False) -> SyncResult:
        """A refresh (only what changed in git), or with `hard` a drift scan (Temporal compared in full)."""
        return await self.reconciler.sync("test", hard=hard)

    def describe(self, name: str) -> dict:
        return temporal_json(self.server, "schedule", "describe", "--schedule-id", self.sid(name))

    def status(self) -> dict[tuple[str, str], object]:
        return {(o.kind, o.name): o for o in self.reconciler.store.objects()}


@pytest.fixture
def gitops(tmp_path: Path, engine: Engine) -> Iterator[GitOps]:
    repo = GitRepo(tmp_path)
    config = gitops_config(engine.server, tmp_path, repo)
    reconciler = Reconciler(config, SqliteStateStore(str(tmp_path / "state.db")), connections=engine.connections)
    yield GitOps(repo, reconciler, engine.server, f"t{uuid.uuid4().hex[:6]}")


def schedule_ids(server: DevServer) -> set[str]:
    return {s["scheduleId"] for s in temporal_json(server, "schedule", "list") or []}


async def listed_schedules(server: DevServer, expected: set[str], timeout: float = 10.0) -> set[str]:
    """The schedule listing once it shows `expected`: the listing comes from
    visibility, which can trail the creates by a moment on a busy machine."""

    async def shown() -> set[str] | None:
        listed = await asyncio.to_thread(schedule_ids, server)
        return listed if listed == expected else None

    return await eventually(shown, timeout, f"the listing showing {sorted(expected)}", interval=0.2)


async def test_first_sync_creates_exactly_the_described_objects(gitops: GitOps) -> None:
    gitops.schedule("nightly")
    gitops.schedule("hourly", every="1h")
    gitops.service("listener")
    gitops.repo.write("deployments/workers/w.yaml", WORKER.format(queue=ENGINE_QUEUE))
    gitops.repo.write(
        "deployments/tasks/on-demand.yaml",
        SERVICE.format(name="on-demand", wid="x", queue="q", arg=1, on_change="keep").replace(
            "deploy_on_server_start: true\n", ""
        ),
    )
    head = gitops.repo.commit("first")
    result = await gitops.sync()
    assert result.status == "succeeded", result
    assert result.revision == head
    assert {gitops.sid("nightly"), gitops.sid("hourly")} <= schedule_ids(gitops.server)
    running = temporal_json(
        gitops.server,
        "workflow",
        "list",
        "--query",
        f"WorkflowId='{gitops.sid('listener')}' AND ExecutionStatus='Running'",
    )
    assert len(running) == 1
    status = gitops.status()
    assert set(status) == {("schedule", "nightly"), ("schedule", "hourly"), ("task", "listener"), ("worker", "w")}
    assert {o.status for o in status.values()} == {"Synced"}
    assert result.writes == 3  # two schedules, one workflow start; the on-demand task is not reconciled


async def test_a_changed_file_writes_only_its_object(gitops: GitOps) -> None:
    for name in ("a", "b", "c"):
        gitops.schedule(name)
    gitops.repo.commit()
    await gitops.sync()
    tokens = {n: gitops.describe(n)["conflictToken"] for n in ("a", "b", "c")}
    noop = await gitops.sync()
    assert noop.status == "succeeded" and noop.writes == 0
    gitops.schedule("b", every="30m")
    head = gitops.repo.commit("b every 30m")
    result = await gitops.sync()
    assert result.writes == 1
    assert [o.name for o in result.outcomes if o.wrote] == ["b"]
    assert gitops.describe("a")["conflictToken"] == tokens["a"]
    assert gitops.describe("c")["conflictToken"] == tokens["c"]
    assert gitops.describe("b")["schedule"]["spec"]["interval"] == [{"interval": "1800s"}]
    assert gitops.status()[("schedule", "b")].revision == head


async def test_deleted_file_prunes_only_its_own_schedule(gitops: GitOps) -> None:
    gitops.schedule("keep")
    gitops.schedule("gone")
    gitops.repo.commit()
    await gitops.sync()
    lookalike = gitops.sid("gone") + "-manual"
    temporal_json(
        gitops.server,
        "schedule",
        "create",
        "--schedule-id",
        lookalike,
        "--interval",
        "1h",
        "--workflow-id",
        lookalike,
        "--task-queue",
        ENGINE_QUEUE,
        "--type",
        "Task",
    )
    gitops.repo.delete("deployments/tasks/gone.yaml")
    gitops.repo.commit("remove gone")
    result = await gitops.sync()
    assert result.status == "succeeded"
    ids = schedule_ids(gitops.server)
    assert gitops.sid("gone") not in ids
    assert gitops.sid("keep") in ids and lookalike in ids
    assert ("schedule", "gone") not in gitops.status()


async def test_emptying_the_tasks_folder_is_refused_without_allow_empty(gitops: GitOps, tmp_path: Path) -> None:
    gitops.schedule("only")
    gitops.repo.commit()
    await gitops.sync()
    gitops.repo.delete("deployments/tasks")
    gitops.repo.commit("oops")
    result = await gitops.sync()
    assert result.status == "refused" and "allow_empty" in result.message
    assert gitops.sid("only") in schedule_ids(gitops.server)
    allowing = gitops_config(gitops.server, tmp_path, gitops.repo, "reconciler: {allow_empty: true}")
    gitops.reconciler.config = allowing
    assert (await gitops.sync()).status == "succeeded"
    assert gitops.sid("only") not in schedule_ids(gitops.server)


async def test_a_broken_file_keeps_its_last_good_version(gitops: GitOps) -> None:
    gitops.schedule("stable")
    gitops.schedule("fragile")
    gitops.repo.commit()
    await gitops.sync()
    before = gitops.describe("fragile")["schedule"]["spec"]
    gitops.schedule("stable", every="2h")
    gitops.repo.write(
        "deployments/tasks/fragile.yaml",
        SCHEDULE.format(name="fragile", sid=gitops.sid("fragile"), queue=ENGINE_QUEUE, every="sometimes"),
    )
    head = gitops.repo.commit("one good change, one bad")
    result = await gitops.sync()
    assert gitops.describe("stable")["schedule"]["spec"]["interval"] == [{"interval": "7200s"}]
    assert gitops.describe("fragile")["schedule"]["spec"] == before
    assert result.errors == [
        FileError(
            file="deployments/tasks/fragile.yaml",
            path="workflow.intervals.0.every",
            message="invalid duration 'sometimes': use seconds, ISO 8601 (PT1H30M) or 1h30m",
            revision=head,
            line=8,  # `  intervals: [{every: sometimes}]`: the key `every`
            column=16,
        )
    ]
    fragile = gitops.status()[("schedule", "fragile")]
    assert fragile.status == "Degraded"
    assert "workflow.intervals.0.every" in fragile.reason and head[:12] in fragile.reason
    assert gitops.status()[("schedule", "stable")].status == "Synced"
    broken_yaml = await gitops.sync()  # still broken: still degraded, nothing written
    assert broken_yaml.writes == 0 and gitops.status()[("schedule", "fragile")].status == "Degraded"


async def test_git_revert_restores_the_previous_schedule_exactly(gitops: GitOps) -> None:
    gitops.schedule("rollback", every="1h")
    gitops.repo.commit("v1")
    await gitops.sync()
    original = gitops.describe("rollback")["schedule"]
    gitops.schedule("rollback", every="5m")
    gitops.repo.commit("v2")
    await gitops.sync()
    assert gitops.describe("rollback")["schedule"] != original
    gitops.repo.git("revert", "--no-edit", "HEAD")
    gitops.repo.push()
    result = await gitops.sync()
    assert result.writes == 1
    assert gitops.describe("rollback")["schedule"] == original


async def test_drift_is_healed_and_operator_pauses_survive(gitops: GitOps) -> None:
    gitops.schedule("healed")
    gitops.schedule("paused")
    gitops.repo.commit()
    await gitops.sync()
    temporal_json(gitops.server, "schedule", "delete", "--schedule-id", gitops.sid("healed"))
    temporal_json(
        gitops.server, "schedule", "toggle", "--schedule-id", gitops.sid("paused"), "--pause", "--reason", "ops"
    )
    assert (await gitops.sync()).writes == 0, "a refresh does not look at Temporal"
    result = await gitops.sync(hard=True)
    assert [(o.name, o.action) for o in result.outcomes if o.wrote] == [("healed", "create")]
    assert gitops.sid("healed") in schedule_ids(gitops.server)
    for _ in range(2):
        await gitops.sync(hard=True)
        assert gitops.describe("paused")["schedule"]["state"] == {"notes": "ops", "paused": True}


async def test_drift_changed_out_of_band_is_restored(gitops: GitOps) -> None:
    gitops.schedule("tampered", every="1h")
    gitops.repo.commit()
    await gitops.sync()
    await gitops.sync()  # the second sync adopts the server's form of the spec
    client = await gitops.reconciler.connections.client()
    handle = client.get_schedule_handle(gitops.sid("tampered"))

    async def tamper(update):  # type: ignore[no-untyped-def]
        from datetime import timedelta

        from temporalio.client import ScheduleIntervalSpec, ScheduleUpdate

        update.description.schedule.spec.intervals = [ScheduleIntervalSpec(every=timedelta(minutes=1))]
        return ScheduleUpdate(schedule=update.description.schedule)

    await handle.update(tamper)
    result = await gitops.sync(hard=True)
    assert [(o.name, o.message) for o in result.outcomes if o.wrote] == [("tampered", "updated")]
    assert gitops.describe("tampered")["schedule"]["spec"]["interval"] == [{"interval": "3600s"}]


async def test_hand_edits_a_listing_cannot_see_are_healed_by_the_verification(
    tmp_path: Path, engine: Engine, gitops: GitOps
) -> None:
    """An edit of a schedule's arguments or policies keeps its spec, so the listing a drift scan
    reads shows nothing: the verification (every `verify_interval`, and `--hard`) describes it."""
    from datetime import timedelta

    from temporalio.client import ScheduleActionStartWorkflow, ScheduleOverlapPolicy, ScheduleUpdate

    def reconciler_every(verify: str) -> Reconciler:
        """A drift scan at every sync, a verification every `verify`; the state shared."""
        more = f"reconciler: {{drift_interval: 0s, verify_interval: {verify}}}"
        config = gitops_config(engine.server, tmp_path, gitops.repo, more)
        return Reconciler(config, gitops.reconciler.store, connections=engine.connections)

    reconciler = reconciler_every("1d")
    gitops.schedule("argued")
    gitops.schedule("overlapped")
    gitops.repo.commit()
    await reconciler.sync("test")
    client = await engine.connections.client()

    async def arguments(update):  # type: ignore[no-untyped-def]
        action = update.description.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        action.args = [{"activity": "one", "args": ["by hand"]}]
        return ScheduleUpdate(schedule=update.description.schedule)

    async def overlap(update):  # type: ignore[no-untyped-def]
        update.description.schedule.policy.overlap = ScheduleOverlapPolicy.ALLOW_ALL
        update.description.schedule.policy.catchup_window = timedelta(minutes=5)
        return ScheduleUpdate(schedule=update.description.schedule)

    original = {name: gitops.describe(name)["schedule"] for name in ("argued", "overlapped")}
    await client.get_schedule_handle(gitops.sid("argued")).update(arguments)
    await client.get_schedule_handle(gitops.sid("overlapped")).update(overlap)
    scan = await reconciler.sync("test")
    assert scan.drift_scan and scan.writes == 0, "a drift scan's listing shows neither edit"
    assert gitops.describe("argued")["schedule"] != original["argued"]
    plan, _ = await reconciler.plan(verify=True)
    assert sorted((i.name, i.reason) for i in plan.items if i.drift) == [
        ("argued", "drift: changed out of band; restoring"),
        ("overlapped", "drift: changed out of band; restoring"),
    ], "`launchpad plan` verifies: it shows what the next verification heals"
    healed = await reconciler_every("0s").sync("test")  # its verification is due
    assert sorted((o.name, o.message) for o in healed.outcomes if o.wrote) == [
        ("argued", "updated"),
        ("overlapped", "updated"),
    ]
    for name in ("argued", "overlapped"):
        assert gitops.describe(name)["schedule"] == original[name]
    assert (await reconciler.sync("test", hard=True)).writes == 0, "a verification right after writes nothing"
    assert reconciler.store.meta("sync").verified_at is not None


async def test_deploy_on_start_tasks_keep_or_restart(gitops: GitOps) -> None:
    gitops.service("kept", arg="v1", on_change="keep")
    gitops.service("restarted", arg="v1", on_change="restart")
    gitops.repo.commit()
    await gitops.sync()
    client = await gitops.reconciler.connections.client()
    first = {n: (await client.get_workflow_handle(gitops.sid(n)).describe()).run_id for n in ("kept", "restarted")}
    assert (await gitops.sync()).writes == 0, "running at the current version: left alone"
    gitops.service("kept", arg="v2", on_change="keep")
    gitops.service("restarted", arg="v2", on_change="restart")
    gitops.repo.commit("v2")
    await gitops.sync()
    assert (await client.get_workflow_handle(gitops.sid("kept")).describe()).run_id == first["kept"]
    assert gitops.status()[("task", "kept")].status == "OutOfSync"
    assert (await client.get_workflow_handle(gitops.sid("restarted")).describe()).run_id != first["restarted"]
    assert gitops.status()[("task", "restarted")].status == "Synced"
    await client.get_workflow_handle(gitops.sid("kept")).terminate()
    result = await gitops.sync(hard=True)
    assert [(o.name, o.action) for o in result.outcomes if o.wrote] == [("kept", "start")]
    for name in ("kept", "restarted"):
        await client.get_workflow_handle(gitops.sid(name)).terminate()


async def test_concurrent_triggers_one_runs_one_follow_up(gitops: GitOps, tmp_path: Path) -> None:
    for name in ("p", "q"):
        gitops.schedule(name)
    head = gitops.repo.commit()
    other = Reconciler(
        gitops.reconciler.config,
        SqliteStateStore(str(tmp_path / "state.db")),
        connections=gitops.reconciler.connections,
    )
    first, second = await asyncio.gather(gitops.sync(), other.sync("second"))
    statuses = sorted([first.status, second.status])
    assert statuses == ["already_running", "succeeded"]
    ran = first if first.status == "succeeded" else second
    assert len(ran.follow_ups) == 1, "exactly one follow-up"
    assert ran.follow_ups[0].message == "up to date", "it found nothing new: not recorded"
    assert len(gitops.reconciler.store.syncs()) == 1
    assert gitops.status()[("schedule", "p")].revision == head
    listed = [s for s in schedule_ids(gitops.server) if s.startswith(gitops.prefix)]
    assert sorted(listed) == sorted([gitops.sid("p"), gitops.sid("q")])


@pytest.mark.temporal  # a dev server of its own, stopped and started again
async def test_a_temporal_outage_fails_the_sync_cleanly_and_the_next_converges(tmp_path: Path) -> None:
    server = DevServer(db_file=tmp_path / "temporal.db").start()
    try:
        repo = GitRepo(tmp_path)
        names = [f"o{i:02d}" for i in range(40)]
        for name in names:
            repo.write(f"deployments/tasks/{name}.yaml", SCHEDULE.format(name=name, sid=name, queue="q", every="1h"))
        repo.commit()
        config = gitops_config(server, tmp_path, repo, "reconciler: {concurrency: 2}")
        reconciler = Reconciler(config, SqliteStateStore(str(tmp_path / "state.db")))
        syncing = asyncio.create_task(reconciler.sync("test"))
        while len(await asyncio.to_thread(schedule_ids, server)) < 4:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(server.stop)
        failed = await syncing
        assert failed.status == "failed" and "unavailable" in failed.message.lower()
        recorded = {o.name for o in reconciler.store.objects()}
        assert 4 <= len(recorded) < len(names), "only what reached Temporal is recorded"

        server.start()
        converged = await reconciler.sync("test")
        assert converged.status == "succeeded", converged
        assert await listed_schedules(server, set(names)) == set(names)
        assert {o.name for o in reconciler.store.objects()} == set(names)
        assert (await reconciler.sync("test")).writes == 0
    finally:
        server.stop()


class StoreThatFailsOnce(SqliteStateStore):
    """The SQLite store, whose first lease request fails as a locked or unreachable store does."""

    failed = False

    def acquire_lease(self, scope: str, holder: str, ttl: float, *, take_from: str | None = None) -> LeaseGrant | None:
        if not self.failed:
            self.failed = True
            raise sqlite3.OperationalError("database is locked")
        return super().acquire_lease(scope, holder, ttl, take_from=take_from)


async def test_the_sync_loop_outlives_a_state_store_failure(tmp_path: Path, engine: Engine) -> None:
    """`reconcile --watch`, `launchpad start` and `dev` keep syncing after the state store failed
    once while the lease was taken: the exception ended the loop, and the process with it."""
    repo = GitRepo(tmp_path)
    sid = f"loop-{uuid.uuid4().hex[:6]}"
    repo.write(
        "deployments/tasks/nightly.yaml", SCHEDULE.format(name="nightly", sid=sid, queue=ENGINE_QUEUE, every="1h")
    )
    repo.commit()
    store = StoreThatFailsOnce(str(tmp_path / "state.db"))
    reconciler = Reconciler(gitops_config(engine.server, tmp_path, repo), store, connections=engine.connections)
    stop = asyncio.Event()
    results: list[SyncResult] = []
    loop = asyncio.create_task(reconciler.watch(0.05, stop, on_result=results.append))
    await eventually(lambda: bool(results) or loop.done(), 30, "a sync after the failed turn")
    stop.set()
    await loop  # it ended because it was asked to, not by the store's exception
    assert store.failed and results[0].status == "succeeded" and sid in schedule_ids(engine.server)


async def test_a_create_refused_by_a_foreign_schedule_goes_once_that_one_is_gone(
    tmp_path: Path, engine: Engine
) -> None:
    """The create failed (another schedule held the id) and left no version behind: once the
    operator removed that schedule, the next drift scan creates it. Its record used to claim the
    version was applied, and with self_heal off the schedule was taken as deleted out of band."""
    repo = GitRepo(tmp_path)
    sid = f"held-{uuid.uuid4().hex[:6]}"
    schedule = ["schedule", "create", "--schedule-id", sid, "--interval", "5m", "--workflow-id", "foreign"]
    temporal_json(engine.server, *schedule, "--task-queue", ENGINE_QUEUE, "--type", "Task", "--paused")
    repo.write("deployments/tasks/held.yaml", SCHEDULE.format(name="held", sid=sid, queue=ENGINE_QUEUE, every="1h"))
    repo.commit()
    config = gitops_config(engine.server, tmp_path, repo, "reconciler: {self_heal: false}")
    reconciler = Reconciler(config, SqliteStateStore(str(tmp_path / "state.db")), connections=engine.connections)
    [refused] = (await reconciler.sync("test", hard=True)).outcomes
    assert not refused.ok and "held by a schedule launchpad did not create" in refused.message
    temporal_json(engine.server, "schedule", "delete", "--schedule-id", sid)
    [created] = (await reconciler.sync("test", hard=True)).outcomes
    assert (created.action, created.ok, created.wrote) == ("create", True, True), created
    described = temporal_json(engine.server, "schedule", "describe", "--schedule-id", sid)
    assert "launchpad" in described["schedule"]["action"]["startWorkflow"]["memo"]["fields"]
