"""The long-running launchpad process: API + reconciler loop + workers, on one event loop.

`launchpad start` runs it against configured Temporal servers (the single-host production
mode); `launchpad dev` runs it against a local dev server it starts, syncing commits within
about a second (and, with --worktree, saved files that are not committed yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from functions.app import create_app
from functions.services import Services
from functions.serving import server_options
from launchpad.config import Config
from launchpad.devserver import port_in_use
from launchpad.errors import LaunchpadError
from launchpad.temporal.workers import WorkerSet
from reconciler.sync import SyncResult

WORKTREE_BRANCH = "launchpad-worktree"


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the stack stops everything in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Stack:
    config: Config
    host: str = "127.0.0.1"
    port: int = 8000
    interval: float = 30.0
    worktree: Path | None = None  # also sync saved, uncommitted files of this repository
    on_sync: Callable[[SyncResult], None] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        if port_in_use(self.port, self.host):
            raise LaunchpadError(f"port {self.port} is already in use on {self.host}: choose another with --api-port")
        services = Services.from_config(self.config)
        reconciler = services.reconciler
        workers = WorkerSet(services.connections, reconciler.registry)
        reconciler.workers = workers
        await services.connections.register_namespaces()
        app = create_app(self.config, services)
        options = server_options(self.config)
        server = _Server(
            uvicorn.Config(
                app,
                host=self.host,
                port=self.port,
                log_level="warning",
                lifespan="off",
                log_config=None,  # its lines go through launchpad's handler, in the chosen format
                **options,
            )
        )
        api = asyncio.create_task(server.serve())
        try:
            while not stop.is_set():
                if self.worktree is not None:
                    await asyncio.to_thread(snapshot_worktree, self.worktree)
                result = await reconciler.turn()
                if self.on_sync and result and (result.writes or result.status != "succeeded" or result.errors):
                    self.on_sync(result)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)
        finally:
            server.should_exit = True
            await asyncio.gather(api, return_exceptions=True)
            await workers.stop_all()
            reconciler.source.close()


def snapshot_worktree(repo: Path) -> str | None:
    """Commit the work tree as it is on disk (tracked and untracked files, .gitignore honoured)
    to the branch `launchpad-worktree`, without touching HEAD, the index or the files."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "GIT_INDEX_FILE": str(Path(tmp) / "index"),
            "GIT_AUTHOR_NAME": "launchpad",
            "GIT_AUTHOR_EMAIL": "launchpad@localhost",
            "GIT_COMMITTER_NAME": "launchpad",
            "GIT_COMMITTER_EMAIL": "launchpad@localhost",
            "PATH": os.environ.get("PATH", os.defpath),  # the user's git, wherever it is installed
        }

        def git(*args: str) -> str:
            return subprocess.run(
                ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
            ).stdout.strip()

        git("add", "-A")
        tree = git("write-tree")
        previous = subprocess.run(
            ["git", "rev-parse", "-q", "--verify", f"refs/heads/{WORKTREE_BRANCH}^{{tree}}"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if previous == tree:
            return None
        head = subprocess.run(
            ["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=repo, capture_output=True, text=True, check=False
        ).stdout.strip()
        commit = git("commit-tree", tree, "-m", "launchpad dev: work tree snapshot", *(["-p", head] if head else []))
        git("update-ref", f"refs/heads/{WORKTREE_BRANCH}", commit)
        return commit


def run_until_signal(stack: Stack) -> None:
    """Run the stack until SIGINT/SIGTERM (Ctrl-C stops every part cleanly)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stack.run(stop)

    asyncio.run(main())
