"""API overhead: launchpad's deploy route against the route a user would write instead, and the SDK.

One run sets everything up itself, against one Temporal dev server: a git repository (a bare
remote and a work clone) holding one task file that lists `workflow.workflow_id` as overwritable (a super user's overwrite), and three sides that
start that task's workflow with the same options (`start_options` of the task, the launchpad memo
marker included), each under its own workflow ids:

- `launchpad`: `POST /tasks/deploy/{name}` with a JWT and `{"overwrite": {"workflow.workflow_id":
  ...}}`, served by `python -m launchpad api` (uvicorn; a configuration with auth on, one user);
- `fastapi`: bench/bare_fastapi.py, a bare FastAPI app with one route, `POST /start`, that calls
  `Client.start_workflow`: what a user would write instead of launchpad, served by uvicorn with
  the same settings in its own process;
- `sdk`: `Client.start_workflow` from this process.

The HTTP sides are called through bench/rawhttp.py, whose CPU per request is a tenth of httpx's
(on a 2-core machine the client's CPU is taken from the servers it measures): a blocking socket
when sequential, asyncio streams when concurrent. The script checks on the server that one
workflow of each side was started with the same options (fields of the WorkflowExecutionStarted
event).

Phases, all in one run; in each, the sides take turns in blocks, the leading side rotating, so
drift on a noisy machine hits them alike:

- local latency: sequential calls, median latency per side; target launchpad / fastapi <= 1.15;
- local throughput: `--concurrency` calls in flight, `--rounds` rounds; median throughput per
  side; target launchpad / fastapi >= 0.90;
- far latency: Temporal `--temporal-rtt-ms` away through bench/latency_proxy.py (both servers
  restarted to reach it there; the SDK side goes through it too); median latency per side;
  target launchpad / sdk <= 1.10.

Medians and ratios only. No worker runs: the workflows are only started. A measurement, not a
test: the script exits 0 and says which targets hold.

    python bench/api_overhead.py [--n 200] [--concurrency 32] [--rounds 5] [--block 10] [--warmup 20]
                                 [--temporal-rtt-ms 10] [--no-access-log] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

import fastapi
import httpx
import uvicorn
from common import (
    BENCH_TASK_YAML,
    COMPARISON,
    PARITY_FIELDS,
    Machine,
    Side,
    comparison_parser,
    concurrent,
    git,
    log,
    machine,
    parse_positive,
    ratio,
    rotated,
    sequential,
    started_event,
)
from latency_proxy import latency_proxy
from rawhttp import BlockingClient, KeepAliveClient
from temporalio.client import Client

from launchpad.devserver import DevServer, free_port
from launchpad.spec.document import TaskDocument
from launchpad.temporal.options import start_options, workflow_input

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
SIDES = ("launchpad", "fastapi", "sdk")
# name -> (numerator, denominator, phase, "<=" or ">=", target)
TARGETS = {
    "local latency": ("launchpad", "fastapi", "local_latency_ms", "<=", 1.15),
    "local throughput": ("launchpad", "fastapi", "local_throughput", ">=", 0.90),
    "far latency": ("launchpad", "sdk", "far_latency_ms", "<=", 1.10),
}
CONCURRENT_WARMUP = 2  # uncounted concurrent calls per side, in multiples of --concurrency
USER = ("bench", "bench-password-0123")
SECRET = "bench-jwt-secret-0123456789abcdef"
TASK = "bench"
TASK_FILE = f"deployments/tasks/{TASK}.yaml"
TASK_YAML = BENCH_TASK_YAML.format(
    description="API-overhead benchmark task", extra="overwritable: [workflow.workflow_kwargs, workflow.workflow_id]\n"
)
INSTANCE = "bench"  # the launchpad instance named in the memo marker (both sides send the same)
CONFIG_YAML = """\
temporalio:
  servers:
    - name: local
      ip: {host}
      port: {port}
repository: {{url: "{remote}", branch: main, cache_dir: "{root}/cache"}}
state: {{path: "{root}/state.db"}}
reconciler: {{instance: {instance}}}
app: {{secret: {secret}}}
authenticator:
  db: ":memory:"
  base_users:
    - {{username: {user}, password: {password}, auth_level: [user, super user], max_age: 86400}}
"""


@dataclass(frozen=True)
class Result(Machine):
    """Everything one run measured; `--json` prints it as is."""

    fastapi: str
    uvicorn: str
    access_log: bool
    temporal_rtt_ms: float
    n: int
    block: int
    warmup: int
    concurrency: int
    rounds: int
    parity_diff: dict[str, list[str]]  # side -> start-event fields that differ from the sdk side's
    local_latency_ms: dict[str, float]  # median per side
    local_throughput: dict[str, float]  # median per side, starts/s
    far_latency_ms: dict[str, float]  # median per side
    ratios: dict[str, float]  # target name -> measured ratio
    holds: dict[str, bool]  # target name -> met
    elapsed_s: float


def make_repository(root: Path) -> Path:
    """A bare remote with the task file on `main` (pushed from a work clone); returns the remote."""
    remote, work = root / "remote.git", root / "work"
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    git(root, "init", "-q", "-b", "main", str(work))
    (work / TASK_FILE).parent.mkdir(parents=True)
    (work / TASK_FILE).write_text(TASK_YAML)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "bench task")
    git(work, "push", "-q", str(remote), "HEAD:main")
    return remote


def write_config(folder: Path, temporal: str, remote: Path) -> Path:
    """A configuration (auth on, its own cache and state in `folder`) whose server is `temporal`."""
    host, port = temporal.rsplit(":", 1)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "launchpad.yaml"
    config.write_text(
        CONFIG_YAML.format(
            host=host,
            port=port,
            remote=remote,
            root=folder,
            secret=SECRET,
            user=USER[0],
            password=USER[1],
            instance=INSTANCE,
        )
    )
    return config


def make_project(root: Path, temporal: str) -> Path:
    """The repository and a configuration whose Temporal server is `temporal`; returns the config file."""
    return write_config(root, temporal, make_repository(root))


class ServerProcess:
    """An HTTP server in a child process, output to a log file; healthy when GET /health answers 200."""

    def __init__(self, command: list[str], port: int, log_file: Path) -> None:
        self.address = ("127.0.0.1", port)
        self.url = f"http://127.0.0.1:{port}"
        self.log_file = log_file
        self.log = log_file.open("wb")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)

    async def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    if (await http.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.url} did not become healthy:\n{self.tail()}")

    def tail(self) -> str:
        return self.log_file.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def servers(folder: Path, temporal: str, remote: Path, start_file: Path, access_log: bool) -> dict[str, ServerProcess]:
    """The launchpad API and the bare FastAPI app, both reaching Temporal at `temporal`."""
    config = write_config(folder, temporal, remote)
    quiet = [] if access_log else ["--no-access-log"]
    launchpad_port, fastapi_port = free_port(), free_port()
    launchpad = [sys.executable, "-m", "launchpad", "api", "--config", str(config), "--port", str(launchpad_port)]
    bare = [sys.executable, str(BENCH / "bare_fastapi.py"), "--temporal", temporal, "--port", str(fastapi_port)]
    return {
        "launchpad": ServerProcess([*launchpad, *quiet], launchpad_port, folder / "launchpad.log"),
        "fastapi": ServerProcess([*bare, "--start", str(start_file), *quiet], fastapi_port, folder / "fastapi.log"),
    }


@dataclass
class Site:
    """The three sides, all reaching Temporal at one address (the dev server, or the proxy)."""

    name: str
    client: Client
    workflow: str
    arg: Any
    options: dict[str, Any]
    token: str
    http: dict[str, ServerProcess]
    blocking: dict[str, BlockingClient] = field(default_factory=dict)
    pooled: dict[str, KeepAliveClient] = field(default_factory=dict)

    def __post_init__(self) -> None:
        headers = {"launchpad": {"Authorization": f"Bearer {self.token}"}, "fastapi": {}}
        for side, server in self.http.items():
            self.blocking[side] = BlockingClient(*server.address, headers[side])
            self.pooled[side] = KeepAliveClient(*server.address, headers[side])

    def sides(self, phase: str, concurrently: bool = False) -> tuple[Side, ...]:
        """Call i of each side starts workflow `<side>-<site>-<phase>-<i>`."""

        def post(side: str, path: str, body: Callable[[str], dict[str, Any]]) -> Side:
            async def call(i: int) -> object:
                payload = body(f"{side}-{self.name}-{phase}-{i}")
                if concurrently:
                    answer = await self.pooled[side].request("POST", path, payload)
                else:
                    answer = self.blocking[side].request("POST", path, payload)  # nothing else is in flight
                if answer.status != 200:
                    raise RuntimeError(f"{side}: POST {path} answered {answer.status}: {answer.body[:500]!r}")
                return answer

            return Side(side, call)

        async def sdk(i: int) -> object:
            return await self.client.start_workflow(
                self.workflow, self.arg, **{**self.options, "id": f"sdk-{self.name}-{phase}-{i}"}
            )

        return (
            post("launchpad", f"/tasks/deploy/{TASK}", lambda wid: {"overwrite": {"workflow.workflow_id": wid}}),
            post("fastapi", "/start", lambda wid: {"workflow_id": wid}),
            Side("sdk", sdk),
        )

    async def latency(self, phase: str, args: argparse.Namespace) -> dict[str, float]:
        """Median latency per side (ms) of `--n` sequential calls, after `--warmup` uncounted ones."""
        await sequential(self.sides(f"{phase}-warm"), args.warmup, block=1)
        latencies = await sequential(self.sides(phase), args.n, args.block)
        return {side: round(statistics.median(values) * 1000, 3) for side, values in latencies.items()}

    async def throughput(self, phase: str, args: argparse.Namespace) -> dict[str, float]:
        """Median throughput per side (starts/s) over `--rounds` rounds, the sides rotating."""
        warm = args.concurrency * CONCURRENT_WARMUP
        for side in self.sides(f"{phase}-warm", concurrently=True):
            await concurrent(side.deploy, warm, args.concurrency)
        rounds: dict[str, list[float]] = {side: [] for side in SIDES}
        for number in range(args.rounds):
            log(f"  round {number + 1}/{args.rounds}: {args.n} starts per side, {args.concurrency} in flight")
            for side in rotated(self.sides(f"{phase}{number}", concurrently=True), number):
                rounds[side.name].append(await concurrent(side.deploy, args.n, args.concurrency))
        return {side: round(statistics.median(values), 1) for side, values in rounds.items()}

    async def parity(self, phase: str) -> dict[str, list[str]]:
        """Per HTTP side, the start-event fields of its first workflow of `phase` that differ from the sdk side's."""
        reference = await started_event(self.client, f"sdk-{self.name}-{phase}-0")
        diff = {}
        for side in self.http:
            event = await started_event(self.client, f"{side}-{self.name}-{phase}-0")
            diff[side] = [name for name in PARITY_FIELDS if event[name] != reference[name]]
        return diff

    async def close(self) -> None:
        for client in self.pooled.values():
            await client.close()
        for one in self.blocking.values():
            one.close()


async def open_site(
    name: str, temporal: str, http: dict[str, ServerProcess], start: tuple[str, Any, dict[str, Any]]
) -> Site:
    for server in http.values():
        await server.wait_healthy()
    async with httpx.AsyncClient(base_url=http["launchpad"].url, timeout=60) as client:
        login = await client.post("/auth/token", data={"username": USER[0], "password": USER[1]})
        login.raise_for_status()
    workflow, arg, options = start
    return Site(name, await Client.connect(temporal), workflow, arg, options, login.json()["access_token"], http)


async def run_site(
    name: str, temporal: str, folder: Path, remote: Path, start_file: Path, args: argparse.Namespace, local: bool
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """One site's phases: latency (and throughput when local); its figures and the parity check."""
    http = servers(folder, temporal, remote, start_file, args.access_log)
    try:
        site = await open_site(name, temporal, http, pickle.loads(start_file.read_bytes()))
        try:
            log(f"{name}: {args.n} sequential starts per side, blocks of {args.block}, after {args.warmup} per side")
            figures: dict[str, Any] = {"latency": await site.latency("seq", args)}
            if local:
                log(f"{name}: throughput, {args.rounds} rounds")
                figures["throughput"] = await site.throughput("conc", args)
            return figures, await site.parity("seq")
        finally:
            await site.close()
    except BaseException:
        for side, server in http.items():
            log(f"the {side} server's log ends with:\n{server.tail()}")
        raise
    finally:
        for server in http.values():
            server.stop()


async def measure(args: argparse.Namespace) -> Result:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lp-api-bench-") as tmp, DevServer() as server:
        root = Path(tmp)
        log(f"Temporal dev server at {server.address}")
        remote = make_repository(root)
        version = git(root / "work", "rev-parse", f"HEAD:{TASK_FILE}")  # the task file's blob, as the API reports
        spec = TaskDocument.parse(TASK_YAML, TASK_FILE, env={}).spec()
        start_file = root / "start.pickle"
        start_file.write_bytes(
            pickle.dumps((spec.workflow.workflow, workflow_input(spec), start_options(spec, version, INSTANCE)))
        )
        local, parity = await run_site("local", server.address, root / "local", remote, start_file, args, local=True)
        with latency_proxy(server.address, free_port(), args.temporal_rtt_ms) as far_address:
            log(f"far: Temporal {args.temporal_rtt_ms:g} ms away through bench/latency_proxy.py")
            far, far_parity = await run_site("far", far_address, root / "far", remote, start_file, args, local=False)
    parity = {side: sorted(set(parity[side]) | set(far_parity[side])) for side in parity}
    figures = {
        "local_latency_ms": local["latency"],
        "local_throughput": local["throughput"],
        "far_latency_ms": far["latency"],
    }
    ratios, holds = {}, {}
    for name, (top, bottom, phase, sense, target) in TARGETS.items():
        ratios[name] = round(ratio(figures[phase][top], figures[phase][bottom]), 4)
        holds[name] = ratios[name] <= target if sense == "<=" else ratios[name] >= target
    return Result(
        **machine(),
        fastapi=fastapi.__version__,
        uvicorn=uvicorn.__version__,
        access_log=args.access_log,
        temporal_rtt_ms=args.temporal_rtt_ms,
        n=args.n,
        block=args.block,
        warmup=args.warmup,
        concurrency=args.concurrency,
        rounds=args.rounds,
        parity_diff=parity,
        ratios=ratios,
        holds=holds,
        elapsed_s=round(time.perf_counter() - began, 1),
        **figures,
    )


def table(r: Result) -> str:
    """The human-readable report."""
    verdict = {True: "PASS", False: "FAIL"}
    parity = "; ".join(
        f"{side}: {'identical' if not diff else 'DIFFERENT ' + ', '.join(diff)}" for side, diff in r.parity_diff.items()
    )
    rows = [
        "API overhead: launchpad's deploy route vs a bare FastAPI route vs the SDK, one Temporal dev server",
        f"launchpad = POST /tasks/deploy/{TASK} (JWT, overwrite); fastapi = bench/bare_fastapi.py POST /start; "
        "sdk = Client.start_workflow",
        f"uvicorn {r.uvicorn}, fastapi {r.fastapi}, temporalio {r.temporalio}, Python {r.python}, {r.cpus} CPUs; "
        f"access log {'on' if r.access_log else 'off'}; N={r.n} per side, blocks of {r.block}, warm-up {r.warmup}; "
        f"{r.rounds} rounds at {r.concurrency} in flight",
        f"start options vs the sdk side's, as the server recorded them: {parity}",
        "",
        f"{'':30}{'launchpad':>11}{'fastapi':>11}{'sdk':>11}",
    ]
    phases = {
        "local_latency_ms": "local: median latency, ms",
        "local_throughput": "local: throughput, starts/s",
        "far_latency_ms": f"far (+{r.temporal_rtt_ms:g} ms): median latency, ms",
    }
    for phase, label in phases.items():
        values = getattr(r, phase)
        rows.append(f"{label:30}" + "".join(f"{values[side]:>11.2f}" for side in SIDES))
    rows.append("")
    for name, (top, bottom, _, sense, target) in TARGETS.items():
        rows.append(
            f"{name:18}{top} / {bottom:9}{r.ratios[name]:>8.3f}   {sense} {target:.2f}  {verdict[r.holds[name]]}"
        )
    held = sum(r.holds.values())
    rows += ["", f"targets: {held} of {len(TARGETS)} hold; phases took {r.elapsed_s:.0f} s"]
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = comparison_parser(__doc__, n=200, rounds=5)
    parser.add_argument(
        "--temporal-rtt-ms", type=float, default=10.0, metavar="MS", help="the far phase's round trip to Temporal"
    )
    parser.add_argument(
        "--no-access-log", dest="access_log", action="store_false", help="both servers without an access log line"
    )
    args = parse_positive(parser, argv, COMPARISON)
    if args.temporal_rtt_ms <= 0:
        parser.error("--temporal-rtt-ms must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(measure(args))
    print(json.dumps(asdict(result), indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
