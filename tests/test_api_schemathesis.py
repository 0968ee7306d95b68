"""Property-based API test: schemathesis drives every operation of `/openapi.json` with generated requests.

The assertions: no response is a server error (schemathesis' `not_a_server_error` check: any 5xx,
except a 503 `temporal_unavailable`, the documented answer when the dev server does not answer in
time, counted apart), and every error response (4xx/5xx) is JSON with an `error` key, the shape
functions/errors.py promises.

How it runs. The app is the `api` fixture's: a real config, a real git repository, the session's
dev server and workers. Those live on the session event loop, but schemathesis calls an ASGI app
synchronously (on an event loop of its own, in another thread) and hypothesis' `@given` is
synchronous too. So the whole schemathesis run goes to a worker thread (`asyncio.to_thread`), and
the app schemathesis is given is a bridge: it reads the request on schemathesis' loop, runs the
real app on the session loop (where the Temporal clients and the reconciler's locks belong) and
replays the response. An exception the app raises after answering 500 is kept and shown with the
failure.

Every request carries a valid super-user token. Each operation gets positive and negative
(schema-violating) generated data, and, where its path names a task, a workflow, a schedule or a
user, a positive pass with that path parameter pinned to one that exists, so the code behind a
successful lookup is fuzzed too (random names mostly stop at 404). Webhook deliveries are signed
by the bridge (unless the generated request brings a signature of its own), so the code behind
the signature check is fuzzed too. The operations fuzzed are checked to be every route of the
app. The number of examples is bounded; the failures of all operations are collected and
reported together.

A longer run, outside the suite: `LAUNCHPAD_FUZZ_SECONDS=600 LAUNCHPAD_FUZZ_EXAMPLES=100 pytest -s
--timeout 1200 tests/test_api_schemathesis.py -k no_server_errors` repeats the passes (fresh data
each round) until the time is up and prints its figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import importlib
import json
import os
import pkgutil
import re
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import pytest
import schemathesis
from fastapi import APIRouter
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

import functions.routes
from tests.apiharness import WEBHOOK_SECRET, Api, api  # noqa: F401  (the fixture)
from tests.conftest import ENGINE_QUEUE

pytestmark = pytest.mark.temporal

MAX_EXAMPLES = int(os.environ.get("LAUNCHPAD_FUZZ_EXAMPLES", "12"))  # per operation and pass
UNAVAILABLE = "(of which answered 503 temporal_unavailable)"
BUDGET = float(os.environ.get("LAUNCHPAD_FUZZ_SECONDS", "0"))  # more rounds until this many seconds
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
SCHEDULE = """
name: {name}
runner: ScheduledWorkflowRunner
workflow:
  task_queue: {queue}
  workflow_id: {sid}-wf
  workflow: Task
  scheduler_id: {sid}
  intervals: [{{every: 24h}}]
  workflow_kwargs: {{activity: zero}}
"""

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]


class Bridge:
    """An ASGI app for schemathesis' own loop that runs `app` on `loop` (the session loop)."""

    def __init__(self, app: AsgiApp, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.loop = loop
        self.crashes: list[str] = []  # exceptions raised out of the app, with their request
        self.lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # Refusing the lifespan scope before receiving anything means "no lifespan support".
            raise RuntimeError(f"{scope['type']!r} is not bridged")
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        sent: list[Message] = []
        future: Future[None] = asyncio.run_coroutine_threadsafe(self._run(scope, bytes(body), sent), self.loop)
        try:
            await asyncio.wrap_future(future)
        except Exception:
            if not sent:
                raise
            with self.lock:  # the app answered (500) and re-raised, as Starlette does: keep the cause
                self.crashes.append(f"{scope['method']} {scope['path']!r} raised:\n{traceback.format_exc(limit=-2)}")
        for message in sent:
            await send(message)

    async def _run(self, scope: dict[str, Any], body: bytes, sent: list[Message]) -> None:
        scope = signed(scope, body)
        delivered = False
        done = asyncio.Event()

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        try:
            await self.app(scope, receive, send)
        finally:
            done.set()


def declared_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the routers of functions/routes declare in the OpenAPI
    document (`/metrics`, Prometheus text, is left out of it and fuzzed by no one)."""
    routes = set()
    for module in pkgutil.iter_modules(functions.routes.__path__):
        for value in vars(importlib.import_module(f"functions.routes.{module.name}")).values():
            if isinstance(value, APIRouter):
                documented = [r for r in value.routes if isinstance(r, APIRoute) and r.include_in_schema]
                routes |= {(m, r.path) for r in documented for m in r.methods}
    return routes


def signed(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    """A webhook delivery without a signature, signed as GitHub would (a new delivery id each)."""
    headers = list(scope["headers"])
    if scope["path"] != "/webhooks/git" or any(name == b"x-hub-signature-256" for name, _ in headers):
        return scope
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers += [
        (b"x-hub-signature-256", f"sha256={signature}".encode()),
        (b"x-github-delivery", uuid.uuid4().hex.encode()),
    ]
    return {**scope, "headers": headers}


def upstream_unavailable(response: Any) -> bool:
    """A 503 that says Temporal did not answer (in time): the API reporting its upstream, as
    documented, not an error of its own (the dev server stalls now and then under the fuzzing)."""
    if response.status_code != 503:
        return False
    try:
        return bool(json.loads(response.content).get("error") == "temporal_unavailable")
    except (ValueError, AttributeError):
        return False


def error_shape(response: Any) -> str | None:
    """Why an error response is not `{"error": ..., ...}` JSON; None when it is (or is no error)."""
    if response.status_code < 400:
        return None
    try:
        payload = json.loads(response.content)
    except ValueError:
        return f"{response.status_code} with a non-JSON body: {response.content[:200]!r}"
    if not isinstance(payload, dict) or "error" not in payload:
        return f"{response.status_code} without an `error` key: {payload!r:.200}"
    return None


def fuzz(schema: Any, bridge: Bridge, token: str, known: dict[str, str], examples: Counter[str]) -> list[str]:
    """Every operation, every pass; the failures, one text each (hypothesis' minimal example).
    `examples` counts the requests made, by operation."""
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []

    def run(operation: Any, label: str, mode: GenerationMode, pinned: dict[str, str] | None) -> None:
        try:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=pinned)
        except Exception as exc:  # e.g. nothing schema-violating to generate for this operation
            if mode is not GenerationMode.NEGATIVE:
                failures.append(f"{label}: no strategy: {exc!r}")
            return

        @given(case=strategy)
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,  # no example database: every run starts fresh
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        def check(case: Any) -> None:
            crashes_before = len(bridge.crashes)
            examples[operation.label] += 1
            response = case.call(headers=headers)
            if upstream_unavailable(response):
                examples[UNAVAILABLE] += 1
                return
            try:
                case.validate_response(response, checks=[not_a_server_error], headers=headers)
            except FailureGroup as exc:
                answer = f"{response.status_code}: {response.content[:300]!r}"
                raise AssertionError("\n".join([str(exc), answer, *bridge.crashes[crashes_before:]])) from None
            problem = error_shape(response)
            assert problem is None, f"{case.method} {case.formatted_path}: {problem}"

        try:
            check()
        except Unsatisfiable:
            return
        except (Exception, FailureGroup) as exc:
            causes = [str(e) for e in getattr(exc, "exceptions", ())]  # a flaky failure: its first failure
            failures.append("\n".join([f"{label}:", str(exc), *causes]))

    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions last, so the pinned passes of the other operations still find what they look for.
    for operation in sorted(operations, key=lambda op: op.method.upper() == "DELETE"):
        for mode in MODES:
            run(operation, f"{operation.label} [{mode.value}]", mode, None)
        names = {p.name for p in operation.path_parameters}
        pinned = {name: value for name, value in known.items() if name in names}
        if pinned:
            run(operation, f"{operation.label} [positive, {pinned}]", GenerationMode.POSITIVE, pinned)
    return failures


async def test_no_server_errors(api: Api) -> None:
    token = await api.token()
    headers = {"Authorization": f"Bearer {token}"}
    schedule_id = f"{api.prefix}-sched"
    # Something to find besides the fixture's task `hello`: a schedule (the PUT commits, pushes and
    # syncs, which creates it, before answering) and `hello`'s workflow.
    content = SCHEDULE.format(name="sched", queue=ENGINE_QUEUE, sid=schedule_id)
    put = await api.http.put("/tasks/sched", json={"content": content}, headers=headers)
    assert put.status_code == 200 and put.json()["sync_status"] == "succeeded", put.text
    deployed = await api.http.post("/tasks/deploy/hello", headers=headers)  # a workflow to find
    assert deployed.status_code == 200, deployed.text
    known = {
        "name": "hello",
        "workflow_id": f"{api.prefix}-hello",
        "schedule_id": schedule_id,
        "username": "alice",
    }

    bridge = Bridge(api.http._transport.app, asyncio.get_running_loop())  # type: ignore[attr-defined]
    routes = declared_routes()
    examples: Counter[str] = Counter()

    def run() -> list[str]:
        schema = schemathesis.openapi.from_asgi("/openapi.json", bridge)
        fuzzed = {(result.ok().method.upper(), result.ok().path) for result in schema.get_all_operations()}
        assert fuzzed == routes, f"routes not fuzzed: {routes - fuzzed}; unknown: {fuzzed - routes}"
        started, failures, rounds = time.monotonic(), [], 0
        while not rounds or (not failures and time.monotonic() - started < BUDGET):
            failures += fuzz(schema, bridge, token, known, examples)
            rounds += 1
        if BUDGET:
            print(  # the figures of a long run (pytest -s)
                f"\nfuzzed {len(routes)} operations, {rounds} round(s), {examples.total() - examples[UNAVAILABLE]}"
                f" requests in {time.monotonic() - started:.0f}s; {len(failures)} failing pass(es)\n"
                + "\n".join(f"  {n:6d}  {label}" for label, n in sorted(examples.items()))
            )
        return failures

    try:
        failures = await asyncio.to_thread(run)
        # Syncs started by POST /sync run in the background: let them end while the repository exists.
        await asyncio.gather(*list(api.services.background), return_exceptions=True)  # type: ignore[arg-type]
    finally:
        client = await api.engine.client()
        with contextlib.suppress(Exception):  # leave no schedule behind for the session's other tests
            await client.get_schedule_handle(schedule_id).delete()
    assert not failures, f"{len(failures)} operation pass(es) failed:\n\n" + "\n\n".join(failures)


async def test_openapi_path_parameters_match_the_paths(api: Api) -> None:
    """What the fuzzing relies on: each operation documents exactly the `{placeholders}` of its path.

    A mismatch means the route reads a parameter its URL cannot carry (every call a 422) or ignores one.
    """
    spec = (await api.http.get("/openapi.json")).json()
    wrong = []
    for path, item in spec["paths"].items():
        placeholders = set(re.findall(r"{([^}/]+)}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            if declared != placeholders:
                wrong.append(
                    f"{method.upper()} {path}: documents {sorted(declared)}, the path has {sorted(placeholders)}"
                )
    assert not wrong, "path parameters that do not match their path:\n" + "\n".join(wrong)
