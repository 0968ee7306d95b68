"""A TCP proxy that delays every chunk by half a round trip each way: a Temporal server "far away".

The benchmarks' Temporal dev server runs on loopback, where a start answers in a few
milliseconds; a deployed API reaches Temporal Cloud or a cluster over a network. Both sides of a
comparison connect through the same proxy, so they see the same round trip. Chunks keep their
order and are not held back by each other (each waits only for its own deadline), so HTTP/2
streams stay pipelined as on a real link. Bandwidth is not limited.

    python bench/latency_proxy.py TARGET_HOST TARGET_PORT LISTEN_PORT RTT_MS
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def forward() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(forward())
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
    queue.put_nowait((loop.time() + delay, b""))
    with contextlib.suppress(ConnectionError):
        await sender


async def serve(target: tuple[str, int], port: int, rtt: float) -> None:
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(reader, upstream_writer, rtt / 2), pipe(upstream_reader, writer, rtt / 2))

    server = await asyncio.start_server(connection, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def latency_proxy(target: str, port: int, rtt_ms: float) -> Iterator[str]:
    """Run the proxy in its own process (its CPU is not the benchmark's); yields its address."""
    host, target_port = target.rsplit(":", 1)
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), host, target_port, str(port), str(rtt_ms)]
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the latency proxy did not start") from None
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    target_host, target_port, listen_port, rtt_ms = sys.argv[1:5]
    asyncio.run(serve((target_host, int(target_port)), int(listen_port), float(rtt_ms) / 1000))
