"""The worker file: which task queue a worker process serves, with what code."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import Field

from launchpad.spec.base import StrictModel, empty_list
from launchpad.types import Duration

# Task keys that earlier versions also accepted in worker files, where nothing read them. They
# are refused by name, so that a file relying on them learns that they never did anything.
TASK_ONLY_KEYS = {
    "template": "a task key: worker files are not templates; remove it",
    "deploy_on_server_start": "a task key: a worker runs while `launchpad worker`, `start` or `dev` runs; remove it",
}


def task_only_keys(doc: Mapping[str, Any]) -> dict[str, str]:
    """The task-only keys a worker file holds, each with the message that refuses it."""
    return {key: message for key, message in TASK_ONLY_KEYS.items() if key in doc}


class WorkerOptions(StrictModel):
    task_queue: str = Field(description="`Worker(task_queue=)`: the task queue this worker polls")
    workflows: list[str] = empty_list(
        "`Worker(workflows=)`: the workflows it runs, by `@workflow.defn` name (built-in or custom)"
    )
    activities: list[str] = empty_list("`Worker(activities=)`: the activities it runs, by `@activity.defn` name")
    max_workers: int = Field(
        default=10, ge=1, description="threads of `Worker(activity_executor=)`, which runs sync activities"
    )
    max_concurrent_activities: int | None = Field(
        default=None, ge=1, description="`Worker(max_concurrent_activities=)`; unset: the SDK's default"
    )
    max_concurrent_workflow_tasks: int | None = Field(
        default=None, ge=1, description="`Worker(max_concurrent_workflow_tasks=)`; unset: the SDK's default"
    )
    graceful_shutdown_timeout: Duration = Field(
        default=timedelta(seconds=30),
        description="`Worker(graceful_shutdown_timeout=)`: on stop, running activities get this long to finish",
    )
    sticky_queue_schedule_to_start_timeout: Duration | None = Field(
        default=None,
        description="`Worker(sticky_queue_schedule_to_start_timeout=)`: how long a cached workflow waits for this "
        "worker before any worker takes it",
    )


class WorkerSpec(StrictModel):
    name: str | None = Field(default=None, description="the worker's name; when given, it must equal the file name")
    server: str | None = Field(
        default=None, description="a server of `temporalio.servers` (its `name`); unset: the default server"
    )
    namespace: str | None = Field(default=None, description="a namespace of that server; unset: its default namespace")
    worker: WorkerOptions = Field(description="the Temporal worker: its task queue, code and limits")
