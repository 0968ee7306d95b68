"""A real HTTP receiver for notifications, on a free loopback port, in a thread: it answers 200
(and records what it got), answers 500, or never answers (holds the request until it stops)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    mode: str = "ok"  # ok | fail | hang
    received: list[Received] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if receiver.mode == "hang":
                    receiver.stopping.wait(60)
                    return
                status = 500 if receiver.mode == "fail" else 200
                answer = b"receiver error" if status == 500 else b"ok: received"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_PUT = do_POST  # a Pushgateway's push (tests/test_signals_cli.py)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def events(self, kind: str | None = None) -> list[Received]:
        """What arrived, of one event kind (launchpad sends it in X-Launchpad-Event)."""
        return [r for r in self.received if kind is None or r.headers.get("x-launchpad-event") == kind]


def receivers(*modes: str) -> Iterator[list[Receiver]]:
    started = [Receiver(mode).start() for mode in modes]
    try:
        yield started
    finally:
        for receiver in started:
            receiver.stop()
