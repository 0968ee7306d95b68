"""Reconcile at scale: what a sync costs against repositories of 100, 1,000 and 10,000 tasks.

One run starts its own Temporal dev server and generates git repositories (a bare remote and a
work clone each, with the `git` CLI) of N scheduled tasks: `--tasks` (default 10,000), `--mid`
(1,000) and `--small` (100). Every ratio compares two measurements of the same run, the sides
interleaved so that the machine's drift hits both alike:

- **first sync**: `Reconciler.sync()` of the big repository from nothing (fresh clone, state
  store, namespace) against the same schedules created directly with `Client.create_schedule`
  at the same concurrency (specs parsed and `Schedule`s built before timing). Target ≤ 1.20;
- **no-op poll**: a poll that finds the same revision, at N tasks against the small repository's.
  Target ≤ 1.5 (its cost does not grow with the repository);
- **one-file change**: one task file's interval changed and pushed (untimed), then a poll, at N
  against the mid repository's. Target ≤ 1.5 (a sync costs the change), exactly one write each;
- **drift scan**: the scan `reconciler.drift_interval` starts, with nothing to heal at N, against
  a bare paginated `Client.list_schedules()` of the same namespace. Target ≤ 1.3, zero writes.
  Then one `sync(hard=True)`, which also verifies (describes every schedule): its time is
  reported without a target, and it must write nothing;
- **peak RSS** of `launchpad reconcile --once` (a subprocess, read with `wait4`) doing the first
  sync of the big repository into a namespace of its own. Target ≤ 250 MB;
- **DynamoDB requests** of a no-op poll at `--mid` tasks, the state store on a moto server
  (counted with botocore's `before-send` event). Target ≤ 5.

The task files sit in folders of `--per-folder` files (100 by default: a folder per team or
service, as docs/scaling.md advises); `--per-folder 0` puts them all in one folder, git's worst
case for a one-file change (the fetch moves the changed folder's whole tree object).

`--signals` measures instead (and only) the cost of issue #17's signals on a no-op poll of the big
repository: a reconciler with metrics (Prometheus), JSON logs (at INFO, to a file) and one
notification target (a local HTTP receiver) on, against one with them all off, on the same state,
`--signal-pairs` alternating pairs after one untimed first sync. Target ≤ 1.05.

It also reports the two figures of the earlier rounds: the no-op poll against the first sync and
the one-file change against the no-op poll (see docs/BENCHMARKS.md on what changed in them).

RPCs are counted by a client interceptor (temporalio's public `Interceptor`), by call. Between
phases the script waits (untimed) until the dev server idles. No worker runs: intervals and
offsets are chosen so that no schedule fires during the run. The script exits 0 whether or not
the targets hold (it is a measurement) and says which do.

    python bench/reconcile_scale.py [--tasks 10000] [--mid 1000] [--small 100] [--per-folder 100] [--rounds 1]
        [--polls 7] [--changes 5] [--scans 5] [--concurrency 32] [--json]
    python bench/reconcile_scale.py --signals [--tasks 1000] [--signal-pairs 15]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import inspect
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from common import Machine, git, log, machine, parse_positive, ratio
from temporalio.client import Client, Interceptor, OutboundInterceptor, Schedule
from temporalio.service import ServiceClient

from launchpad.config import Config, parse_config
from launchpad.devserver import DevServer, free_port
from launchpad.spec.catalog import parse_file
from launchpad.spec.document import TaskDocument
from launchpad.state.sqlite import SqliteStateStore
from launchpad.state.store import StateStore
from launchpad.temporal.connections import Connections
from launchpad.temporal.memo import owner_marker
from launchpad.temporal.runners import spec_hash
from launchpad.temporal.schedules import build_schedule
from reconciler.sync import Reconciler, SyncResult

TARGETS = {  # name -> (limit, "<=" or ">=")
    "first sync / SDK creates": 1.20,
    "no-op poll, big / small": 1.5,
    "one-file change, big / mid": 1.5,
    "drift scan / SDK listing": 1.3,
    "peak RSS, MB": 250,
    "DynamoDB requests of a no-op poll": 5,
}
EARLIER = {"no-op poll / first sync": 0.25, "one-file change / no-op poll": 2.0}  # earlier rounds' figures
BRANCH = "main"
TASKS_DIR = "deployments/tasks"
EVERY_HOURS = (3, 4, 6, 8, 12, 24, 48, 168)
CHANGE_MINUTES = 300  # a changed file's interval: 5h00m, 5h01m, ... (never one of EVERY_HOURS)
QUIET_AFTER = 7200  # seconds from the start of the run before any schedule may fire
SETTLE_CPU, SETTLE_WINDOW, SETTLE_MAX = 0.10, 1.0, 120.0
READS = ("list_", "describe_", "count_", "fetch_", "get_", "query_")
TASK_YAML = """\
name: {name}
runner: ScheduledWorkflowRunner
description: reconcile-scale benchmark schedule {index} (created only, no worker)
workflow:
  task_queue: bench-q
  workflow_id: {name}-wf
  workflow: Task
  scheduler_id: {sid}
  intervals: [{{every: {every}s, offset: {offset}s}}]
  workflow_kwargs:
    activity: say_hello
    args: ["{name}", {index}]
"""


def blob_sha(text: str) -> str:
    """The git blob id of a file's content: the version the reconciler puts in the marker."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    """A bare remote (what the reconciler fetches) and a work clone that commits and pushes."""

    def __init__(self, root: Path, prefix: str, n: int, epoch: int, per_folder: int) -> None:
        self.root, self.prefix, self.epoch, self.per_folder = root, prefix, epoch, per_folder
        self.remote, self.work = root / "remote.git", root / "work"
        root.mkdir(parents=True, exist_ok=True)
        git(root, "init", "-q", "--bare", "-b", BRANCH, str(self.remote))
        git(root, "init", "-q", "-b", BRANCH, str(self.work))
        git(self.work, "remote", "add", "origin", str(self.remote))
        self.names = [f"task-{i:05d}" for i in range(1, n + 1)]
        for index in range(1, n + 1):
            self.write(index, EVERY_HOURS[index % len(EVERY_HOURS)] * 3600)
        self.commit(f"{n} scheduled tasks")

    def path(self, index: int) -> str:
        """A folder per `per_folder` tasks (a team's or a service's), or one folder for all (0)."""
        folder = f"{TASKS_DIR}/group-{(index - 1) // self.per_folder:03d}" if self.per_folder else TASKS_DIR
        return f"{folder}/{self.names[index - 1]}.yaml"

    def sid(self, index: int) -> str:
        return f"{self.prefix}-{self.names[index - 1]}"

    def write(self, index: int, every: int) -> None:
        """Every `every` seconds, offset so that it first fires after QUIET_AFTER seconds."""
        offset = (self.epoch + QUIET_AFTER + (7 * index) % (every - QUIET_AFTER)) % every
        text = TASK_YAML.format(
            name=self.names[index - 1], index=index, sid=self.sid(index), every=every, offset=offset
        )
        file = self.work / self.path(index)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)

    def commit(self, message: str) -> None:
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", f"HEAD:{BRANCH}")


class Counting(Interceptor):
    """Counts every client call by name (temporalio's public interceptor API)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        calls = self.calls

        class Outbound(OutboundInterceptor):
            pass

        def counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
            if inspect.iscoroutinefunction(method):

                async def call(self: OutboundInterceptor, *args: Any, **kwargs: Any) -> Any:
                    calls[name] += 1
                    return await getattr(self.next, name)(*args, **kwargs)

            else:

                def call(self: OutboundInterceptor, *args: Any, **kwargs: Any) -> Any:
                    calls[name] += 1
                    return getattr(self.next, name)(*args, **kwargs)

            return call

        for name, method in inspect.getmembers(OutboundInterceptor, inspect.isfunction):
            if not name.startswith("_"):
                setattr(Outbound, name, counted(name, method))
        return Outbound(next)

    def since(self, before: Counter[str]) -> Counter[str]:
        return self.calls - before


def writes(calls: Counter[str]) -> int:
    return sum(n for name, n in calls.items() if not name.startswith(READS))


class CountedConnections(Connections):
    """Every client on one open gRPC connection, its calls counted."""

    def __init__(self, config: Config, service: ServiceClient, counting: Counting) -> None:
        super().__init__(config.temporalio)
        self.service, self.counting = service, counting
        self.made: dict[tuple[str, str], Client] = {}

    async def client(self, server: str | None = None, namespace: str | None = None) -> Client:
        target, ns = self.resolve(server, namespace)
        key = (target.name, ns)
        if key not in self.made:
            self.made[key] = Client(self.service, namespace=ns, interceptors=[self.counting])
        return self.made[key]


class CpuWatch:
    """The dev server's CPU time from /proc (Linux; elsewhere settling is skipped)."""

    def __init__(self, pid: int) -> None:
        self.stat = Path(f"/proc/{pid}/stat")
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.waited = 0.0

    def cpu(self) -> float | None:
        try:
            fields = self.stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self.tick

    async def settle(self) -> None:
        began = time.perf_counter()
        while time.perf_counter() - began < SETTLE_MAX:
            first = self.cpu()
            if first is None:
                return
            await asyncio.sleep(SETTLE_WINDOW)
            last = self.cpu()
            if last is not None and (last - first) / SETTLE_WINDOW < SETTLE_CPU:
                break
        self.waited += time.perf_counter() - began


def config_for(server: DevServer, root: Path, repo: Repo, namespace: str, concurrency: int) -> Config:
    host, port = server.address.rsplit(":", 1)
    return parse_config(
        f"""
temporalio:
  servers: [{{name: local, ip: "{host}", port: {port}, namespaces: [{{name: {namespace}}}]}}]
repository: {{url: "{repo.remote}", branch: {BRANCH}, cache_dir: "{root}/cache"}}
state: {{path: "{root}/state.db"}}
reconciler: {{concurrency: {concurrency}, instance: bench, drift_interval: 1d}}
""",
        str(root / "launchpad_configs.yaml"),
        env={},
    )


@dataclass
class Side:
    """A repository, its reconciler and its namespace."""

    repo: Repo
    reconciler: Reconciler
    namespace: str
    counting: Counting
    service: ServiceClient

    async def sync(self, *, hard: bool = False, poll: bool = True) -> tuple[float, SyncResult, Counter[str]]:
        before = Counter(self.counting.calls)
        began = time.perf_counter()
        result = await self.reconciler.sync("bench", hard=hard, poll=poll)
        elapsed = time.perf_counter() - began
        if result.status != "succeeded":
            raise RuntimeError(f"sync {result.status}: {result.message} {result.outcomes[:3]}")
        return elapsed, result, self.counting.since(before)


@dataclass(frozen=True)
class Result(Machine):
    server: str
    tasks: int
    mid: int
    small: int
    concurrency: int
    per_folder: int  # task files per folder; 0: all in one folder
    figures: dict[str, list[float]] = field(default_factory=dict)  # per measure: each sample (s, MB or requests)
    ratios: dict[str, float] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def passes(self, name: str) -> bool:
        limit = TARGETS.get(name, EARLIER.get(name))
        return limit is not None and self.ratios[name] <= limit


class Bench:
    def __init__(self, server: DevServer, root: Path, args: argparse.Namespace) -> None:
        self.server, self.root, self.args = server, root, args
        self.watch = CpuWatch(server.process.pid if server.process else 0)
        self.epoch = int(time.time())
        self.result = Result(
            **machine(),
            server=server.address,
            tasks=args.tasks,
            mid=args.mid,
            small=args.small,
            concurrency=args.concurrency,
            per_folder=args.per_folder,
        )

    def record(self, name: str, value: float) -> None:
        self.result.figures.setdefault(name, []).append(round(value, 4))

    def median(self, name: str) -> float:
        return statistics.median(self.result.figures[name])

    async def side(self, name: str, repo: Repo, namespace: str, store: StateStore | None = None) -> Side:
        work = self.root / name
        work.mkdir()
        config = config_for(self.server, work, repo, namespace, self.args.concurrency)
        counting = Counting()
        service = (await Client.connect(self.server.address)).service_client
        store = store or SqliteStateStore(str(work / "state.db"))
        reconciler = Reconciler(config, store, connections=CountedConnections(config, service, counting))
        return Side(repo, reconciler, namespace, counting, service)

    def repo(self, name: str, n: int) -> Repo:
        log(f"generating a repository of {n} task files ({name})")
        return Repo(self.root / f"repo-{name}", f"rs{uuid.uuid4().hex[:6]}", n, self.epoch, self.args.per_folder)

    # --- phases ------------------------------------------------------------------------------------------------------

    async def first_sync(self, big: Repo) -> Side:
        """The big repository's first sync against SDK creates, `--rounds` alternating rounds."""
        last: Side | None = None
        for number in range(self.args.rounds):
            sync_side = await self.side(f"first-{number}", big, f"bench-r{number}-sync")
            sdk = Client(sync_side.service, namespace=f"bench-r{number}-sdk")
            items = []
            for index in range(1, len(big.names) + 1):
                text = (big.work / big.path(index)).read_text()
                doc = parse_file(big.path(index), text, {})
                assert isinstance(doc, TaskDocument)
                spec = doc.spec()
                schedule = build_schedule(spec, blob_sha(text), spec_hash(spec), "bench")
                items.append((spec.workflow.scheduler_id or "", schedule, owner_marker(spec.name, "bench")))
            for turn in ("sdk", "sync") if number % 2 == 0 else ("sync", "sdk"):
                await self.watch.settle()
                if turn == "sdk":
                    seconds = await self.create(sdk, items)
                    self.record("SDK creates", seconds)
                    log(f"round {number + 1}: SDK created {len(items)} schedules in {seconds:.2f} s")
                else:
                    seconds, result, calls = await sync_side.sync(poll=False)
                    self.record("first sync", seconds)
                    self.result.checks[f"first sync {number + 1}: one write per task"] = result.writes == len(big.names)
                    log(f"round {number + 1}: first sync {seconds:.2f} s, {result.writes} writes, calls {dict(calls)}")
            last = sync_side
        assert last is not None
        return last

    async def create(self, client: Client, items: list[tuple[str, Schedule, dict[str, Any]]]) -> float:
        gate = asyncio.Semaphore(self.args.concurrency)

        async def one(sid: str, schedule: Schedule, memo: dict[str, Any]) -> None:
            async with gate:
                await client.create_schedule(sid, schedule, memo=memo)

        began = time.perf_counter()
        await asyncio.gather(*(one(*item) for item in items))
        return time.perf_counter() - began

    async def polls(self, big: Side, small: Side) -> None:
        for number in range(self.args.polls):
            for side, name in ((big, "no-op poll, big"), (small, "no-op poll, small"))[:: 1 if number % 2 == 0 else -1]:
                seconds, result, calls = await side.sync()
                self.record(name, seconds)
                self.result.checks.setdefault("no-op polls: no Temporal call, no write", True)
                self.result.checks["no-op polls: no Temporal call, no write"] &= not calls and result.writes == 0
        log(
            f"no-op polls: big {self.median('no-op poll, big') * 1000:.1f} ms, small {self.median('no-op poll, small') * 1000:.1f} ms"
        )

    async def changes(self, big: Side, mid: Side) -> None:
        for number in range(self.args.changes):
            sides = ((big, "one-file change, big"), (mid, "one-file change, mid"))
            for side, name in sides[:: 1 if number % 2 == 0 else -1]:
                index = 1 + (number * 997) % len(side.repo.names)
                side.repo.write(index, (CHANGE_MINUTES + number) * 60)
                side.repo.commit(f"{side.repo.names[index - 1]} every {CHANGE_MINUTES + number} min")
                await self.watch.settle()
                seconds, result, calls = await side.sync()
                self.record(name, seconds)
                wrote = [o.name for o in result.outcomes if o.wrote]
                key = "one-file changes: exactly the changed schedule written"
                self.result.checks[key] = self.result.checks.get(key, True) and wrote == [side.repo.names[index - 1]]
                self.result.notes.setdefault("calls of a one-file change", dict(calls))
        log(
            f"one-file changes: big {self.median('one-file change, big') * 1000:.1f} ms, "
            f"mid {self.median('one-file change, mid') * 1000:.1f} ms"
        )

    async def scans(self, big: Side) -> None:
        """The drift scan `drift_interval` starts (a listing), against a bare SDK listing; then one
        `--hard` sync, which also verifies (describes every schedule), untargeted."""
        client = await big.reconciler.connections.client()
        config = big.reconciler.config
        every_poll = config.reconciler.model_copy(update={"drift_interval": timedelta(0)})
        scanner = Reconciler(
            config.model_copy(update={"reconciler": every_poll}),
            big.reconciler.store,
            connections=big.reconciler.connections,
        )
        scanning = replace(big, reconciler=scanner)
        listed = 0
        for number in range(self.args.scans):
            for turn in ("scan", "list") if number % 2 == 0 else ("list", "scan"):
                await self.watch.settle()
                if turn == "scan":
                    seconds, result, calls = await scanning.sync(poll=False)
                    assert result.drift_scan, "a drift scan is due at every sync of the scanner"
                    self.record("drift scan", seconds)
                    key = "drift scans: zero writes"
                    self.result.checks[key] = (
                        self.result.checks.get(key, True) and not writes(calls) and not result.writes
                    )
                    self.result.notes["calls of a drift scan"] = dict(calls)
                else:
                    began = time.perf_counter()
                    listed = sum([1 async for _ in await client.list_schedules()])
                    self.record("SDK listing", time.perf_counter() - began)
        self.result.notes["schedules listed"] = listed
        log(f"drift scans {self.median('drift scan'):.2f} s, SDK listing {self.median('SDK listing'):.2f} s ({listed})")
        await self.watch.settle()
        seconds, result, calls = await big.sync(hard=True, poll=False)
        self.record("hard sync (drift scan and verification)", seconds)
        self.result.checks["hard sync: zero writes"] = not writes(calls) and not result.writes
        self.result.notes["calls of a hard sync"] = dict(calls)
        log(f"hard sync {seconds:.2f} s, calls {dict(calls)}")

    async def peak_rss(self, big: Repo) -> None:
        """`launchpad reconcile --once` as a user runs it: the big repository's first sync."""
        work = self.root / "rss"
        work.mkdir()
        config_for(self.server, work, big, "bench-rss", self.args.concurrency)  # validates the text below
        host, port = self.server.address.rsplit(":", 1)
        (work / "launchpad_configs.yaml").write_text(
            f'temporalio:\n  servers: [{{name: local, ip: "{host}", port: {port}, namespaces: [{{name: bench-rss}}]}}]\n'
            f'repository: {{url: "{big.remote}", branch: {BRANCH}, cache_dir: cache}}\nstate: {{path: state.db}}\n'
            f"reconciler: {{concurrency: {self.args.concurrency}, instance: bench}}\n"
        )
        await self.watch.settle()
        command = [
            sys.executable,
            "-m",
            "launchpad",
            "reconcile",
            "--once",
            "--config",
            str(work / "launchpad_configs.yaml"),
        ]
        began = time.perf_counter()
        with (work / "reconcile.out").open("wb") as out:  # a file, not a pipe: its 10,000 lines never block it
            process = subprocess.Popen(command, cwd=work, stdout=out, stderr=subprocess.STDOUT)
            _, status, usage = await asyncio.to_thread(os.wait4, process.pid, 0)
        elapsed = time.perf_counter() - began
        output = (work / "reconcile.out").read_text(errors="replace")
        self.result.checks["reconcile --once exited 0"] = os.waitstatus_to_exitcode(status) == 0
        self.record("peak RSS, MB", usage.ru_maxrss / 1024)
        self.result.notes["reconcile --once"] = output.splitlines()[0] if output else ""
        log(
            f"reconcile --once (first sync of {len(big.names)}): {elapsed:.1f} s, peak RSS {usage.ru_maxrss / 1024:.0f} MB"
        )

    async def dynamodb(self, mid: Repo) -> None:
        """A no-op poll at `--mid` tasks with the state store on DynamoDB (a moto server)."""
        moto = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
        port = free_port()
        process = subprocess.Popen(
            [moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                        break
                except OSError:
                    await asyncio.sleep(0.1)
            os.environ.update(
                AWS_ENDPOINT_URL=url,
                AWS_ACCESS_KEY_ID="bench",
                AWS_SECRET_ACCESS_KEY="bench",
                AWS_DEFAULT_REGION="us-east-1",
            )
            from launchpad.state.dynamodb import DynamoStateStore, client, create_tables

            create_tables("bench-state")
            db = client()
            requests: Counter[str] = Counter()
            db.meta.events.register(
                "before-send", lambda request, **_: requests.update([request.headers.get("X-Amz-Target", b"?")])
            )
            side = await self.side("dynamodb", mid, "bench-dynamo", DynamoStateStore("bench-state", db=db))
            await side.sync(poll=False)  # the first sync, untimed
            counts = []
            for _ in range(3):
                requests.clear()
                await side.sync()
                counts.append(sum(requests.values()))
            self.result.figures["DynamoDB requests of a no-op poll"] = counts
            self.result.notes["DynamoDB requests of a no-op poll"] = {
                k.decode() if isinstance(k, bytes) else k: v for k, v in requests.items()
            }
            log(f"DynamoDB requests of a no-op poll at {len(mid.names)} tasks: {counts}")
        finally:
            process.terminate()
            process.wait()

    async def run(self) -> Result:
        began = time.perf_counter()
        big = self.repo("big", self.args.tasks)
        mid_repo = self.repo("mid", self.args.mid)
        small_repo = self.repo("small", self.args.small)
        big_side = await self.first_sync(big)
        mid = await self.side("mid", mid_repo, "bench-mid")
        small = await self.side("small", small_repo, "bench-small")
        for side in (mid, small):
            await side.sync(poll=False)  # their first syncs, untimed
        await self.polls(big_side, small)
        await self.changes(big_side, mid)
        await self.scans(big_side)
        await self.peak_rss(big)
        await self.dynamodb(mid_repo)
        r = self.result
        ratios = {
            "first sync / SDK creates": ratio(self.median("first sync"), self.median("SDK creates")),
            "no-op poll, big / small": ratio(self.median("no-op poll, big"), self.median("no-op poll, small")),
            "one-file change, big / mid": ratio(
                self.median("one-file change, big"), self.median("one-file change, mid")
            ),
            "drift scan / SDK listing": ratio(self.median("drift scan"), self.median("SDK listing")),
            "peak RSS, MB": self.median("peak RSS, MB"),
            "DynamoDB requests of a no-op poll": max(r.figures["DynamoDB requests of a no-op poll"]),
            "no-op poll / first sync": ratio(self.median("no-op poll, big"), self.median("first sync")),
            "one-file change / no-op poll": ratio(self.median("one-file change, big"), self.median("no-op poll, big")),
        }
        r.notes["waited for the server to idle, s"] = round(self.watch.waited, 1)
        return replace(
            r,
            ratios={k: round(v, 4) for k, v in ratios.items()},
            elapsed_s=round(time.perf_counter() - began, 1),
        )


SIGNALS_TARGET = 1.05  # no-op poll with metrics, JSON logs and a notification target on / off, at most


async def measure_signals(server: DevServer, root: Path, args: argparse.Namespace) -> str:
    """Issue #17's measure: a no-op poll with the signals on against the same with them off."""
    import logging
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from launchpad.observability.logs import JsonFormatter
    from launchpad.observability.signals import Signals
    from reconciler.observer import attach

    class Ok(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            return None

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    bench = Bench(server, root, args)
    repo = bench.repo("signals", args.tasks)
    off = await bench.side("signals-off", repo, "bench-signals")
    on = await bench.side("signals-on", repo, "bench-signals", off.reconciler.store)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    on.reconciler.config.notifications = parse_config(
        f'notifications: [{{name: bench, url: "{url}", secret: bench-secret}}]', "n.yaml", env={}
    ).notifications
    signals = Signals.from_config(on.reconciler.config)
    attach(on.reconciler, signals)
    handler = logging.FileHandler(root / "json.log")
    handler.setFormatter(JsonFormatter())
    root_logger = logging.getLogger()
    root_logger.addHandler(handler)
    log(f"signals: first sync of {args.tasks} schedules (untimed)")
    await off.sync(poll=False)
    await on.sync(poll=False)  # its own cache and meta: the next polls find nothing new
    times: dict[str, list[float]] = {"on": [], "off": []}
    for pair in range(args.signal_pairs):
        for name in ("on", "off") if pair % 2 == 0 else ("off", "on"):
            await bench.watch.settle()
            root_logger.setLevel(logging.INFO if name == "on" else logging.WARNING)
            seconds, result, _ = await (on if name == "on" else off).sync()
            assert result.writes == 0, "a no-op poll wrote"
            times[name].append(seconds)
    root_logger.removeHandler(handler)
    receiver.shutdown()
    lines = (root / "json.log").read_text().splitlines()
    on_median, off_median = statistics.median(times["on"]), statistics.median(times["off"])
    result = ratio(on_median, off_median)
    per_pair = [ratio(a, b) for a, b in zip(times["on"], times["off"], strict=True)]
    verdict = "PASS" if result <= SIGNALS_TARGET else "MISS"
    return "\n".join(
        [
            f"signals on a no-op poll: {args.tasks} scheduled tasks, {args.signal_pairs} alternating pairs",
            f"on: Prometheus metrics, JSON logs at INFO to a file ({len(lines)} lines written), one notification target",
            f"{'':22}{'median':>10}   polls",
            f"{'signals on':22}{on_median:>8.4f} s   {', '.join(f'{v:.4f}' for v in times['on'])}",
            f"{'signals off':22}{off_median:>8.4f} s   {', '.join(f'{v:.4f}' for v in times['off'])}",
            f"{'ratio per pair':22}{', '.join(f'{v:.2f}' for v in per_pair)} (median {statistics.median(per_pair):.3f})",
            f"{'ratio of medians':22}{result:>10.3f}   target <= {SIGNALS_TARGET:.2f}  {verdict}",
        ]
    )


def table(r: Result) -> str:
    verdict = {True: "PASS", False: "MISS"}
    rows = [
        f"reconcile at scale: {r.tasks} / {r.mid} / {r.small} scheduled tasks, {r.concurrency} in flight, "
        + (f"{r.per_folder} task files per folder" if r.per_folder else "every task file in one folder"),
        f"server {r.server} (temporal dev server, started by this run), temporalio {r.temporalio}, "
        f"Python {r.python}, {r.cpus} CPUs; {r.date}",
        "",
        f"{'measure':36}{'median':>12}   samples",
    ]
    units = {"peak RSS, MB": " MB", "DynamoDB requests of a no-op poll": ""}
    for name, values in r.figures.items():
        unit = units.get(name, " s")
        shown = statistics.median(values)
        rows.append(f"{name:36}{shown:>10.3f}{unit:2}   {', '.join(f'{v:.3f}' for v in values)}")
    rows += ["", f"{'target':36}{'figure':>10}   limit"]
    for name, limit in TARGETS.items():
        rows.append(f"{name:36}{r.ratios[name]:>10.3f}   <= {limit}  {verdict[r.passes(name)]}")
    rows += ["", "earlier rounds' figures (docs/BENCHMARKS.md says why they changed meaning):"]
    for name, limit in EARLIER.items():
        rows.append(f"{name:36}{r.ratios[name]:>10.3f}   <= {limit}  {verdict[r.passes(name)]}")
    rows += ["", "checks:"] + [f"  {name}: {'yes' if ok else 'NO'}" for name, ok in r.checks.items()]
    rows += ["", "notes:"] + [f"  {name}: {value}" for name, value in r.notes.items()]
    held = all(r.passes(name) for name in TARGETS) and all(r.checks.values())
    rows += ["", f"targets: {'all hold' if held else 'NOT all hold'}; run took {r.elapsed_s:.0f} s"]
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=10_000, help="task files of the big repository")
    parser.add_argument("--mid", type=int, default=1_000, help="task files of the mid repository")
    parser.add_argument("--small", type=int, default=100, help="task files of the small repository")
    parser.add_argument(
        "--per-folder", type=int, default=100, help="task files per folder (0: all in one folder, git's worst case)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="creates in flight (both sides)")
    parser.add_argument("--rounds", type=int, default=1, help="first sync vs SDK rounds (fresh namespaces)")
    parser.add_argument("--polls", type=int, default=7, help="no-op polls per repository")
    parser.add_argument("--changes", type=int, default=5, help="one-file changes per repository")
    parser.add_argument("--scans", type=int, default=5, help="drift scans and SDK listings")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--signals", action="store_true", help="only measure the signals' cost on a no-op poll")
    parser.add_argument("--signal-pairs", type=int, default=15, help="no-op polls per side (--signals)")
    names = ("tasks", "mid", "small", "concurrency", "rounds", "polls", "changes", "scans", "signal_pairs")
    return parse_positive(parser, argv, names)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.signals:
        with (
            tempfile.TemporaryDirectory(prefix="reconcile-signals-") as tmp,
            DevServer(namespaces=["bench-signals"]) as server,
        ):
            print(asyncio.run(measure_signals(server, Path(tmp), args)))
        return 0
    namespaces = [f"bench-r{n}-{side}" for n in range(args.rounds) for side in ("sync", "sdk")]
    namespaces += ["bench-mid", "bench-small", "bench-rss", "bench-dynamo"]
    log("starting the Temporal dev server")
    with tempfile.TemporaryDirectory(prefix="reconcile-scale-") as tmp, DevServer(namespaces=namespaces) as server:
        result = asyncio.run(Bench(server, Path(tmp), args).run())
    print(json.dumps(asdict(result), indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    socket.setdefaulttimeout(60)
    sys.exit(main())
