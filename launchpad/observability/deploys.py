"""The hook on deploys (API and CLI): `observed` wraps `reconciler.deploy.deploy_task` and tells
the reconciler's `deploy_observers` how each deploy went, failed ones included."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec

if TYPE_CHECKING:
    from launchpad.temporal.result import DeployResult

log = logging.getLogger(__name__)
P = ParamSpec("P")
UNKNOWN = "unknown"  # the runner of a deploy that failed before its task was rendered

_runner: ContextVar[str] = ContextVar("launchpad_deploy_runner", default=UNKNOWN)


@dataclass(frozen=True)
class Deployed:
    task: str
    runner: str
    seconds: float
    result: DeployResult | None = None
    error: Exception | None = None


DeployObserver = Callable[[Deployed], Awaitable[None]]


def deploying(runner: str) -> None:
    """Called by the deploy once it knows the task's runner, so a failure after it is counted under it."""
    _runner.set(runner)


def observed(
    fn: Callable[Concatenate[Any, str, P], Awaitable[DeployResult]],
) -> Callable[Concatenate[Any, str, P], Coroutine[Any, Any, DeployResult]]:
    """Time the deploy and tell the observers of its first argument (the reconciler); an
    observer's failure is logged and never fails the deploy."""

    @functools.wraps(fn)
    async def wrapper(owner: Any, name: str, /, *args: P.args, **kwargs: P.kwargs) -> DeployResult:
        token = _runner.set(UNKNOWN)
        started = time.perf_counter()
        try:
            result = await fn(owner, name, *args, **kwargs)
        except Exception as exc:
            await _tell(owner, Deployed(name, _runner.get(), time.perf_counter() - started, error=exc))
            raise
        finally:
            _runner.reset(token)
        await _tell(owner, Deployed(name, result.runner, time.perf_counter() - started, result))
        return result

    return wrapper


async def _tell(owner: object, deployed: Deployed) -> None:
    for observer in getattr(owner, "deploy_observers", ()):
        try:
            await observer(deployed)
        except Exception:
            log.exception("a deploy observer failed")
