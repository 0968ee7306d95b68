"""Runners: turn a rendered, validated task into work on Temporal.

Every object a runner creates carries the `launchpad` memo marker (task name,
version and, for schedules, a hash of the rendered spec) so later syncs know what
launchpad owns and whether it changed.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.converter import PayloadConverter
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from launchpad.errors import LaunchpadError
from launchpad.spec.base import model_hash
from launchpad.spec.schedule import CalendarSpec
from launchpad.spec.task import TaskSpec
from launchpad.temporal.connections import Connections
from launchpad.temporal.memo import MARKER, marker
from launchpad.temporal.workflows import retry_policy

if TYPE_CHECKING:
    from launchpad.registry import Registry

DEFAULT_TEMP_WORKER_TIMEOUT = timedelta(minutes=5)


class AlreadyRunning(LaunchpadError):
    """The workflow id is already running; carries the id."""

    code = "already_running"
    kind = "conflict"

    def __init__(self, workflow_id: str, run_id: str | None = None) -> None:
        self.workflow_id = workflow_id
        self.run_id = run_id
        super().__init__(f"workflow {workflow_id!r} is already running")

    def details(self) -> dict[str, str]:
        return {"workflow_id": self.workflow_id}


class NotManaged(LaunchpadError):
    """A schedule with that id exists but launchpad did not create it: never touch it."""

    code = "schedule_exists"
    kind = "conflict"


@dataclass(frozen=True)
class DeployResult:
    task: str
    runner: str
    server: str
    namespace: str
    action: str  # started | created | updated | unchanged | completed
    workflow_id: str | None = None
    run_id: str | None = None
    schedule_id: str | None = None
    result: Any = None
    version: str | None = None


def spec_hash(task: TaskSpec) -> str:
    """A stable hash of the rendered task: the server rewrites schedules, so compare this."""
    return model_hash(task)


def workflow_input(task: TaskSpec) -> dict[str, Any]:
    """The one argument every launchpad-started workflow receives: its `workflow_kwargs`."""
    return task.workflow.workflow_kwargs.model_dump(mode="json", exclude_none=True)


def search_attributes(values: dict[str, Any]) -> TypedSearchAttributes:
    """Typed search attributes, the key type taken from the value's Python type."""
    pairs: list[SearchAttributePair[Any]] = []
    for name, value in values.items():
        if isinstance(value, bool):
            pairs.append(SearchAttributePair(SearchAttributeKey.for_bool(name), value))
        elif isinstance(value, int):
            pairs.append(SearchAttributePair(SearchAttributeKey.for_int(name), value))
        elif isinstance(value, float):
            pairs.append(SearchAttributePair(SearchAttributeKey.for_float(name), value))
        elif isinstance(value, datetime):
            pairs.append(SearchAttributePair(SearchAttributeKey.for_datetime(name), value))
        elif isinstance(value, list):
            pairs.append(SearchAttributePair(SearchAttributeKey.for_keyword_list(name), [str(v) for v in value]))
        else:
            pairs.append(SearchAttributePair(SearchAttributeKey.for_keyword(name), str(value)))
    return TypedSearchAttributes(pairs)


def id_policies(task: TaskSpec) -> dict[str, Any]:
    """`TERMINATE_IF_RUNNING` is deprecated: it becomes ALLOW_DUPLICATE + TERMINATE_EXISTING."""
    wf = task.workflow
    options: dict[str, Any] = {}
    if wf.id_reuse_policy == "TERMINATE_IF_RUNNING":
        options["id_reuse_policy"] = WorkflowIDReusePolicy.ALLOW_DUPLICATE
        options["id_conflict_policy"] = WorkflowIDConflictPolicy.TERMINATE_EXISTING
    elif wf.id_reuse_policy:
        options["id_reuse_policy"] = WorkflowIDReusePolicy[wf.id_reuse_policy]
    if wf.id_conflict_policy:
        options["id_conflict_policy"] = WorkflowIDConflictPolicy[wf.id_conflict_policy]
    return options


def start_options(task: TaskSpec, version: str | None = None) -> dict[str, Any]:
    """Every `Client.start_workflow` keyword a task file can set."""
    wf = task.workflow
    options: dict[str, Any] = {
        "id": wf.workflow_id,
        "task_queue": wf.task_queue,
        "execution_timeout": wf.execution_timeout,
        "run_timeout": wf.run_timeout,
        "task_timeout": wf.task_timeout,
        "retry_policy": retry_policy(wf.retry_policy),
        "cron_schedule": wf.cron_schedule or "",
        "memo": {**wf.memo, MARKER: marker(task, version)},
        "request_eager_start": wf.request_eager_start,
        "rpc_metadata": wf.rpc_metadata,
        "rpc_timeout": wf.rpc_timeout,
        "start_delay": wf.start_delay,
        **id_policies(task),
    }
    if wf.search_attributes:
        options["search_attributes"] = search_attributes(wf.search_attributes)
    if wf.start_signal:
        options["start_signal"] = wf.start_signal
        options["start_signal_args"] = wf.start_signal_args
    return options


class Runner:
    """Base of every runner, built-in or custom; looked up by class name."""

    name: ClassVar[str] = "Runner"

    def __init__(self, connections: Connections, registry: Registry | None = None) -> None:
        self.connections = connections
        self.registry = registry

    async def deploy(self, task: TaskSpec, version: str | None = None) -> DeployResult:
        raise NotImplementedError

    async def client_for(self, task: TaskSpec) -> tuple[Client, str, str]:
        server, namespace = self.connections.resolve(task.server, task.namespace)
        return await self.connections.client(server.name, namespace), server.name, namespace

    def result(self, task: TaskSpec, server: str, namespace: str, **fields: Any) -> DeployResult:
        return DeployResult(task=task.name, runner=type(self).__name__, server=server, namespace=namespace, **fields)


class WorkflowRunner(Runner):
    """Starts the workflow on an already running worker and returns at once."""

    async def deploy(self, task: TaskSpec, version: str | None = None) -> DeployResult:
        client, server, namespace = await self.client_for(task)
        try:
            handle = await client.start_workflow(
                task.workflow.workflow, workflow_input(task), **start_options(task, version)
            )
        except WorkflowAlreadyStartedError as exc:
            raise AlreadyRunning(exc.workflow_id, exc.run_id) from None
        return self.result(
            task,
            server,
            namespace,
            action="started",
            workflow_id=handle.id,
            run_id=handle.result_run_id,
            version=version,
        )


_WHOLE_DAY = {"second": (0, 59), "minute": (0, 59), "hour": (0, 23)}


def calendar(spec: CalendarSpec, *, skip: bool = False) -> ScheduleCalendarSpec:
    """Temporal's calendar spec. Omitted fields keep Temporal's defaults (second, minute and
    hour 0), except in `skip`, where an omitted time of day means the whole day: skipping
    `{month: DEC, day_of_month: 25}` skips Christmas, not only its midnight."""
    fields: dict[str, Any] = {"comment": spec.comment}
    for name in ("second", "minute", "hour", "day_of_month", "month", "year", "day_of_week"):
        ranges = getattr(spec, name)
        if ranges is not None:
            fields[name] = [ScheduleRange(r["start"], r["end"], r["step"]) for r in ranges]
        elif skip and name in _WHOLE_DAY:
            fields[name] = [ScheduleRange(*_WHOLE_DAY[name])]
    return ScheduleCalendarSpec(**fields)


def build_schedule(task: TaskSpec, version: str | None, digest: str) -> Schedule:
    wf = task.workflow
    action = ScheduleActionStartWorkflow(
        wf.workflow,
        workflow_input(task),
        id=wf.workflow_id,
        task_queue=wf.task_queue or "",
        execution_timeout=wf.execution_timeout,
        run_timeout=wf.run_timeout,
        task_timeout=wf.task_timeout,
        retry_policy=retry_policy(wf.retry_policy),
        memo={**wf.memo, MARKER: marker(task, version, digest)},
        typed_search_attributes=search_attributes(wf.search_attributes),
    )
    spec = ScheduleSpec(
        calendars=[calendar(c) for c in wf.calendars],
        intervals=[ScheduleIntervalSpec(every=i.every, offset=i.offset) for i in wf.intervals],
        cron_expressions=list(wf.crons),
        skip=[calendar(c, skip=True) for c in wf.skip],
        start_at=wf.start_at,
        end_at=wf.end_at,
        jitter=wf.jitter,
        time_zone_name=wf.tz,
    )
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy[wf.overlap], pause_on_failure=wf.pause_on_failure)
    if wf.catchup_window is not None:
        policy.catchup_window = wf.catchup_window
    state = ScheduleState(
        note=wf.note,
        paused=bool(wf.paused),
        limited_actions=wf.limited_actions,
        remaining_actions=wf.remaining_actions,
    )
    return Schedule(action=action, spec=spec, policy=policy, state=state)


def live_marker(schedule: Schedule) -> dict[str, Any] | None:
    """The marker on a described schedule's action, if launchpad wrote it."""
    memo = getattr(schedule.action, "memo", None) or {}
    payload = memo.get(MARKER)
    if payload is None:
        return None
    value = PayloadConverter.default.from_payload(payload) if hasattr(payload, "data") else payload
    return value if isinstance(value, dict) else None


class ScheduledWorkflowRunner(Runner):
    """Creates or updates the schedule `scheduler_id`; an unchanged spec writes nothing."""

    async def deploy(
        self, task: TaskSpec, version: str | None = None, *, force: bool = False, exists: bool = False
    ) -> DeployResult:
        """`force` rewrites the schedule even when its marker hash matches (drift repair).
        `exists` (the caller knows the schedule is there) goes straight to the update instead of
        trying a create the server would refuse: one round trip less."""
        client, server, namespace = await self.client_for(task)
        schedule_id = task.workflow.scheduler_id or ""
        digest = spec_hash(task)
        desired = build_schedule(task, version, digest)
        action = None
        if exists:
            try:
                action = await self._update(client, schedule_id, task, desired, digest, force)
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:  # deleted meanwhile: create it below
                    raise
        if action is None:
            try:
                await client.create_schedule(
                    schedule_id,
                    desired,
                    trigger_immediately=task.workflow.trigger_immediately,
                    memo={MARKER: {"task": task.name}},
                )
                action = "created"
            except ScheduleAlreadyRunningError:
                action = await self._update(client, schedule_id, task, desired, digest, force)
        return self.result(
            task,
            server,
            namespace,
            action=action,
            schedule_id=schedule_id,
            workflow_id=task.workflow.workflow_id,
            version=version,
        )

    async def _update(
        self, client: Client, schedule_id: str, task: TaskSpec, desired: Schedule, digest: str, force: bool
    ) -> str:
        outcome = "unchanged"

        async def updater(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
            nonlocal outcome
            live = live_marker(current.description.schedule)
            if live is None or live.get("task") != task.name:
                raise NotManaged(f"schedule {schedule_id!r} exists and is not managed by this task")
            if live.get("hash") == digest and not force:
                return None
            if task.workflow.paused is None:
                desired.state.paused = current.description.schedule.state.paused
            if task.workflow.note is None:
                desired.state.note = current.description.schedule.state.note
            outcome = "updated"
            return ScheduleUpdate(schedule=desired)

        await client.get_schedule_handle(schedule_id).update(updater)
        return outcome


class WorkflowRunnerWithTempWorker(Runner):
    """Runs an in-process worker with exactly the task's workflow and activities, waits for
    the result (bounded by the execution timeout, else 5 minutes), then shuts the worker down."""

    async def deploy(self, task: TaskSpec, version: str | None = None) -> DeployResult:
        from launchpad.temporal.workers import build_worker

        if self.registry is None:
            raise LaunchpadError("WorkflowRunnerWithTempWorker needs the component registry")
        client, server, namespace = await self.client_for(task)
        kwargs = task.workflow.workflow_kwargs
        names = [kwargs.activity] if kwargs.activity else []
        names += [item.activity for item in kwargs.batch or []]
        queue = task.workflow.task_queue or f"launchpad-temp-{uuid.uuid4().hex[:12]}"
        temp = task.model_copy(update={"workflow": task.workflow.model_copy(update={"task_queue": queue})})
        with ThreadPoolExecutor(max_workers=4) as pool:
            worker = build_worker(
                client,
                self.registry,
                task_queue=queue,
                workflows=[task.workflow.workflow],
                activities=list(dict.fromkeys(names)),
                executor=pool,
            )
            async with worker:
                handle = await client.start_workflow(
                    task.workflow.workflow, workflow_input(temp), **start_options(temp, version)
                )
                timeout = task.workflow.execution_timeout or DEFAULT_TEMP_WORKER_TIMEOUT
                result = await asyncio.wait_for(handle.result(), timeout.total_seconds())
        return self.result(
            task,
            server,
            namespace,
            action="completed",
            workflow_id=handle.id,
            run_id=handle.result_run_id,
            result=result,
            version=version,
        )


BUILTIN_RUNNERS: tuple[type[Runner], ...] = (
    WorkflowRunner,
    ScheduledWorkflowRunner,
    WorkflowRunnerWithTempWorker,
)


def runner_for(task: TaskSpec, connections: Connections, registry: Registry) -> Runner:
    runner_cls: type[Runner] = registry.get("runner", task.runner)
    return runner_cls(connections, registry)
