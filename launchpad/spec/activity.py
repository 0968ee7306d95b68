"""Activity settings and the `workflow_kwargs` block that built-in workflows read."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from temporalio.workflow import ActivityCancellationType, VersioningIntent

from launchpad.spec.base import EnumName, StrictModel, empty_list
from launchpad.types import Duration


class RetryPolicySpec(StrictModel):
    """Temporal's RetryPolicy, field for field."""

    initial_interval: Duration | None = None
    backoff_coefficient: float | None = Field(default=None, ge=1)
    maximum_interval: Duration | None = None
    maximum_attempts: int | None = Field(default=None, ge=0)
    non_retryable_error_types: list[str] | None = None


class WorkflowHandleRef(StrictModel):
    workflow: str | None = None
    workflow_id: str


class SignalRef(StrictModel):
    signal: str
    signal_args: list[Any] = empty_list()


class ChainWith(StrictModel):
    """Signal another running workflow, by id, at the start or end of this one."""

    handle: WorkflowHandleRef
    signal: SignalRef


class AtStart(StrictModel):
    chain_with: list[ChainWith] = empty_list()


class AtEnd(StrictModel):
    renew: bool = False
    chain_with: list[ChainWith] = empty_list()


class ActivitySettings(StrictModel):
    """One activity call: the activity by name, its positional args and its options."""

    activity: str | None = None
    args: list[Any] = empty_list()
    activity_id: str | None = None
    task_queue: str | None = None
    retry_policy: RetryPolicySpec | None = None
    versioning_intent: Annotated[str, EnumName(VersioningIntent)] | None = None
    cancellation_type: Annotated[str, EnumName(ActivityCancellationType)] = "TRY_CANCEL"
    schedule_to_close_timeout: Duration | None = None
    schedule_to_start_timeout: Duration | None = None
    start_to_close_timeout: Duration | None = None
    heartbeat_timeout: Duration | None = None


class BatchItem(ActivitySettings):
    activity: str


class WorkflowKwargs(ActivitySettings):
    """The input of every built-in workflow."""

    at_start: AtStart = Field(default_factory=AtStart)
    at_end: AtEnd = Field(default_factory=AtEnd)
    batch: list[BatchItem] | None = None
    items_per_run: int = Field(default=100, ge=1, description="TaskDispatcher: continue-as-new after this many items")
