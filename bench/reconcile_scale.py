"""Reconcile at scale: the reconciler against a repository of N scheduled tasks (default 1,000).

One run starts its own Temporal dev server, generates a git repository (a bare remote and a work
clone, with the `git` CLI) holding N `ScheduledWorkflowRunner` task files, and measures on that
one server:

- first sync: `Reconciler.sync()` from nothing (fresh clone, fresh state store, empty namespace),
  everything included: clone, parse, list, plan, N schedule creates, state-store writes. The
  baseline creates the same N schedules (same ids, same `Schedule`, same memo) directly with
  `Client.create_schedule`, `--concurrency` in flight (the reconciler's default, 32); its specs are
  parsed and its `Schedule` objects built before timing. Each round uses two fresh namespaces (one
  per side) so the reconciler's listing only ever sees its own schedules; the sides alternate
  which goes first. Headline: median first sync / median baseline;
- no-op resync: `sync()` again with nothing changed, `--resyncs` times. Headline: median resync /
  median first sync, and zero write RPCs;
- one-file change: one task file's interval changed, committed and pushed (untimed), then `sync()`,
  `--changes` times (a different file each time). Headline: median change sync / median no-op
  resync, and exactly one write.

Writes are counted three ways: `SyncResult.writes` (the reconciler's own count), every RPC on the
shared gRPC connection (a wrapper counts them by name; write RPCs = anything that is not a
list/describe/get/count/scan call, split into accepted and rejected), and the conflict tokens of
a sample of schedules, which the server changes on every write to a schedule.

`--signals` measures instead (and only) the cost of issue #17's signals on a no-op resync: the same
reconciler state synced again and again, alternating a reconciler with metrics (Prometheus), JSON
logs (at INFO, to a file) and one notification target (a local HTTP receiver) on, and one with
them all off, `--signal-pairs` pairs after one untimed first sync. Headline: median on / median
off, target <= 1.05.

Between phases the script waits (untimed) until the dev server's CPU use falls back to idle: a
schedule create leaves work behind on the server (its scheduler workflow's first task), which
would otherwise land in the next timed phase. No worker runs: schedules are only created, with
intervals and offsets chosen so that none fires during the run. The script exits 0 whether or not
the targets hold (it is a measurement) and says which do.

    python bench/reconcile_scale.py [--tasks N] [--rounds 3] [--resyncs 5] [--changes 5] [--json]
    python bench/reconcile_scale.py --signals [--tasks N] [--signal-pairs 15]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

import temporalio
from common import git, log, parse_positive, ratio
from temporalio.client import Client, Schedule, ScheduleDescription
from temporalio.service import ServiceClient

from launchpad.config import Config, ServerConfig, parse_config
from launchpad.devserver import DevServer
from launchpad.spec.catalog import parse_file
from launchpad.spec.document import TaskDocument
from launchpad.state.sqlite import SqliteStateStore
from launchpad.temporal.connections import Connections
from launchpad.temporal.memo import MARKER
from launchpad.temporal.runners import spec_hash
from launchpad.temporal.schedules import build_schedule
from reconciler.sync import Reconciler, SyncResult

FIRST_SYNC_TARGET = 1.3  # first sync / direct SDK creates, at most
NOOP_TARGET = 0.25  # no-op resync / first sync, at most
CHANGE_TARGET = 2.0  # one-file change sync / no-op resync, at most
BRANCH = "main"
TASKS_DIR = "deployments/tasks"
TOKEN_SAMPLE = 20  # schedules whose conflict tokens are compared around the no-op and change phases
EVERY_HOURS = (3, 4, 6, 8, 12, 24, 48, 168)  # intervals, varied by task
CHANGE_MINUTES = 300  # a changed file's interval: 5h00m, 5h01m, ... (never one of EVERY_HOURS)
QUIET_AFTER = 7200  # seconds from the start of the run before any schedule may fire
SETTLE_CPU = 0.10  # the dev server counts as idle below this share of one CPU over SETTLE_WINDOW
SETTLE_WINDOW = 1.0
SETTLE_MAX = 90.0
READ_PREFIXES = ("list_", "describe_", "get_", "count_", "scan_", "check")
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


@dataclass(frozen=True)
class Result:
    """Everything one run measured; `--json` prints it as is."""

    date: str
    server: str
    python: str
    temporalio: str
    cpus: int
    tasks: int
    concurrency: int
    rounds: int
    parity: bool
    parity_diff: list[str]
    baseline_s: list[float]
    first_sync_s: list[float]
    first_sync_writes: list[int]
    baseline_client_cpu_s: list[float]
    first_sync_client_cpu_s: list[float]
    baseline_other_cpus: list[float]
    first_sync_other_cpus: list[float]
    first_round_ratios: list[float]
    first_paired_ratio: float
    baseline_median_s: float
    first_sync_median_s: float
    first_ratio: float
    first_target: float
    first_pass: bool
    noop_s: list[float]
    noop_writes: list[int]
    noop_write_rpcs: list[int]
    noop_rpcs: dict[str, int]
    noop_tokens_unchanged: bool
    noop_median_s: float
    noop_ratio: float
    noop_target: float
    noop_pass: bool
    change_s: list[float]
    change_writes: list[int]
    change_write_rpcs: list[int]
    change_rejected_write_rpcs: list[int]
    change_rpcs: dict[str, int]
    change_tokens_ok: bool
    change_median_s: float
    change_ratio: float
    change_target: float
    change_pass: bool
    schedule_actions: int
    next_fire_min: float
    settle_s: float
    elapsed_s: float


def blob_sha(text: str) -> str:
    """The git blob id of a file's content: the version the reconciler puts in the marker."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    """A bare remote (what the reconciler fetches) and a work clone that commits and pushes."""

    def __init__(self, root: Path, prefix: str, n: int, epoch: int) -> None:
        self.remote = root / "remote.git"
        self.work = root / "work"
        self.prefix = prefix
        self.epoch = epoch
        root.mkdir(parents=True, exist_ok=True)
        git(root, "init", "-q", "--bare", "-b", BRANCH, str(self.remote))
        git(root, "init", "-q", "-b", BRANCH, str(self.work))
        git(self.work, "remote", "add", "origin", str(self.remote))
        self.names = [f"task-{i:04d}" for i in range(1, n + 1)]
        for index in range(1, n + 1):
            self.write(index, EVERY_HOURS[index % len(EVERY_HOURS)] * 3600)
        self.commit(f"{n} scheduled tasks")

    def path(self, index: int) -> str:
        return f"{TASKS_DIR}/{self.names[index - 1]}.yaml"

    def sid(self, index: int) -> str:
        return f"{self.prefix}-{self.names[index - 1]}"

    def write(self, index: int, every: int) -> None:
        """Task `index` every `every` seconds (> QUIET_AFTER), offset so that it first fires between
        QUIET_AFTER and `every` seconds after the start of the run (intervals are epoch-aligned)."""
        offset = (self.epoch + QUIET_AFTER + (7 * index) % (every - QUIET_AFTER)) % every
        text = TASK_YAML.format(
            name=self.names[index - 1], index=index, sid=self.sid(index), every=every, offset=offset
        )
        file = self.work / self.path(index)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)

    def read(self, index: int) -> str:
        return (self.work / self.path(index)).read_text()

    def commit(self, message: str) -> str:
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", f"HEAD:{BRANCH}")
        return git(self.work, "rev-parse", "HEAD")


class RpcCounter:
    """Counts every RPC made through a service client, by name, and those that failed."""

    def __init__(self, service: ServiceClient) -> None:
        self.calls: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        original = service._rpc_call

        async def counted(*args: Any, **kwargs: Any) -> Any:
            rpc = str(kwargs.get("rpc") or args[0])
            self.calls[rpc] += 1
            try:
                return await original(*args, **kwargs)
            except BaseException:
                self.failed[rpc] += 1
                raise

        service._rpc_call = counted  # type: ignore[method-assign]

    def snapshot(self) -> tuple[Counter[str], Counter[str]]:
        return Counter(self.calls), Counter(self.failed)

    def since(self, before: tuple[Counter[str], Counter[str]]) -> tuple[Counter[str], Counter[str]]:
        return self.calls - before[0], self.failed - before[1]


def is_write(rpc: str) -> bool:
    return not rpc.startswith(READ_PREFIXES)


def writes_in(calls: Counter[str]) -> int:
    return sum(count for rpc, count in calls.items() if is_write(rpc))


class SharedConnections(Connections):
    """Connections whose every client rides one already open (and counted) gRPC connection."""

    def __init__(self, config: Config, service: ServiceClient) -> None:
        super().__init__(config.temporalio)
        self.shared = service

    async def _connect(self, server: ServerConfig) -> ServiceClient:
        return self.shared


class CpuWatch:
    """The dev server's CPU time, read from /proc (Linux); elsewhere settling is skipped."""

    def __init__(self, pid: int) -> None:
        self.stat = Path(f"/proc/{pid}/stat")
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.waited = 0.0

    def cpu(self) -> float | None:
        try:
            fields = self.stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime

    def machine(self) -> float | None:
        """CPU seconds all processes of the machine have used (busy time, every CPU)."""
        try:
            values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        except (OSError, ValueError):
            return None
        return (sum(values) - values[3] - values[4]) / self.tick  # all but idle and iowait

    def sample(self) -> tuple[float, float, float | None, float | None]:
        return time.perf_counter(), time.process_time(), self.cpu(), self.machine()

    def usage(self, before: tuple[float, float, float | None, float | None]) -> tuple[float, float]:
        """This process's CPU seconds since `before`, and the CPUs other processes kept busy meanwhile
        (the machine's busy time minus this process's and the dev server's, per wall-clock second)."""
        after = self.sample()
        wall, own = after[0] - before[0], after[1] - before[1]
        if None in (before[2], before[3], after[2], after[3]):
            return own, float("nan")
        others = (after[3] - before[3]) - own - (after[2] - before[2])  # type: ignore[operator]
        return own, max(0.0, others) / wall if wall else float("nan")

    async def settle(self) -> float:
        """Wait until the server uses less than SETTLE_CPU of a core over SETTLE_WINDOW."""
        began = time.perf_counter()
        while time.perf_counter() - began < SETTLE_MAX:
            first = self.cpu()
            if first is None:
                return 0.0
            await asyncio.sleep(SETTLE_WINDOW)
            last = self.cpu()
            if last is not None and (last - first) / SETTLE_WINDOW < SETTLE_CPU:
                break
        waited = time.perf_counter() - began
        self.waited += waited
        if waited > 2 * SETTLE_WINDOW:
            log(f"  waited {waited:.1f} s for the dev server to idle" + (" (gave up)" if waited >= SETTLE_MAX else ""))
        return waited


def bench_config(
    server: DevServer, root: Path, repo: Repo, namespaces: list[str], default: str, concurrency: int
) -> Config:
    host, port = server.address.rsplit(":", 1)
    listed = ", ".join(f"{{name: {ns}}}" for ns in namespaces)
    return parse_config(
        f"""
temporalio:
  servers:
    - {{name: local, ip: "{host}", port: {port}, namespaces: [{listed}], default_namespace: {default}}}
repository: {{url: "{repo.remote}", branch: {BRANCH}, cache_dir: "{root}/cache"}}
state: {{path: "{root}/state.db"}}
reconciler: {{concurrency: {concurrency}}}
""",
        str(root / "launchpad_configs.yaml"),
        env={},
    )


@dataclass
class Baseline:
    """The direct side: the same schedules, built before timing, created with the SDK."""

    client: Client
    items: list[tuple[str, Schedule, dict[str, Any]]] = field(default_factory=list)

    @classmethod
    def prepare(cls, client: Client, repo: Repo) -> Baseline:
        items = []
        for index in range(1, len(repo.names) + 1):
            text = repo.read(index)
            doc = parse_file(repo.path(index), text, {})
            assert isinstance(doc, TaskDocument)
            spec = doc.spec()
            schedule = build_schedule(spec, blob_sha(text), spec_hash(spec))
            items.append((spec.workflow.scheduler_id or "", schedule, {MARKER: {"task": spec.name}}))
        return cls(client, items)

    async def run(self, concurrency: int) -> float:
        gate = asyncio.Semaphore(concurrency)

        async def one(sid: str, schedule: Schedule, memo: dict[str, Any]) -> None:
            async with gate:
                await self.client.create_schedule(sid, schedule, memo=memo)

        began = time.perf_counter()
        await asyncio.gather(*(one(*item) for item in self.items))
        return time.perf_counter() - began


async def timed_sync(reconciler: Reconciler, counter: RpcCounter) -> tuple[float, SyncResult, Counter[str], int]:
    """One sync: seconds, result, RPCs by name, rejected write RPCs."""
    before = counter.snapshot()
    began = time.perf_counter()
    result = await reconciler.sync("bench")
    elapsed = time.perf_counter() - began
    calls, failed = counter.since(before)
    if result.status != "succeeded":
        raise RuntimeError(f"sync {result.status}: {result.message} {result.errors[:3]}")
    return elapsed, result, calls, writes_in(failed)


async def tokens(client: Client, ids: list[str]) -> dict[str, bytes]:
    described = await asyncio.gather(*(client.get_schedule_handle(sid).describe() for sid in ids))
    return {sid: d.raw_description.conflict_token for sid, d in zip(ids, described, strict=True)}


async def fired(client: Client, ids: list[str]) -> tuple[int, float]:
    """Actions the schedules have taken so far, and minutes until the earliest next one."""
    gate = asyncio.Semaphore(32)

    async def one(sid: str) -> ScheduleDescription:
        async with gate:
            return await client.get_schedule_handle(sid).describe()

    described = await asyncio.gather(*(one(sid) for sid in ids))
    now = datetime.now(UTC)
    upcoming = [d.info.next_action_times[0] for d in described if d.info.next_action_times]
    soonest = (min(upcoming) - now).total_seconds() / 60 if upcoming else float("inf")
    return sum(d.info.num_actions for d in described), soonest


async def parity(sync_client: Client, sdk_client: Client, sid: str) -> list[str]:
    """The fields of one schedule that differ between the two sides (the server's own form)."""
    a = (await sync_client.get_schedule_handle(sid).describe()).raw_description
    b = (await sdk_client.get_schedule_handle(sid).describe()).raw_description
    diff = []
    for name in ("spec", "action", "policies", "state"):
        if getattr(a.schedule, name).SerializeToString(deterministic=True) != getattr(
            b.schedule, name
        ).SerializeToString(deterministic=True):
            diff.append(f"schedule.{name}")
    if dict(a.memo.fields) != dict(b.memo.fields):
        diff.append("memo")
    return diff


def merge(counters: list[Counter[str]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for counter in counters:
        total += counter
    return dict(sorted(total.items()))


async def run(server: DevServer, root: Path, args: argparse.Namespace, namespaces: list[str]) -> Result:
    began = time.perf_counter()
    watch = CpuWatch(server.process.pid if server.process else 0)
    prefix = f"rs{uuid.uuid4().hex[:6]}"
    log(f"generating a repository of {args.tasks} task files (schedule ids {prefix}-task-NNNN)")
    repo = Repo(root / "repo", prefix, args.tasks, int(time.time()))

    service = (await Client.connect(server.address)).service_client
    counter = RpcCounter(service)
    clients = {ns: Client(service, namespace=ns) for ns in namespaces}

    baseline_s: list[float] = []
    sync_s: list[float] = []
    sync_writes: list[int] = []
    baseline_cpu: list[float] = []
    sync_cpu: list[float] = []
    baseline_others: list[float] = []
    sync_others: list[float] = []
    reconciler: Reconciler | None = None
    sync_ns = ""
    diff: list[str] = []
    for number in range(args.rounds):
        sync_ns, sdk_ns = f"bench-r{number}-sync", f"bench-r{number}-sdk"
        work = root / f"round{number}"
        work.mkdir()
        config = bench_config(server, work, repo, namespaces, sync_ns, args.concurrency)
        store = SqliteStateStore(str(work / "state.db"))
        reconciler = Reconciler(config, store, connections=SharedConnections(config, service))
        baseline = Baseline.prepare(clients[sdk_ns], repo)
        sides = ["sdk", "sync"] if number % 2 == 0 else ["sync", "sdk"]
        for side in sides:
            await watch.settle()
            if side == "sdk":
                before, meter = counter.snapshot(), watch.sample()
                seconds = await baseline.run(args.concurrency)
                own, others = watch.usage(meter)
                created = counter.since(before)[0]["create_schedule"]
                baseline_s.append(seconds)
                baseline_cpu.append(own)
                baseline_others.append(others)
                log(
                    f"round {number + 1}/{args.rounds}: SDK created {created} schedules in {seconds:.2f} s "
                    f"(client CPU {own:.2f} s, other processes {others:.2f} CPUs)"
                )
            else:
                meter = watch.sample()
                seconds, result, calls, _ = await timed_sync(reconciler, counter)
                own, others = watch.usage(meter)
                sync_s.append(seconds)
                sync_writes.append(result.writes)
                sync_cpu.append(own)
                sync_others.append(others)
                log(
                    f"round {number + 1}/{args.rounds}: first sync {seconds:.2f} s, {result.writes} writes, "
                    f"{calls['create_schedule']} create_schedule RPCs (client CPU {own:.2f} s, "
                    f"other processes {others:.2f} CPUs)"
                )
        if number == 0:
            diff = await parity(clients[sync_ns], clients[sdk_ns], repo.sid(1))
    assert reconciler is not None
    client = clients[sync_ns]

    # no-op resyncs, on the last round's reconciler (its namespace holds exactly its N schedules)
    step = max(1, args.tasks // TOKEN_SAMPLE)
    changed = [1 + (j * args.tasks) // args.changes for j in range(args.changes)]
    sample = [repo.sid(i) for i in range(2, args.tasks + 1, step) if i not in changed][:TOKEN_SAMPLE]
    await watch.settle()
    before_tokens = await tokens(client, sample)
    noop_s: list[float] = []
    noop_writes: list[int] = []
    noop_write_rpcs: list[int] = []
    noop_calls: list[Counter[str]] = []
    for number in range(args.resyncs):
        await watch.settle()
        seconds, result, calls, _ = await timed_sync(reconciler, counter)
        noop_s.append(seconds)
        noop_writes.append(result.writes)
        noop_write_rpcs.append(writes_in(calls))
        noop_calls.append(calls)
        log(f"no-op resync {number + 1}/{args.resyncs}: {seconds:.3f} s, {result.writes} writes, RPCs {dict(calls)}")
    noop_tokens_unchanged = await tokens(client, sample) == before_tokens

    # one-file changes: a different file each time, committed and pushed before timing
    change_s: list[float] = []
    change_writes: list[int] = []
    change_write_rpcs: list[int] = []
    change_rejected: list[int] = []
    change_calls: list[Counter[str]] = []
    change_tokens_ok = True
    for number, index in enumerate(changed):
        repo.write(index, (CHANGE_MINUTES + number) * 60)
        repo.commit(f"{repo.names[index - 1]}: every {(CHANGE_MINUTES + number) * 60} s")
        token = (await tokens(client, [repo.sid(index)]))[repo.sid(index)]
        await watch.settle()
        seconds, result, calls, rejected = await timed_sync(reconciler, counter)
        wrote = [o["name"] for o in result.outcomes if o["wrote"]]
        change_s.append(seconds)
        change_writes.append(result.writes)
        change_write_rpcs.append(writes_in(calls))
        change_rejected.append(rejected)
        change_calls.append(calls)
        change_tokens_ok &= wrote == [repo.names[index - 1]]
        change_tokens_ok &= (await tokens(client, [repo.sid(index)]))[repo.sid(index)] != token
        log(
            f"one-file change {number + 1}/{args.changes} ({repo.names[index - 1]}): {seconds:.3f} s, "
            f"{result.writes} writes ({', '.join(wrote)}), RPCs {dict(calls)}"
        )
    change_tokens_ok &= await tokens(client, sample) == before_tokens
    actions, soonest = await fired(client, [repo.sid(i) for i in range(1, args.tasks + 1)])

    baseline_median = statistics.median(baseline_s)
    sync_median = statistics.median(sync_s)
    noop_median = statistics.median(noop_s)
    change_median = statistics.median(change_s)
    first_ratio = ratio(sync_median, baseline_median)
    noop_ratio = ratio(noop_median, sync_median)
    change_ratio = ratio(change_median, noop_median)
    accepted = [w - r for w, r in zip(change_write_rpcs, change_rejected, strict=True)]
    return Result(
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        server=server.address,
        python=platform.python_version(),
        temporalio=temporalio.__version__,
        cpus=os.cpu_count() or 0,
        tasks=args.tasks,
        concurrency=args.concurrency,
        rounds=args.rounds,
        parity=not diff,
        parity_diff=diff,
        baseline_s=[round(v, 3) for v in baseline_s],
        first_sync_s=[round(v, 3) for v in sync_s],
        first_sync_writes=sync_writes,
        baseline_client_cpu_s=[round(v, 2) for v in baseline_cpu],
        first_sync_client_cpu_s=[round(v, 2) for v in sync_cpu],
        baseline_other_cpus=[round(v, 2) for v in baseline_others],
        first_sync_other_cpus=[round(v, 2) for v in sync_others],
        first_round_ratios=[round(ratio(s, b), 3) for s, b in zip(sync_s, baseline_s, strict=True)],
        first_paired_ratio=round(statistics.median(ratio(s, b) for s, b in zip(sync_s, baseline_s, strict=True)), 4),
        baseline_median_s=round(baseline_median, 3),
        first_sync_median_s=round(sync_median, 3),
        first_ratio=round(first_ratio, 4),
        first_target=FIRST_SYNC_TARGET,
        first_pass=first_ratio <= FIRST_SYNC_TARGET and all(w == args.tasks for w in sync_writes),
        noop_s=[round(v, 4) for v in noop_s],
        noop_writes=noop_writes,
        noop_write_rpcs=noop_write_rpcs,
        noop_rpcs=merge(noop_calls),
        noop_tokens_unchanged=noop_tokens_unchanged,
        noop_median_s=round(noop_median, 4),
        noop_ratio=round(noop_ratio, 4),
        noop_target=NOOP_TARGET,
        noop_pass=noop_ratio <= NOOP_TARGET
        and not any(noop_writes)
        and not any(noop_write_rpcs)
        and noop_tokens_unchanged,
        change_s=[round(v, 4) for v in change_s],
        change_writes=change_writes,
        change_write_rpcs=change_write_rpcs,
        change_rejected_write_rpcs=change_rejected,
        change_rpcs=merge(change_calls),
        change_tokens_ok=change_tokens_ok,
        change_median_s=round(change_median, 4),
        change_ratio=round(change_ratio, 4),
        change_target=CHANGE_TARGET,
        change_pass=change_ratio <= CHANGE_TARGET
        and all(w == 1 for w in change_writes)
        and all(a == 1 for a in accepted)
        and change_tokens_ok,
        schedule_actions=actions,
        next_fire_min=round(soonest, 1),
        settle_s=round(watch.waited, 1),
        elapsed_s=round(time.perf_counter() - began, 1),
    )


def table(r: Result) -> str:
    """The human-readable report."""
    verdict = {True: "PASS", False: "MISS"}
    parity = "identical" if r.parity else f"DIFFERENT: {', '.join(r.parity_diff)}"
    accepted = [w - x for w, x in zip(r.change_write_rpcs, r.change_rejected_write_rpcs, strict=True)]
    all_hold = r.first_pass and r.noop_pass and r.change_pass
    rpcs = ", ".join(f"{k} {v}" for k, v in r.noop_rpcs.items())
    change_rpcs = ", ".join(f"{k} {v}" for k, v in r.change_rpcs.items())
    rows = [
        f"reconcile at scale: {r.tasks} scheduled tasks, {r.concurrency} in flight",
        f"server {r.server} (temporal dev server, started by this run), temporalio {r.temporalio}, "
        f"Python {r.python}, {r.cpus} CPUs",
        f"schedule as the server holds it, reconciler vs SDK: {parity} (spec, action, policies, state, memo)",
        f"schedules of the last round: {r.schedule_actions} actions taken during the run, "
        f"next one in {r.next_fire_min:.0f} min (no worker runs; none should fire)",
        "",
        f"first sync vs direct SDK creates: {r.rounds} alternating rounds, fresh namespaces, clone and state store",
        f"{'':22}{'median':>10}   rounds",
        f"{'SDK create_schedule':22}{r.baseline_median_s:>8.2f} s   {', '.join(f'{v:.2f}' for v in r.baseline_s)}",
        f"{'reconciler first sync':22}{r.first_sync_median_s:>8.2f} s   "
        f"{', '.join(f'{v:.2f}' for v in r.first_sync_s)}  (writes {', '.join(map(str, r.first_sync_writes))})",
        f"{'client CPU (SDK)':22}{statistics.median(r.baseline_client_cpu_s):>8.2f} s   "
        f"{', '.join(f'{v:.2f}' for v in r.baseline_client_cpu_s)}  (this process, all threads)",
        f"{'client CPU (sync)':22}{statistics.median(r.first_sync_client_cpu_s):>8.2f} s   "
        f"{', '.join(f'{v:.2f}' for v in r.first_sync_client_cpu_s)}",
        f"{'other processes':22}{'':10}   SDK {', '.join(f'{v:.2f}' for v in r.baseline_other_cpus)}; sync "
        f"{', '.join(f'{v:.2f}' for v in r.first_sync_other_cpus)} CPUs busy (neither this run nor its server)",
        f"{'ratio of medians':22}{r.first_ratio:>10.3f}   target <= {r.first_target:.2f}, "
        f"{r.tasks} writes each  {verdict[r.first_pass]}",
        f"{'ratio per round':22}{', '.join(f'{v:.2f}' for v in r.first_round_ratios)} "
        f"(median {r.first_paired_ratio:.3f})",
        "",
        f"no-op resync: {len(r.noop_s)} syncs, nothing changed",
        f"{'times':22}{', '.join(f'{v:.3f}' for v in r.noop_s)} s (median {r.noop_median_s:.3f} s)",
        f"{'writes':22}SyncResult.writes {sum(r.noop_writes)}, write RPCs {sum(r.noop_write_rpcs)}, "
        f"conflict tokens of {TOKEN_SAMPLE} schedules {'unchanged' if r.noop_tokens_unchanged else 'CHANGED'}",
        f"{'RPCs (all syncs)':22}{rpcs}",
        f"{'ratio to first sync':22}{r.noop_ratio:>10.3f}   target <= {r.noop_target:.2f}, zero writes  "
        f"{verdict[r.noop_pass]}",
        "",
        f"one-file change: {len(r.change_s)} syncs, each after one task file's interval changed (pushed before timing)",
        f"{'times':22}{', '.join(f'{v:.3f}' for v in r.change_s)} s (median {r.change_median_s:.3f} s)",
        f"{'writes':22}SyncResult.writes {', '.join(map(str, r.change_writes))}; write RPCs accepted "
        f"{', '.join(map(str, accepted))}, rejected {', '.join(map(str, r.change_rejected_write_rpcs))}",
        f"{'RPCs (all syncs)':22}{change_rpcs}",
        f"{'check':22}only the changed schedule written, its conflict token changed, the sample's not: "
        f"{'yes' if r.change_tokens_ok else 'NO'}",
        f"{'ratio to no-op':22}{r.change_ratio:>10.3f}   target <= {r.change_target:.2f}, exactly one write  "
        f"{verdict[r.change_pass]}",
        "",
        f"targets: {'all hold' if all_hold else 'NOT all hold'} (first sync {verdict[r.first_pass]}, "
        f"no-op {verdict[r.noop_pass]}, one-file change {verdict[r.change_pass]}); "
        f"run took {r.elapsed_s:.0f} s, {r.settle_s:.0f} s of it waiting for the server to idle",
    ]
    return "\n".join(rows)


SIGNALS_TARGET = 1.05  # no-op resync with metrics, JSON logs and a notification target on / off, at most


async def measure_signals(server: DevServer, root: Path, args: argparse.Namespace, namespace: str) -> str:
    """Issue #17's measure: a no-op resync with the signals on against the same with them off."""
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
    watch = CpuWatch(server.process.pid if server.process else 0)
    repo = Repo(root / "repo", f"sg{uuid.uuid4().hex[:6]}", args.tasks, int(time.time()))
    service = (await Client.connect(server.address)).service_client
    counter = RpcCounter(service)
    config = bench_config(server, root, repo, [namespace], namespace, args.concurrency)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    config.notifications = parse_config(
        f'notifications: [{{name: bench, url: "{url}", secret: bench-secret}}]', "n.yaml", env={}
    ).notifications
    store = SqliteStateStore(str(root / "state.db"))
    off = Reconciler(config, store, connections=SharedConnections(config, service))
    on = Reconciler(config, store, connections=SharedConnections(config, service))
    signals = Signals.from_config(config)
    attach(on, signals)
    handler = logging.FileHandler(root / "json.log")
    handler.setFormatter(JsonFormatter())
    root_logger = logging.getLogger()
    root_logger.addHandler(handler)
    log(f"signals: first sync of {args.tasks} schedules (untimed)")
    await timed_sync(off, counter)
    times: dict[str, list[float]] = {"on": [], "off": []}
    for pair in range(args.signal_pairs):
        for side in ("on", "off") if pair % 2 == 0 else ("off", "on"):
            await watch.settle()
            root_logger.setLevel(logging.INFO if side == "on" else logging.WARNING)
            seconds, result, _, _ = await timed_sync(on if side == "on" else off, counter)
            assert result.writes == 0, "a no-op resync wrote"
            times[side].append(seconds)
        log(f"signals pair {pair + 1}/{args.signal_pairs}: on {times['on'][-1]:.3f} s, off {times['off'][-1]:.3f} s")
    root_logger.removeHandler(handler)
    receiver.shutdown()
    lines = (root / "json.log").read_text().splitlines()
    scrape = signals.prometheus.exposition().decode() if signals.prometheus else ""
    on_median, off_median = statistics.median(times["on"]), statistics.median(times["off"])
    result = ratio(on_median, off_median)
    per_pair = [ratio(a, b) for a, b in zip(times["on"], times["off"], strict=True)]
    verdict = "PASS" if result <= SIGNALS_TARGET else "MISS"
    return "\n".join(
        [
            f"signals on a no-op resync: {args.tasks} scheduled tasks, {args.signal_pairs} alternating pairs",
            f"on: Prometheus metrics, JSON logs at INFO to a file ({len(lines)} lines written), one notification target",
            f"{'':22}{'median':>10}   syncs",
            f"{'signals on':22}{on_median:>8.3f} s   {', '.join(f'{v:.3f}' for v in times['on'])}",
            f"{'signals off':22}{off_median:>8.3f} s   {', '.join(f'{v:.3f}' for v in times['off'])}",
            f"{'ratio per pair':22}{', '.join(f'{v:.2f}' for v in per_pair)} (median {statistics.median(per_pair):.3f})",
            f"{'ratio of medians':22}{result:>10.3f}   target <= {SIGNALS_TARGET:.2f}  {verdict}",
            f"{'counted (on side)':22}{scrape.count('launchpad_sync_total{')} sync_total series, "
            f"{sum(1 for line in scrape.splitlines() if line.startswith('launchpad_sync_total{'))} lines",
        ]
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=1000, help="scheduled task files in the repository")
    parser.add_argument("--concurrency", type=int, default=32, help="creates in flight (both sides)")
    parser.add_argument("--rounds", type=int, default=3, help="first sync vs SDK rounds (fresh namespaces)")
    parser.add_argument("--resyncs", type=int, default=5, help="no-op resyncs")
    parser.add_argument("--changes", type=int, default=5, help="one-file change syncs")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--signals", action="store_true", help="only measure the signals' cost on a no-op resync")
    parser.add_argument("--signal-pairs", type=int, default=15, help="no-op resyncs per side (--signals)")
    args = parse_positive(parser, argv, ("tasks", "concurrency", "rounds", "resyncs", "changes", "signal_pairs"))
    if args.changes > args.tasks:
        parser.error("--changes cannot exceed --tasks")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.signals:
        log("starting the Temporal dev server (namespace bench-signals)")
        with (
            tempfile.TemporaryDirectory(prefix="reconcile-signals-") as tmp,
            DevServer(namespaces=["bench-signals"]) as server,
        ):
            print(asyncio.run(measure_signals(server, Path(tmp), args, "bench-signals")))
        return 0
    namespaces = [f"bench-r{n}-{side}" for n in range(args.rounds) for side in ("sync", "sdk")]
    log(f"starting the Temporal dev server (namespaces {', '.join(namespaces)})")
    with tempfile.TemporaryDirectory(prefix="reconcile-scale-") as tmp, DevServer(namespaces=namespaces) as server:
        result = asyncio.run(run(server, Path(tmp), args, namespaces))
    print(json.dumps(asdict(result), indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
