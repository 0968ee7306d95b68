"""Activity settings and the `workflow_kwargs` block that built-in workflows read."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from temporalio.workflow import ActivityCancellationType, VersioningIntent

from launchpad.spec.base import EnumName, StrictModel, empty_list
from launchpad.types import Duration


class RetryPolicySpec(StrictModel):
    """Temporal's RetryPolicy, field for field."""

    initial_interval: Duration | None = Field(
        default=None, description="`RetryPolicy.initial_interval`: the wait before the first retry; unset: 1 s"
    )
    backoff_coefficient: float | None = Field(
        default=None,
        ge=1,
        description="`RetryPolicy.backoff_coefficient`: each wait is the last one times this; unset: 2",
    )
    maximum_interval: Duration | None = Field(
        default=None, description="`RetryPolicy.maximum_interval`: the longest wait; unset: 100 times initial_interval"
    )
    maximum_attempts: int | None = Field(
        default=None,
        ge=0,
        description="`RetryPolicy.maximum_attempts`, the first attempt included; 0 or unset: no limit",
    )
    non_retryable_error_types: list[str] | None = Field(
        default=None, description="`RetryPolicy.non_retryable_error_types`: error type names never retried"
    )


class WorkflowHandleRef(StrictModel):
    workflow: str | None = Field(default=None, description="the target's workflow type; informative, not checked")
    workflow_id: str = Field(
        description="id of the running workflow to signal (`workflow.get_external_workflow_handle`)"
    )


class SignalRef(StrictModel):
    signal: str = Field(description="the signal's name, as the target workflow defines it")
    signal_args: list[Any] = empty_list("the signal's arguments")


class ChainWith(StrictModel):
    """Signal another running workflow, by id, at the start or end of this one."""

    handle: WorkflowHandleRef = Field(description="the workflow to signal")
    signal: SignalRef = Field(description="the signal to send it")


class AtStart(StrictModel):
    chain_with: list[ChainWith] = empty_list(
        "signals sent before the activity runs; a target that is not running is recorded in `status`, not fatal"
    )


class AtEnd(StrictModel):
    renew: bool = Field(
        default=False,
        description="continue-as-new with the same input when the run ends (`workflow.continue_as_new`)",
    )
    chain_with: list[ChainWith] = empty_list(
        "signals sent after the activity ran; a target that is not running is recorded in `status`, not fatal"
    )


class ActivitySettings(StrictModel):
    """One activity call: the activity by name, its positional args and its options."""

    activity: str | None = Field(
        default=None,
        description="the activity to run, by its `@activity.defn` name; required by `Task` and `AwaitedTask`",
    )
    args: list[Any] = empty_list("the activity's positional arguments; a `start` signal's arguments replace them")
    activity_id: str | None = Field(
        default=None, description="`workflow.execute_activity(activity_id=)`; unset: Temporal numbers it"
    )
    task_queue: str | None = Field(
        default=None, description="`execute_activity(task_queue=)`; unset: the workflow's task queue"
    )
    retry_policy: RetryPolicySpec | None = Field(
        default=None,
        description="`execute_activity(retry_policy=)`; unset: Temporal's default (retry without limit, 1 s doubling)",
    )
    versioning_intent: Annotated[str, EnumName(VersioningIntent)] | None = Field(
        default=None, description="`execute_activity(versioning_intent=)`: worker versioning (build ids)"
    )
    cancellation_type: Annotated[str, EnumName(ActivityCancellationType)] = Field(
        default="TRY_CANCEL",
        description="`execute_activity(cancellation_type=)`: what a cancelled workflow waits for",
    )
    schedule_to_close_timeout: Duration | None = Field(
        default=None,
        description="`execute_activity(schedule_to_close_timeout=)`: from scheduling to the end, retries included",
    )
    schedule_to_start_timeout: Duration | None = Field(
        default=None, description="`execute_activity(schedule_to_start_timeout=)`: the longest wait for a worker"
    )
    start_to_close_timeout: Duration | None = Field(
        default=None,
        description="`execute_activity(start_to_close_timeout=)`: one attempt; "
        "unset, without schedule_to_close_timeout: 10 minutes",
    )
    heartbeat_timeout: Duration | None = Field(
        default=None, description="`execute_activity(heartbeat_timeout=)`: the longest time between two heartbeats"
    )


class BatchItem(ActivitySettings):
    activity: str = Field(description="the activity to run, by its `@activity.defn` name")


class WorkflowKwargs(ActivitySettings):
    """The input of every built-in workflow."""

    at_start: AtStart = Field(default_factory=AtStart, description="what the workflow does before its activity")
    at_end: AtEnd = Field(default_factory=AtEnd, description="what the workflow does after its activity")
    batch: list[BatchItem] | None = Field(
        default=None,
        description="`BatchTask` / `AwaitedBatchTask`: activities run one after the other, each with its own options",
    )
    items_per_run: int = Field(default=100, ge=1, description="TaskDispatcher: continue-as-new after this many items")
