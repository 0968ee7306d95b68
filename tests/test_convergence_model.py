"""Model-based convergence: after any sequence of commits, hand edits in Temporal and syncs killed
with SIGKILL, one drift scan makes Temporal equal the repository's HEAD, and the next one writes
nothing.

Hypothesis' stateful testing drives a real git repository, the real dev server (through its
client, as an operator's script would) and `launchpad reconcile` in a subprocess for the syncs
that get killed. The model is plain data: the task files at HEAD, the versions a broken file may
still run, what an operator paused, the unmanaged schedules beside.

Profiles: the README's test command runs a short one; `--convergence-long` (or
LAUNCHPAD_CONVERGENCE=long) runs up to 400 sequences of up to 15 steps, at least 200 of them of 8-15
steps, and prints its figures. The oracle is a hard sync: a drift scan with a verification, which
also heals what a listing does not show (a schedule's arguments, its overlap policy).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError

from launchpad.config import load_config
from launchpad.devserver import DevServer
from launchpad.state import open_store
from launchpad.temporal.connections import Connections
from reconciler.sync import Reconciler
from tests.gitrepo import GitRepo
from tests.helpers import eventually, gitops_config_file

pytestmark = pytest.mark.temporal

QUEUE = "lp-convergence"
NAMES = ("alpha", "beta", "gamma", "delta")
ARGS = ("a", "b", "c")
OVERLAPS = ("SKIP", "BUFFER_ONE", "ALLOW_ALL")
FIGURES: Counter[str] = Counter()
LENGTHS: list[int] = []  # steps of each sequence


@dataclass(frozen=True)
class Task:
    """One task file: a schedule or a deploy-on-start task (on_change: restart, so a changed file
    always runs its new version), valid or broken."""

    kind: str  # schedule | task
    every: int  # hours
    arg: str
    overlap: str
    broken: bool = False

    def text(self, name: str, prefix: str) -> str:
        every = "sometimes" if self.broken else f"{self.every}h"
        sid = f"{prefix}-{name}"
        if self.kind == "schedule":
            return (
                f"name: {name}\nrunner: ScheduledWorkflowRunner\nworkflow:\n  task_queue: {QUEUE}\n"
                f"  workflow_id: {sid}-wf\n  workflow: Task\n  scheduler_id: {sid}\n"
                f"  intervals: [{{every: {every}}}]\n  overlap: {self.overlap}\n"
                f"  workflow_kwargs: {{activity: zero, args: [{self.arg}]}}\n"
            )
        timeout = "sometimes" if self.broken else "1h"
        return (
            f"name: {name}\nrunner: WorkflowRunner\ndeploy_on_server_start: true\non_change: restart\n"
            f"workflow:\n  task_queue: {QUEUE}\n  workflow_id: {sid}\n  workflow: Task\n"
            f"  execution_timeout: {timeout}\n  workflow_kwargs: {{activity: zero, args: [{self.arg}]}}\n"
        )

    @property
    def version(self) -> tuple[str, int, str, str]:
        """What a live object shows of the file."""
        return (self.kind, self.every, self.arg, self.overlap if self.kind == "schedule" else "")


def decoded(payload: Any) -> Any:
    return json.loads(payload.data) if hasattr(payload, "data") else payload


class Convergence(RuleBasedStateMachine):
    server: DevServer  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="lp-model-"))
        self.repo = GitRepo(self.root)
        self.prefix = f"m{uuid.uuid4().hex[:6]}"
        self.repo.write("README.md", "tasks\n")
        self.repo.commit("start")
        self.config_file = gitops_config_file(
            self.server, self.repo.remote, self.root, "reconciler: {concurrency: 4, lock_ttl: 10s, allow_empty: true}"
        )
        self.loop = asyncio.new_event_loop()
        self.connections = Connections(load_config(self.config_file).temporalio)
        self.files: dict[str, Task] = {}  # the work tree
        self.head: dict[str, Task] = {}  # HEAD
        self.history: list[dict[str, Task]] = [{}]
        self.acceptable: dict[str, set[tuple[str, int, str, str]]] = {}  # what a broken file may still run
        self.paused: set[str] = set()  # paused by an operator: stays paused
        self.unmanaged: dict[str, int] = {}  # schedule id -> its interval in minutes
        self.steps = 0
        FIGURES["sequences"] += 1

    # --- plumbing ---------------------------------------------------------------------------------------------------

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def client(self) -> Client:
        return self.run(self.connections.client())  # type: ignore[no-any-return]

    def sid(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def reconciler(self) -> Reconciler:
        """A new process, as far as the reconciler knows: nothing kept in memory between syncs."""
        config = load_config(self.config_file)
        return Reconciler(config, open_store(config), connections=self.connections)

    def sync(self, hard: bool) -> Any:
        reconciler = self.reconciler()
        result = self.run(reconciler.sync("model", hard=hard))
        reconciler.source.close()
        return result

    def applied(self) -> None:
        """A completed sync ran HEAD's valid files (and pruned the schedules of the others)."""
        self.acceptable = {
            n: ({t.version} if not t.broken else self.acceptable.get(n, set())) for n, t in self.head.items()
        }
        self.acceptable = {n: v for n, v in self.acceptable.items() if v}
        self.forget_pauses()

    def forget_pauses(self) -> None:
        """A schedule that a sync may have deleted comes back unpaused."""
        kept = {n for n, versions in self.expected().items() if versions and all(v[0] == "schedule" for v in versions)}
        self.paused &= kept

    def remove(self, name: str) -> None:
        (self.repo.work / "deployments" / "tasks" / f"{name}.yaml").unlink()  # the commit stages it

    def step(self, what: str) -> None:
        self.steps += 1
        FIGURES["steps"] += 1
        FIGURES[what] += 1

    # --- commits ----------------------------------------------------------------------------------------------------

    @initialize(
        names=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
        every=st.integers(1, 6),
        arg=st.sampled_from(ARGS),
    )
    def live_schedules_to_start_with(self, names: list[str], every: int, arg: str) -> None:
        """Each sequence starts from a repository whose schedules are live, so that hand edits in
        Temporal have something to edit from the first step (one step: files, commit and sync)."""
        for name in names:
            self.files[name] = Task("schedule", every, arg, "SKIP")
            self.repo.write(f"deployments/tasks/{name}.yaml", self.files[name].text(name, self.prefix))
        self.repo.commit("start")
        self.head = dict(self.files)
        self.history.append(self.head)
        result = self.sync(hard=False)
        assert result.status == "succeeded", (result.status, result.message, result.outcomes)
        self.applied()
        self.step("initial sync")

    @rule(
        name=st.sampled_from(NAMES),
        kind=st.sampled_from(("schedule", "schedule", "task")),
        every=st.integers(1, 6),
        arg=st.sampled_from(ARGS),
        overlap=st.sampled_from(OVERLAPS),
    )
    def write(self, name: str, kind: str, every: int, arg: str, overlap: str) -> None:
        """Add a file, or change one (its interval, argument, policy or even its kind)."""
        self.files[name] = Task(kind, every, arg, overlap)
        self.repo.write(f"deployments/tasks/{name}.yaml", self.files[name].text(name, self.prefix))
        self.step("edit")

    @precondition(lambda self: self.files)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.files)))
        del self.files[name]
        self.remove(name)
        self.step("edit")

    @precondition(lambda self: self.files and len(self.files) < len(NAMES))
    @rule(data=st.data())
    def rename(self, data: st.DataObject) -> None:
        old = data.draw(st.sampled_from(sorted(self.files)))
        new = data.draw(st.sampled_from(sorted(set(NAMES) - set(self.files))))
        task = self.files.pop(old)
        self.remove(old)
        self.files[new] = task
        self.repo.write(f"deployments/tasks/{new}.yaml", task.text(new, self.prefix))
        self.step("edit")

    @precondition(lambda self: any(not t.broken for t in self.files.values()))
    @rule(data=st.data())
    def break_file(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(n for n, t in self.files.items() if not t.broken)))
        self.files[name] = replace(self.files[name], broken=True)
        self.repo.write(f"deployments/tasks/{name}.yaml", self.files[name].text(name, self.prefix))
        self.step("edit")

    @precondition(lambda self: any(t.broken for t in self.files.values()))
    @rule(data=st.data())
    def fix_file(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(n for n, t in self.files.items() if t.broken)))
        self.files[name] = replace(self.files[name], broken=False)
        self.repo.write(f"deployments/tasks/{name}.yaml", self.files[name].text(name, self.prefix))
        self.step("edit")

    @precondition(lambda self: self.files != self.head)
    @rule()
    def commit(self) -> None:
        self.repo.commit("change")
        self.head = dict(self.files)
        self.history.append(self.head)
        self.step("commit")

    @precondition(lambda self: self.files == self.head and len(self.history) > 1)
    @rule()
    def revert(self) -> None:
        self.repo.git("revert", "--no-edit", "HEAD")
        self.repo.push()
        self.head = dict(self.history[-2])
        self.files = dict(self.head)
        self.history.append(self.head)
        self.step("commit")

    # --- hand edits in Temporal ---------------------------------------------------------------------------------------

    async def listed(self) -> list[str]:
        client = await self.connections.client()
        return [s.id async for s in await client.list_schedules() if s.id.startswith(f"{self.prefix}-")]

    def live_schedules(self) -> list[str]:
        return self.run(self.listed())  # type: ignore[no-any-return]

    def ours(self) -> list[str]:
        return sorted(s for s in self.live_schedules() if s not in self.unmanaged)

    @precondition(lambda self: any(v[0] == "schedule" for versions in self.acceptable.values() for v in versions))
    @rule(
        pick=st.integers(0, 7),
        how=st.sampled_from(("delete", "memo kept", "bare", "pause", "arguments", "overlap")),
    )
    def hand_edit_schedule(self, pick: int, how: str) -> None:
        """An operator deletes, re-specifies (keeping or dropping the action's memo), pauses a
        schedule, or changes only what a listing does not show: its arguments or its overlap policy."""
        targets = self.ours()
        FIGURES["schedule hand edits tried"] += 1
        if not targets:
            FIGURES["schedule hand edits that found no schedule"] += 1
            return
        sid = targets[pick % len(targets)]
        handle = self.client().get_schedule_handle(sid)
        name = sid.removeprefix(f"{self.prefix}-")
        try:
            if how == "delete":
                self.run(handle.delete())
                self.paused.discard(name)
            elif how == "pause":
                self.run(handle.pause(note="ops"))
                self.paused.add(name)
            else:

                async def edit(update: ScheduleUpdateInput) -> ScheduleUpdate:
                    schedule = update.description.schedule
                    action = schedule.action
                    assert isinstance(action, ScheduleActionStartWorkflow)
                    if how == "arguments":  # the marker kept, the spec untouched
                        action.args = [{"activity": "zero", "args": ["by-hand"]}]
                    elif how == "overlap":
                        schedule.policy.overlap = ScheduleOverlapPolicy.TERMINATE_OTHER
                    else:
                        schedule.spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=47))])
                    if how == "bare":  # what `temporal schedule update` with only the required flags leaves
                        schedule.action = ScheduleActionStartWorkflow(
                            action.workflow, id=action.id, task_queue=action.task_queue
                        )
                    return ScheduleUpdate(schedule=schedule)

                self.run(handle.update(edit))
        except RPCError:
            return  # gone meanwhile
        self.step("hand edit")
        FIGURES[f"hand edits: {how}"] += 1

    @rule(pick=st.integers(0, 7))
    def terminate_a_task(self, pick: int) -> None:
        running = sorted(n for n, t in self.head.items() if t.kind == "task")
        if not running:
            return
        name = running[pick % len(running)]
        try:
            self.run(self.client().get_workflow_handle(self.sid(name)).terminate("operator"))
        except RPCError:
            return
        self.step("hand edit")

    @precondition(lambda self: len(self.unmanaged) < 2)
    @rule(minutes=st.integers(10, 90))
    def unmanaged_schedule(self, minutes: int) -> None:
        sid = f"{self.prefix}-manual-{uuid.uuid4().hex[:4]}"
        schedule = Schedule(
            action=ScheduleActionStartWorkflow("Task", {"activity": "zero"}, id=f"{sid}-wf", task_queue=QUEUE),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=minutes))]),
        )
        self.run(self.client().create_schedule(sid, schedule))
        self.unmanaged[sid] = minutes
        self.step("hand edit")

    # --- syncs ------------------------------------------------------------------------------------------------------

    @rule()
    def refresh(self) -> None:
        """A poll: only what changed in git."""
        result = self.sync(hard=False)
        assert result.status in ("succeeded", "degraded"), (result.status, result.message, result.outcomes)
        self.applied()
        self.step("sync")

    @rule(delay=st.floats(0.0, 2.5))
    def killed_sync(self, delay: float) -> None:
        """`launchpad reconcile --once --hard` killed with SIGKILL at a random point."""
        process = subprocess.Popen(
            [sys.executable, "-m", "launchpad", "reconcile", "--once", "--hard", "--config", str(self.config_file)],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            process.wait(timeout=delay)
            self.applied()  # it finished first
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            for name, task in self.head.items():  # it may or may not have applied HEAD's valid files
                if not task.broken:
                    self.acceptable.setdefault(name, set()).add(task.version)
            self.forget_pauses()
            FIGURES["kills"] += 1
        self.step("sync")

    @rule()
    def drift_scan(self) -> None:
        """The oracle: one hard sync makes Temporal equal HEAD, and the next writes nothing."""
        result = self.sync(hard=True)
        assert result.status in ("succeeded", "degraded"), (result.status, result.message, result.outcomes)
        self.applied()
        self.check(result)
        tokens = self.tokens()
        again = self.sync(hard=True)
        assert again.writes == 0, [o for o in again.outcomes if o.wrote]
        assert self.tokens() == tokens, "a second drift scan changed a schedule"
        FIGURES["converged"] += 1
        self.step("sync")

    # --- the invariant after a drift scan ---------------------------------------------------------------------------

    def tokens(self) -> dict[str, bytes]:
        async def read() -> dict[str, bytes]:
            client = await self.connections.client()
            out = {}
            for sid in await self.listed():
                described = await client.get_schedule_handle(sid).describe()
                out[sid] = described.raw_description.conflict_token
            return out

        return self.run(read())  # type: ignore[no-any-return]

    def expected(self) -> dict[str, set[tuple[str, int, str, str]]]:
        """Per name: the versions Temporal may show (one for a valid file; a broken file's last good ones)."""
        return {n: ({t.version} if not t.broken else self.acceptable.get(n, set())) for n, t in self.head.items()}

    def check(self, result: Any) -> None:
        expected = {n: v for n, v in self.expected().items() if v}
        schedules = {n: v for n, v in expected.items() if next(iter(v))[0] == "schedule"}
        wanted = {self.sid(n) for n in schedules}

        async def listing_shows_them() -> bool:  # a listing lags the sync's last writes by tens of ms
            return set(await self.listed()) - set(self.unmanaged) == wanted

        done = [(o.action, o.name) for o in result.outcomes if o.action != "noop"]
        self.run(eventually(listing_shows_them, 10, f"the listing shows exactly {sorted(wanted)} after {done}"))
        client = self.client()
        for name, versions in schedules.items():
            described = self.run(client.get_schedule_handle(self.sid(name)).describe())
            schedule = described.schedule
            action = schedule.action
            assert isinstance(action, ScheduleActionStartWorkflow)
            [every] = [i.every for i in schedule.spec.intervals]
            shown = (
                "schedule",
                int(every.total_seconds() // 3600),
                decoded(action.args[0])["args"][0],
                schedule.policy.overlap.name,
            )
            assert shown in versions, (name, shown, versions)
            assert every.total_seconds() % 3600 == 0, "a hand edit survived"
            assert "launchpad" in (action.memo or {}), "the action's marker is restored"
            if name in self.paused:
                assert schedule.state.paused, f"{name}: the operator's pause was lost"
                assert schedule.state.note == "ops", f"{name}: the operator's note was lost"
        for name, versions in expected.items():
            if next(iter(versions))[0] != "task":
                continue
            described = self.run(client.get_workflow_handle(self.sid(name)).describe())
            assert described.status is not None and described.status.name == "RUNNING", (name, described.status)
            history = self.run(client.get_workflow_handle(self.sid(name)).fetch_history())
            started = history.events[0].workflow_execution_started_event_attributes
            arg = decoded(started.input.payloads[0])["args"][0]
            assert ("task", 0, arg, "") in {("task", 0, v[2], "") for v in versions}, (name, arg, versions)
        for sid, minutes in self.unmanaged.items():
            described = self.run(client.get_schedule_handle(sid).describe())
            assert [i.every for i in described.schedule.spec.intervals] == [timedelta(minutes=minutes)], "unmanaged"

    def teardown(self) -> None:
        LENGTHS.append(self.steps)

        async def clean() -> None:
            client = await self.connections.client()
            for sid in await self.listed():
                with contextlib.suppress(RPCError):
                    await client.get_schedule_handle(sid).delete()
            async for wf in client.list_workflows(
                f"WorkflowId STARTS_WITH '{self.prefix}-' AND ExecutionStatus='Running'"
            ):
                with contextlib.suppress(RPCError):
                    await client.get_workflow_handle(wf.id).terminate("test over")

        try:
            self.run(clean())
        finally:
            self.loop.close()
            subprocess.run(["rm", "-rf", str(self.root)], check=False)


@pytest.mark.timeout(6 * 3600)
def test_any_sequence_converges(temporal_server: DevServer, request: pytest.FixtureRequest) -> None:
    long = request.config.getoption("--convergence-long") or os.environ.get("LAUNCHPAD_CONVERGENCE") == "long"
    Convergence.server = temporal_server
    profile = settings(
        max_examples=400 if long else 4,
        stateful_step_count=14 if long else 10,  # and the initial sync: at most 15 steps
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not long,
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each step costs real syncs
    )
    FIGURES.clear()
    LENGTHS.clear()
    random.seed(0)
    try:
        run_state_machine_as_test(Convergence, settings=profile)
    finally:
        FIGURES["sequences of 8-15 steps"] = sum(1 for n in LENGTHS if 8 <= n <= 15)
        print("\nconvergence figures:", json.dumps(dict(FIGURES), sort_keys=True))
        print("steps per sequence:", json.dumps(dict(sorted(Counter(LENGTHS).items()))))
    if long:
        assert FIGURES["sequences of 8-15 steps"] >= 200, "the long profile runs at least 200 sequences of 8-15 steps"
        assert FIGURES["kills"] and FIGURES["hand edit"], "the long profile kills syncs and edits by hand"
