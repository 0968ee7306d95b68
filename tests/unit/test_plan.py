"""`make_plan` on in-memory values: every branch of the plan, without git, Temporal or a store."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from launchpad.config import ReconcilerConfig
from launchpad.state.records import AppliedObject, FileError, Kind, Policy, SyncStatus
from launchpad.temporal.memo import Owner
from reconciler.desired import DesiredObject, DesiredState
from reconciler.live import Live, LiveSchedule, LiveWorkflow
from reconciler.plan import Action, Plan, make_plan

ME = "me"
TARGET = ("local", "default")


def resolve(server: str | None, namespace: str | None) -> tuple[str, str]:
    return (server or "local", namespace or "default")


def desired(name: str, kind: Kind = Kind.SCHEDULE, spec: str = "v1", **more: object) -> DesiredObject:
    return DesiredObject(
        kind, name, f"tasks/{name}.yaml", f"blob-{spec}", spec, lambda: None, temporal_id=f"id-{name}", **more
    )  # type: ignore[arg-type, return-value]


def applied(name: str, kind: Kind = Kind.SCHEDULE, spec: str = "v1", **more: object) -> AppliedObject:
    values: dict[str, object] = {"temporal_id": f"id-{name}", "fingerprint": "fp1", "blob": f"blob-{spec}"}
    values.update(more)
    return AppliedObject(kind, name, f"tasks/{name}.yaml", "rev0", spec, **values)  # type: ignore[arg-type]


def policy(**values: object) -> Policy:
    return Policy(**values)  # type: ignore[arg-type]


def never_applied(name: str, status: SyncStatus = SyncStatus.MISSING, **more: object) -> AppliedObject:
    """The record of an object that waited or was suspended since its file appeared: no version runs."""
    return applied(name, spec="", blob="", fingerprint=None, status=status, **more)


MINE = Owner("", ME)  # the default owner: the schedule's own task, of this instance


def schedule(name: str, fp: str = "fp1", owner: Owner | None = MINE, sid: str | None = None) -> LiveSchedule:
    return LiveSchedule(sid or f"id-{name}", Owner(name, ME) if owner is MINE else owner, fp)


@dataclass
class Case:
    desired: list[DesiredObject] = field(default_factory=list)
    applied: list[AppliedObject] = field(default_factory=list)
    schedules: list[LiveSchedule] = field(default_factory=list)
    workflows: list[LiveWorkflow] = field(default_factory=list)
    complete: bool = True
    settings: ReconcilerConfig = field(default_factory=ReconcilerConfig)
    broken: set[str] = field(default_factory=set)
    managed: int | None = None
    errors: list[FileError] = field(default_factory=list)
    others: list[AppliedObject] = field(default_factory=list)
    suspended: dict[str, str] = field(default_factory=dict)

    def plan(self) -> Plan:
        state = DesiredState("rev1", {o.key: o for o in self.desired}, list(self.errors), broken=self.broken)
        live = Live(
            self.complete,
            {(TARGET, s.schedule_id): s for s in self.schedules},
            {(TARGET, w.workflow_id): w for w in self.workflows},
        )
        return make_plan(
            state,
            self.applied,
            live,
            self.settings,
            resolve,
            instance=ME,
            managed=self.managed,
            others=self.others,
            suspended=self.suspended,
        )


def actions(plan: Plan) -> list[tuple[str, str, str]]:
    return [(str(i.kind), i.name, str(i.action)) for i in plan.items]


CASES = {
    # schedules, with a drift scan (the listing is complete)
    "new file: create": (Case([desired("a")]), [("schedule", "a", "create")]),
    "unchanged: noop": (Case([desired("a")], [applied("a")], [schedule("a")]), [("schedule", "a", "noop")]),
    "file changed: update": (
        Case([desired("a", spec="v2")], [applied("a")], [schedule("a")]),
        [("schedule", "a", "update")],
    ),
    "changed out of band: heal": (
        Case([desired("a")], [applied("a")], [schedule("a", fp="hand-edited")]),
        [("schedule", "a", "update")],
    ),
    "changed out of band, self_heal off: noop": (
        Case([desired("a")], [applied("a")], [schedule("a", fp="x")], settings=ReconcilerConfig(self_heal=False)),
        [("schedule", "a", "noop")],
    ),
    "deleted out of band: recreate": (Case([desired("a")], [applied("a")], []), [("schedule", "a", "create")]),
    "exists, not recorded (a sync died): adopt": (
        Case([desired("a")], [], [schedule("a")]),
        [("schedule", "a", "update")],
    ),
    "id held by an unmanaged schedule: blocked": (
        Case([desired("a")], [], [schedule("a", owner=None)]),
        [("schedule", "a", "create")],
    ),
    "last apply failed: retry": (
        Case([desired("a")], [applied("a", error="boom")], [schedule("a")]),
        [("schedule", "a", "update")],
    ),
    "file deleted: prune": (Case([], [applied("a")], [schedule("a")]), [("schedule", "a", "delete")]),
    "file deleted, schedule already gone: forget": (Case([], [applied("a")], []), [("schedule", "a", "forget")]),
    "file deleted, id now held by another task: forget": (
        Case([], [applied("a")], [schedule("a", owner=Owner("b", "another"))]),
        [("schedule", "a", "forget")],
    ),
    "file deleted, prune off: noop": (
        Case([], [applied("a")], [schedule("a")], settings=ReconcilerConfig(prune=False)),
        [("schedule", "a", "noop")],
    ),
    "orphan of this instance: delete": (
        Case([desired("a")], [applied("a")], [schedule("a"), schedule("gone", sid="id-gone")]),
        [("schedule", "a", "noop"), ("schedule", "gone", "delete")],
    ),
    "unmanaged and other instances' schedules: untouched": (
        Case(
            [desired("a")],
            [applied("a")],
            [schedule("a"), schedule("u", owner=None), schedule("o", owner=Owner("o", "another"))],
        ),
        [("schedule", "a", "noop")],
    ),
    "a broken file's schedule is no orphan": (
        Case([], [], [schedule("broken")], broken={"broken"}),
        [],
    ),
    "broken file keeps its last good version": (
        Case([desired("a", last_good=True)], [applied("a")], [schedule("a")]),
        [("schedule", "a", "noop")],
    ),
    "paused by an operator: not drift": (
        Case([desired("a")], [applied("a")], [schedule("a")]),
        [("schedule", "a", "noop")],
    ),
    # schedules, on a refresh (nothing listed: the state store is trusted)
    "refresh, new file: create": (Case([desired("a")], complete=False), [("schedule", "a", "create")]),
    "refresh, changed: update": (
        Case([desired("a", spec="v2")], [applied("a")], complete=False),
        [("schedule", "a", "update")],
    ),
    "refresh, unchanged: noop": (Case([desired("a")], [applied("a")], complete=False), [("schedule", "a", "noop")]),
    "refresh, deleted: delete (checked on the server)": (
        Case([], [applied("a")], complete=False, managed=2),
        [("schedule", "a", "delete")],
    ),
    # deploy-on-start tasks
    "task not running: start": (
        Case([desired("t", Kind.TASK)], workflows=[LiveWorkflow("id-t", running=False)]),
        [("task", "t", "start")],
    ),
    "task running at this version: noop": (
        Case([desired("t", Kind.TASK)], [applied("t", Kind.TASK)], workflows=[LiveWorkflow("id-t", True)]),
        [("task", "t", "noop")],
    ),
    "task changed, on_change restart: restart": (
        Case(
            [desired("t", Kind.TASK, spec="v2", on_change="restart")],
            [applied("t", Kind.TASK)],
            workflows=[LiveWorkflow("id-t", True)],
        ),
        [("task", "t", "restart")],
    ),
    "task changed, on_change keep: noop, out of sync": (
        Case([desired("t", Kind.TASK, spec="v2")], [applied("t", Kind.TASK)], workflows=[LiveWorkflow("id-t", True)]),
        [("task", "t", "noop")],
    ),
    "task file deleted: forget (the workflow runs on)": (
        Case([desired("a")], [applied("a"), applied("t", Kind.TASK)], [schedule("a")]),
        [("schedule", "a", "noop"), ("task", "t", "forget")],
    ),
    # sync policy per task
    "suspended by its file: noop": (
        Case([desired("a", spec="v2", policy=policy(suspend=True))], [applied("a")], [schedule("a", fp="x")]),
        [("schedule", "a", "noop")],
    ),
    "suspended by an override: noop, even when changed": (
        Case([desired("a", spec="v2")], [applied("a")], complete=False, suspended={"a": "ops"}),
        [("schedule", "a", "noop")],
    ),
    "suspended task: not started": (
        Case([desired("t", Kind.TASK, policy=policy(suspend=True))], workflows=[LiveWorkflow("id-t", False)]),
        [("task", "t", "noop")],
    ),
    "resumed (was suspended), refresh: rewritten": (
        Case([desired("a")], [applied("a", status=SyncStatus.SUSPENDED)], complete=False),
        [("schedule", "a", "update")],
    ),
    "resumed, drift scan, unchanged: rewritten": (
        Case([desired("a")], [applied("a", status=SyncStatus.SUSPENDED)], [schedule("a")]),
        [("schedule", "a", "update")],
    ),
    "never applied (suspended since new), resumed: create": (
        Case([desired("a")], [never_applied("a", SyncStatus.SUSPENDED)], complete=False),
        [("schedule", "a", "create")],
    ),
    "self_heal off in the file, config on: noop": (
        Case([desired("a", policy=policy(self_heal=False))], [applied("a")], [schedule("a", fp="x")]),
        [("schedule", "a", "noop")],
    ),
    "self_heal on in the file, config off: heal": (
        Case(
            [desired("a", policy=policy(self_heal=True))],
            [applied("a")],
            [schedule("a", fp="x")],
            settings=ReconcilerConfig(self_heal=False),
        ),
        [("schedule", "a", "update")],
    ),
    "self_heal off in the file, deleted by hand: noop, missing": (
        Case([desired("a", policy=policy(self_heal=False))], [applied("a")], []),
        [("schedule", "a", "noop")],
    ),
    "file deleted, prune off in its last version: noop (orphan)": (
        Case([desired("b")], [applied("a", policy=policy(prune=False)), applied("b")], [schedule("a"), schedule("b")]),
        [("schedule", "b", "noop"), ("schedule", "a", "noop")],
    ),
    "file deleted, prune on in its last version, config off: delete": (
        Case(
            [desired("b")],
            [applied("a", policy=policy(prune=True)), applied("b")],
            [schedule("a"), schedule("b")],
            settings=ReconcilerConfig(prune=False),
        ),
        [("schedule", "b", "noop"), ("schedule", "a", "delete")],
    ),
    "file deleted, prune off, deleted by hand since: forget": (
        Case([desired("b")], [applied("a", policy=policy(prune=False)), applied("b")], [schedule("b")]),
        [("schedule", "b", "noop"), ("schedule", "a", "forget")],
    ),
    "file deleted while suspended by an override: left alone": (
        Case([desired("b")], [applied("a"), applied("b")], [schedule("a"), schedule("b")], suspended={"a": "ops"}),
        [("schedule", "b", "noop"), ("schedule", "a", "noop")],
    ),
    "file deleted, never applied: forget": (
        Case([desired("b")], [never_applied("a"), applied("b")], [schedule("b")]),
        [("schedule", "b", "noop"), ("schedule", "a", "forget")],
    ),
    # workers
    "new worker: start": (Case([desired("w", Kind.WORKER)]), [("worker", "w", "start")]),
    "worker changed: reload": (
        Case([desired("w", Kind.WORKER, spec="v2")], [applied("w", Kind.WORKER)]),
        [("worker", "w", "reload")],
    ),
    "worker deleted: stop": (Case([], [applied("w", Kind.WORKER)]), [("worker", "w", "stop")]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_plan(name: str) -> None:
    case, expected = CASES[name]
    assert actions(case.plan()) == expected


def test_every_action_is_covered() -> None:
    covered = {action for _, expected in CASES.values() for (_, _, action) in expected}
    assert covered == {str(a) for a in Action}


def test_drift_heals_with_force_and_says_why() -> None:
    [item] = Case([desired("a")], [applied("a")], [schedule("a", fp="hand-edited")]).plan().items
    assert item.drift and "changed out of band" in item.reason and item.status == SyncStatus.SYNCED


def test_self_heal_off_reports_instead_of_writing() -> None:
    off = ReconcilerConfig(self_heal=False)
    [edited] = Case([desired("a")], [applied("a")], [schedule("a", fp="x")], settings=off).plan().items
    [deleted] = Case([desired("a")], [applied("a")], [], settings=off).plan().items
    assert (edited.status, deleted.status) == (SyncStatus.OUT_OF_SYNC, SyncStatus.MISSING)


def test_a_blocked_create_names_the_holder() -> None:
    [item] = Case([desired("a")], [], [schedule("a", owner=Owner("b", "other"))]).plan().items
    assert item.blocked and "task 'b' of launchpad 'other'" in item.blocked and item.status == SyncStatus.DEGRADED


def test_the_last_good_version_is_degraded() -> None:
    [item] = Case([desired("a", last_good=True)], [applied("a")], [schedule("a")]).plan().items
    assert item.status == SyncStatus.DEGRADED


def test_a_task_running_an_older_version_is_out_of_sync() -> None:
    case = Case([desired("t", Kind.TASK, spec="v2")], [applied("t", Kind.TASK)], workflows=[LiveWorkflow("id-t", True)])
    [item] = case.plan().items
    assert item.status == SyncStatus.OUT_OF_SYNC


def test_a_new_id_retires_the_old_schedule() -> None:
    moved = desired("a", spec="v2")
    moved.temporal_id = "id-new"
    [item] = Case([moved], [applied("a")], [schedule("a")]).plan().items
    assert item.action == Action.CREATE and item.retire == (TARGET, "id-a")


@pytest.mark.parametrize("complete", [True, False])
def test_deleting_every_managed_object_is_refused(complete: bool) -> None:
    case = Case([], [applied("a"), applied("b")], [schedule("a"), schedule("b")], complete=complete, managed=2)
    plan = case.plan()
    assert plan.refused and "allow_empty" in plan.refused
    case.settings = ReconcilerConfig(allow_empty=True)
    assert case.plan().refused is None


def test_a_lost_state_store_and_a_wrong_folder_refuse_to_prune_orphans() -> None:
    plan = Case([], [], [schedule("a"), schedule("b")]).plan()
    assert [i.action for i in plan.items] == [Action.DELETE, Action.DELETE] and plan.refused


def test_deleting_some_is_allowed_and_adding_others_counts_as_remaining() -> None:
    assert Case([], [applied("a")], complete=False, managed=2).plan().refused is None
    assert Case([desired("b")], [applied("a")], [schedule("a")]).plan().refused is None


def test_file_errors_travel_with_the_plan() -> None:
    error = FileError("tasks/a.yaml", "workflow.x", "bad", "rev1")
    assert Case([desired("a", last_good=True)], [applied("a")], [schedule("a")], errors=[error]).plan().errors == [
        error
    ]


def item_named(plan: Plan, name: str):  # type: ignore[no-untyped-def]
    [item] = [i for i in plan.items if i.name == name]
    return item


def test_a_file_suspending_the_task_settles_the_override() -> None:
    plan = Case(
        [desired("a", policy=policy(suspend=True))], [applied("a")], complete=False, suspended={"a": "x"}
    ).plan()
    [item] = plan.items
    assert item.status == SyncStatus.SUSPENDED and "sync.suspend in the file" in item.reason
    assert plan.settled == {"a"}


def test_an_override_says_who_suspended_it() -> None:
    [item] = Case([desired("a")], [applied("a")], complete=False, suspended={"a": "by ops: incident 42"}).plan().items
    assert item.status == SyncStatus.SUSPENDED and "launchpad suspend" in item.reason and "incident 42" in item.reason


def test_prune_off_reports_an_orphan_out_of_sync() -> None:
    case = Case(
        [desired("b")], [applied("a", policy=policy(prune=False)), applied("b")], [schedule("a"), schedule("b")]
    )
    item = item_named(case.plan(), "a")
    assert item.orphan and item.status == SyncStatus.OUT_OF_SYNC and "prune is off" in item.reason


def test_self_heal_off_per_task_reports_out_of_sync() -> None:
    [item] = Case([desired("a", policy=policy(self_heal=False))], [applied("a")], [schedule("a", fp="x")]).plan().items
    assert item.drift and item.status == SyncStatus.OUT_OF_SYNC


def dependant(name: str = "b", on: str = "a", **more: object) -> DesiredObject:
    return desired(name, policy=policy(depends_on=(on,)), **more)


def test_a_dependant_of_a_broken_file_waits_and_says_why() -> None:
    plan = Case([dependant()], broken={"a"}, complete=False).plan()
    [item] = plan.items
    assert item.action == Action.CREATE and item.status == SyncStatus.MISSING
    assert item.waiting == "waiting for 'a': its file is broken"


def test_a_dependant_of_a_degraded_last_good_version_waits() -> None:
    plan = Case([desired("a", last_good=True), dependant()], [applied("a")], [schedule("a")]).plan()
    assert "Degraded" in (item_named(plan, "b").waiting or "")


def test_a_dependant_of_a_missing_task_waits() -> None:
    [item] = Case([dependant()], complete=False).plan().items
    assert item.waiting == "waiting for 'a': missing: no reconciled task of that name"


def test_a_dependant_of_a_degraded_record_outside_the_plan_waits() -> None:
    others = [applied("a", status=SyncStatus.DEGRADED, reason="last apply failed: boom")]
    [item] = Case([dependant()], complete=False, others=others).plan().items
    assert item.waiting == "waiting for 'a': Degraded: last apply failed: boom"


def test_a_dependant_of_a_healthy_record_does_not_wait() -> None:
    [item] = Case([dependant()], complete=False, others=[applied("a")]).plan().items
    assert item.waiting is None and item.status == SyncStatus.SYNCED


def test_dependencies_in_the_same_plan_do_not_wait_and_chains_propagate() -> None:
    plan = Case([desired("a"), dependant("b", "a"), dependant("c", "b")]).plan()
    assert [item_named(plan, n).waiting for n in "abc"] == [None, None, None]
    chain = Case([dependant("b", "a"), dependant("c", "b")], broken={"a"}, complete=False).plan()
    assert (item_named(chain, "c").waiting or "").startswith("waiting for 'b': it waits itself")


def test_an_update_that_waits_is_out_of_sync_and_a_noop_never_waits() -> None:
    plan = Case([dependant(spec="v2")], [applied("b")], complete=False).plan()
    assert item_named(plan, "b").status == SyncStatus.OUT_OF_SYNC
    noop = Case([dependant()], [applied("b")], complete=False).plan()
    assert item_named(noop, "b").waiting is None


def test_a_cycle_is_an_error_of_each_file_and_its_objects_wait() -> None:
    plan = Case([dependant("a", "b"), dependant("b", "a")]).plan()
    assert [(e.file, e.path, e.message) for e in plan.errors] == [
        ("tasks/a.yaml", "depends_on", "dependency cycle: a → b → a"),
        ("tasks/b.yaml", "depends_on", "dependency cycle: a → b → a"),
    ]
    assert {i.waiting for i in plan.items} == {"dependency cycle: a → b → a"}


def test_a_schedule_of_this_task_left_in_another_namespace_is_an_orphan() -> None:
    """A file moved to another namespace with its schedule id kept, and no record of the old place
    (the state store lost, or the sync died between the create and the retire): the schedule left
    in the old namespace is this launchpad's for no current file, and is pruned."""
    moved = desired("a", namespace="other")
    old, new = TARGET, ("local", "other")
    live = Live(True, {(old, "id-a"): schedule("a"), (new, "id-a"): schedule("a")}, {})
    plan = make_plan(DesiredState("rev1", {moved.key: moved}), [], live, ReconcilerConfig(), resolve, instance=ME)
    assert {(str(i.action), i.target, i.orphan) for i in plan.items} == {("update", new, False), ("delete", old, True)}


@pytest.mark.parametrize("complete", [True, False], ids=["drift scan", "refresh"])
def test_a_renamed_file_keeping_its_schedule_id_takes_the_schedule_over(complete: bool) -> None:
    """old.yaml renamed new.yaml, scheduler_id kept: the new task replaces the old one's schedule
    in this sync (the old one deleted first), not a failed create beside a prune."""
    renamed = desired("new")
    renamed.temporal_id = "id-old"
    plan = Case([renamed], [applied("old")], [schedule("old")], complete=complete).plan()
    by_name = {i.name: i for i in plan.items}
    assert (str(by_name["new"].action), by_name["new"].takes_over, by_name["new"].blocked) == ("create", "old", None)
    assert str(by_name["old"].action) == "forget"
