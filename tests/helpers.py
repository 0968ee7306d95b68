"""Helpers shared by the test modules: config for a dev server, the temporal CLI, YAML files."""

from __future__ import annotations

import asyncio
import inspect
import json
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from launchpad.config import Config, parse_config
from launchpad.devserver import DevServer, temporal_cli

T = TypeVar("T")


async def eventually(check: Callable[[], T | Awaitable[T]], timeout: float, what: str, interval: float = 0.1) -> T:
    """The first truthy value `check` returns (a function or a coroutine function), asked every
    `interval` seconds; after `timeout` seconds an AssertionError says `what` did not happen and
    what `check` last returned. The one way tests wait: no deadline loops, no fixed sleeps."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last: {value!r})")
        await asyncio.sleep(interval)


def eventually_now(check: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """`eventually` for code that is not a coroutine (on a thread of its own, so it works whether
    or not an event loop runs in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, eventually(check, timeout, what, interval)).result()


def config_for(server: DevServer, extra_namespaces: str = "", more: str = "") -> Config:
    """A configuration with one server `local` pointing at the given dev server."""
    host, port = server.address.split(":")
    text = f"""
temporalio:
  servers:
    - name: local
      ip: {host}
      port: {port}
      gui_port: {server.ui_port}
{textwrap.indent(extra_namespaces, "      ")}
{more}
"""
    return parse_config(text, "test-config.yaml")


def gitops_yaml(server: DevServer, remote: object, root: Path, more: str = "", state: str | None = None) -> str:
    """Configuration text for a launchpad that syncs the main branch of `remote` to the dev server,
    its git cache and SQLite state under `root` (`state` replaces the state section's value; `more`
    adds sections: app, reconciler…)."""
    host, port = server.address.split(":")
    state = state or f'{{path: "{root}/state.db"}}'
    return (
        f"temporalio:\n  servers: [{{name: local, ip: {host}, port: {port}}}]\n"
        f'repository: {{url: "{remote}", branch: main, cache_dir: "{root}/cache"}}\n'
        f"state: {state}\n{textwrap.dedent(more).lstrip()}"
    )


def gitops_config_file(server: DevServer, remote: object, root: Path, more: str = "") -> Path:
    """`gitops_yaml` written to `root/launchpad_configs.yaml`, where the CLI looks for it."""
    path = root / "launchpad_configs.yaml"
    path.write_text(gitops_yaml(server, remote, root, more))
    return path


def temporal_json(server: DevServer, *args: str, namespace: str = "default") -> Any:
    """Run the `temporal` CLI (an independent client) and parse its JSON output."""
    done = subprocess.run(
        [temporal_cli(), *args, "--address", server.address, "--namespace", namespace, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"temporal {' '.join(args)} failed: {done.stderr}")
    out = done.stdout.strip()
    if not out:
        return None
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        return [json.loads(line) for line in out.splitlines() if line.strip()]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


SCHEDULE_TASK = """
name: {name}
runner: ScheduledWorkflowRunner
workflow:
  task_queue: {queue}
  workflow_id: {name}-wf
  workflow: Task
  scheduler_id: {sid}
  intervals: [{{every: {every}}}]
  workflow_kwargs: {{activity: zero}}
"""


def run_launchpad(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m launchpad ARGS` as a user runs it; the caller checks the exit code."""
    command = [sys.executable, "-m", "launchpad", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
