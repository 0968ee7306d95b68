"""The task file: what to run on Temporal (a workflow start or a schedule)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from launchpad.spec.activity import RetryPolicySpec, WorkflowKwargs
from launchpad.spec.base import EnumName, StrictModel, empty_dict, empty_list
from launchpad.spec.schedule import ScheduleOptions
from launchpad.types import Duration

SINGLE_ACTIVITY_WORKFLOWS = ("Task", "AwaitedTask")
BATCH_WORKFLOWS = ("BatchTask", "AwaitedBatchTask")


class WorkflowSpec(ScheduleOptions):
    """`workflow:`: which workflow to run, where, and every Temporal start/schedule option."""

    task_queue: str | None = None
    workflow_id: str
    workflow: str
    scheduler_id: str | None = None
    workflow_kwargs: WorkflowKwargs = Field(default_factory=WorkflowKwargs)
    id_reuse_policy: Annotated[str, EnumName(WorkflowIDReusePolicy)] | None = None
    id_conflict_policy: Annotated[str, EnumName(WorkflowIDConflictPolicy)] | None = None
    cron_schedule: str | None = None
    request_eager_start: bool = False
    start_signal: str | None = None
    start_signal_args: list[Any] = empty_list()
    retry_policy: RetryPolicySpec | None = None
    execution_timeout: Duration | None = None
    run_timeout: Duration | None = None
    task_timeout: Duration | None = None
    rpc_timeout: Duration | None = None
    start_delay: Duration | None = None
    memo: dict[str, Any] = empty_dict()
    rpc_metadata: dict[str, str] = empty_dict()
    search_attributes: dict[str, Any] = empty_dict()


class TaskSpec(StrictModel):
    """A whole task file, rendered and validated."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    runner: str
    server: str | None = None
    namespace: str | None = None
    overwritable: bool = False
    template: bool = False
    deploy_on_server_start: bool = False
    on_change: Literal["keep", "restart"] = "keep"
    description: str | None = None
    workflow: WorkflowSpec

    @model_validator(mode="after")
    def _runner_needs(self) -> TaskSpec:
        wf = self.workflow
        if self.runner == "ScheduledWorkflowRunner" and not wf.scheduler_id:
            raise ValueError("workflow.scheduler_id is required by ScheduledWorkflowRunner")
        if self.runner != "WorkflowRunnerWithTempWorker" and not wf.task_queue:
            raise ValueError(f"workflow.task_queue is required by {self.runner}")
        if wf.workflow in SINGLE_ACTIVITY_WORKFLOWS and not wf.workflow_kwargs.activity:
            raise ValueError(f"workflow.workflow_kwargs.activity is required by {wf.workflow}")
        if wf.workflow in BATCH_WORKFLOWS and not wf.workflow_kwargs.batch:
            raise ValueError(f"workflow.workflow_kwargs.batch is required by {wf.workflow}")
        return self

    @property
    def is_scheduled(self) -> bool:
        return self.workflow.scheduler_id is not None and self.runner == "ScheduledWorkflowRunner"
