"""The task file: what to run on Temporal (a workflow start or a schedule)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from launchpad.render import PROTECTED_ROOT_KEYS
from launchpad.spec.activity import RetryPolicySpec, WorkflowKwargs
from launchpad.spec.base import EnumName, StrictModel, empty_dict, empty_list
from launchpad.spec.dependencies import reconciled
from launchpad.spec.policy import IgnorablePath, SyncPolicy
from launchpad.spec.schedule import ScheduleOptions
from launchpad.types import Duration

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
    """`workflow:`: which workflow to run, where, and every Temporal start/schedule option.

    A schedule's action (`ScheduleActionStartWorkflow`) takes `workflow`, `workflow_id`,
    `task_queue`, `workflow_kwargs`, the three workflow timeouts, `retry_policy`, `memo` and
    `search_attributes`; the other `start_workflow` options apply to direct starts only, and the
    schedule options (`ScheduleSpec`, `SchedulePolicy`, `ScheduleState`) to schedules only."""

    task_queue: str | None = Field(
        default=None,
        description="`Client.start_workflow(task_queue=)`, the queue its workers poll; "
        "required unless the runner is WorkflowRunnerWithTempWorker",
    )
    workflow_id: str = Field(
        description="`start_workflow(id=)`; for a schedule, the prefix of each run's id (Temporal adds the time)"
    )
    workflow: str = Field(
        description="the workflow type: `Task`, `AwaitedTask`, `BatchTask`, `AwaitedBatchTask`, `TaskDispatcher` "
        "or a custom `@workflow.defn` name"
    )
    scheduler_id: str | None = Field(
        default=None,
        description="`Client.create_schedule(id=)`: the schedule's id; required by ScheduledWorkflowRunner",
    )
    workflow_kwargs: WorkflowKwargs = Field(
        default_factory=WorkflowKwargs, description="the workflow's one argument: the activity to run and its options"
    )
    id_reuse_policy: Annotated[str, EnumName(WorkflowIDReusePolicy)] | None = Field(
        default=None,
        description="`start_workflow(id_reuse_policy=)`: may the id of a closed workflow start again; "
        "TERMINATE_IF_RUNNING means ALLOW_DUPLICATE + id_conflict_policy TERMINATE_EXISTING",
    )
    id_conflict_policy: Annotated[str, EnumName(WorkflowIDConflictPolicy)] | None = Field(
        default=None, description="`start_workflow(id_conflict_policy=)`: what a start does when the id is running"
    )
    cron_schedule: str | None = Field(
        default=None, description="`start_workflow(cron_schedule=)`: a cron workflow (Temporal's older way; see crons)"
    )
    request_eager_start: bool = Field(
        default=False,
        description="`start_workflow(request_eager_start=)`: hand the first task to a worker sharing the client",
    )
    start_signal: str | None = Field(
        default=None,
        description="`start_workflow(start_signal=)`: signal-with-start, to the running workflow or a new one",
    )
    start_signal_args: list[Any] = empty_list("`start_workflow(start_signal_args=)`: the start signal's arguments")
    retry_policy: RetryPolicySpec | None = Field(
        default=None, description="`start_workflow(retry_policy=)`, the workflow's own retries; unset: none"
    )
    execution_timeout: Duration | None = Field(
        default=None,
        description="`start_workflow(execution_timeout=)`: the whole execution, retries and continue-as-new included",
    )
    run_timeout: Duration | None = Field(default=None, description="`start_workflow(run_timeout=)`: one run")
    task_timeout: Duration | None = Field(
        default=None, description="`start_workflow(task_timeout=)`: one workflow task; unset: the server's 10 s"
    )
    rpc_timeout: Duration | None = Field(
        default=None, description="`start_workflow(rpc_timeout=)`: the start call itself"
    )
    start_delay: Duration | None = Field(
        default=None, description="`start_workflow(start_delay=)`: the workflow starts this much later"
    )
    memo: dict[str, Any] = empty_dict(
        "`start_workflow(memo=)`: data kept with the workflow; the key `launchpad` is launchpad's owner marker"
    )
    rpc_metadata: dict[str, str] = empty_dict("`start_workflow(rpc_metadata=)`: gRPC headers of the start call")
    search_attributes: dict[str, Any] = empty_dict(
        "`start_workflow(search_attributes=)`, typed by value: bool, int, float, datetime, list (keyword list), "
        "else keyword; each must be registered on the namespace"
    )


class TaskSpec(StrictModel):
    """A whole task file, rendered and validated."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="the task's name, equal to the file name without `.yaml`; `POST /tasks/deploy/{name}` runs it",
    )
    runner: str = Field(
        description="how it runs: WorkflowRunner (start, return at once), ScheduledWorkflowRunner (a schedule), "
        "WorkflowRunnerWithTempWorker (a worker in the deploying process; waits for the result) or a custom runner"
    )
    server: str | None = Field(
        default=None, description="a server of `temporalio.servers` (its `name`); unset: the default server"
    )
    namespace: str | None = Field(default=None, description="a namespace of that server; unset: its default namespace")
    overwritable: bool | list[str] = Field(
        default=False,
        description="what an API deploy may overwrite: true (the arguments, workflow.workflow_kwargs) "
        "or a list of dotted paths",
    )
    template: bool = Field(
        default=False,
        description="string values are jinja2 templates, rendered with a deploy's `template_args`; never reconciled",
    )
    deploy_on_server_start: bool = Field(
        default=False, description="the reconciler keeps this workflow running: it starts it when it is not"
    )
    on_change: Literal["keep", "restart"] = Field(
        default="keep",
        description="when the file changes while its deploy_on_server_start workflow runs: keep it, or restart it",
    )
    description: str | None = Field(default=None, description="free text for the people reading the file")
    workflow: WorkflowSpec = Field(description="what to start or schedule, with its Temporal options")
    sync: SyncPolicy = Field(
        default_factory=SyncPolicy,
        description="how far the reconciler may go with this task (suspend, self_heal, prune); "
        "only on reconciled tasks (a schedule, or deploy_on_server_start)",
    )
    ignore_differences: list[IgnorablePath] = empty_list(
        "schedule fields a hand edit may change without being healed (`spec.jitter`, `policies.overlap`, ...); "
        "an update keeps their live values"
    )
    depends_on: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]] = empty_list(
        "reconciled tasks this one waits for: created and updated after them, pruned before them; "
        "it waits while one of them is Degraded or missing"
    )

    @field_validator("sync", "depends_on")
    @classmethod
    def _only_reconciled(cls, value: Any, info: ValidationInfo) -> Any:
        if value and value != SyncPolicy() and not reconciled(info.data):
            raise ValueError(
                "applies to reconciled tasks only (runner ScheduledWorkflowRunner, or deploy_on_server_start: true)"
            )
        return value

    @field_validator("ignore_differences")
    @classmethod
    def _only_schedules(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if value and info.data.get("runner") != "ScheduledWorkflowRunner":
            raise ValueError("applies to schedules only (runner ScheduledWorkflowRunner)")
        return value

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
