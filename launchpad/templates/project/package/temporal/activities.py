"""Activities: the functions tasks run, served by the worker deployments/workers/main-worker.yaml.

An activity is any function decorated with `@activity.defn`; tasks and worker files name it
by its activity name (the function name unless `@activity.defn(name=...)` says otherwise).
Activities do the I/O: call APIs, query databases, write files. Workflows only orchestrate.
"""

from __future__ import annotations

from temporalio import activity


@activity.defn
async def say_hello(name: str) -> str:
    """An async activity: it runs on the worker's event loop, so it must not block."""
    return f"Hello, {name}!"


@activity.defn
def add(a: int, b: int, c: int = 0) -> int:
    """A sync activity: it runs in the worker's thread pool (`max_workers` threads)."""
    return a + b + c
