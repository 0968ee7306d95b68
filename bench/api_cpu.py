"""CPU per deploy inside one process: the API app (no HTTP) against its parts and a direct start.

`bench/api_overhead.py` measures what a caller sees through uvicorn. On a shared 2-core machine
its ratio moves by ±10% between runs, more than most single changes to the API are worth. This
script measures the API's own cost with less noise. Everything runs in this process, against a
Temporal dev server it starts, with the task, repository and configuration (auth on) of
api_overhead.py:

- `api`: the app from `create_app`, called as an ASGI app with a `POST /tasks/deploy/{name}`
  request (bearer token, `{"overwrite": {"workflow.workflow_id": ...}}`): FastAPI's routing, the
  auth dependency, the body and response models, then `deploy_task`. No socket, no uvicorn;
- `deploy_task`: `reconciler.deploy.deploy_task` with the same overwrite (find the file, render,
  run it through `WorkflowRunner`);
- `direct`: `Client.start_workflow` with what `start_options(spec, version)` returns;
- `floor`: `GET /sync/history` through the app (FastAPI: auth, routing, a SQLite read).

The sides take turns one call each, so drift on the machine hits them alike. For each call the
script reads this process's CPU time (`time.process_time()`: every thread, the Temporal SDK's
Rust threads included). The figures: median CPU per call of each side, `api / direct`, and the
differences `api - deploy_task` (the HTTP app's share) and `deploy_task - direct` (launchpad's
engine share). `--calls` also counts the Python function calls per call of each side
(cProfile), a figure that does not move with the machine's load. A measurement, not a target:
the script exits 0.

    python bench/api_cpu.py [--n 300] [--calls] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from api_overhead import INSTANCE, SECRET, TASK, TASK_FILE, TASK_YAML, USER, make_project
from common import log, parse_positive, ratio

from functions.app import create_app
from launchpad.auth.store import SEEDED
from launchpad.auth.tokens import issue_token
from launchpad.config import load_config
from launchpad.devserver import DevServer
from launchpad.spec.document import TaskDocument
from launchpad.temporal.options import start_options, workflow_input
from reconciler.deploy import deploy_task

Call = Callable[[], Awaitable[object]]


async def asgi(app: Any, method: str, path: str, token: str, body: bytes = b"") -> bytes:
    """One HTTP request through the ASGI app, as uvicorn would pass it; the body of its 200."""
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = iter([{"type": "http.request", "body": body, "more_body": False}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if sent[0]["status"] != 200:
        raise RuntimeError(f"{method} {path} answered {sent[0]['status']}: {sent[1:]!r}")
    return b"".join(m.get("body", b"") for m in sent[1:])


async def sides(root: Path, address: str) -> dict[str, Call]:
    """The four sides, each a no-argument call starting a new workflow (or reading the floor)."""
    app = create_app(load_config(make_project(root, address)))
    reconciler = app.state.services.reconciler
    token, _ = issue_token(SECRET, USER[0], ["user", "super user"], 3600, SEEDED)
    ids = itertools.count()

    def body() -> bytes:
        return json.dumps({"overwrite": {"workflow.workflow_id": f"cpu-api-{next(ids)}"}}).encode()

    version = json.loads(await asgi(app, "POST", f"/tasks/deploy/{TASK}", token, body()))["version"]
    spec = TaskDocument.parse(TASK_YAML, TASK_FILE, env={}).spec()
    client = await reconciler.connections.client(spec.server, spec.namespace)
    options, workflow, arg = start_options(spec, version, INSTANCE), spec.workflow.workflow, workflow_input(spec)

    async def api() -> object:
        return await asgi(app, "POST", f"/tasks/deploy/{TASK}", token, body())

    async def engine() -> object:
        overwrite = {"workflow.workflow_id": f"cpu-task-{next(ids)}"}
        return await deploy_task(reconciler, TASK, overwrite=overwrite, fetch=False, super_user=True)

    async def direct() -> object:
        return await client.start_workflow(workflow, arg, **{**options, "id": f"cpu-direct-{next(ids)}"})

    async def floor() -> object:
        return await asgi(app, "GET", "/sync/history", token)

    return {"api": api, "deploy_task": engine, "direct": direct, "floor": floor}


async def cpu_per_call(calls: dict[str, Call], n: int, warmup: int) -> dict[str, list[float]]:
    """CPU seconds of each call, the sides taking turns one call each."""
    for call in calls.values():
        for _ in range(warmup):
            await call()
    spent: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(n):
        for name, call in calls.items():
            began = time.process_time()
            await call()
            spent[name].append(time.process_time() - began)
    return spent


async def python_calls(calls: dict[str, Call], n: int) -> dict[str, float]:
    """Python function calls per call of each side (cProfile's count, builtins included)."""
    out = {}
    for name, call in calls.items():
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(n):
            await call()
        profile.disable()
        out[name] = pstats.Stats(profile).total_calls / n  # type: ignore[attr-defined]
    return out


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="lp-api-cpu-") as tmp, DevServer() as server:
        calls = await sides(Path(tmp), server.address)
        log(f"{args.n} calls per side, taking turns, after {args.warmup} per side")
        spent = await cpu_per_call(calls, args.n, args.warmup)
        counted = await python_calls(calls, 100) if args.calls else {}
    median = {name: statistics.median(values) * 1000 for name, values in spent.items()}
    return {
        "n": args.n,
        "cpu_ms_median": {name: round(value, 4) for name, value in median.items()},
        "api_over_direct": round(ratio(median["api"], median["direct"]), 4),
        "http_app_ms": round(median["api"] - median["deploy_task"], 4),
        "engine_ms": round(median["deploy_task"] - median["direct"], 4),
        "python_calls_per_call": {name: round(value, 1) for name, value in counted.items()},
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "API CPU per deploy, in process (ASGI app, no HTTP) against a Temporal dev server started by this run",
        f"N={result['n']} calls per side, taking turns; CPU = this process, all threads",
        f"{'side':<14}{'CPU ms (median)':>16}{'Python calls':>14}",
    ]
    for name, value in result["cpu_ms_median"].items():
        count = result["python_calls_per_call"].get(name)
        lines.append(f"{name:<14}{value:>16.3f}{'' if count is None else f'{count:>14.0f}'}")
    lines += [
        f"api / direct            {result['api_over_direct']:.3f}",
        f"api - deploy_task       {result['http_app_ms']:.3f} ms  (the HTTP app: routing, auth, models)",
        f"deploy_task - direct    {result['engine_ms']:.3f} ms  (find, render, runner)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=300, help="counted calls per side")
    parser.add_argument("--warmup", type=int, default=30, help="uncounted calls per side first")
    parser.add_argument("--calls", action="store_true", help="also count Python function calls per call")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parse_positive(parser, argv, ("n", "warmup"))
    result = asyncio.run(measure(args))
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
