"""Activities used by the engine tests (loaded through the registry like a user's code)."""

from __future__ import annotations

import time
from typing import Any

from temporalio import activity

CALLS: list[str] = []


@activity.defn
async def zero() -> str:
    return "zero"


@activity.defn
async def one(x: Any) -> Any:
    return {"one": x}


@activity.defn
async def three(a: int, b: int, c: int) -> list[int]:
    return [a, b, c]


@activity.defn
def sync_add(a: int, b: int) -> int:
    """A sync activity: runs in the worker's thread pool."""
    time.sleep(0.01)
    return a + b


@activity.defn
async def record(key: str) -> str:
    CALLS.append(key)
    return key
