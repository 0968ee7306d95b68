"""Temporal workers built from worker files, run and reloaded one by one."""

from __future__ import annotations

import asyncio
import inspect
import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from launchpad.registry import USER_PACKAGE, Registry
from launchpad.spec.worker import WorkerSpec
from launchpad.temporal.connections import Connections

log = logging.getLogger(__name__)

# launchpad's own modules and users' loaded modules are imported once, outside the sandbox.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("launchpad", USER_PACKAGE)
)


def build_worker(
    client: Client,
    registry: Registry,
    *,
    task_queue: str,
    workflows: list[str],
    activities: list[str],
    executor: Executor | None = None,
    **options: Any,
) -> Worker:
    """A worker serving the named workflows and activities (sync ones run on `executor`)."""
    activity_fns = [registry.get("activity", name) for name in activities]
    needs_executor = any(not inspect.iscoroutinefunction(fn) for fn in activity_fns)
    if needs_executor and executor is None:
        raise ValueError("sync activities need an executor")
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[registry.get("workflow", name) for name in workflows],
        activities=activity_fns,
        activity_executor=executor if needs_executor else None,
        workflow_runner=SANDBOX,
        **{key: value for key, value in options.items() if value is not None},
    )


@dataclass
class RunningWorker:
    spec: WorkerSpec
    worker: Worker
    task: asyncio.Task[None]
    executor: ThreadPoolExecutor


class WorkerSet:
    """The workers of one process, by worker-file name."""

    def __init__(self, connections: Connections, registry: Registry) -> None:
        self.connections = connections
        self.registry = registry
        self.running: dict[str, RunningWorker] = {}

    async def start(self, name: str, spec: WorkerSpec) -> None:
        options = spec.worker
        server, namespace = self.connections.resolve(spec.server, spec.namespace)
        client = await self.connections.client(server.name, namespace)
        executor = ThreadPoolExecutor(max_workers=options.max_workers, thread_name_prefix=f"worker-{name}")
        worker = build_worker(
            client,
            self.registry,
            task_queue=options.task_queue,
            workflows=options.workflows,
            activities=options.activities,
            executor=executor,
            max_concurrent_activities=options.max_concurrent_activities,
            max_concurrent_workflow_tasks=options.max_concurrent_workflow_tasks,
            graceful_shutdown_timeout=options.graceful_shutdown_timeout,
            sticky_queue_schedule_to_start_timeout=options.sticky_queue_schedule_to_start_timeout,
        )
        task = asyncio.create_task(worker.run(), name=f"worker-{name}")
        self.running[name] = RunningWorker(spec, worker, task, executor)
        log.info("worker %s serving %s on %s/%s", name, options.task_queue, server.name, namespace)

    async def stop(self, name: str) -> None:
        """Graceful: in-flight activities get the worker's grace period."""
        running = self.running.pop(name, None)
        if running is None:
            return
        await running.worker.shutdown()
        await asyncio.gather(running.task, return_exceptions=True)
        running.executor.shutdown(wait=False)

    async def reload(self, name: str, spec: WorkerSpec) -> None:
        """Replace one worker (new spec or new code) without touching the others."""
        await self.stop(name)
        await self.start(name, spec)

    async def wait_until(self, stop: asyncio.Event, timeout: float | None = None) -> dict[str, BaseException]:
        """Wait until `stop` is set, a worker's run loop ends or `timeout` passes; return the failed workers."""
        stopper = asyncio.create_task(stop.wait())
        tasks = [running.task for running in self.running.values()]
        await asyncio.wait([stopper, *tasks], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        return self.failed()

    def grace_period(self) -> float:
        return max((r.spec.worker.graceful_shutdown_timeout.total_seconds() for r in self.running.values()), default=0)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(name) for name in list(self.running)))

    def failed(self) -> dict[str, BaseException]:
        """Workers whose run loop ended with an error."""
        return {
            name: exc
            for name, running in self.running.items()
            if running.task.done() and (exc := running.task.exception()) is not None
        }
