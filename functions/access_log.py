"""Per request: a request id, the HTTP metrics, and the access log line, written once the answer is sent.

One pure ASGI middleware does the three, so a request passes one layer for them. The request id
is the caller's `X-Request-ID` when it is a plain token, else a new one; it is bound to the log
context (every line the request causes carries it) and sent back in the answer's `X-Request-ID`.
Metrics are labelled by the route's template (`/tasks/deploy/{name}`), never the raw path. The
access line is written after the last body chunk has been handed to the transport (uvicorn
writes its own before the status line goes out, so every request would wait for the log
handler): `client - "METHOD /path?query HTTP/1.1" status` with the fields request_id, method,
route, status, duration and user (when the request was authenticated).
"""

from __future__ import annotations

import logging
import re
import time
import urllib.parse
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from launchpad.observability import logs
from launchpad.observability.metrics import HTTP_REQUESTS, HTTP_SECONDS, WEBHOOKS, Metrics

LOGGER = "launchpad.access"
REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
UNMATCHED = "unmatched"  # the route label of a request no route matched (a 404): never the raw path
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # any other is labelled "other"
WEBHOOK_ROUTE = "/webhooks/git"
# webhook deliveries, by the header that names their provider, and by the answer
PROVIDERS = (("x-hub-signature-256", "github"), ("x-gitlab-token", "gitlab"), ("x-gitea-signature", "gitea"))
WEBHOOK_RESULTS = {202: "accepted", 401: "rejected", 404: "disabled", 422: "invalid"}


class AccessLog:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics or Metrics()
        self.access_log = access_log
        self.logger = logging.getLogger(LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = _header(scope, b"x-request-id")
        request_id = given if given and REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        status = 500  # what the server answers when the app fails before starting a response
        echo = (b"x-request-id", request_id.encode())

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echo]
            await send(message)

        token = logs.begin()
        logs.bind(request_id=request_id)
        try:
            await self.app(scope, receive, sending)
        finally:
            self._done(scope, status, time.perf_counter() - started, request_id)
            logs.end(token)

    def _done(self, scope: Scope, status: int, seconds: float, request_id: str) -> None:
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        method = scope["method"]
        label = method if method in METHODS else "other"  # a client's method token never makes a new series
        self.metrics.add(HTTP_REQUESTS, route, label, str(status))
        self.metrics.add(HTTP_SECONDS, route, label, value=seconds)
        if route == WEBHOOK_ROUTE:
            provider = next((name for header, name in PROVIDERS if _header(scope, header.encode())), "unknown")
            self.metrics.add(WEBHOOKS, provider, WEBHOOK_RESULTS.get(status, "failed"))
        if self.access_log:
            fields = {"method": method, "route": route, "status": status, "duration": round(seconds, 6)}
            self.logger.info('%s - "%s %s HTTP/%s" %d', *_request_line(scope), status, extra={"fields": fields})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _request_line(scope: Scope) -> tuple[str, str, str, str]:
    client = scope.get("client")
    path = urllib.parse.quote(scope["path"])
    if scope["query_string"]:
        path = f"{path}?{scope['query_string'].decode('ascii')}"
    return (f"{client[0]}:{client[1]}" if client else "", scope["method"], path, scope["http_version"])
