"""A user's custom workflow built on launchpad's BaseWorkflow."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from launchpad.temporal.workflows import BaseWorkflow


@workflow.defn(name="Twice")
class Twice(BaseWorkflow):
    """Runs the task's activity twice and returns both results."""

    @workflow.run
    async def run(self, raw: dict[str, Any]) -> list[Any]:
        kwargs = self.parse(raw)
        await self.run_activity(kwargs)
        await self.run_activity(kwargs)
        return self.results
