"""Structured logs: one JSON object per line (or plain text), with the context that explains it.

- **Context.** `bind(sync_id=..., revision=...)` adds fields to every line logged afterwards by
  the same task (a request, a sync) and the tasks and threads it starts; a coroutine function
  decorated with `scoped` gives back the context it was called with when it returns, so a
  sync's fields never stick to what its caller logs next.
- **Fields.** A line's own fields go in `extra={"fields": {...}}`.
- **Secrets.** Values registered with `redact` (the configuration's secrets, values injected from
  the environment into task files) are replaced by `***` in every string of every line, in
  both formats, whatever logged them: the message, the fields, a traceback.

`LAUNCHPAD_LOG_FORMAT` (`json` or `text`) chooses the format when no `--log-format` is given;
on Lambda the default is JSON.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ParamSpec, TypeVar

FORMAT_ENV = "LAUNCHPAD_LOG_FORMAT"
LAMBDA_ENV = "AWS_LAMBDA_FUNCTION_NAME"
MASK = "***"
MIN_SECRET = 4  # shorter values are not secrets worth hiding, and would mask common words

P = ParamSpec("P")
R = TypeVar("R")


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


_context: ContextVar[Mapping[str, object]] = ContextVar("launchpad_log_context", default=MappingProxyType({}))


def bind(**fields: object) -> None:
    """Add fields to the context of every line logged from here on (in this task)."""
    _context.set(MappingProxyType({**_context.get(), **fields}))


def context() -> Mapping[str, object]:
    return _context.get()


def begin() -> Token[Mapping[str, object]]:
    """Start a scope: what is bound from here until `end(token)` is forgotten then."""
    return _context.set(_context.get())


def end(token: Token[Mapping[str, object]]) -> None:
    _context.reset(token)


def scoped(fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """What `fn` binds stays inside it."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = begin()
        try:
            return await fn(*args, **kwargs)
        finally:
            end(token)

    return wrapper


class _Secrets:
    """The values no line may show, as one pattern (longest first, so a secret that contains
    another is masked whole)."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.pattern: re.Pattern[str] | None = None
        self.lock = threading.Lock()

    def add(self, values: Iterable[str | None]) -> None:
        fresh = {v for v in values if v and len(v) >= MIN_SECRET} - self.values
        if not fresh:
            return
        with self.lock:
            self.values |= fresh
            ordered = sorted(self.values, key=len, reverse=True)
            self.pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def scrub(self, text: str) -> str:
        pattern = self.pattern
        return pattern.sub(MASK, text) if pattern is not None and text else text


_secrets = _Secrets()


def redact(values: Iterable[str | None]) -> None:
    """Never show these values in a log line (process-wide)."""
    _secrets.add(values)


def scrub(text: str) -> str:
    """`text` with every registered secret masked."""
    return _secrets.scrub(text)


def _fields(record: logging.LogRecord) -> dict[str, object]:
    fields: dict[str, object] = dict(_context.get())
    own = getattr(record, "fields", None)
    if isinstance(own, Mapping):
        fields.update(own)
    return fields


def _plain(value: object) -> object:
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the context and the line's fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _fields(record).items():
            doc.setdefault(key, value)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps({key: _plain(value) for key, value in doc.items()}, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value ...`, for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        extra = " ".join(f"{key}={value}" for key, value in _fields(record).items() if value not in (None, ""))
        if extra:
            line = f"{line} [{extra}]"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return scrub(line)


def chosen_format(explicit: str | None = None, env: Mapping[str, str] = os.environ) -> LogFormat:
    """`--log-format`, else LAUNCHPAD_LOG_FORMAT, else JSON on Lambda and text elsewhere."""
    value = explicit or env.get(FORMAT_ENV) or (LogFormat.JSON if LAMBDA_ENV in env else LogFormat.TEXT)
    try:
        return LogFormat(str(value).lower())
    except ValueError:
        raise ValueError(f"unknown log format {value!r}: use json or text") from None


def setup_logging(fmt: LogFormat, level: int = logging.INFO) -> logging.Handler:
    """Route every logger through one handler: JSON lines on stdout, or text on stderr. It
    replaces the root logger's handlers (on Lambda, the runtime's own). Python's warnings (a
    library's deprecation, a short key) become log lines too: in JSON, no plain line is left."""
    handler = logging.StreamHandler(sys.stdout if fmt == LogFormat.JSON else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == LogFormat.JSON else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    for noisy in ("apprise", "botocore", "urllib3", "git"):  # they may log URLs, headers or bodies
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return handler
