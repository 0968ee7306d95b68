"""`POST /tasks/deploy/{name}`, answered without FastAPI's per-request machinery.

A deploy is what other systems call launchpad for, and the latency the API's benchmark holds to
a target. Through FastAPI, its middleware stack, route scan and dependency solver made up 0.15 to
0.8 ms of the 1.4 to 2.4 ms the API added to a direct start (docs/BENCHMARKS.md, seventh round):
while a deploy waits for Temporal the CPU caches go cold, and every layer then costs several times
its warm time.

This path does only what the route needs, with the code the FastAPI route uses: `Require.caller`
(auth), `DeployRequest` (the body, decoded and validated as FastAPI does), `deploy_now` (the
deploy), `DeployResponse` (the answer) and the app's exception handlers (every error). It hands
to FastAPI whatever it does not reproduce: another method or path, a body that is not JSON,
middleware added to the app, and requests FastAPI's own telemetry traces. The FastAPI route stays
the contract (OpenAPI, /docs); tests/test_api_fast_deploy.py sends the same requests both ways
and compares the answers.
"""

from __future__ import annotations

import json
from functools import cache, cached_property
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette._utils import get_route_path  # how Starlette's router sees the path (root_path removed)
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from functions.models import DeployRequest, DeployResponse
from functions.routes.tasks import TaskName, deploy_now
from functions.security import USER

PREFIX = "/tasks/deploy/"


@cache
def _body() -> TypeAdapter[DeployRequest | None]:
    return TypeAdapter(DeployRequest | None)


@cache
def _name() -> TypeAdapter[str]:
    return TypeAdapter(TaskName)


class FastDeploy:
    """Takes deploy requests before FastAPI does; `fallback` (FastAPI itself) gets the rest."""

    def __init__(self, app: FastAPI, fallback: ASGIApp) -> None:
        self.app = app
        self.fallback = fallback

    def takes(self, scope: Scope) -> bool:
        """A deploy that FastAPI would neither trace nor pass through added middleware."""
        if scope["type"] != "http" or scope["method"] != "POST" or self.app.user_middleware:
            return False
        path = get_route_path(scope)
        name = path[len(PREFIX) :]
        if not path.startswith(PREFIX) or not name or "/" in name:
            return False
        return not self.traced

    @cached_property
    def traced(self) -> bool:
        """Whether FastAPI (0.16x) traces requests with OpenTelemetry. Decided at the first deploy:
        OpenTelemetry is set up when the process starts (FastAPI's own setup runs at lifespan
        startup), and asking on every request cost a deploy ~30 µs."""
        telemetry = getattr(self.app, "_native_telemetry", None)
        return telemetry is not None and bool(telemetry.enabled())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers: dict[bytes, str] = {}
        for key, value in scope["headers"]:
            if key in (b"authorization", b"content-type"):
                headers.setdefault(key, value.decode("latin-1"))  # the first, as Starlette reads it
        body = await _read(receive)
        if body is None:  # the client went away
            return
        if body and not _is_json(headers.get(b"content-type")):
            await self.fallback(scope, _replay(body), send)  # FastAPI takes it as bytes and says why not
            return
        scope["app"] = self.app
        try:  # in FastAPI's order: the JSON, the caller, then the path and body together
            decoded = _json(body)
            caller = await USER.caller(self.app.state.services, headers.get(b"authorization"))
            name, request = _validated(get_route_path(scope)[len(PREFIX) :], decoded)
            answer = DeployResponse.model_validate(await deploy_now(caller.svc, name, request))
        except Exception as exc:
            response = await self._handler(exc)(Request(scope), exc)
            await response(scope, receive, send)
            return
        content = answer.model_dump_json().encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(content)).encode()), (b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": content})

    def _handler(self, exc: Exception) -> Any:
        """The app's handler for the exception, as Starlette picks it (nearest class first)."""
        handlers = self.app.exception_handlers
        return next(handlers[cls] for cls in type(exc).__mro__ if cls in handlers)


def _is_json(content_type: str | None) -> bool:
    """FastAPI's test: `application/json` or `application/*+json`, parameters ignored."""
    if content_type is None:
        return False
    kind = content_type.partition(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


async def _read(receive: Receive) -> bytes | None:
    """The whole body; None when the client disconnects first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """`receive` for an app that comes after the body was read."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else {"type": "http.disconnect"}

    return replayed


def _json(body: bytes) -> Any:
    """The body as FastAPI decodes it: none is None; bad JSON is its `json_invalid` error, a body
    that cannot be decoded at all its 400."""
    if not body:
        return None
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([{**error, "ctx": {"error": exc.msg}}], body=exc.doc) from None
    except (ValueError, RecursionError):  # not UTF-8/16/32, or nested too deep
        raise HTTPException(400, "There was an error parsing the body") from None


def _validated(name: str, body: Any) -> tuple[str, DeployRequest | None]:
    """The path's name and the body, validated; FastAPI's one 422 for the errors of both."""
    errors: list[Any] = []
    values: list[Any] = []
    for adapter, value, loc in ((_name(), name, ("path", "name")), (_body(), body, ("body",))):
        try:
            values.append(adapter.validate_python(value, from_attributes=True))  # as FastAPI validates
        except ValidationError as exc:
            errors += [{**error, "loc": (*loc, *error["loc"])} for error in exc.errors(include_url=False)]
    if errors:
        raise RequestValidationError(errors)
    return values[0], values[1]
