"""`launchpad worker` as a real process: serving, graceful SIGTERM, surviving a SIGKILL, following the repository."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from launchpad.devserver import DevServer
from tests.gitrepo import GitRepo
from tests.helpers import eventually, temporal_json, write

GRACE = 20.0  # the worker file's graceful_shutdown_timeout, in seconds

ACTIVITIES = '''
import os
import time

from temporalio import activity


def _append(path, line):
    with open(path, "a") as f:
        f.write(line + "\\n")
        f.flush()
        os.fsync(f.fileno())


@activity.defn
def slow(seconds, marker_path):
    """Sleeps, then appends `done` to the marker: the effect happens only if the attempt ends."""
    _append(marker_path + ".started", "started")
    time.sleep(seconds)
    _append(marker_path, "done")
    return "done"


@activity.defn
async def quick(x):
    return x


@activity.defn
def step(name, log_path, seconds):
    """Records its start, sleeps, then appends its name to the log at the very end."""
    _append(log_path + ".starts", name)
    time.sleep(seconds)
    _append(log_path, name)
    return name
'''


def make_project(root: Path, server: DevServer, queue: str) -> Path:
    host, port = server.address.split(":")
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    write(root / "code/activities.py", ACTIVITIES)
    write(
        root / "workers/w.yaml",
        f"""
        worker:
          task_queue: {queue}
          workflows: [Task, BatchTask]
          activities: [slow, quick, step]
          max_workers: 4
          graceful_shutdown_timeout: {int(GRACE)}
        """,
    )
    return write(
        root / "launchpad_configs.yaml",
        f"""
        temporalio:
          servers:
            - name: local
              ip: {host}
              port: {port}
        watcher:
          modules:
            activities:
              basepaths: [code/activities.py]
            workers:
              basepaths: [workers]
            tasks:
              basepaths: [tasks]
        """,
    )


class WorkerProcess:
    """One `launchpad worker` subprocess; its output goes to a file (a pipe could fill and block it)."""

    def __init__(self, cfg_file: Path, out_file: Path, *flags: str) -> None:
        self.out_file = out_file
        self.out = out_file.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "250", "NO_COLOR": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "launchpad", "worker", "--config", str(cfg_file), *flags],
            cwd=cfg_file.parent,
            stdout=self.out,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def output(self) -> str:
        return self.out_file.read_text(errors="replace")

    async def wait_serving(self, timeout: float = 30.0) -> None:
        def serving() -> bool:
            assert self.proc.poll() is None, f"worker exited with {self.proc.returncode}:\n{self.output()}"
            return "workers running" in self.output()

        await eventually(serving, timeout, "the worker serving")

    async def wait_exit(self, timeout: float) -> int | None:
        """Its exit code, or None when it still runs after `timeout` seconds."""
        with contextlib.suppress(AssertionError):
            await eventually(lambda: self.proc.poll() is not None, timeout, "the worker exiting", interval=0.05)
        return self.proc.poll()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.out.close()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker subprocesses; whatever is still alive at the end is killed."""
    started: list[WorkerProcess] = []

    def start(cfg_file: Path, *flags: str) -> WorkerProcess:
        worker = WorkerProcess(cfg_file, tmp_path / f"worker-{len(started) + 1}.out", *flags)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.close()


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def completed_attempts(client: Client, workflow_id: str) -> list[tuple[Any, int]]:
    """(result payload data, attempt) of each completed activity, in history order."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    started = {
        e.event_id: e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    }
    return [
        (
            e.activity_task_completed_event_attributes.result.payloads[0].data,
            started[e.activity_task_completed_event_attributes.started_event_id],
        )
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    ]


async def test_worker_serves_and_sigterm_completes_in_flight_activity_within_grace(
    temporal_server: DevServer,
    client: Client,
    tmp_path: Path,
    spawn: Callable[[Path], WorkerProcess],
) -> None:
    queue = f"wp-{uuid.uuid4()}"
    cfg_file = make_project(tmp_path / "project", temporal_server, queue)
    worker = spawn(cfg_file)
    await worker.wait_serving()
    assert f"serving task queue {queue}" in worker.output()

    # the queue is really served: a Task with the async activity completes
    quick = await client.execute_workflow(
        "Task",
        {"activity": "quick", "args": [41], "start_to_close_timeout": 5},
        id=f"quick-{uuid.uuid4()}",
        task_queue=queue,
        execution_timeout=timedelta(seconds=20),
    )
    assert quick == 41

    marker = tmp_path / "marker"
    wid = f"slow-{uuid.uuid4()}"
    handle = await client.start_workflow(
        "Task",
        {"activity": "slow", "args": [3, str(marker)], "start_to_close_timeout": 30},
        id=wid,
        task_queue=queue,
    )
    await eventually(lambda: Path(f"{marker}.started").exists(), 15, "the slow activity to start", interval=0.05)
    described = temporal_json(temporal_server, "workflow", "describe", "--workflow-id", wid)
    pending = described.get("pendingActivities") or []
    assert [p["activityType"]["name"] for p in pending] == ["slow"]
    assert pending[0].get("state") == "PENDING_ACTIVITY_STATE_STARTED"
    assert not marker.exists()

    worker.proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    code = await worker.wait_exit(GRACE + 5)
    elapsed = time.monotonic() - sent
    assert code == 0, f"exit code {code} after {elapsed:.1f}s:\n{worker.output()}"
    assert elapsed < GRACE, f"took {elapsed:.1f}s, grace period is {GRACE}s"
    assert "shutting down" in worker.output() and "stopped" in worker.output()
    # the in-flight activity ran to its end before the process left ...
    assert lines(marker) == ["done"]
    # ... and its result reached the server from that attempt (not a retry)
    assert await completed_attempts(client, wid) == [(b'"done"', 1)]

    # the workflow task after the activity needs a worker: the first one is gone
    second = None
    if (await handle.describe()).status != WorkflowExecutionStatus.COMPLETED:
        second = spawn(cfg_file)
        await second.wait_serving()
    assert await asyncio.wait_for(handle.result(), 30) == "done"
    if second is not None:
        second.proc.send_signal(signal.SIGTERM)
        assert await second.wait_exit(GRACE + 5) == 0, second.output()
    assert lines(marker) == ["done"], "the activity ran twice"
    assert lines(Path(f"{marker}.started")) == ["started"], "the activity was attempted twice"


async def test_sigkill_mid_batch_then_restart_completes_batch_with_effects_once(
    temporal_server: DevServer,
    client: Client,
    tmp_path: Path,
    spawn: Callable[[Path], WorkerProcess],
) -> None:
    queue = f"wp-{uuid.uuid4()}"
    cfg_file = make_project(tmp_path / "project", temporal_server, queue)
    log = tmp_path / "steps.log"
    starts = Path(f"{log}.starts")
    first = spawn(cfg_file)
    await first.wait_serving()

    def step(name: str, seconds: float, timeout: float) -> dict[str, Any]:
        return {
            "activity": "step",
            "args": [name, str(log), seconds],
            "start_to_close_timeout": timeout,
            "retry_policy": {"initial_interval": 1, "maximum_attempts": 5},
        }

    wid = f"batch-{uuid.uuid4()}"
    handle = await client.start_workflow(
        "BatchTask",
        {"batch": [step("a", 0.2, 3), step("b", 2, 4), step("c", 0.2, 3)]},
        id=wid,
        task_queue=queue,
    )
    await eventually(lambda: "a" in lines(log) and "b" in lines(starts), 15, "a done and b started", interval=0.05)
    await asyncio.sleep(0.5)  # b is mid-sleep: its effect is not there yet
    first.proc.send_signal(signal.SIGKILL)
    assert await first.wait_exit(10) == -signal.SIGKILL
    assert lines(log) == ["a"]

    second = spawn(cfg_file)
    await second.wait_serving()
    assert await asyncio.wait_for(handle.result(), 35) == ["a", "b", "c"]
    # each effect once, in order; b's killed attempt left nothing behind
    assert lines(log) == ["a", "b", "c"]
    # b really was attempted twice (the kill hit it), a and c once
    assert lines(starts) == ["a", "b", "b", "c"]
    assert await completed_attempts(client, wid) == [(b'"a"', 1), (b'"b"', 2), (b'"c"', 1)]

    second.proc.send_signal(signal.SIGTERM)
    assert await second.wait_exit(GRACE + 5) == 0, second.output()


GREETINGS = """
from temporalio import activity


@activity.defn
async def greet(name):
    return "{word} " + name
"""


def worker_file(queue: str) -> str:
    return f"worker:\n  task_queue: {queue}\n  workflows: [Task]\n  activities: [greet]\n"


async def greet(client: Client, queue: str, name: str) -> Any:
    return await client.execute_workflow(
        "Task",
        {"activity": "greet", "args": [name], "start_to_close_timeout": 5},
        id=f"greet-{uuid.uuid4()}",
        task_queue=queue,
        execution_timeout=timedelta(seconds=20),
    )


def following_project(root: Path, server: DevServer, queue: str, polling: str = "") -> tuple[GitRepo, Path]:
    """A repository with code and one worker file on `queue`, and a host configuration naming it."""
    repo = GitRepo(root)
    repo.write("code/greetings.py", GREETINGS.format(word="hello"))
    repo.write("workers/w.yaml", worker_file(queue))
    repo.write(
        "tasks/keepalive.yaml",
        f"""
        name: keepalive
        runner: WorkflowRunner
        deploy_on_server_start: true
        workflow:
          task_queue: {queue}
          workflow_id: keepalive-{queue}
          workflow: Task
          workflow_kwargs: {{activity: greet, args: [x], start_to_close_timeout: 5}}
        """,
    )
    repo.commit("first worker")
    host, port = server.address.split(":")
    cfg_file = write(
        root / "host" / "launchpad_configs.yaml",
        f"""
        temporalio:
          servers: [{{name: local, ip: {host}, port: {port}}}]
        repository: {{url: "{repo.remote}", branch: main, cache_dir: "{root}/cache"}}
        watcher:
          modules:
            activities: {{basepaths: [code/greetings.py]}}
            workers: {{basepaths: [workers]}}
            tasks: {{basepaths: [tasks]}}
          {polling}
        """,
    )
    return repo, cfg_file


async def test_follow_starts_reloads_and_stops_workers_as_the_repository_changes(
    temporal_server: DevServer,
    client: Client,
    tmp_path: Path,
    spawn: Callable[..., WorkerProcess],
) -> None:
    """`launchpad worker --follow`: the worker files and the code come from the repository's
    branch; a push of new code reloads the worker, a new file starts one, a deleted file stops
    it, and a broken file keeps the running version."""
    q1, q2 = f"follow-{uuid.uuid4()}", f"follow-{uuid.uuid4()}"
    repo, cfg_file = following_project(tmp_path, temporal_server, q1)
    worker = spawn(cfg_file, "--follow", "--interval", "0.5")
    await worker.wait_serving()
    assert "worker w: started" in worker.output()
    assert await greet(client, q1, "ada") == "hello ada"
    with pytest.raises(RPCError) as missing:  # tasks are the reconciler's, never a worker's
        await client.get_workflow_handle(f"keepalive-{q1}").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND

    repo.write("code/greetings.py", GREETINGS.format(word="hi"))
    repo.commit("new code")
    await eventually(lambda: "worker w: reloaded" in worker.output(), 30, "the worker to reload", interval=0.05)
    assert await greet(client, q1, "ada") == "hi ada"

    repo.write("workers/w2.yaml", worker_file(q2))
    repo.commit("second worker")
    await eventually(lambda: "worker w2: started" in worker.output(), 30, "the second worker", interval=0.05)
    assert await greet(client, q2, "bob") == "hi bob"

    repo.write("workers/w.yaml", worker_file(q1) + "  max_workers: many\n")
    repo.commit("broken worker file")
    await eventually(
        lambda: "kept the running version" in worker.output(), 30, "the broken file to be reported", interval=0.05
    )
    assert "workers/w.yaml" in worker.output()
    assert await greet(client, q1, "cy") == "hi cy"

    repo.delete("workers/w2.yaml")
    repo.commit("no second worker")
    await eventually(lambda: "worker w2: stopped" in worker.output(), 30, "the second worker to stop", interval=0.05)

    worker.proc.send_signal(signal.SIGTERM)
    assert await worker.wait_exit(GRACE + 5) == 0, worker.output()
    assert "stopped" in worker.output().splitlines()[-1]


async def test_automatic_refresh_makes_follow_the_default(
    temporal_server: DevServer,
    client: Client,
    tmp_path: Path,
    spawn: Callable[..., WorkerProcess],
) -> None:
    """The original launchpad's `polling.automatic_refresh: true` turns hot reloading on."""
    queue = f"follow-{uuid.uuid4()}"
    _, cfg_file = following_project(
        tmp_path, temporal_server, queue, polling="polling: {automatic_refresh: true, polling_interval: 1}"
    )
    worker = spawn(cfg_file)
    await worker.wait_serving()
    assert worker.output().startswith("following ") and "every 1s" in worker.output()
    assert await greet(client, queue, "dee") == "hello dee"
    worker.proc.send_signal(signal.SIGTERM)
    assert await worker.wait_exit(GRACE + 5) == 0, worker.output()
