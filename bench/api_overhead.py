"""API overhead: `POST /tasks/deploy/{name}` through uvicorn versus a direct `Client.start_workflow`.

One run sets everything up itself: a Temporal dev server, a git repository (a bare remote and a
work clone) holding one task file that lists `workflow.workflow_id` as overwritable, a
configuration file with auth on (one super user), and the HTTP API as a separate process (`python -m launchpad api --config ... --port
...`, uvicorn serving `functions.app.create_app(config)`). The client logs in once (httpx) and
reuses the bearer token over keep-alive connections of `bench/rawhttp.py`, a minimal HTTP/1.1
client whose CPU per request is a tenth of httpx's (`--client httpx` to use httpx instead: on a
2-core machine, the client's CPU is taken from the server it measures): a blocking socket for the
sequential phase, asyncio streams for the concurrent one. Each API deploy sends
`{"overwrite": {"workflow.workflow_id": "api-<phase>-<i>"}}`, so every workflow id is unique.

The direct side starts the same workflow from this process with `Client.start_workflow`, on the
same dev server, with the options `start_options(spec, version)` computes for the same task
(version: the one the API reported, so the launchpad memo marker is identical too) and ids
`direct-<phase>-<i>`. The script checks that parity on the server: it compares fields of the
`WorkflowExecutionStarted` events of one workflow from each side.

- sequential: per-call latency, the sides taking turns in blocks (the leading side rotating) so
  drift on a noisy machine hits them alike; the headline is the ratio of median latencies (API /
  direct);
- concurrent: `--concurrency` deploys in flight, rounds rotating the sides; the headline is the
  ratio of median throughputs (API / direct).

In both phases the script also reads each process tree's CPU time from /proc (this client, the
API process with its git children, the dev server) and reports CPU ms per call and side: on a
machine whose cores are all busy, throughput follows the CPU each deploy costs. (The dev server's
column includes its background work, which grows with the time a side takes.)

A third side, measured the same way but outside the targets, is the HTTP floor: `GET /sync/history`
through the same uvicorn, client and token (auth, routing, a SQLite read, JSON; no git, no
Temporal). API minus floor is roughly what the deploy route itself costs on top of the HTTP hop.

`--temporal-rtt-ms MS` puts `bench/latency_proxy.py` between both sides and the dev server, adding
MS of round trip to every Temporal call, as a server in another host or region would (outside
the issue's target, which is against the local dev server; the proxy's own forwarding time adds
to the round trip too). No worker runs: the workflows are only started. The script exits 0 whether or not the targets
hold (it is a measurement) and says which do.

    python bench/api_overhead.py [--n N] [--concurrency 32] [--rounds 10] [--client raw|httpx] [--no-access-log] [--temporal-rtt-ms MS] [--json] [--profile FILE]

`--profile FILE` runs the API process under cProfile (slower; for finding where the time goes):
`python -c "import pstats; pstats.Stats('FILE').sort_stats('tottime').print_stats(30)"`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

import httpx
import temporalio
import uvicorn
from common import (
    BENCH_TASK_YAML,
    COMPARISON,
    PARITY_FIELDS,
    Side,
    comparison_parser,
    concurrent,
    git,
    log,
    parse_positive,
    ratio,
    rotated,
    sequential,
    started_event,
)
from latency_proxy import latency_proxy
from rawhttp import Answer, BlockingClient, KeepAliveClient
from temporalio.client import Client

from launchpad.devserver import DevServer, free_port
from launchpad.spec.document import TaskDocument
from launchpad.spec.task import TaskSpec
from launchpad.temporal.runners import start_options, workflow_input

ROOT = Path(__file__).resolve().parents[1]
SEQUENTIAL_TARGET = 1.30  # API / direct median latency, at most
CONCURRENT_TARGET = 0.85  # API / direct median throughput, at least
CONCURRENT_WARMUP = 4  # uncounted concurrent deploys per side, in multiples of --concurrency
USER = ("bench", "bench-password-0123")
SECRET = "bench-jwt-secret-0123456789abcdef"
TASK = "bench"
TASK_FILE = f"deployments/tasks/{TASK}.yaml"
TASK_YAML = BENCH_TASK_YAML.format(
    description="API-overhead benchmark task", extra="overwritable: [workflow.workflow_kwargs, workflow.workflow_id]\n"
)
CONFIG_YAML = """\
temporalio:
  servers:
    - name: local
      ip: {host}
      port: {port}
repository: {{url: "{remote}", branch: main, cache_dir: "{root}/cache"}}
state: {{path: "{root}/state.db"}}
app: {{secret: {secret}}}
authenticator:
  db: ":memory:"
  base_users:
    - {{username: {user}, password: {password}, auth_level: [user, super user], max_age: 86400}}
"""


FLOOR_ROUTE = "/sync/history"


@dataclass(frozen=True)
class Result:
    """Everything one run measured; `--json` prints it as is."""

    date: str
    server: str
    api: str
    python: str
    temporalio: str
    uvicorn: str
    client: str
    access_log: bool
    temporal_rtt_ms: float
    cpus: int
    n: int
    block: int
    warmup: int
    concurrency: int
    rounds: int
    parity: bool
    parity_diff: list[str]
    seq_median_ms_api: float
    seq_median_ms_direct: float
    seq_median_ms_floor: float
    seq_p90_ms_api: float
    seq_p90_ms_direct: float
    seq_p90_ms_floor: float
    seq_ratio: float
    seq_overhead_ms: float
    seq_target: float
    seq_pass: bool
    conc_throughputs_api: list[float]
    conc_throughputs_direct: list[float]
    conc_throughputs_floor: list[float]
    conc_median_api: float
    conc_median_direct: float
    conc_median_floor: float
    conc_ratio: float
    conc_round_ratios: list[float]
    seq_cpu_ms_per_call: dict[str, dict[str, float]]
    conc_cpu_ms_per_call: dict[str, dict[str, float]]
    conc_paired_ratio: float
    conc_target: float
    conc_pass: bool
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


def make_project(root: Path, temporal: str) -> Path:
    """The repository and a configuration (auth on) whose Temporal server is `temporal`; returns the file."""
    host, port = temporal.rsplit(":", 1)
    config = root / "launchpad.yaml"
    remote = make_repository(root)
    config.write_text(
        CONFIG_YAML.format(
            host=host, port=port, remote=remote, root=root, secret=SECRET, user=USER[0], password=USER[1]
        )
    )
    return config


class ApiProcess:
    """`python -m launchpad api` in a child process, output to a log file; SIGINT to stop."""

    def __init__(self, config: Path, port: int, log_file: Path, profile: Path | None, access_log: bool) -> None:
        command = [sys.executable]
        if profile is not None:
            command += ["-m", "cProfile", "-o", str(profile)]
        command += ["-m", "launchpad", "api", "--config", str(config), "--port", str(port)]
        command += [] if access_log else ["--no-access-log"]
        self.address = ("127.0.0.1", port)
        self.url = f"http://127.0.0.1:{port}"
        self.log_file = log_file
        self.log = log_file.open("wb")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)

    async def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                try:
                    if (await http.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        tail = self.log_file.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the API did not become healthy at {self.url}:\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly (cProfile writes its file)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class CpuMeter:
    """CPU seconds used so far by this process and by the process trees of the given pids (Linux /proc)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.used: dict[str, dict[str, float]] = {}  # side -> process -> CPU s
        self.calls: dict[str, int] = {}

    @contextmanager
    def measure(self, side: str, calls: int) -> Iterator[None]:
        """Charge the CPU used inside the block to `side`, over `calls` calls."""
        before = self.snapshot()
        yield
        used = self.used.setdefault(side, {})
        for name, value in self.snapshot().items():
            used[name] = used.get(name, 0.0) + value - before[name]
        self.calls[side] = self.calls.get(side, 0) + calls

    def per_call(self) -> dict[str, dict[str, float]]:
        """side -> process (and total) -> CPU ms per call."""
        return {
            side: {
                name: round(1000 * value / self.calls[side], 3)
                for name, value in (*used.items(), ("total", sum(used.values())))
            }
            for side, used in self.used.items()
        }

    def _stats(self) -> dict[int, tuple[int, float]]:
        """pid -> (parent pid, CPU s of the process and of its reaped children)."""
        out: dict[int, tuple[int, float]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / self.tick)
        return out

    def snapshot(self) -> dict[str, float]:
        snap = {"client": time.process_time()}  # first: the /proc scan below is not charged to a side
        stats = self._stats() if Path("/proc/self/stat").exists() else {}
        children: dict[int, list[int]] = {}
        for pid, (parent, _) in stats.items():
            children.setdefault(parent, []).append(pid)
        for name, root in self.pids.items():
            total, todo = 0.0, [root]
            while todo:
                pid = todo.pop()
                total += stats.get(pid, (0, 0.0))[1]
                todo += children.get(pid, [])
            snap[name] = total
        return snap


Call = Callable[[str, str, Any, bool], Awaitable[Any]]  # (method, path, JSON payload, sequential) -> the JSON answer


class Bench:
    """Prepares each phase's request bodies / start options outside the timed region, then times the calls."""

    def __init__(self, call: Call, client: Client, spec: TaskSpec) -> None:
        self.call = call
        self.client = client
        self.spec = spec
        self.workflow = spec.workflow.workflow
        self.input = workflow_input(spec)
        self.options: dict[str, Any] = {}
        self.bodies: list[dict[str, Any]] = []
        self.direct_options: list[dict[str, Any]] = []
        self.sequential = True

    def set_version(self, version: str) -> None:
        """The version the API deploys with (the task file's blob): the direct side uses it too."""
        self.options = start_options(self.spec, version)

    def prepare(self, phase: str, n: int, floor: bool = True, sequential: bool = True) -> tuple[Side, ...]:
        """N API bodies and N direct option sets, ids `api-<phase>-<i>` / `direct-<phase>-<i>`."""
        self.sequential = sequential
        self.bodies = [{"overwrite": {"workflow.workflow_id": f"api-{phase}-{i}"}} for i in range(n)]
        self.direct_options = [{**self.options, "id": f"direct-{phase}-{i}"} for i in range(n)]
        sides = (Side("api", self._api), Side("direct", self._direct))
        return (*sides, Side("floor", self._floor)) if floor else sides

    async def deploy_api(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", f"/tasks/deploy/{TASK}", body, self.sequential)

    async def _api(self, i: int) -> object:
        return await self.deploy_api(self.bodies[i])

    async def _direct(self, i: int) -> object:
        return await self.client.start_workflow(self.workflow, self.input, **self.direct_options[i])

    async def _floor(self, i: int) -> object:
        return await self.call("GET", FLOOR_ROUTE, None, self.sequential)


async def measure(server: DevServer, temporal: str, api: ApiProcess, args: argparse.Namespace) -> Result:
    """All phases: the API at `api.url` against direct starts on `server`."""
    began = time.perf_counter()
    await api.wait_healthy()
    client = await Client.connect(temporal)
    spec = TaskDocument.parse(TASK_YAML, TASK_FILE, env={}).spec()
    # Idle connections expire on the client before uvicorn's 5 s keep-alive timeout closes them, so a
    # request never races the server's close on a connection idle since the previous phase.
    limits = httpx.Limits(
        max_connections=args.concurrency * 2, max_keepalive_connections=args.concurrency * 2, keepalive_expiry=2.0
    )
    async with httpx.AsyncClient(base_url=api.url, limits=limits, timeout=120) as http:
        login = await http.post("/auth/token", data={"username": USER[0], "password": USER[1]})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        raw, one = KeepAliveClient(*api.address, headers), BlockingClient(*api.address, headers)

        async def call(method: str, path: str, payload: Any, sequential: bool) -> Any:
            """One request through the chosen client; anything but a 200 stops the run. Sequential
            calls of the raw client block on a socket: nothing else is in flight meanwhile."""
            answer: Answer | httpx.Response
            if args.client == "raw":
                answer = one.request(method, path, payload) if sequential else await raw.request(method, path, payload)
                code, text = answer.status, answer.body.decode(errors="replace")
            else:
                answer = await http.request(method, path, json=payload, headers=headers)
                code, text = answer.status_code, answer.text
            if code != 200:
                raise RuntimeError(f"{method} {path} answered {code}: {text}")
            return answer.json()

        bench = Bench(call, client, spec)
        # The first deploy clones the repository into the API's cache; its answer names the version.
        first = await bench.deploy_api({"overwrite": {"workflow.workflow_id": "api-first"}})
        bench.set_version(str(first["version"]))

        warm = args.concurrency * CONCURRENT_WARMUP
        log(f"warm-up: {args.warmup} sequential + {warm} concurrent deploys per side")
        await sequential(bench.prepare("warm", args.warmup), args.warmup, block=1)
        for side in bench.prepare("warmc", warm, floor=False, sequential=False):
            await concurrent(side.deploy, warm, args.concurrency)

        log(f"sequential: {args.n} deploys per side in alternating blocks of {args.block}")
        pids = {"api": api.process.pid, "temporal": server.process.pid}  # type: ignore[union-attr]
        seq_meter, conc_meter = CpuMeter(pids), CpuMeter(pids)
        latencies = await sequential(bench.prepare("seq", args.n), args.n, args.block, seq_meter.measure)
        first_api = await started_event(client, "api-seq-0")
        first_direct = await started_event(client, "direct-seq-0")
        diff = [name for name in PARITY_FIELDS if first_api[name] != first_direct[name]]

        throughputs: dict[str, list[float]] = {"api": [], "direct": [], "floor": []}
        for number in range(args.rounds):
            log(f"concurrent round {number + 1}/{args.rounds}: {args.n} deploys per side, {args.concurrency} in flight")
            for side in rotated(bench.prepare(f"conc{number}", args.n, sequential=False), number):
                with conc_meter.measure(side.name, args.n):
                    throughputs[side.name].append(await concurrent(side.deploy, args.n, args.concurrency))
        await raw.close()
        one.close()

    seq = {name: statistics.median(values) * 1000 for name, values in latencies.items()}
    p90 = {name: statistics.quantiles(values, n=10)[-1] * 1000 for name, values in latencies.items()}
    conc = {name: statistics.median(values) for name, values in throughputs.items()}
    seq_ratio = ratio(seq["api"], seq["direct"])
    conc_ratio = ratio(conc["api"], conc["direct"])
    paired = [ratio(a, d) for a, d in zip(throughputs["api"], throughputs["direct"], strict=True)]
    return Result(
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        server=temporal,
        temporal_rtt_ms=args.temporal_rtt_ms,
        api=api.url,
        python=platform.python_version(),
        temporalio=temporalio.__version__,
        uvicorn=uvicorn.__version__,
        client="bench/rawhttp.py" if args.client == "raw" else f"httpx {httpx.__version__}",
        access_log=args.access_log,
        cpus=os.cpu_count() or 0,
        n=args.n,
        block=args.block,
        warmup=args.warmup,
        concurrency=args.concurrency,
        rounds=args.rounds,
        parity=not diff,
        parity_diff=diff,
        seq_median_ms_api=round(seq["api"], 4),
        seq_median_ms_direct=round(seq["direct"], 4),
        seq_median_ms_floor=round(seq["floor"], 4),
        seq_p90_ms_api=round(p90["api"], 4),
        seq_p90_ms_direct=round(p90["direct"], 4),
        seq_p90_ms_floor=round(p90["floor"], 4),
        seq_ratio=round(seq_ratio, 4),
        seq_overhead_ms=round(seq["api"] - seq["direct"], 4),
        seq_target=SEQUENTIAL_TARGET,
        seq_pass=seq_ratio <= SEQUENTIAL_TARGET,
        conc_throughputs_api=[round(value, 1) for value in throughputs["api"]],
        conc_throughputs_direct=[round(value, 1) for value in throughputs["direct"]],
        conc_throughputs_floor=[round(value, 1) for value in throughputs["floor"]],
        conc_median_api=round(conc["api"], 1),
        conc_median_direct=round(conc["direct"], 1),
        conc_median_floor=round(conc["floor"], 1),
        conc_ratio=round(conc_ratio, 4),
        conc_round_ratios=[round(value, 3) for value in paired],
        seq_cpu_ms_per_call=seq_meter.per_call(),
        conc_cpu_ms_per_call=conc_meter.per_call(),
        conc_paired_ratio=round(statistics.median(paired), 4),
        conc_target=CONCURRENT_TARGET,
        conc_pass=conc_ratio >= CONCURRENT_TARGET,
        elapsed_s=round(time.perf_counter() - began, 1),
    )


def cpu_rows(cpu: dict[str, dict[str, float]]) -> list[str]:
    """CPU ms per call and process, one row per side."""
    rows = [f"{'CPU ms per call':20}{'client':>10}{'API proc':>10}{'dev server':>12}{'total':>10}"]
    for side, used in cpu.items():
        rows.append(
            f"{'  ' + side:20}{used['client']:>10.2f}{used['api']:>10.2f}{used['temporal']:>12.2f}{used['total']:>10.2f}"
        )
    return rows


def table(r: Result) -> str:
    """The human-readable report."""
    verdict = {True: "PASS", False: "FAIL"}
    parity = "identical" if r.parity else f"DIFFERENT: {', '.join(r.parity_diff)}"
    all_hold = r.seq_pass and r.conc_pass
    rows = [
        "API overhead: POST /tasks/deploy/{name} through uvicorn vs direct Client.start_workflow",
        f"API {r.api} (uvicorn {r.uvicorn}, own process, auth on, access log {'on' if r.access_log else 'off'}) "
        f"-> temporal dev server {r.server}"
        f"{f' (a proxy adding {r.temporal_rtt_ms:g} ms of round trip)' if r.temporal_rtt_ms else ''}; "
        f"client {r.client} keep-alive; temporalio {r.temporalio}, Python {r.python}, {r.cpus} CPUs",
        f"start options as the server recorded them: {parity} "
        f"(api-seq-0 vs direct-seq-0, {len(PARITY_FIELDS)} fields of the started event)",
        "",
        f"sequential: N={r.n} per side, {-(-r.n // r.block)} blocks of {r.block} taking turns, "
        f"warm-up {r.warmup} per side",
        f"{'':20}{'API':>12}{'direct':>12}{'ratio':>9}   {'target':16}{'floor':>12}",
        f"{'median latency':20}{r.seq_median_ms_api:>9.3f} ms{r.seq_median_ms_direct:>9.3f} ms"
        f"{r.seq_ratio:>9.3f}   <= {r.seq_target:.2f}  {verdict[r.seq_pass]:8}{r.seq_median_ms_floor:>9.3f} ms",
        f"{'p90 latency':20}{r.seq_p90_ms_api:>9.3f} ms{r.seq_p90_ms_direct:>9.3f} ms"
        f"{ratio(r.seq_p90_ms_api, r.seq_p90_ms_direct):>9.3f}   {'':16}{r.seq_p90_ms_floor:>9.3f} ms",
        f"{'median overhead':20}{r.seq_overhead_ms:>9.3f} ms per deploy (API - direct)",
        *cpu_rows(r.seq_cpu_ms_per_call),
        "",
        f"concurrent: {r.concurrency} in flight, N={r.n} per side per round, {r.rounds} rounds rotating the sides",
        f"{'':20}{'API':>12}{'direct':>12}{'ratio':>9}   {'target':16}{'floor':>12}",
        f"{'median throughput':20}{r.conc_median_api:>10.1f}/s{r.conc_median_direct:>10.1f}/s"
        f"{r.conc_ratio:>9.3f}   >= {r.conc_target:.2f}  {verdict[r.conc_pass]:8}{r.conc_median_floor:>10.1f}/s",
        f"{'rounds (API)':20}{', '.join(f'{v:.0f}' for v in r.conc_throughputs_api)} /s",
        f"{'rounds (direct)':20}{', '.join(f'{v:.0f}' for v in r.conc_throughputs_direct)} /s",
        f"{'rounds (floor)':20}{', '.join(f'{v:.0f}' for v in r.conc_throughputs_floor)} /s",
        f"{'ratio per round':20}{', '.join(f'{v:.2f}' for v in r.conc_round_ratios)} "
        f"(median {r.conc_paired_ratio:.3f})",
        *cpu_rows(r.conc_cpu_ms_per_call),
        f"floor: GET {FLOOR_ROUTE} through the same server, client and token (no git, no Temporal); not a target",
        "",
        f"targets: {'all hold' if all_hold else 'NOT all hold'} "
        f"(sequential {verdict[r.seq_pass]}, concurrent {verdict[r.conc_pass]}); "
        f"phases took {r.elapsed_s:.0f} s",
    ]
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = comparison_parser(__doc__, n=200, rounds=10)
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="HTTP client of the API side: bench/rawhttp.py (least client CPU) or httpx",
    )
    parser.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="start the API with `--no-access-log` (its default logs a line per request)",
    )
    parser.add_argument(
        "--temporal-rtt-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="reach the dev server through bench/latency_proxy.py with this round trip (both sides; 0: direct)",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="FILE", help="run the API process under cProfile, stats written to FILE"
    )
    return parse_positive(parser, argv, COMPARISON)


def temporal_link(address: str, rtt_ms: float) -> contextlib.AbstractContextManager[str]:
    """The address both sides use to reach Temporal: the dev server itself, or a proxy adding latency."""
    return latency_proxy(address, free_port(), rtt_ms) if rtt_ms > 0 else contextlib.nullcontext(address)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lp-api-bench-") as tmp:
        root = Path(tmp)
        log("starting the Temporal dev server")
        with DevServer() as server, temporal_link(server.address, args.temporal_rtt_ms) as temporal:
            config = make_project(root, temporal)
            log("starting the API (python -m launchpad api)")
            profile = args.profile.resolve() if args.profile else None
            api = ApiProcess(config, free_port(), root / "api.log", profile, args.access_log)
            try:
                result = asyncio.run(measure(server, temporal, api, args))
            except BaseException:
                log(f"the API's log ends with:\n{api.log_file.read_text(errors='replace')[-3000:]}")
                raise
            finally:
                api.stop()
    print(json.dumps(asdict(result), indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
