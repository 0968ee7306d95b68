"""The worker file: which task queue a worker process serves, with what code."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from launchpad.spec.base import StrictModel, empty_list
from launchpad.types import Duration


class WorkerOptions(StrictModel):
    task_queue: str
    workflows: list[str] = empty_list()
    activities: list[str] = empty_list()
    max_workers: int = Field(default=10, ge=1, description="threads for sync activities")
    max_concurrent_activities: int | None = Field(default=None, ge=1)
    max_concurrent_workflow_tasks: int | None = Field(default=None, ge=1)
    graceful_shutdown_timeout: Duration = timedelta(seconds=30)
    sticky_queue_schedule_to_start_timeout: Duration | None = Field(
        default=None, description="how long a cached workflow waits for this worker before any worker takes it"
    )


class WorkerSpec(StrictModel):
    name: str | None = None
    server: str | None = None
    namespace: str | None = None
    template: bool = False
    deploy_on_server_start: bool = False
    worker: WorkerOptions
