"""A custom runner.

A runner turns a rendered task into work on Temporal. Subclass `Runner` (or a built-in
runner) and implement `deploy`; tasks name the runner by its class name (`runner: ...`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from launchpad.spec.task import TaskSpec
from launchpad.temporal.runners import DeployResult, WorkflowRunner

DEFAULT_WAIT = timedelta(minutes=5)


class WorkflowRunnerWithResult(WorkflowRunner):
    """Starts the workflow on the running worker, like `WorkflowRunner`, then waits for its
    result (at most the task's `execution_timeout`, else 5 minutes) and returns it.

    Handy for short tasks deployed through the API or `launchpad deploy`, whose caller wants
    the answer rather than a workflow id.
    """

    async def deploy(self, task: TaskSpec, version: str | None = None) -> DeployResult:
        started = await super().deploy(task, version)
        client, _, _ = await self.client_for(task)
        handle = client.get_workflow_handle(started.workflow_id or "", run_id=started.run_id)
        timeout = task.workflow.execution_timeout or DEFAULT_WAIT
        result = await asyncio.wait_for(handle.result(), timeout.total_seconds())
        return dataclasses.replace(started, action="completed", result=result)
