"""A custom workflow, built on launchpad's `BaseWorkflow`.

`BaseWorkflow` gives a workflow what the built-in ones have: `parse` (the task's
`workflow_kwargs`, validated), `run_activity` (timeouts, retry policy, task queue from the
task file), `at_start` / `at_end` (`chain_with`, `renew`) and the `status` query. Register
the class with `@workflow.defn(name=...)`; tasks and workers use that name.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow

from launchpad.temporal.workflows import BaseWorkflow


@workflow.defn(name="ForEach")
class ForEach(BaseWorkflow):
    """Calls the task's activity once per item of `args`, concurrently; returns the results in order.

    Example: `activity: say_hello, args: [Ada, Grace]` returns `["Hello, Ada!", "Hello, Grace!"]`.
    """

    @workflow.run
    async def run(self, raw: dict[str, Any]) -> list[Any]:
        kwargs = self.parse(raw)
        self.state = "running"
        await self.at_start(kwargs)
        results = await asyncio.gather(*(self.run_activity(kwargs, [item]) for item in kwargs.args))
        await self.at_end(kwargs, raw)
        return list(results)
