"""The dashboard's overview against `GET /sync/status`, on the same 1,000 managed objects.

Both answer from the state store alone (no Temporal, no git): the overview renders, per object,
the row a person reads (status badge, reason, revision linked to its commit, the Temporal UI
link), `GET /sync/status` serialises the same objects to JSON through its response model. The
question is what the HTML costs over the API a script would call instead.

Set-up: a SQLite state store with 1,000 objects (schedules, deploy-on-start tasks and workers; a
tenth OutOfSync or Degraded with a longer reason), a last sync with outcomes and a broken file,
authentication on (the page reads the session cookie, the API the bearer header: the same JWT),
`repository.web_url` configured so that every revision is a link. The app is the one from
`create_app`, called in this process through httpx's ASGI transport; the time counted is the
server's only (from the ASGI call to its last message), measured around the app.

A third side, not a target, renders every row anew on each request (the row cache emptied
before it): what the page costs when every object changed since the last look.

The sides take turns one request each; each reports the median and p90 of N requests after W
uncounted ones, and its first request (the overview's renders every row and compiles its
templates; later ones reuse the rows, see functions/ui/overview.py). Targets: median overview /
median status <= 1.5, and the page under 300 KB uncompressed (what the browser parses and holds;
its rows link through the dashboard's short redirects for that). The page is sent gzip-compressed
to clients that accept it, as browsers do: that size is reported too, not a target. Exits 1 on a
miss.

    python bench/ui.py [--objects 1000] [--n 300] [--warmup 30]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from functions.app import create_app
from functions.ui.overview import rendered_rows
from functions.ui.session import SESSION_COOKIE
from launchpad.auth.store import SEEDED
from launchpad.auth.tokens import issue_token
from launchpad.config import parse_config
from launchpad.state.store import AppliedObject, SyncRecord

SECRET = "bench-ui-secret-0123456789abcdef"
RATIO_TARGET, SIZE_TARGET = 1.5, 300 * 1024
CONFIG = f"""
temporalio:
  servers: [{{name: local, ip: 127.0.0.1, port: 7233, gui_port: 8233, namespaces: [{{name: default}}]}}]
repository: {{url: ., web_url: "https://git.example.com/platform/workflows/commit/{{sha}}"}}
state: {{path: "{{root}}/state.db"}}
app: {{secret: {SECRET}}}
authenticator: {{base_users: [{{username: bench, password: bench-password, auth_level: [user]}}]}}
"""


def objects(count: int) -> list[AppliedObject]:
    out = []
    for i in range(count):
        kind = ("schedule", "schedule", "schedule", "schedule", "schedule", "schedule", "task", "task", "worker")[i % 9]
        name = f"{kind}-{i:04d}-nightly-report"
        status, reason = "Synced", "in sync" if kind != "task" else "running at the current version"
        if i % 10 == 3:
            status, reason = "OutOfSync", "running an older version (on_change: keep)"
        elif i % 10 == 7:
            status = "Degraded"
            reason = f"last good version kept; workflow.intervals.0.every: invalid duration (revision {i:012x})"
        out.append(
            AppliedObject(
                kind=kind,
                name=name,
                path=f"deployments/{'workers' if kind == 'worker' else 'tasks'}/{name}.yaml",
                revision=hashlib.sha1(f"commit {i}".encode()).hexdigest(),  # distinct in the 12 shown, as real shas
                spec_hash=f"{i:016x}",
                blob=f"{i:040x}",
                server="local",
                namespace="default",
                temporal_id=name if kind != "worker" else f"queue-{i % 20}",
                status=status,
                reason=reason,
            )
        )
    return out


def last_sync() -> SyncRecord:
    started = datetime.now(UTC) - timedelta(seconds=30)
    return SyncRecord(
        id="benchsync001",
        revision="f" * 40,
        trigger="webhook: github",
        started_at=started,
        finished_at=started + timedelta(seconds=2),
        status="succeeded",
        outcomes=[
            {
                "kind": "schedule",
                "name": f"schedule-{i:04d}-nightly-report",
                "action": "update",
                "ok": True,
                "message": "updated",
                "wrote": True,
            }
            for i in range(0, 60, 9)
        ],
        errors=[
            {
                "file": "deployments/tasks/schedule-0007-nightly-report.yaml",
                "path": "workflow.intervals.0.every",
                "message": "invalid duration",
                "revision": "f" * 40,
            }
        ],
    )


class Timed:
    """The app, with the duration of its last request: the server's time, not the client's."""

    def __init__(self, app: Any) -> None:
        self.app, self.last = app, 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start = time.perf_counter()
        await self.app(scope, receive, send)
        self.last = time.perf_counter() - start


def p90(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.9) - 1]


async def run(count: int, n: int, warmup: int) -> bool:
    with tempfile.TemporaryDirectory() as root:
        config = parse_config(CONFIG.replace("{root}", root), "bench-ui.yaml", env={})
        app = create_app(config)
        store = app.state.services.store
        store.put_objects(objects(count))
        store.put_sync(last_sync())
        token, _ = issue_token(SECRET, "bench", ["user"], 3600, SEEDED)
        timed = Timed(app)
        cookie = {"cookie": f"{SESSION_COOKIE}={token}"}
        sides = {
            "overview (GET /ui)": ("/ui", cookie),
            "GET /sync/status": ("/sync/status", {"authorization": f"Bearer {token}"}),
            "overview, rows anew": ("/ui?", cookie),  # every row rendered again: as if all had changed
        }
        times: dict[str, list[float]] = {side: [] for side in sides}
        sizes: dict[str, tuple[int, int]] = {}  # (as sent, uncompressed)
        first: dict[str, float] = {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=timed), base_url="http://bench") as http:
            for i in range(warmup + n):
                for side, (path, headers) in sides.items():
                    if path == "/ui?":
                        rendered_rows.clear()
                    answer = await http.get(path, headers=headers)
                    if answer.status_code != 200:
                        raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:300]}")
                    sizes[side] = (answer.num_bytes_downloaded, len(answer.content))
                    if i == 0:
                        first[side] = timed.last
                    if i >= warmup:
                        times[side].append(timed.last)
        medians = {side: statistics.median(values) for side, values in times.items()}
        ratio = medians["overview (GET /ui)"] / medians["GET /sync/status"]
        page_sent, page = sizes["overview (GET /ui)"]
        print(
            f"{count} managed objects in the state store (SQLite), auth on, web_url set; N={n} per side after {warmup}"
        )
        print(f"{'':22}{'median':>10}{'p90':>10}{'first':>10}{'sent':>11}{'uncompressed':>14}")
        for side, values in times.items():
            sent, raw = sizes[side]
            print(
                f"{side:22}{medians[side] * 1000:>7.2f} ms{p90(values) * 1000:>7.2f} ms{first[side] * 1000:>7.1f} ms"
                f"{sent / 1024:>8.1f} KB{raw / 1024:>11.1f} KB"
            )
        ratio_ok, size_ok = ratio <= RATIO_TARGET, page < SIZE_TARGET
        print(f"ratio overview / status  {ratio:.3f}    target <= {RATIO_TARGET}     {'PASS' if ratio_ok else 'MISS'}")
        print(f"page, uncompressed       {page / 1024:.1f} KB target < 300 KB  {'PASS' if size_ok else 'MISS'}")
        print(f"page as sent (gzip)      {page_sent / 1024:.1f} KB   (not a target)")
        return ratio_ok and size_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(run(args.objects, args.n, args.warmup)) else 1)


if __name__ == "__main__":
    main()
