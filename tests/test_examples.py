"""Every example in deployments/ runs green end to end on the dev server.

The worker file of deployments/workers runs in-process with the example code loaded by
the registry (as `launchpad worker` does); each example task is deployed through its
runner, with template arguments or an overwrite where the file allows them, and its
outcome is checked in Temporal. Workflow, schedule and task queue ids get a per-run
suffix so reruns against a long-lived server never collide.

A new file in deployments/tasks without a check here fails `test_every_example_is_covered`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    ScheduleRange,
    WorkflowHandle,
)
from temporalio.converter import DataConverter

from launchpad.config import load_config
from launchpad.devserver import DevServer
from launchpad.registry import Registry
from launchpad.spec.catalog import load_catalog, yaml_files
from launchpad.spec.document import TaskDocument
from launchpad.spec.task import TaskSpec
from launchpad.temporal.connections import Connections
from launchpad.temporal.runners import DeployResult, runner_for
from launchpad.temporal.workers import WorkerSet
from tests.helpers import config_for, eventually

ROOT = Path(__file__).resolve().parents[1]
CONFIG = load_config(ROOT / "launchpad_configs.yaml", env={})
TASKS = CONFIG.path(CONFIG.tasks_dir)
WORKERS = CONFIG.path(CONFIG.workers_dir)
RUN = uuid.uuid4().hex[:8]
UNIQUE_KEYS = ("workflow_id", "scheduler_id", "task_queue")
WAIT = 30.0


def example_names() -> set[str]:
    return {file.stem for file in yaml_files(TASKS)}


def unique(doc: Any) -> Any:
    """The document with a per-run suffix on every workflow id, schedule id and task queue,
    including the ids a task signals (`chain_with` handles) or queues into."""
    if isinstance(doc, dict):
        return {
            key: f"{value}-{RUN}" if key in UNIQUE_KEYS and isinstance(value, str) else unique(value)
            for key, value in doc.items()
        }
    if isinstance(doc, list):
        return [unique(value) for value in doc]
    return doc


@dataclass
class Examples:
    client: Client
    connections: Connections
    registry: Registry
    documents: dict[str, TaskDocument]
    deployed: list[str] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)

    def spec(self, name: str, **render: Any) -> TaskSpec:
        document = self.documents[name]
        return dataclasses.replace(document, doc=unique(document.doc)).render(**render)

    async def deploy(self, name: str, **render: Any) -> tuple[TaskSpec, DeployResult]:
        spec = self.spec(name, **render)
        result = await runner_for(spec, self.connections, self.registry).deploy(spec, f"test-{RUN}")
        assert result.task == name
        if result.schedule_id:
            self.schedules.append(result.schedule_id)
        elif result.workflow_id:
            self.deployed.append(result.workflow_id)
        return spec, result

    def handle(self, workflow_id: str | None, run_id: str | None = None) -> WorkflowHandle:
        assert workflow_id
        return self.client.get_workflow_handle(workflow_id, run_id=run_id)

    async def result(self, workflow_id: str | None) -> Any:
        return await asyncio.wait_for(self.handle(workflow_id).result(), WAIT)

    async def trigger(self, schedule_id: str) -> Any:
        """Trigger the schedule now and return the result of the run it started."""
        handle = self.client.get_schedule_handle(schedule_id)
        await handle.trigger()

        async def started() -> Any:
            return (await handle.describe()).info.recent_actions

        actions = await eventually(started, WAIT, f"schedule {schedule_id} starting a run")
        return await self.result(actions[-1].action.workflow_id)

    async def cleanup(self) -> None:
        for schedule_id in dict.fromkeys(self.schedules):
            await self.client.get_schedule_handle(schedule_id).delete()
        for workflow_id in dict.fromkeys(self.deployed):
            handle = self.handle(workflow_id)
            if (await handle.describe()).status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
                await handle.terminate("test_examples done")


async def wait_for_state(handle: WorkflowHandle, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        status: dict[str, Any] = await handle.query("status")
        return status if predicate(status) else None

    return await eventually(reached, WAIT, f"{handle.id} reaching the awaited state")


def waiting(status: dict[str, Any]) -> bool:
    return status["state"] == "waiting"


@pytest.fixture(scope="module")
async def examples(temporal_server: DevServer) -> AsyncIterator[Examples]:
    connections = Connections(config_for(temporal_server).temporalio)
    registry = Registry.builtin()
    registry.load_paths([CONFIG.path(p) for p in CONFIG.code_paths], [CONFIG.path(p) for p in CONFIG.code_skips])
    assert not registry.module_errors, registry.module_errors
    catalog = load_catalog([TASKS, WORKERS], env={}, base=ROOT)
    assert not catalog.errors, catalog.errors
    assert catalog.workers, "deployments/workers holds no worker"
    workers = WorkerSet(connections, registry)
    for name, spec in catalog.workers.items():
        queue = f"{spec.worker.task_queue}-{RUN}"
        await workers.start(
            name, spec.model_copy(update={"worker": spec.worker.model_copy(update={"task_queue": queue})})
        )
    examples = Examples(await connections.client(), connections, registry, catalog.tasks)
    try:
        yield examples
    finally:
        try:
            await examples.cleanup()
        finally:
            await workers.stop_all()


Check = Callable[[Examples], Awaitable[None]]
CHECKS: dict[tuple[str, ...], Check] = {}


def covers(*names: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        CHECKS[names] = check
        return check

    return register


@covers("hello-world")
async def _hello_world(ex: Examples) -> None:
    _, result = await ex.deploy("hello-world")
    assert (result.action, result.runner, result.workflow_id) == ("started", "WorkflowRunner", f"hello-world-{RUN}")
    assert await ex.result(result.workflow_id) == "Hello, world!"  # ${USER:-world} with no USER


@covers("hourly-report")
async def _hourly_report(ex: Examples) -> None:
    spec, result = await ex.deploy("hourly-report")
    assert (result.action, result.schedule_id) == ("created", f"hourly-report-{RUN}")
    schedule = (await ex.client.get_schedule_handle(result.schedule_id).describe()).schedule
    assert list(schedule.spec.intervals) == [
        ScheduleIntervalSpec(every=timedelta(hours=1), offset=timedelta(minutes=5))
    ]
    assert schedule.spec.time_zone_name == "Europe/Paris"
    assert schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert schedule.policy.catchup_window == timedelta(minutes=10)
    assert isinstance(schedule.action, ScheduleActionStartWorkflow)
    assert (schedule.action.workflow, schedule.action.task_queue) == ("Task", spec.workflow.task_queue)
    assert await ex.trigger(result.schedule_id) == 6
    again = await ex.deploy("hourly-report")
    assert again[1].action == "unchanged", "re-applying an unchanged schedule writes nothing"


@covers("team-digest")
async def _team_digest(ex: Examples) -> None:
    _, result = await ex.deploy("team-digest")
    assert result.action == "created"
    schedule = (await ex.client.get_schedule_handle(result.schedule_id or "").describe()).schedule
    mornings, afternoons, saturday = schedule.spec.calendars  # the cron comes back as a calendar
    weekdays = (ScheduleRange(1, 5),)
    assert (mornings.hour, mornings.minute, mornings.day_of_week) == (
        (ScheduleRange(9),),
        (ScheduleRange(30),),
        weekdays,
    )
    assert (afternoons.hour, afternoons.day_of_week) == ((ScheduleRange(12, 18, 3),), weekdays)
    assert (mornings.comment, afternoons.comment) == ("weekday mornings", "12:00, 15:00 and 18:00 on weekdays")
    assert (saturday.hour, saturday.minute, saturday.day_of_week) == (
        (ScheduleRange(8),),
        (ScheduleRange(0),),
        (ScheduleRange(6),),
    )
    christmas, new_year = schedule.spec.skip
    assert (christmas.month, christmas.day_of_month) == ((ScheduleRange(12),), (ScheduleRange(25),))
    assert (new_year.month, new_year.day_of_month) == ((ScheduleRange(1),), (ScheduleRange(1),))
    assert christmas.hour == (ScheduleRange(0, 23),), "a skipped day is skipped all day"
    assert isinstance(christmas, ScheduleCalendarSpec)
    assert schedule.spec.time_zone_name == "America/New_York"
    assert schedule.spec.jitter == timedelta(seconds=30)
    assert schedule.policy.overlap == ScheduleOverlapPolicy.BUFFER_ONE
    assert await ex.trigger(result.schedule_id or "") == "Hello, team!"


@covers("greet-on-signal")
async def _greet_on_signal(ex: Examples) -> None:
    spec, result = await ex.deploy("greet-on-signal")
    assert spec.deploy_on_server_start and spec.on_change == "restart"
    handle = ex.handle(result.workflow_id)
    await wait_for_state(handle, waiting)
    await handle.signal("start", "Grace")
    assert await ex.result(result.workflow_id) == "Hello, Grace!"


@covers("batch-report")
async def _batch_report(ex: Examples) -> None:
    _, result = await ex.deploy("batch-report")
    assert await ex.result(result.workflow_id) == ["Hello, batch!", 3, 12]


@covers("awaited-batch")
async def _awaited_batch(ex: Examples) -> None:
    _, result = await ex.deploy("awaited-batch")
    handle = ex.handle(result.workflow_id)
    await wait_for_state(handle, waiting)
    await handle.signal("start")
    assert await ex.result(result.workflow_id) == [30, "Hello, awaited batch!"]


@covers("chain-load", "chain-extract")
async def _chain(ex: Examples) -> None:
    _, load = await ex.deploy("chain-load")
    await wait_for_state(ex.handle(load.workflow_id), waiting)
    _, extract = await ex.deploy("chain-extract")
    assert await ex.result(extract.workflow_id) == 42
    assert await ex.result(load.workflow_id) == "Hello, chain-extract!"
    assert (await ex.handle(extract.workflow_id).query("status"))["errors"] == []


@covers("resident-greeter")
async def _resident_greeter(ex: Examples) -> None:
    _, result = await ex.deploy("resident-greeter")
    first = ex.handle(result.workflow_id, result.run_id)
    await wait_for_state(first, waiting)
    await first.signal("start", "renew")

    async def renewed() -> bool:
        return (await ex.handle(result.workflow_id).describe()).run_id != result.run_id

    await eventually(renewed, WAIT, "renew starting a new run")
    assert (await first.describe()).status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
    completed = [
        event.activity_task_completed_event_attributes.result.payloads
        async for event in first.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    ]
    assert [DataConverter.default.payload_converter.from_payloads(p)[0] for p in completed] == ["Hello, renew!"]
    renewed = await wait_for_state(ex.handle(result.workflow_id), waiting)
    assert renewed["results"] == [], "the new run starts afresh and waits again"
    # cleanup() terminates it


@covers("task-dispatcher", "dispatcher-queue-greeting")
async def _dispatcher(ex: Examples) -> None:
    _, dispatcher = await ex.deploy("task-dispatcher")
    handle = ex.handle(dispatcher.workflow_id)
    await wait_for_state(handle, lambda s: s["state"] == "running")
    for _ in range(2):
        _, queued = await ex.deploy("dispatcher-queue-greeting")
        assert queued.workflow_id == dispatcher.workflow_id, "queueing signals the running dispatcher"
    status = await wait_for_state(handle, lambda s: len(s["results"]) == 2)
    assert status["processed"] == 2 and status["errors"] == []
    for n, child in enumerate(status["results"], start=1):
        assert child == {"workflow_id": f"{dispatcher.workflow_id}-{n}", "result": "Hello, dispatcher!"}
        assert (await ex.handle(child["workflow_id"]).describe()).parent_id == dispatcher.workflow_id
    await handle.signal("exit")
    assert await ex.result(dispatcher.workflow_id) == 2


@covers("temp-worker-sum")
async def _temp_worker_sum(ex: Examples) -> None:
    _, result = await ex.deploy("temp-worker-sum")
    assert (result.action, result.result) == ("completed", 9)
    assert (await ex.handle(result.workflow_id).describe()).task_queue.startswith("launchpad-temp-")


@covers("greet-template")
async def _greet_template(ex: Examples) -> None:
    spec, result = await ex.deploy("greet-template", template_args={"who": "Ada"})
    assert result.workflow_id == f"greet-ada-{RUN}"
    assert spec.workflow.execution_timeout == timedelta(minutes=5)
    assert await ex.result(result.workflow_id) == "Hello, Ada!"


@covers("sum-overwritable")
async def _sum_overwritable(ex: Examples) -> None:
    _, as_written = await ex.deploy("sum-overwritable")
    assert await ex.result(as_written.workflow_id) == 3
    spec, overwritten = await ex.deploy("sum-overwritable", overwrite={"workflow.workflow_kwargs.args.0": 40})
    assert spec.workflow.workflow_kwargs.args == [40, 2]
    assert await asyncio.wait_for(ex.handle(overwritten.workflow_id, overwritten.run_id).result(), WAIT) == 42


@covers("greet-everyone")
async def _greet_everyone(ex: Examples) -> None:
    _, result = await ex.deploy("greet-everyone")
    assert (result.runner, result.action) == ("WorkflowRunnerWithResult", "completed")
    assert result.result == ["Hello, Ada!", "Hello, Grace!", "Hello, Linus!"]


def test_every_example_is_covered() -> None:
    covered = {name for names in CHECKS for name in names}
    assert covered == example_names(), (
        f"examples without an end-to-end check: {sorted(example_names() - covered)}; "
        f"checks without an example: {sorted(covered - example_names())}"
    )


@pytest.mark.temporal
@pytest.mark.parametrize("names", list(CHECKS), ids=["+".join(names) for names in CHECKS])
async def test_example_runs_end_to_end(examples: Examples, names: tuple[str, ...]) -> None:
    await CHECKS[names](examples)
