"""Example activities served by the example worker."""

from __future__ import annotations

from temporalio import activity


@activity.defn
async def say_hello(name: str) -> str:
    return f"Hello, {name}!"


@activity.defn
def add(a: int, b: int, c: int = 0) -> int:
    """A sync activity: it runs in the worker's thread pool."""
    return a + b + c
