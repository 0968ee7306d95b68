"""The task file: what to run on Temporal (a workflow start or a schedule)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from launchpad.render import PROTECTED_ROOT_KEYS
from launchpad.spec.activity import RetryPolicySpec, WorkflowKwargs
from launchpad.spec.base import EnumName, StrictModel, empty_dict, empty_list
from launchpad.spec.schedule import ScheduleOptions
from launchpad.types import Duration

BUILTIN_RUNNERS = ("WorkflowRunner", "ScheduledWorkflowRunner", "WorkflowRunnerWithTempWorker")
SINGLE_ACTIVITY_WORKFLOWS = ("Task", "AwaitedTask")
BATCH_WORKFLOWS = ("BatchTask", "AwaitedBatchTask")

ARGUMENTS = "workflow.workflow_kwargs"  # what `overwritable: true` lets a deploy overwrite
_WHERE = "decides where the task runs"
_HOW_OFTEN = "decides how often the task runs"
# What a deploy's overwrite may change only for a super user, whatever the task file allows: the
# keys that decide where, as whom or how often a task runs, and which running workflow it meets.
SUPER_USER_ONLY: dict[str, str] = {
    "runner": "decides what starts the task (a runner may start a worker in the API process)",
    "server": _WHERE,
    "namespace": _WHERE,
    "workflow.task_queue": _WHERE,
    "workflow.workflow_kwargs.task_queue": _WHERE,
    "workflow.workflow_kwargs.batch.*.task_queue": _WHERE,
    "workflow.workflow_id": "names the workflow it starts (it could meet another task's running workflow)",
    "workflow.id_reuse_policy": "decides what happens to an earlier workflow with the same id",
    "workflow.id_conflict_policy": "decides what happens to a running workflow with the same id",
    "workflow.scheduler_id": _HOW_OFTEN,
    "workflow.cron_schedule": _HOW_OFTEN,
    "workflow.workflow_kwargs.at_end.renew": _HOW_OFTEN,
    **{f"workflow.{key}": _HOW_OFTEN for key in ScheduleOptions.model_fields},
}
_DOTTED = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")


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
    overwritable: bool | list[str] = Field(
        default=False,
        description="what an API deploy may overwrite: true (the arguments, workflow.workflow_kwargs) "
        "or a list of dotted paths",
    )
    template: bool = False
    deploy_on_server_start: bool = False
    on_change: Literal["keep", "restart"] = "keep"
    description: str | None = None
    workflow: WorkflowSpec

    @field_validator("overwritable", mode="before")
    @classmethod
    def _overwritable_paths(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if not isinstance(value, list):
            raise ValueError("give true (the arguments), false, or a list of dotted paths")
        for path in value:
            if not isinstance(path, str) or not _DOTTED.match(path):
                raise ValueError(f"{path!r} is not a dotted path (workflow.execution_timeout)")
            if path.split(".")[0] in PROTECTED_ROOT_KEYS:
                raise ValueError(f"{path!r} can never be overwritten")
        return value

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
