"""Lambda cold start and warm invocation: `functions.handler` imported fresh, and `api` called directly.

Two measurements in one run:

- import: for each of `--rounds` rounds, two fresh interpreters (`sys.executable -c ...`), one
  importing `functions.handler`, the other bench/lambda_baseline.py: the handler a user would
  write instead (FastAPI with one route that starts a workflow, Mangum, temporalio.client). Until
  this round the baseline imported the three packages and declared no route; FastAPI now imports
  `pydantic.v1` when an app declares its first route with a model, which any handler pays. The sides alternate, the leading side swapping
  each round (AB BA AB...). Each child times its own import with `time.perf_counter()` and prints
  it, so interpreter start-up is excluded. The headline is the ratio of median import times
  (handler / baseline). Also reported: the CPU time the child spent importing
  (`time.process_time()`, less sensitive to other load on the machine than elapsed time) and the
  wall time of the whole child process (start-up and exit included). A third child per round
  (outside the target) imports the baseline first, then groups of modules one after the other,
  and reports the CPU time each group adds: where the extra import time goes. The project's own
  packages are compiled to bytecode first (`compileall`), as the Lambda package and image ship
  them (docs/lambda.md): a child cannot be relied on to write bytecode (`PYTHONDONTWRITEBYTECODE`
  may be set, and is on the machine these figures come from), and without it the handler side
  would compile its own modules in every round while the dependencies come precompiled by pip.
  One uncounted warm-up child per side runs first. Fresh processes still read the
  modules from the OS file cache (warm after the first child), as a new Lambda container's reads
  are not: the absolute figures are lower than on Lambda; the ratio is the comparable part.
  The children see what the Lambda package holds: the runtime dependencies of pyproject.toml
  (resolved through the installed metadata, extras included) and nothing else. Every other
  installed top-level module (the test tools: moto and with it cryptography, which PyJWT imports
  whenever it can) is hidden by a finder that runs first in each child. The same rounds are then
  repeated with nothing hidden and reported beside, outside the target.
- warm invocation: this process builds a temporary project (a bare git remote and a work clone
  holding `--tasks` WorkflowRunner task files under deployments/tasks plus `--other-files` other
  files, and a configuration with auth on: one user, a SQLite state file, the repository's cache
  in the temporary folder), sets `LAUNCHPAD_CONFIG` to it, imports `functions.handler` and calls
  `functions.handler.api(event, context)` with real API Gateway HTTP API (payload format 2.0)
  events. The first call, `GET /tasks` with a token signed by `launchpad.auth.tokens.issue_token`,
  is the container's first invocation (configuration, user store seeding, the app, the first
  clone) and is timed on its own. Then `POST /auth/token` (a form, as Swagger sends it) logs in
  and its token is used from there on. After `--warmup` uncounted calls per route, `--n` warm
  calls of each of three routes run in blocks of 10, the routes rotating: `GET /tasks`,
  `GET /sync/history` (Mangum, FastAPI, the auth dependencies and a SQLite read; no git) and
  `GET /no-such-route` (Mangum and FastAPI routing only: a 404, no dependency runs). Every
  response is checked (200 and exactly the task list; 200; 404). The headline is the median warm
  `GET /tasks` latency against the target. The parts of a `GET /tasks` call are also timed one
  by one in process (token check, user lookup, `source.head()`, `source.files()`, the
  parsed-document cache) to show where the time goes.
  The user is configured with a `password_hash` (hashed by this script beforehand), as a deployed
  configuration would be: a clear-text `password` would add one argon2 hash (reported) to every
  cold start, when `base_users` are seeded.

`--instructions` also runs each side once under valgrind's callgrind (with interpreter start-up
alone as a third child, taken off both) and reports the ratio of executed instructions: a figure
that does not move with the machine's load, to tell a 1% change from noise. Instructions are not
time (cache misses, system calls), but the two sides run the same kind of code.

Temporal is not called by these routes: the configured server is a free port with nothing on it,
unless `--devserver` starts a Temporal dev server there. `--profile` runs cProfile over warm
`GET /tasks` calls and prints the top functions on stderr. The script exits 0 whether or not the
targets hold (it is a measurement) and says which do.

    python bench/cold_start.py [--rounds 10] [--n 200] [--tasks 10] [--devserver] [--profile] [--instructions] [--json]
"""

from __future__ import annotations

import argparse
import base64
import compileall
import contextlib
import cProfile
import importlib
import importlib.metadata
import io
import json
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import git, log, parse_positive, ratio
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without install

IMPORT_TARGET = 1.20  # handler / baseline median import time, at most
WARM_TARGET_MS = 5.0  # median warm GET /tasks through the handler, at most
BASELINE = ("bench.lambda_baseline",)  # one route behind Mangum: what a user would write
HANDLER = ("functions.handler",)
PROJECT = ("launchpad", "functions", "reconciler")  # this repository's packages
# Imported in this order on top of the baseline, each group's increment timed: the sum is the
# handler's extra import time. These are what `functions.handler` imports, in the order it does.
BREAKDOWN = (
    ("PyJWT", ("jwt",)),
    ("PyYAML", ("yaml",)),
    ("launchpad.config (config models)", ("launchpad.config",)),
    ("user and state stores", ("launchpad.auth.store", "launchpad.state")),
    ("functions.app (routes, API models)", ("functions.app",)),
    ("functions.handler (rest)", ("functions.handler",)),
)
NOTABLE = ("cryptography", "moto", "schemathesis", "pytest")  # named in the report when hidden
BLOCK = 10  # warm calls per alternating block
USER = ("bench", "bench-password-0123")
SECRET = "bench-jwt-secret-0123456789abcdef"
TASK_YAML = """\
name: {name}
description: cold-start benchmark task {i}
runner: WorkflowRunner
workflow:
  task_queue: bench-q
  workflow_id: {name}
  workflow: Task
  id_reuse_policy: ALLOW_DUPLICATE
  execution_timeout: 30m
  retry_policy:
    maximum_attempts: 3
  memo:
    owner: platform-team
  workflow_kwargs:
    activity: say_hello
    args: ["bench", {i}]
    start_to_close_timeout: 10s
"""


@dataclass(frozen=True)
class Result:
    """Everything one run measured; `--json` prints it as is."""

    date: str
    python: str
    cpus: int
    load_avg: list[float]
    rounds: int
    import_s_handler: list[float]
    import_s_baseline: list[float]
    import_median_ms_handler: float
    import_median_ms_baseline: float
    import_ratio: float
    import_round_ratios: list[float]  # handler / baseline within each round (the two children run back to back)
    import_target: float
    import_pass: bool
    cpu_median_ms_handler: float
    cpu_median_ms_baseline: float
    cpu_ratio: float
    wall_median_ms_handler: float
    wall_median_ms_baseline: float
    wall_ratio: float
    breakdown_ms: dict[str, float]
    hidden_distributions: list[str]
    import_median_ms_handler_venv: float
    import_median_ms_baseline_venv: float
    import_ratio_venv: float
    tasks: int
    other_files: int
    devserver: bool
    cold_call_ms: float
    login_ms: float
    argon2_hash_ms: float
    n: int
    warmup: int
    warm_median_ms: float
    warm_p90_ms: float
    warm_min_ms: float
    warm_target_ms: float
    warm_pass: bool
    floor_median_ms: float
    floor_p90_ms: float
    bare_median_ms: float
    parts_median_ms: dict[str, float]
    profile_top: list[str]
    instructions: dict[str, int]  # with --instructions: per child, interpreter start-up included
    instruction_ratio: float | None
    elapsed_s: float


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


# --- import time in fresh processes ---------------------------------------------------------


def runtime_distributions() -> set[str]:
    """What `pip install .` brings: the project's dependencies and theirs, with the extras asked for."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        todo = [Requirement(text) for text in tomllib.load(file)["project"]["dependencies"]]
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(requirement.name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        extras = ["", *requirement.extras]
        for text in requires:
            dependency = Requirement(text)
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in extras):
                todo.append(dependency)
    return seen


def packaged_prelude() -> tuple[str, list[str]]:
    """Code that hides, in a child, every installed top-level module no runtime dependency provides.

    The Lambda package holds the runtime dependencies only; this virtual environment also has the
    test tools (moto brings cryptography, which PyJWT imports when it finds it). Returns the code
    and the hidden distributions' names.
    """
    keep = runtime_distributions()
    hidden_modules, hidden_dists = set(), set()
    for module, dists in importlib.metadata.packages_distributions().items():
        names = {canonicalize_name(d) for d in dists}
        if module not in PROJECT and not names & keep:
            hidden_modules.add(module)
            hidden_dists |= names
    code = (
        "import sys\n"
        "class _Hidden:\n"
        f"    names = {sorted(hidden_modules)!r}\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] in self.names:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r} (not packaged)', name=name)\n"
        "sys.meta_path.insert(0, _Hidden())\n"
    )
    return code, sorted(hidden_dists)


def child(code: str) -> tuple[str, float]:
    """Run `python -c code` from the repository root: its stdout and the process's wall time."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300
    )
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout, wall


def import_code(modules: tuple[str, ...]) -> str:
    """Prints the import's elapsed time and the CPU time the child spent on it, in seconds."""
    return (
        "import time; t, c = time.perf_counter(), time.process_time(); "
        f"import {', '.join(modules)}; print(time.perf_counter() - t, time.process_time() - c)"
    )


def breakdown_code() -> str:
    """Baseline first (untimed), then each group's increment in CPU time, printed as JSON."""
    groups = [(label, list(mods)) for label, mods in BREAKDOWN]
    return (
        f"import importlib, json, time; import {', '.join(BASELINE)}\n"
        f"out = {{}}\n"
        f"for label, mods in {groups!r}:\n"
        f"    t = time.process_time()\n"
        f"    for m in mods: importlib.import_module(m)\n"
        f"    out[label] = time.process_time() - t\n"
        f"print(json.dumps(out))"
    )


def compile_project() -> None:
    """Bytecode for the project's packages, as the Lambda package ships it (pip did the dependencies').
    Timestamp-checked `.pyc` files in `__pycache__` (ignored by git): an edit still invalidates them."""
    for package in PROJECT:
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise RuntimeError(f"{package} does not compile")


def measure_imports(rounds: int, prelude: str = "") -> dict[str, Any]:
    """Alternating fresh-process imports: per side the in-child import and CPU times, and wall times.
    `prelude` runs first in every child (untimed)."""
    compile_project()
    sides = {"handler": prelude + import_code(HANDLER), "baseline": prelude + import_code(BASELINE)}
    for name, code in sides.items():  # uncounted: compiles bytecode, fills the file cache
        log(f"import warm-up: {name}")
        child(code)
    child(prelude + breakdown_code())
    inside: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    wall: dict[str, list[float]] = {name: [] for name in sides}
    parts: dict[str, list[float]] = {label: [] for label, _ in BREAKDOWN}
    for number in range(rounds):
        log(f"import round {number + 1}/{rounds}")
        order = list(sides) if number % 2 == 0 else list(sides)[::-1]
        for name in order:
            out, seconds = child(sides[name])
            elapsed, spent = out.split()
            inside[name].append(float(elapsed))
            cpu[name].append(float(spent))
            wall[name].append(seconds)
        out, _ = child(prelude + breakdown_code())
        for label, seconds in json.loads(out).items():
            parts[label].append(seconds)
    return {"inside": inside, "cpu": cpu, "wall": wall, "parts": parts}


def count_instructions(code: str) -> int:
    """The instructions a child executes, counted by valgrind's callgrind: the same figure on every
    run whatever else the machine does (hash randomisation off), where times swing by ±30%."""
    with tempfile.TemporaryDirectory(prefix="cold-start-cg-") as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            check=False,
            timeout=1800,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind child failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return int(found.group(1))


def measure_instructions(prelude: str) -> dict[str, int]:
    """Start-up alone, the baseline and the handler, two children at a time (~1 minute each)."""
    codes = {"start-up": "pass", "baseline": f"import {', '.join(BASELINE)}", "handler": f"import {', '.join(HANDLER)}"}
    log("counting instructions under callgrind (3 children, ~1 minute each)")
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = pool.map(count_instructions, [prelude + code for code in codes.values()])
    return dict(zip(codes, counts, strict=True))


# --- warm invocation ---------------------------------------------------------------------------


def make_project(root: Path, tasks: int, other_files: int, port: int, password_hash: str) -> tuple[Path, list[str]]:
    """A bare remote with the task files pushed to `main`, and a configuration using it."""
    remote, work = root / "remote.git", root / "work"
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    git(root, "init", "-q", "-b", "main", str(work))
    git(work, "remote", "add", "origin", str(remote))
    names = [f"bench-{i:03d}" for i in range(tasks)]
    folder = work / "deployments" / "tasks"
    folder.mkdir(parents=True)
    for i, name in enumerate(names):
        (folder / f"{name}.yaml").write_text(TASK_YAML.format(name=name, i=i))
    (work / "README.md").write_text("cold-start benchmark repository\n")
    for i in range(other_files):  # the rest of a repository: the tree walk sees these too
        file = work / "src" / f"pkg{i % 4}" / f"module_{i:03d}.py"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f'"""module {i}."""\n\nVALUE = {i}\n')
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "bench tasks")
    git(work, "push", "-q", "origin", "HEAD:main")
    config = root / "launchpad_configs.yaml"
    config.write_text(
        f"""\
temporalio:
  servers: [{{name: local, ip: 127.0.0.1, port: {port}}}]
repository: {{url: "{remote}", branch: main, cache_dir: "{root}/cache"}}
state: {{path: "{root}/state.db"}}
app: {{secret: {SECRET}}}
authenticator:
  base_users: [{{username: {USER[0]}, password_hash: "{password_hash}", auth_level: [user]}}]
"""
    )
    return config, names


@dataclass
class LambdaContext:
    """The attributes of the Lambda Python runtime's context object."""

    function_name: str = "launchpad-api"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:launchpad-api"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/launchpad-api"
    log_stream_name: str = "2026/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def http_event(
    method: str, path: str, headers: dict[str, str] | None = None, body: str | None = None, query: str = ""
) -> dict[str, Any]:
    """An API Gateway HTTP API event, payload format 2.0 (`$default` route and stage)."""
    now = time.time()
    request_id = base64.b32encode(uuid.uuid4().bytes).decode()[:16]
    all_headers = {
        "accept": "application/json",
        "accept-encoding": "gzip, deflate",
        "content-length": str(len(body or "")),
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "bench/cold_start",
        "x-amzn-trace-id": f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]}",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **{k.lower(): v for k, v in (headers or {}).items()},
    }
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "bench/cold_start",
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        },
        "body": body,
        "isBase64Encoded": False,
    }


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def check(response: dict[str, Any], status: int, what: str) -> Any:
    if response.get("statusCode") != status:
        raise RuntimeError(f"{what}: status {response.get('statusCode')}, body {response.get('body')!r}")
    return json.loads(response["body"])


def check_tasks(response: dict[str, Any], names: list[str]) -> None:
    listed = [task["name"] for task in check(response, 200, "GET /tasks")]
    if listed != names:
        raise RuntimeError(f"GET /tasks listed {listed}, expected {names}")


def timed(call: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        call()
        out.append(time.perf_counter() - began)
    return out


@contextlib.contextmanager
def temporal(port: int, start: bool) -> Iterator[None]:
    if not start:
        yield
        return
    from launchpad.devserver import DevServer

    log("starting the Temporal dev server")
    with DevServer(port=port):
        yield


def measure_warm(args: argparse.Namespace) -> dict[str, Any]:
    from launchpad.auth.passwords import hash_password
    from launchpad.auth.tokens import decode_token, issue_token
    from launchpad.devserver import free_port

    began = time.perf_counter()
    password_hash = hash_password(USER[1])
    hashing = time.perf_counter() - began
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp, temporal(port, args.devserver):
        config, names = make_project(Path(tmp), args.tasks, args.other_files, port, password_hash)
        os.environ["LAUNCHPAD_CONFIG"] = str(config)  # read by load_config() on the first call
        handler = importlib.import_module("functions.handler")
        context = LambdaContext()

        signed, _ = issue_token(SECRET, USER[0], ["user"], 600, "config")  # the generation of config users
        first = http_event("GET", "/tasks", bearer(signed))
        began = time.perf_counter()
        response = handler.api(first, context)
        cold = time.perf_counter() - began
        check_tasks(response, names)
        log(f"first call (cold): {cold * 1000:.1f} ms")

        check(handler.api(http_event("GET", "/tasks", bearer("nope")), context), 401, "GET /tasks, bad token")
        form = urlencode({"username": USER[0], "password": USER[1]})
        login_event = http_event("POST", "/auth/token", {"content-type": "application/x-www-form-urlencoded"}, form)
        began = time.perf_counter()
        response = handler.api(login_event, context)
        login = time.perf_counter() - began
        token = check(response, 200, "POST /auth/token")["access_token"]
        auth = bearer(token)

        sides: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
            "tasks": ("/tasks", lambda r: check_tasks(r, names)),
            "floor": ("/sync/history", lambda r: check(r, 200, "GET /sync/history")),
            "bare": ("/no-such-route", lambda r: check(r, 404, "GET /no-such-route")),
        }

        def calls(side: str, count: int) -> list[float]:
            path, verify = sides[side]
            events = [http_event("GET", path, auth) for _ in range(count)]
            responses, latencies = [], []
            for event in events:
                began = time.perf_counter()
                responses.append(handler.api(event, context))
                latencies.append(time.perf_counter() - began)
            for response in responses:
                verify(response)
            return latencies

        log(f"warm-up: {args.warmup} calls per route")
        for side in sides:
            calls(side, args.warmup)
        log(f"warm: {args.n} calls per route ({', '.join(path for path, _ in sides.values())}), in rotating blocks")
        warm: dict[str, list[float]] = {side: [] for side in sides}
        order = list(sides)
        for number, start in enumerate(range(0, args.n, BLOCK)):
            count = min(BLOCK, args.n - start)
            for side in order[number % len(order) :] + order[: number % len(order)]:
                warm[side] += calls(side, count)

        # the parts of a GET /tasks call, one by one, on the handler's own objects
        svc = handler.services()
        rec = svc.reconciler
        revision = rec.source.head()
        files = rec.source.files(revision, [rec.config.tasks_dir])
        parts = {
            "token check (verified once, then cached)": timed(lambda: decode_token(svc.secret, token), args.n),
            "user lookup (SQLite)": timed(lambda: svc.users.get(USER[0]) if svc.users else None, args.n),
            "source.head()": timed(rec.source.head, args.n),
            "source.files()": timed(lambda: rec.source.files(revision, [rec.config.tasks_dir]), args.n),
            "rec.document() for each file": timed(
                lambda: [rec.document(path, blob) for path, blob in files.items()], args.n
            ),
        }

        top: list[str] = []
        if args.profile:
            count = 50
            events = [http_event("GET", "/tasks", auth) for _ in range(count)]
            profiler = cProfile.Profile()
            profiler.enable()
            for event in events:
                handler.api(event, context)
            profiler.disable()
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text).sort_stats("tottime")
            stats.print_stats(25)
            log(f"cProfile of {count} warm GET /tasks calls (sorted by own time):\n{text.getvalue()}")
            top = [line for line in text.getvalue().splitlines() if line.strip()][-25:]
    return {"cold": cold, "login": login, "hash": hashing, "warm": warm, "parts": parts, "profile": top}


def run(args: argparse.Namespace) -> Result:
    began = time.perf_counter()
    prelude, hidden = packaged_prelude()
    log(f"imports as packaged ({len(hidden)} test-only distributions hidden)")
    imports = measure_imports(args.rounds, prelude)
    log("imports in this virtual environment as it is (for comparison)")
    venv = {name: statistics.median(values) for name, values in measure_imports(args.rounds)["inside"].items()}
    counts = measure_instructions(prelude) if args.instructions else {}
    warm = measure_warm(args)
    inside = {name: statistics.median(values) for name, values in imports["inside"].items()}
    cpu = {name: statistics.median(values) for name, values in imports["cpu"].items()}
    wall = {name: statistics.median(values) for name, values in imports["wall"].items()}
    import_ratio = ratio(inside["handler"], inside["baseline"])
    tasks, floor = warm["warm"]["tasks"], warm["warm"]["floor"]
    warm_median = statistics.median(tasks) * 1000
    return Result(
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        python=platform.python_version(),
        cpus=os.cpu_count() or 0,
        load_avg=[round(value, 2) for value in os.getloadavg()],
        rounds=args.rounds,
        import_s_handler=[round(value, 4) for value in imports["inside"]["handler"]],
        import_s_baseline=[round(value, 4) for value in imports["inside"]["baseline"]],
        import_median_ms_handler=ms(inside["handler"]),
        import_median_ms_baseline=ms(inside["baseline"]),
        import_ratio=round(import_ratio, 4),
        import_round_ratios=[
            round(ratio(h, b), 3)
            for h, b in zip(imports["inside"]["handler"], imports["inside"]["baseline"], strict=True)
        ],
        import_target=IMPORT_TARGET,
        import_pass=import_ratio <= IMPORT_TARGET,
        cpu_median_ms_handler=ms(cpu["handler"]),
        cpu_median_ms_baseline=ms(cpu["baseline"]),
        cpu_ratio=round(ratio(cpu["handler"], cpu["baseline"]), 4),
        wall_median_ms_handler=ms(wall["handler"]),
        wall_median_ms_baseline=ms(wall["baseline"]),
        wall_ratio=round(ratio(wall["handler"], wall["baseline"]), 4),
        breakdown_ms={label: ms(statistics.median(values)) for label, values in imports["parts"].items()},
        hidden_distributions=hidden,
        import_median_ms_handler_venv=ms(venv["handler"]),
        import_median_ms_baseline_venv=ms(venv["baseline"]),
        import_ratio_venv=round(ratio(venv["handler"], venv["baseline"]), 4),
        tasks=args.tasks,
        other_files=args.other_files,
        devserver=args.devserver,
        cold_call_ms=ms(warm["cold"]),
        login_ms=ms(warm["login"]),
        argon2_hash_ms=ms(warm["hash"]),
        n=args.n,
        warmup=args.warmup,
        warm_median_ms=round(warm_median, 3),
        warm_p90_ms=ms(p90(tasks)),
        warm_min_ms=ms(min(tasks)),
        warm_target_ms=WARM_TARGET_MS,
        warm_pass=warm_median <= WARM_TARGET_MS,
        floor_median_ms=ms(statistics.median(floor)),
        floor_p90_ms=ms(p90(floor)),
        bare_median_ms=ms(statistics.median(warm["warm"]["bare"])),
        parts_median_ms={label: ms(statistics.median(values)) for label, values in warm["parts"].items()},
        profile_top=warm["profile"],
        instructions=counts,
        instruction_ratio=round(
            ratio(counts["handler"] - counts["start-up"], counts["baseline"] - counts["start-up"]), 4
        )
        if counts
        else None,
        elapsed_s=round(time.perf_counter() - began, 1),
    )


def table(r: Result) -> str:
    """The human-readable report."""
    verdict = {True: "PASS", False: "MISS"}
    extra = r.cpu_median_ms_handler - r.cpu_median_ms_baseline
    rows = [
        "Lambda cold start and warm invocation: functions.handler",
        f"Python {r.python}, {r.cpus} CPUs, load average {', '.join(f'{v:.2f}' for v in r.load_avg)} (at the end)",
        "",
        f"import in a fresh process: {r.rounds} rounds, sides alternating (AB BA ...), OS file cache warm,",
        f"as packaged: the runtime dependencies only ({len(r.hidden_distributions)} test-only distributions "
        f"hidden, among them {', '.join(d for d in r.hidden_distributions if d in NOTABLE) or 'none of note'})",
        f"{'':28}{'handler':>12}{'baseline':>12}{'ratio':>9}   target",
        f"{'median import time':28}{r.import_median_ms_handler:>9.1f} ms{r.import_median_ms_baseline:>9.1f} ms"
        f"{r.import_ratio:>9.3f}   <= {r.import_target:.2f}  {verdict[r.import_pass]}",
        f"{'median import CPU time':28}{r.cpu_median_ms_handler:>9.1f} ms{r.cpu_median_ms_baseline:>9.1f} ms"
        f"{r.cpu_ratio:>9.3f}",
        f"{'median process wall time':28}{r.wall_median_ms_handler:>9.1f} ms{r.wall_median_ms_baseline:>9.1f} ms"
        f"{r.wall_ratio:>9.3f}",
        "  handler:  functions.handler",
        f"  baseline: {', '.join(BASELINE)}",
        f"  per round (ms), handler:  {', '.join(f'{v * 1000:.0f}' for v in r.import_s_handler)}",
        f"  per round (ms), baseline: {', '.join(f'{v * 1000:.0f}' for v in r.import_s_baseline)}",
        f"  ratio per round:          {', '.join(f'{v:.2f}' for v in r.import_round_ratios)} "
        f"(median {statistics.median(r.import_round_ratios):.3f})",
        f"{'same, nothing hidden':28}{r.import_median_ms_handler_venv:>9.1f} ms{r.import_median_ms_baseline_venv:>9.1f} ms"
        f"{r.import_ratio_venv:>9.3f}   (not the target: the test tools are not in the Lambda package)",
        *(
            [
                f"{'instructions (callgrind)':28}{r.instructions['handler'] / 1e6:>9.1f} M "
                f"{r.instructions['baseline'] / 1e6:>9.1f} M {r.instruction_ratio:>8.3f}   <= {r.import_target:.2f}  "
                f"(start-up, {r.instructions['start-up'] / 1e6:.1f} M, taken off both; deterministic)"
            ]
            if r.instruction_ratio is not None
            else []
        ),
        f"where the extra {extra:.0f} ms of import CPU time go (median increments, imported in this order "
        "after the baseline):",
        *(f"  {label:32}{value:>8.1f} ms" for label, value in r.breakdown_ms.items()),
        "",
        f"warm invocation: functions.handler.api(event, context), API Gateway HTTP API v2 events, "
        f"{r.tasks} tasks + {r.other_files} other files in the repository",
        f"  Temporal: {'a dev server started by this run' if r.devserver else 'none (these routes do not call it)'}",
        f"{'first call (cold) GET /tasks':36}{r.cold_call_ms:>10.1f} ms   (config, user store, app, git clone)",
        f"{'POST /auth/token (login)':36}{r.login_ms:>10.1f} ms   (argon2 verify)",
        f"{'(one argon2 hash, not in the above)':36}{r.argon2_hash_ms:>10.1f} ms   "
        "(what a clear-text base_users password adds to a cold start)",
        f"warm calls: N={r.n} per route, in blocks of {BLOCK} with the routes rotating, after {r.warmup} uncounted "
        "per route",
        f"{'':36}{'median':>10}{'p90':>10}   target",
        f"{'GET /tasks':36}{r.warm_median_ms:>7.3f} ms{r.warm_p90_ms:>7.3f} ms   <= {r.warm_target_ms:.1f} ms  "
        f"{verdict[r.warm_pass]}",
        f"{'GET /sync/history (auth, SQLite)':36}{r.floor_median_ms:>7.3f} ms{r.floor_p90_ms:>7.3f} ms",
        f"{'GET /no-such-route (404, no deps)':36}{r.bare_median_ms:>7.3f} ms",
        "parts of GET /tasks, timed one by one in process (median):",
        *(f"  {label:34}{value:>8.3f} ms" for label, value in r.parts_median_ms.items()),
        "",
        f"targets: {'all hold' if r.import_pass and r.warm_pass else 'NOT all hold'} "
        f"(import {verdict[r.import_pass]}, warm {verdict[r.warm_pass]}); took {r.elapsed_s:.0f} s",
    ]
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=10, help="fresh-process imports per side")
    parser.add_argument("--n", type=int, default=200, help="warm calls per route")
    parser.add_argument("--warmup", type=int, default=10, help="uncounted warm calls per route")
    parser.add_argument("--tasks", type=int, default=10, help="task files in the repository")
    parser.add_argument("--other-files", type=int, default=40, help="other files in the repository")
    parser.add_argument("--devserver", action="store_true", help="start a Temporal dev server at the configured port")
    parser.add_argument("--profile", action="store_true", help="cProfile 50 warm GET /tasks calls (stderr)")
    parser.add_argument(
        "--instructions", action="store_true", help="also count the imports' instructions under valgrind (~2 min)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parse_positive(parser, argv, ("rounds", "n", "tasks"))
    if args.warmup < 0 or args.other_files < 0:
        parser.error("--warmup and --other-files must not be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print(json.dumps(asdict(result), indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
