"""A minimal HTTP/1.1 keep-alive client, for benchmarks: asyncio streams, or a blocking socket.

httpx costs about 2-3 ms of CPU per request on this class of machine; on a 2-core box shared by
the client, the API and the Temporal dev server, that CPU is taken from the server being measured.
This client does the least a client can (write the request, read the status, the headers and a
`Content-Length` body) so what a benchmark reports is the server's cost, as it would be for a
caller written in any language. It supports exactly what uvicorn answers to the benchmarks: no
chunked bodies, no redirects, no TLS.

`BlockingClient` is the same request over one plain socket, for one request at a time: a
sequential caller waits anyway, and the event loop's stream machinery would cost several times
the CPU of a `sendall` and a `recv`.
"""

from __future__ import annotations

import asyncio
import json
import socket
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


def header_lines(headers: dict[str, str] | None) -> str:
    return "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())


def encode(host: str, headers: str, method: str, path: str, payload: Any) -> bytes:
    body = b"" if payload is None else json.dumps(payload).encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Content-Length: {len(body)}\r\n"
    if payload is not None:
        head += "Content-Type: application/json\r\n"
    return head.encode() + b"\r\n" + body


def parse_head(what: str, status_line: bytes, lines: list[bytes]) -> tuple[int, int, bool]:
    """The status, the body's length and whether the connection stays open."""
    if not status_line:
        raise ConnectionError(f"{what}: the server closed the connection")
    length, keep = 0, True
    for line in lines:
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            raise ConnectionError(f"{what}: chunked answers are not supported")
        elif name == "connection" and value == "close":
            keep = False
    return int(status_line.split()[1]), length, keep


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used: float


class KeepAliveClient:
    """A pool of keep-alive connections to one host; as many open at once as requests in flight."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.headers = header_lines(headers)
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
        conn = await self._connection()
        conn.writer.write(encode(self.host, self.headers, method, path, payload))
        status_line = await conn.reader.readline()
        lines = []
        while status_line and (line := await conn.reader.readline()) not in (b"\r\n", b""):
            lines.append(line)
        status, length, keep = parse_head(f"{method} {path}", status_line, lines)
        answer = Answer(status, await conn.reader.readexactly(length))
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


class BlockingClient:
    """One keep-alive connection, one request at a time, on a blocking socket."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.headers = header_lines(headers)
        self.sock: socket.socket | None = None
        self.used = 0.0

    def request(self, method: str, path: str, payload: Any = None) -> Answer:
        if self.sock is None or time.monotonic() - self.used >= IDLE_EXPIRY:
            self.close()
            self.sock = socket.create_connection((self.host, self.port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(encode(self.host, self.headers, method, path, payload))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *lines = head.split(b"\r\n") if head else [b""]
        status, length, keep = parse_head(f"{method} {path}", status_line, lines)
        while len(body) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{method} {path}: the server closed the connection mid-answer")
            body += chunk
        if keep:
            self.used = time.monotonic()
        else:
            self.close()
        return Answer(status, body[:length])

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
