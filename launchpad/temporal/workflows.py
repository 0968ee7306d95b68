"""Built-in workflows. Deterministic: all I/O happens in activities, called by name.

Every built-in workflow takes one argument, the task's `workflow_kwargs` as JSON,
so any client (the `temporal` CLI included) can start one. `BaseWorkflow` holds
the shared behaviour and is the base for users' own workflows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from launchpad.spec.activity import ActivitySettings, ChainWith, RetryPolicySpec, WorkflowKwargs

DEFAULT_START_TO_CLOSE = timedelta(minutes=10)
RESULTS_KEPT = 100  # the dispatcher's status shows the latest results only


def retry_policy(spec: RetryPolicySpec | None) -> RetryPolicy | None:
    """Temporal's RetryPolicy from the spec (shared by runners and workflows)."""
    if spec is None:
        return None
    return RetryPolicy(
        initial_interval=spec.initial_interval or timedelta(seconds=1),
        backoff_coefficient=spec.backoff_coefficient or 2.0,
        maximum_interval=spec.maximum_interval,
        maximum_attempts=spec.maximum_attempts or 0,
        non_retryable_error_types=spec.non_retryable_error_types,
    )


class BaseWorkflow:
    """Shared handling of `workflow_kwargs`: activity calls, `at_start`/`at_end`, `status`."""

    def __init__(self) -> None:
        self.state = "created"
        self.results: list[Any] = []
        self.errors: list[str] = []

    @workflow.query
    def status(self) -> dict[str, Any]:
        return {"state": self.state, "results": self.results, "errors": self.errors}

    @staticmethod
    def parse(kwargs: dict[str, Any]) -> WorkflowKwargs:
        return WorkflowKwargs.model_validate(kwargs)

    async def run_activity(self, settings: ActivitySettings, args: list[Any] | None = None) -> Any:
        """Call the activity by name with `args` as a list: any number of arguments."""
        if not settings.activity:
            raise ApplicationError("no activity given", non_retryable=True)
        timeouts_given = settings.start_to_close_timeout or settings.schedule_to_close_timeout
        result = await workflow.execute_activity(
            settings.activity,
            args=settings.args if args is None else args,
            activity_id=settings.activity_id,
            task_queue=settings.task_queue,
            retry_policy=retry_policy(settings.retry_policy),
            cancellation_type=workflow.ActivityCancellationType[settings.cancellation_type],
            versioning_intent=(
                workflow.VersioningIntent[settings.versioning_intent] if settings.versioning_intent else None
            ),
            schedule_to_close_timeout=settings.schedule_to_close_timeout,
            schedule_to_start_timeout=settings.schedule_to_start_timeout,
            start_to_close_timeout=settings.start_to_close_timeout
            or (None if timeouts_given else DEFAULT_START_TO_CLOSE),
            heartbeat_timeout=settings.heartbeat_timeout,
        )
        self.results.append(result)
        return result

    async def chain(self, chain_with: list[ChainWith]) -> None:
        """Signal other running workflows; a missing target is recorded, not fatal."""
        for link in chain_with:
            handle = workflow.get_external_workflow_handle(link.handle.workflow_id)
            try:
                await handle.signal(link.signal.signal, args=link.signal.signal_args)
            except Exception as exc:  # the target may be gone; this run still succeeds
                self.errors.append(f"chain_with {link.handle.workflow_id}: {exc}")

    async def at_start(self, kwargs: WorkflowKwargs) -> None:
        await self.chain(kwargs.at_start.chain_with)

    async def at_end(self, kwargs: WorkflowKwargs, raw: dict[str, Any]) -> None:
        """Chain, then continue-as-new with the same input when `renew` is set."""
        await self.chain(kwargs.at_end.chain_with)
        self.state = "completed"
        if kwargs.at_end.renew:
            workflow.continue_as_new(raw)


class AwaitsStart(BaseWorkflow):
    """Waits for signal `start` (whose args, if any, replace the activity args); `exit` ends it."""

    def __init__(self) -> None:
        super().__init__()
        self.started = False
        self.exited = False
        self.start_args: list[Any] | None = None

    @workflow.signal
    def start(self, *args: Any) -> None:
        self.started = True
        self.start_args = list(args) if args else None

    @workflow.signal
    def exit(self) -> None:
        self.exited = True

    async def wait_for_start(self) -> bool:
        self.state = "waiting"
        await workflow.wait_condition(lambda: self.started or self.exited)
        if self.exited and not self.started:
            self.state = "exited"
            return False
        return True


@workflow.defn(name="Task")
class Task(BaseWorkflow):
    """Runs one activity."""

    @workflow.run
    async def run(self, raw: dict[str, Any]) -> Any:
        kwargs = self.parse(raw)
        self.state = "running"
        await self.at_start(kwargs)
        result = await self.run_activity(kwargs)
        await self.at_end(kwargs, raw)
        return result


@workflow.defn(name="AwaitedTask")
class AwaitedTask(AwaitsStart):
    """`Task`, after signal `start`."""

    @workflow.run
    async def run(self, raw: dict[str, Any]) -> Any:
        kwargs = self.parse(raw)
        if not await self.wait_for_start():
            return None
        self.state = "running"
        await self.at_start(kwargs)
        result = await self.run_activity(kwargs, self.start_args)
        await self.at_end(kwargs, raw)
        return result


async def _run_batch(wf: BaseWorkflow, kwargs: WorkflowKwargs) -> list[Any]:
    for item in kwargs.batch or []:
        await wf.run_activity(item)
    return list(wf.results)


@workflow.defn(name="BatchTask")
class BatchTask(BaseWorkflow):
    """Runs the `batch:` activities in order; returns their results."""

    @workflow.run
    async def run(self, raw: dict[str, Any]) -> list[Any]:
        kwargs = self.parse(raw)
        self.state = "running"
        await self.at_start(kwargs)
        results = await _run_batch(self, kwargs)
        await self.at_end(kwargs, raw)
        return results


@workflow.defn(name="AwaitedBatchTask")
class AwaitedBatchTask(AwaitsStart):
    """`BatchTask`, after signal `start`."""

    @workflow.run
    async def run(self, raw: dict[str, Any]) -> list[Any] | None:
        kwargs = self.parse(raw)
        if not await self.wait_for_start():
            return None
        self.state = "running"
        await self.at_start(kwargs)
        results = await _run_batch(self, kwargs)
        await self.at_end(kwargs, raw)
        return results


@workflow.defn(name="TaskDispatcher")
class TaskDispatcher(BaseWorkflow):
    """A queue of rendered tasks, each run as a child workflow with an explicit id.

    Signal `queue` carries `{workflow, workflow_id?, task_queue?, workflow_kwargs}`;
    `exit` drains the queue and ends. After `items_per_run` items (or when
    Temporal suggests it) it continues-as-new with the pending items, so its
    history never grows without bound.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[dict[str, Any]] = []
        self.processed = 0
        self.exiting = False

    @workflow.signal
    def queue(self, task: dict[str, Any]) -> None:
        self.pending.append(task)

    @workflow.signal
    def exit(self) -> None:
        self.exiting = True

    @workflow.query
    def status(self) -> dict[str, Any]:
        return {**super().status(), "pending": len(self.pending), "processed": self.processed}

    @workflow.run
    async def run(self, raw: dict[str, Any], carried: dict[str, Any] | None = None) -> int:
        kwargs = self.parse(raw)
        carried = carried or {}
        self.pending = list(carried.get("pending", [])) + self.pending
        self.processed = int(carried.get("processed", 0))
        self.exiting = self.exiting or bool(carried.get("exiting"))
        self.state = "running"
        await self.at_start(kwargs)
        run_items = 0
        while True:
            await workflow.wait_condition(lambda: bool(self.pending) or self.exiting)
            if not self.pending:
                break
            if run_items >= kwargs.items_per_run or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                carry = {"pending": self.pending, "processed": self.processed, "exiting": self.exiting}
                workflow.continue_as_new(args=[raw, carry])
            await self.dispatch(self.pending.pop(0))
            run_items += 1
        await self.at_end(kwargs, raw)
        return self.processed

    async def dispatch(self, task: dict[str, Any]) -> None:
        info = workflow.info()
        self.processed += 1
        child_id = task.get("workflow_id") or f"{info.workflow_id}-{self.processed}"
        try:
            result = await workflow.execute_child_workflow(
                task["workflow"],
                task.get("workflow_kwargs", {}),
                id=child_id,
                task_queue=task.get("task_queue") or info.task_queue,
            )
            self.results.append({"workflow_id": child_id, "result": result})
        except Exception as exc:  # one failed child must not end the dispatcher
            self.errors.append(f"{child_id}: {exc}")
        del self.results[:-RESULTS_KEPT]


BUILTIN_WORKFLOWS: tuple[type, ...] = (Task, AwaitedTask, BatchTask, AwaitedBatchTask, TaskDispatcher)
