"""A minimal HTTP/1.1 keep-alive client over asyncio streams, for benchmarks.

httpx costs about 2-3 ms of CPU per request on this class of machine; on a 2-core box shared by
the client, the API and the Temporal dev server, that CPU is taken from the server being measured.
This client does the least a client can (write the request, read the status, the headers and a
`Content-Length` body) so what a benchmark reports is the server's cost, as it would be for a
caller written in any language. It supports exactly what uvicorn answers to the benchmarks: no
chunked bodies, no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

IDLE_EXPIRY = 2.0  # s; below uvicorn's 5 s keep-alive timeout, so a reused connection is never one it closes


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used: float


class KeepAliveClient:
    """A pool of keep-alive connections to one host; as many open at once as requests in flight."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.idle: list[_Connection] = []

    async def _connection(self) -> _Connection:
        while self.idle:
            conn = self.idle.pop()
            if time.monotonic() - conn.used < IDLE_EXPIRY:
                return conn
            conn.writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return _Connection(reader, writer, time.monotonic())

    async def request(self, method: str, path: str, payload: Any = None) -> Answer:
        body = b"" if payload is None else json.dumps(payload).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.headers}Content-Length: {len(body)}\r\n"
        if payload is not None:
            head += "Content-Type: application/json\r\n"
        conn = await self._connection()
        conn.writer.write(head.encode() + b"\r\n" + body)
        status_line = await conn.reader.readline()
        if not status_line:
            raise ConnectionError(f"{method} {path}: the server closed the connection")
        length, keep = 0, True
        while (line := await conn.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                raise ConnectionError(f"{method} {path}: chunked answers are not supported")
            elif name == "connection" and value == "close":
                keep = False
        answer = Answer(int(status_line.split()[1]), await conn.reader.readexactly(length))
        if keep:
            conn.used = time.monotonic()
            self.idle.append(conn)
        else:
            conn.writer.close()
        return answer

    async def close(self) -> None:
        for conn in self.idle:
            conn.writer.close()
        self.idle.clear()
