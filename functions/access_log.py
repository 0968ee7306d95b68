"""The access log of `launchpad api`, written once the answer is sent.

uvicorn writes its access line when the response starts, before the status line goes out, so
every request waits for the log handler (0.1 ms of a deploy's ~2 ms overhead on the benchmark
machine). This middleware writes the same line, through uvicorn's access formatter, after the
last body chunk has been handed to the transport.
"""

import copy
import logging
import urllib.parse
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = "launchpad.access"


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration, with the access handler serving this module's logger."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"][LOGGER] = {"handlers": ["access"], "level": "INFO", "propagate": False}
    return config


class AccessLog:
    """`client - "METHOD /path?query HTTP/1.1" status`, uvicorn's line, after the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.logger = logging.getLogger(LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what uvicorn answers when the app fails before starting a response

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.logger.info('%s - "%s %s HTTP/%s" %d', *_request_line(scope), status)


def _request_line(scope: Scope) -> tuple[str, str, str, str]:
    client = scope.get("client")
    path = urllib.parse.quote(scope["path"])
    if scope["query_string"]:
        path = f"{path}?{scope['query_string'].decode('ascii')}"
    return (f"{client[0]}:{client[1]}" if client else "", scope["method"], path, scope["http_version"])
