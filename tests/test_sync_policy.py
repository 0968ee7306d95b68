"""Sync policy per task, overrides and dependencies, against the dev server: each proven with a
hand edit (through the SDK or the temporal CLI, as an operator makes one) or a removed file."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import (
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from launchpad.config import NamespaceConfig
from launchpad.state import SyncStatus
from launchpad.state.sqlite import SqliteStateStore
from reconciler import overrides
from reconciler.sync import Reconciler
from tests.aws import moto_server  # noqa: F401
from tests.conftest import ENGINE_QUEUE, Engine
from tests.gitrepo import GitRepo
from tests.helpers import gitops_config_file, temporal_json
from tests.test_reconciler import SCHEDULE, GitOps, gitops, gitops_config, schedule_ids  # noqa: F401
from tests.test_state_stores import Backend, backend  # noqa: F401


def task(ops: GitOps, name: str, every: str = "1h", more: str = "") -> None:
    text = SCHEDULE.format(name=name, sid=ops.sid(name), queue=ENGINE_QUEUE, every=every)
    ops.repo.write(f"deployments/tasks/{name}.yaml", text.lstrip() + more)


async def hand_edit(ops: GitOps, name: str, edit: Callable[[ScheduleUpdateInput], None]) -> None:
    """An operator's edit of the live schedule (the SDK, as a script or the UI would make it)."""
    client = await ops.reconciler.connections.client()

    async def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        edit(current)
        return ScheduleUpdate(schedule=current.description.schedule)

    await client.get_schedule_handle(ops.sid(name)).update(update)


def every(minutes: int) -> Callable[[ScheduleUpdateInput], None]:
    def edit(current: ScheduleUpdateInput) -> None:
        current.description.schedule.spec.intervals = [ScheduleIntervalSpec(every=timedelta(minutes=minutes))]

    return edit


def interval(ops: GitOps, name: str) -> str:
    return str(ops.describe(name)["schedule"]["spec"]["interval"][0]["interval"])


def status(ops: GitOps, name: str) -> tuple[str, str]:
    record = ops.status()[("schedule", name)]
    return str(record.status), record.reason  # type: ignore[attr-defined]


async def test_suspend_in_the_file_leaves_the_schedule_alone_until_the_file_resumes_it(gitops: GitOps) -> None:
    task(gitops, "frozen")
    gitops.repo.commit()
    await gitops.sync()
    task(gitops, "frozen", every="2h", more="sync: {suspend: true}\n")
    gitops.repo.commit("suspend, and change it meanwhile")
    result = await gitops.sync()
    assert result.writes == 0 and interval(gitops, "frozen") == "3600s"
    assert status(gitops, "frozen") == ("Suspended", "suspended (sync.suspend in the file)")
    await hand_edit(gitops, "frozen", every(5))
    healed = await gitops.sync(hard=True)
    assert healed.writes == 0 and interval(gitops, "frozen") == "300s", "a drift scan leaves it alone"
    task(gitops, "frozen", every="2h")
    gitops.repo.commit("resume")
    resumed = await gitops.sync()
    assert [(o.name, o.wrote) for o in resumed.outcomes] == [("frozen", True)]
    assert interval(gitops, "frozen") == "7200s" and status(gitops, "frozen")[0] == "Synced"


def cli(project_config: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launchpad", *args, "--config", str(project_config)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_launchpad_suspend_and_resume_from_the_command_line(gitops: GitOps, tmp_path: Path) -> None:
    config = gitops_config_file(gitops.server, gitops.repo.remote, tmp_path)
    task(gitops, "paged")
    task(gitops, "other")
    gitops.repo.commit()
    assert cli(config, tmp_path, "reconcile", "--once").returncode == 0

    done = cli(config, tmp_path, "suspend", "paged", "--reason", "incident 42")
    assert done.returncode == 0, done.stderr
    assert "paged suspended" in done.stdout
    shown = cli(config, tmp_path, "status")
    assert "Suspended" in shown.stdout and "incident 42" in shown.stdout
    task(gitops, "paged", every="2h")
    gitops.repo.commit("a change during the incident")
    await hand_edit(gitops, "paged", every(5))
    hard = cli(config, tmp_path, "reconcile", "--once", "--hard")
    assert hard.returncode == 0, hard.stdout + hard.stderr
    assert interval(gitops, "paged") == "300s", "neither the commit nor the drift is applied while suspended"
    store = SqliteStateStore(str(tmp_path / "state.db"))
    assert store.objects_named(["paged"])[0].status == SyncStatus.SUSPENDED
    assert "incident 42" in store.meta("sync").suspended["paged"]

    refused = cli(config, tmp_path, "resume", "other")
    assert refused.returncode == 1 and "other is not suspended" in refused.stderr
    unknown = cli(config, tmp_path, "suspend", "nothing-of-that-name")
    assert unknown.returncode == 1 and "no schedule or task named 'nothing-of-that-name'" in unknown.stderr

    resumed = cli(config, tmp_path, "resume", "paged")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "paged: update ok" in resumed.stdout
    assert interval(gitops, "paged") == "7200s"
    assert store.objects_named(["paged"])[0].status == SyncStatus.SYNCED
    assert store.meta("sync").suspended == {}


async def test_overrides_are_kept_in_either_state_store(gitops: GitOps, backend: Backend) -> None:
    store = backend.open()
    reconciler = Reconciler(gitops.reconciler.config, store, connections=gitops.reconciler.connections)
    task(gitops, "either")
    gitops.repo.commit()
    await reconciler.sync("test")
    await overrides.suspend(reconciler, "either", "maintenance")
    again = backend.open()  # another process, or Lambda container, reads it
    assert "maintenance" in again.meta("sync").suspended["either"]
    assert again.objects_named(["either"])[0].status == SyncStatus.SUSPENDED
    task(gitops, "either", every="3h")
    gitops.repo.commit()
    assert (await reconciler.sync("test")).writes == 0
    result = await overrides.resume(reconciler, "either")
    assert result.status == "succeeded" and interval(gitops, "either") == "10800s"
    assert again.meta("sync").suspended == {}


async def test_self_heal_off_per_task_reports_a_hand_edit_and_keeps_it(gitops: GitOps) -> None:
    task(gitops, "manual", more="sync: {self_heal: false}\n")
    task(gitops, "healed")
    gitops.repo.commit()
    await gitops.sync()
    await gitops.sync(hard=True)  # the fingerprints as the server holds them
    for name in ("manual", "healed"):
        await hand_edit(gitops, name, every(5))
    result = await gitops.sync(hard=True)
    assert [o.name for o in result.outcomes if o.wrote] == ["healed"]
    assert interval(gitops, "healed") == "3600s" and interval(gitops, "manual") == "300s"
    assert status(gitops, "manual") == ("OutOfSync", "drift: changed out of band (self_heal off)")


async def test_self_heal_off_keeps_reporting_an_edit_of_the_arguments_between_verifications(
    tmp_path: Path, engine: Engine, gitops: GitOps
) -> None:
    """A verification finds the edit and reports it; a drift scan between two verifications lists
    the spec alone, which cannot tell, so the report stays (it once flipped back to Synced)."""
    task(gitops, "manual", more="sync: {self_heal: false}\n")
    gitops.repo.commit()
    await gitops.sync()

    def arguments(current: ScheduleUpdateInput) -> None:
        action = current.description.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        action.args = [{"activity": "zero", "args": ["by hand"]}]

    await hand_edit(gitops, "manual", arguments)
    verified = await gitops.sync(hard=True)
    assert verified.writes == 0
    assert status(gitops, "manual") == ("OutOfSync", "drift: changed out of band (self_heal off)")
    scanning = gitops_config(engine.server, tmp_path, gitops.repo, "reconciler: {drift_interval: 0s}")
    scanner = Reconciler(scanning, gitops.reconciler.store, connections=engine.connections)
    scan = await scanner.sync("test")
    assert scan.drift_scan and scan.writes == 0
    assert status(gitops, "manual") == ("OutOfSync", "drift: changed out of band (self_heal off)")


async def test_prune_off_leaves_the_schedule_of_a_deleted_file_as_an_orphan(gitops: GitOps) -> None:
    task(gitops, "kept", more="sync: {prune: false}\n")
    task(gitops, "pruned")
    task(gitops, "stays")
    gitops.repo.commit()
    await gitops.sync()
    gitops.repo.delete("deployments/tasks/kept.yaml")
    gitops.repo.delete("deployments/tasks/pruned.yaml")
    gitops.repo.commit("remove two")
    await gitops.sync()
    ids = schedule_ids(gitops.server)
    assert gitops.sid("kept") in ids and gitops.sid("pruned") not in ids
    assert status(gitops, "kept") == ("OutOfSync", "orphan: file deleted, prune is off; the schedule stays")
    again = await gitops.sync(hard=True)
    assert again.writes == 0 and gitops.sid("kept") in schedule_ids(gitops.server)
    temporal_json(gitops.server, "schedule", "delete", "--schedule-id", gitops.sid("kept"))
    await gitops.sync(hard=True)
    assert ("schedule", "kept") not in gitops.status(), "deleted by hand: forgotten"


async def test_ignore_differences_lets_hand_edits_stay_also_through_an_update(gitops: GitOps) -> None:
    task(gitops, "tuned", more="ignore_differences: [spec.jitter, policies.overlap]\n")
    task(gitops, "strict")
    gitops.repo.commit()
    await gitops.sync()
    await gitops.sync(hard=True)

    def jitter_and_overlap(current: ScheduleUpdateInput) -> None:
        current.description.schedule.spec.jitter = timedelta(minutes=7)
        current.description.schedule.policy.overlap = ScheduleOverlapPolicy.BUFFER_ONE

    for name in ("tuned", "strict"):
        await hand_edit(gitops, name, jitter_and_overlap)
    scan = await gitops.sync(hard=True)
    assert [o.name for o in scan.outcomes if o.wrote] == ["strict"], "the jitter of `strict` is healed"
    assert gitops.describe("tuned")["schedule"]["spec"]["jitter"] == "420s"
    task(gitops, "tuned", every="2h", more="ignore_differences: [spec.jitter, policies.overlap]\n")
    gitops.repo.commit("tuned every 2h")
    updated = await gitops.sync()
    assert [o.name for o in updated.outcomes if o.wrote] == ["tuned"]
    live = gitops.describe("tuned")["schedule"]
    assert live["spec"]["interval"] == [{"interval": "7200s"}]
    assert (
        live["spec"]["jitter"] == "420s" and live["policies"]["overlapPolicy"] == "SCHEDULE_OVERLAP_POLICY_BUFFER_ONE"
    )
    assert (await gitops.sync(hard=True)).writes == 0, "what was written is what a listing shows, jitter left out"


async def test_depends_on_waits_for_a_broken_dependency_then_both_converge_in_one_sync(gitops: GitOps) -> None:
    gitops.repo.write(
        "deployments/tasks/base.yaml",
        SCHEDULE.format(name="base", sid=gitops.sid("base"), queue=ENGINE_QUEUE, every="sometimes"),
    )
    task(gitops, "dependant", more="depends_on: [base]\n")
    task(gitops, "unrelated")
    gitops.repo.commit("base is broken from its first commit")
    first = await gitops.sync()
    assert first.status == "degraded"
    ids = schedule_ids(gitops.server)
    assert gitops.sid("unrelated") in ids and gitops.sid("dependant") not in ids
    assert status(gitops, "dependant") == ("Missing", "waiting for 'base': its file is broken")

    task(gitops, "base")
    gitops.repo.commit("fix base")
    fixed = await gitops.sync()
    assert fixed.status == "succeeded", fixed
    assert [(o.name, o.action) for o in fixed.outcomes if o.wrote] == [("base", "create"), ("dependant", "create")]
    assert {gitops.sid("base"), gitops.sid("dependant")} <= schedule_ids(gitops.server)
    assert status(gitops, "dependant")[0] == status(gitops, "base")[0] == "Synced"

    gitops.repo.delete("deployments/tasks/base.yaml")
    gitops.repo.delete("deployments/tasks/dependant.yaml")
    gitops.repo.commit("remove both")
    pruned = await gitops.sync()
    assert [(o.name, o.action) for o in pruned.outcomes if o.wrote] == [("dependant", "delete"), ("base", "delete")]


@pytest.mark.temporal
async def test_namespaces_first_a_configured_namespace_is_registered_before_its_objects(
    tmp_path: Path, engine: Engine
) -> None:
    namespace = f"lp-new-{uuid.uuid4().hex[:6]}"
    repo = GitRepo(tmp_path)
    config = gitops_config(engine.server, tmp_path, repo)
    config.temporalio.servers[0].namespaces = [NamespaceConfig(name="default"), NamespaceConfig(name=namespace)]
    text = SCHEDULE.format(name="there", sid="there", queue=ENGINE_QUEUE, every="1h")
    repo.write("deployments/tasks/there.yaml", text.lstrip() + f"namespace: {namespace}\n")
    repo.commit()
    reconciler = Reconciler(config, SqliteStateStore(str(tmp_path / "state.db")))
    result = await reconciler.sync("test")
    assert result.status == "succeeded", result
    client = await reconciler.connections.client(namespace=namespace)
    assert (await client.get_schedule_handle("there").describe()).id == "there"


async def test_a_dependant_of_no_such_task_waits_and_the_sync_is_degraded(gitops: GitOps) -> None:
    task(gitops, "lonely", more="depends_on: [nobody]\n")
    gitops.repo.commit()
    result = await gitops.sync()
    assert result.status == "degraded" and result.writes == 0
    assert status(gitops, "lonely") == ("Missing", "waiting for 'nobody': missing: no reconciled task of that name")
    assert gitops.sid("lonely") not in schedule_ids(gitops.server)
