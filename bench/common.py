"""What the benchmarks share: logging, ratios, git for the throwaway repositories, and the
start-option parity check between launchpad's side and the direct SDK side."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import temporalio
from temporalio.client import Client

from launchpad.spec.task import TaskSpec

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench Author",
    "GIT_AUTHOR_EMAIL": "bench@example.test",
    "GIT_COMMITTER_NAME": "Bench Author",
    "GIT_COMMITTER_EMAIL": "bench@example.test",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": tempfile.gettempdir(),
    "PATH": os.environ.get("PATH", "/usr/bin:/bin:/usr/local/bin"),
}
# Fields of the WorkflowExecutionStarted event compared between one workflow of each side.
PARITY_FIELDS = (
    "workflow_type",
    "task_queue",
    "input",
    "workflow_execution_timeout",
    "workflow_run_timeout",
    "workflow_task_timeout",
    "retry_policy",
    "memo",
    "search_attributes",
    "cron_schedule",
)
Deploy = Callable[[int], Awaitable[object]]
# The task both deploy benchmarks start (no worker runs it): realistic options, one activity.
BENCH_TASK_YAML = """\
name: bench
runner: WorkflowRunner
description: {description} (started only, no worker)
{extra}workflow:
  task_queue: bench-q
  workflow_id: bench
  workflow: Task
  id_reuse_policy: ALLOW_DUPLICATE
  execution_timeout: 30m
  run_timeout: 10m
  task_timeout: 10s
  retry_policy:
    initial_interval: 1s
    backoff_coefficient: 2.0
    maximum_interval: 1m
    maximum_attempts: 3
    non_retryable_error_types: [ValueError]
  memo:
    owner: platform-team
    ticket: OPS-1234
  workflow_kwargs:
    activity: say_hello
    args: ["bench", 42]
    start_to_close_timeout: 10s
    retry_policy:
      maximum_attempts: 5
"""


def comparison_parser(doc: str | None, n: int, rounds: int) -> argparse.ArgumentParser:
    """The options of the benchmarks that compare two ways of starting workflows, sequentially
    then concurrently; callers add their own and parse with `parse_positive(..., COMPARISON)`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--n", type=int, default=n, help="deploys per side (per round when concurrent)")
    parser.add_argument("--concurrency", type=int, default=32, help="deploys in flight when concurrent")
    parser.add_argument("--rounds", type=int, default=rounds, help="concurrent rounds per side")
    parser.add_argument("--block", type=int, default=10, help="sequential deploys per alternating block")
    parser.add_argument("--warmup", type=int, default=20, help="uncounted sequential deploys per side")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


COMPARISON = ("n", "concurrency", "rounds", "block", "warmup")  # the options of comparison_parser that must be >= 1


def parse_positive(
    parser: argparse.ArgumentParser, argv: list[str] | None, names: tuple[str, ...]
) -> argparse.Namespace:
    """Parse the arguments; each of `names` must be at least 1."""
    args = parser.parse_args(argv)
    for name in names:
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def log(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the result."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Machine:
    """The facts every result records first, so figures from different runs can be compared."""

    date: str
    python: str
    temporalio: str
    cpus: int


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "cpus": os.cpu_count() or 0,
    }


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def with_id(spec: TaskSpec, workflow_id: str) -> TaskSpec:
    """The same task under another workflow id (each deploy needs its own)."""
    return spec.model_copy(update={"workflow": spec.workflow.model_copy(update={"workflow_id": workflow_id})})


@dataclass(frozen=True)
class Side:
    """One way of starting workflow number i of a phase."""

    name: str
    deploy: Deploy


def rotated(sides: tuple[Side, ...], turn: int) -> tuple[Side, ...]:
    """The sides in turn `turn`'s order: AB, BA, AB... (ABC, BCA, CAB... for three)."""
    k = turn % len(sides)
    return sides[k:] + sides[:k]


async def sequential(
    sides: tuple[Side, ...],
    n: int,
    block: int,
    measure: Callable[[str, int], AbstractContextManager[object]] | None = None,
) -> dict[str, list[float]]:
    """Per-call latencies (s), sides taking turns in blocks, the leading side rotating each round.
    `measure(side, calls)`, when given, wraps each block (CPU meters)."""
    latencies: dict[str, list[float]] = {side.name: [] for side in sides}
    for number, start in enumerate(range(0, n, block)):
        for side in rotated(sides, number):
            calls = range(start, min(start + block, n))
            with measure(side.name, len(calls)) if measure else contextlib.nullcontext():
                for i in calls:
                    began = time.perf_counter()
                    await side.deploy(i)
                    latencies[side.name].append(time.perf_counter() - began)
    return latencies


async def concurrent(deploy: Deploy, n: int, concurrency: int) -> float:
    """Throughput (deploys/s) of n deploys with `concurrency` in flight."""
    indices = iter(range(n))

    async def worker() -> None:
        for i in indices:
            await deploy(i)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - began)


async def started_event(client: Client, workflow_id: str) -> dict[str, Any]:
    """The compared fields of a workflow's WorkflowExecutionStarted event, as comparable values."""
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        attrs = event.workflow_execution_started_event_attributes
        values: dict[str, Any] = {}
        for name in PARITY_FIELDS:
            value = getattr(attrs, name)
            values[name] = value.SerializeToString(deterministic=True) if hasattr(value, "ByteSize") else value
        return values
    raise RuntimeError(f"workflow {workflow_id!r} has no history")
