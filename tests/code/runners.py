"""A user's custom runner: a WorkflowRunner that tags every run in its memo."""

from __future__ import annotations

from launchpad.spec.task import TaskSpec
from launchpad.temporal.runners import DeployResult, WorkflowRunner


class TaggingRunner(WorkflowRunner):
    async def deploy(self, task: TaskSpec, version: str | None = None) -> DeployResult:
        memo = {**task.workflow.memo, "tagged_by": "TaggingRunner"}
        tagged = task.model_copy(update={"workflow": task.workflow.model_copy(update={"memo": memo})})
        return await super().deploy(tagged, version)
