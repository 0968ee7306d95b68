"""Deploy overhead: launchpad's `WorkflowRunner.deploy` versus a direct `Client.start_workflow`.

One run starts its own Temporal dev server, then measures, on the same server and through the
same client connection, N workflow starts each way with exactly the same start options (the
direct side sends the options `start_options()` computes, launchpad memo marker included):

- sequential: per-call latency, the two sides alternating in blocks (ABAB, BABA...) so drift on
  a noisy machine hits both alike; the headline is the ratio of median latencies;
- concurrent: `--concurrency` deploys in flight, several rounds alternating sides; the headline
  is the ratio of median throughputs.

No worker runs: the workflows are only started. The script exits 0 whether or not the targets
hold (it is a measurement) and says which do.

    python bench/deploy_overhead.py [--n N] [--concurrency 32] [--rounds 20] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from common import (
    BENCH_TASK_YAML,
    COMPARISON,
    PARITY_FIELDS,
    Machine,
    Side,
    comparison_parser,
    concurrent,
    log,
    machine,
    parse_positive,
    ratio,
    rotated,
    sequential,
    started_event,
    with_id,
)
from temporalio.client import Client

from launchpad.config import parse_config
from launchpad.devserver import DevServer
from launchpad.spec.document import TaskDocument
from launchpad.spec.task import TaskSpec
from launchpad.temporal.connections import Connections
from launchpad.temporal.options import start_options, workflow_input
from launchpad.temporal.runners import WorkflowRunner

SEQUENTIAL_TARGET = 1.15  # launchpad / direct median latency, at most
CONCURRENT_TARGET = 0.90  # launchpad / direct median throughput, at least
CONCURRENT_WARMUP = 8  # uncounted concurrent deploys per side, in multiples of --concurrency
VERSION = "bench"
TASK_FILE = "deployments/tasks/bench.yaml"
TASK_YAML = BENCH_TASK_YAML.format(description="deploy-overhead benchmark task", extra="")


@dataclass(frozen=True)
class Result(Machine):
    """Everything one run measured; `--json` prints it as is."""

    server: str
    n: int
    block: int
    warmup: int
    concurrency: int
    rounds: int
    parity: bool
    parity_diff: list[str]
    seq_median_ms_launchpad: float
    seq_median_ms_direct: float
    seq_p90_ms_launchpad: float
    seq_p90_ms_direct: float
    seq_ratio: float
    seq_target: float
    seq_pass: bool
    conc_throughputs_launchpad: list[float]
    conc_throughputs_direct: list[float]
    conc_median_launchpad: float
    conc_median_direct: float
    conc_ratio: float
    conc_round_ratios: list[float]
    conc_paired_ratio: float
    conc_target: float
    conc_pass: bool
    elapsed_s: float


class Bench:
    """Prepares each phase's specs / start options outside the timed region, then times the calls."""

    def __init__(self, runner: WorkflowRunner, client: Client, spec: TaskSpec) -> None:
        self.runner = runner
        self.client = client
        self.spec = spec
        self.workflow = spec.workflow.workflow
        self.input = workflow_input(spec)
        self.options = start_options(spec, VERSION)
        self.lp_specs: list[TaskSpec] = []
        self.direct_options: list[dict[str, Any]] = []

    def prepare(self, phase: str, n: int) -> tuple[Side, Side]:
        """N launchpad specs and N direct option sets, ids `lp-<phase>-<i>` / `direct-<phase>-<i>`."""
        self.lp_specs = [with_id(self.spec, f"lp-{phase}-{i}") for i in range(n)]
        self.direct_options = [{**self.options, "id": f"direct-{phase}-{i}"} for i in range(n)]
        return Side("launchpad", self._lp), Side("direct", self._direct)

    async def _lp(self, i: int) -> object:
        return await self.runner.deploy(self.lp_specs[i], version=VERSION)

    async def _direct(self, i: int) -> object:
        return await self.client.start_workflow(self.workflow, self.input, **self.direct_options[i])


async def run(address: str, args: argparse.Namespace) -> Result:
    """All phases against the server at `address`."""
    began = time.perf_counter()
    host, port = address.rsplit(":", 1)
    config = parse_config(
        f"temporalio:\n  servers:\n    - name: local\n      ip: {host}\n      port: {port}\n", "bench.yaml"
    )
    connections = Connections(config.temporalio)
    runner = WorkflowRunner(connections)
    client = await connections.client()
    spec = TaskDocument.parse(TASK_YAML, TASK_FILE, env={}).spec()
    bench = Bench(runner, client, spec)

    warm = args.concurrency * CONCURRENT_WARMUP
    log(f"warm-up: {args.warmup} sequential + {warm} concurrent deploys per side")
    await sequential(bench.prepare("warm", args.warmup), args.warmup, block=1)
    for side in bench.prepare("warmc", warm):
        await concurrent(side.deploy, warm, args.concurrency)

    log(f"sequential: {args.n} deploys per side in alternating blocks of {args.block}")
    latencies = await sequential(bench.prepare("seq", args.n), args.n, args.block)
    first = await started_event(client, "lp-seq-0")
    second = await started_event(client, "direct-seq-0")
    diff = [name for name in PARITY_FIELDS if first[name] != second[name]]

    throughputs: dict[str, list[float]] = {"launchpad": [], "direct": []}
    for number in range(args.rounds):
        log(f"concurrent round {number + 1}/{args.rounds}: {args.n} deploys per side, {args.concurrency} in flight")
        sides = bench.prepare(f"conc{number}", args.n)
        for side in rotated(sides, number):
            throughputs[side.name].append(await concurrent(side.deploy, args.n, args.concurrency))

    seq = {name: statistics.median(values) * 1000 for name, values in latencies.items()}
    p90 = {name: statistics.quantiles(values, n=10)[-1] * 1000 for name, values in latencies.items()}
    conc = {name: statistics.median(values) for name, values in throughputs.items()}
    seq_ratio = ratio(seq["launchpad"], seq["direct"])
    conc_ratio = ratio(conc["launchpad"], conc["direct"])
    paired = [ratio(lp, dt) for lp, dt in zip(throughputs["launchpad"], throughputs["direct"], strict=True)]
    return Result(
        **machine(),
        server=address,
        n=args.n,
        block=args.block,
        warmup=args.warmup,
        concurrency=args.concurrency,
        rounds=args.rounds,
        parity=not diff,
        parity_diff=diff,
        seq_median_ms_launchpad=round(seq["launchpad"], 4),
        seq_median_ms_direct=round(seq["direct"], 4),
        seq_p90_ms_launchpad=round(p90["launchpad"], 4),
        seq_p90_ms_direct=round(p90["direct"], 4),
        seq_ratio=round(seq_ratio, 4),
        seq_target=SEQUENTIAL_TARGET,
        seq_pass=seq_ratio <= SEQUENTIAL_TARGET,
        conc_throughputs_launchpad=[round(value, 1) for value in throughputs["launchpad"]],
        conc_throughputs_direct=[round(value, 1) for value in throughputs["direct"]],
        conc_median_launchpad=round(conc["launchpad"], 1),
        conc_median_direct=round(conc["direct"], 1),
        conc_ratio=round(conc_ratio, 4),
        conc_round_ratios=[round(value, 3) for value in paired],
        conc_paired_ratio=round(statistics.median(paired), 4),
        conc_target=CONCURRENT_TARGET,
        conc_pass=conc_ratio >= CONCURRENT_TARGET,
        elapsed_s=round(time.perf_counter() - began, 1),
    )


def table(r: Result) -> str:
    """The human-readable report."""
    verdict = {True: "PASS", False: "MISS"}
    parity = "identical" if r.parity else f"DIFFERENT: {', '.join(r.parity_diff)}"
    all_hold = r.seq_pass and r.conc_pass
    rows = [
        "deploy overhead: launchpad WorkflowRunner.deploy vs direct Client.start_workflow",
        f"server {r.server} (temporal dev server, started by this run), temporalio {r.temporalio}, "
        f"Python {r.python}, {r.cpus} CPUs",
        f"start options as the server recorded them: {parity} "
        f"(lp-seq-0 vs direct-seq-0, {len(PARITY_FIELDS)} fields of the started event)",
        "",
        f"sequential: N={r.n} per side, {-(-r.n // r.block)} alternating blocks of {r.block}, "
        f"warm-up {r.warmup} per side",
        f"{'':20}{'launchpad':>12}{'direct':>12}{'ratio':>9}   target",
        f"{'median latency':20}{r.seq_median_ms_launchpad:>9.3f} ms{r.seq_median_ms_direct:>9.3f} ms"
        f"{r.seq_ratio:>9.3f}   <= {r.seq_target:.2f}  {verdict[r.seq_pass]}",
        f"{'p90 latency':20}{r.seq_p90_ms_launchpad:>9.3f} ms{r.seq_p90_ms_direct:>9.3f} ms"
        f"{ratio(r.seq_p90_ms_launchpad, r.seq_p90_ms_direct):>9.3f}",
        "",
        f"concurrent: {r.concurrency} in flight, N={r.n} per side per round, {r.rounds} alternating rounds",
        f"{'':20}{'launchpad':>12}{'direct':>12}{'ratio':>9}   target",
        f"{'median throughput':20}{r.conc_median_launchpad:>10.1f}/s{r.conc_median_direct:>10.1f}/s"
        f"{r.conc_ratio:>9.3f}   >= {r.conc_target:.2f}  {verdict[r.conc_pass]}",
        f"{'rounds (launchpad)':20}{', '.join(f'{v:.0f}' for v in r.conc_throughputs_launchpad)} /s",
        f"{'rounds (direct)':20}{', '.join(f'{v:.0f}' for v in r.conc_throughputs_direct)} /s",
        f"{'ratio per round':20}{', '.join(f'{v:.2f}' for v in r.conc_round_ratios)} "
        f"(median {r.conc_paired_ratio:.3f})",
        "",
        f"targets: {'all hold' if all_hold else 'NOT all hold'} "
        f"(sequential {verdict[r.seq_pass]}, concurrent {verdict[r.conc_pass]}); "
        f"phases took {r.elapsed_s:.0f} s",
    ]
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return parse_positive(comparison_parser(__doc__, n=300, rounds=20), argv, COMPARISON)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log("starting the Temporal dev server")
    with DevServer() as server:
        result = asyncio.run(run(server.address, args))
    print(json.dumps(asdict(result), indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
