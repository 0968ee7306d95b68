"""Runners: turn a rendered, validated task into work on Temporal.

Every object a runner creates carries the `launchpad` memo marker (launchpad.temporal.memo) so
later syncs know what launchpad owns and which version of the task made it.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import Client, Schedule, ScheduleAlreadyRunningError, ScheduleUpdate, ScheduleUpdateInput
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from launchpad.errors import LaunchpadError
from launchpad.spec.base import model_hash
from launchpad.spec.task import TaskSpec
from launchpad.temporal.connections import Connections
from launchpad.temporal.memo import owner, owner_marker
from launchpad.temporal.options import start_options, workflow_input
from launchpad.temporal.result import DeployResult
from launchpad.temporal.schedules import action_marker, build_schedule, keep_live

if TYPE_CHECKING:
    from launchpad.registry import Registry

DEFAULT_TEMP_WORKER_TIMEOUT = timedelta(minutes=5)
__all__ = [
    "BUILTIN_RUNNERS",
    "AlreadyRunning",
    "DeployResult",
    "NotManaged",
    "Runner",
    "ScheduledWorkflowRunner",
    "WorkflowRunner",
    "WorkflowRunnerWithTempWorker",
    "runner_for",
    "spec_hash",
]


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
    """A schedule with that id exists but this task did not create it: never touch it."""

    code = "schedule_exists"
    kind = "conflict"


def spec_hash(task: TaskSpec) -> str:
    """A stable hash of the rendered task: the server rewrites schedules, so compare this. The
    sync policy and dependencies change nothing in Temporal and are left out (so is an empty
    `ignore_differences`): a file that only changes them is recorded, not rewritten."""
    exclude = {"sync", "depends_on"} | (set() if task.ignore_differences else {"ignore_differences"})
    return model_hash(task, exclude=exclude)


class Runner:
    """Base of every runner, built-in or custom; looked up by class name."""

    instance: str = ""  # the launchpad instance whose marker it writes (set by `runner_for`)

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
                task.workflow.workflow, workflow_input(task), **start_options(task, version, self.instance)
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
        desired = build_schedule(task, version, digest, self.instance)
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
                    memo=owner_marker(task.name, self.instance),
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
            found = owner(await current.description.memo())
            if found is None or not found.is_(task.name, self.instance):
                by = str(found) if found else "something other than launchpad"
                raise NotManaged(f"schedule {schedule_id!r} exists and is managed by {by}, not by this task")
            live = action_marker(current.description.schedule)
            if not force and live is not None and live.get("hash") == digest:
                return None
            if task.workflow.paused is None:  # operator state wins unless the file sets it
                desired.state.paused = current.description.schedule.state.paused
            if task.workflow.note is None:
                desired.state.note = current.description.schedule.state.note
            keep_live(desired, current.description.schedule, task.ignore_differences)
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
                    task.workflow.workflow, workflow_input(temp), **start_options(temp, version, self.instance)
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


def runner_for(task: TaskSpec, connections: Connections, registry: Registry, instance: str = "") -> Runner:
    """The task's runner, marking what it creates as `instance`'s."""
    runner_cls: type[Runner] = registry.get("runner", task.runner)
    runner = runner_cls(connections, registry)
    runner.instance = instance
    return runner
