"""No silent keys: what the files accept is used (a server's `proxy`) or refused by name (a worker
file's task keys); the dev server's search attributes are what its comment says; git is the
user's, found on their PATH."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from functions.stack import WORKTREE_BRANCH, snapshot_worktree
from launchpad.config import parse_config
from launchpad.devserver import SEARCH_ATTRIBUTES, DevServer
from launchpad.errors import SpecErrors, TemporalUnavailable
from launchpad.schema import json_schema
from launchpad.spec.catalog import load_catalog
from launchpad.temporal.connections import Connections
from launchpad.temporal.memo import MARKER
from tests.conftest import Engine
from tests.gitrepo import GitRepo
from tests.helpers import temporal_json, write

ROOT = Path(__file__).resolve().parents[1]


# --- worker files: task-only keys are refused by name ------------------------------------------


def test_a_worker_file_refuses_task_keys_by_name(tmp_path: Path) -> None:
    write(
        tmp_path / "workers/main.yaml",
        """
        template: false
        deploy_on_server_start: true
        worker:
          task_queue: q
          max_workers: 0
        """,
    )
    catalog = load_catalog([tmp_path / "workers"], env={})
    assert not catalog.workers
    errors = {(e.path, e.message) for e in catalog.errors}
    assert ("template", "a task key: worker files are not templates; remove it") in errors
    assert (
        "deploy_on_server_start",
        "a task key: a worker runs while `launchpad worker`, `start` or `dev` runs; remove it",
    ) in errors
    assert any(path == "worker.max_workers" for path, _ in errors), "the file's other errors are reported too"
    assert {"template", "deploy_on_server_start"}.isdisjoint(json_schema("worker")["properties"])


def test_launchpad_validate_names_the_refused_key(tmp_path: Path) -> None:
    write(tmp_path / "workers/main.yaml", "template: true\nworker: {task_queue: q}\n")
    done = subprocess.run(
        [sys.executable, "-m", "launchpad", "validate", "workers"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHPAD_", "CONFIGS_FILEPATH"))},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "workers/main.yaml: template: a task key: worker files are not templates" in done.stdout + done.stderr


# --- a server's proxy: HTTP CONNECT, as Client.connect(http_connect_proxy_config=) ---------------


@dataclass
class ConnectProxy:
    """An HTTP CONNECT proxy on loopback that records each tunnel it was asked for."""

    credentials: str | None = None  # "user:password" the proxy demands, if any
    tunnels: list[tuple[str, str | None]] = field(default_factory=list)  # (target, Proxy-Authorization)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _ = head[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        given = headers.get("proxy-authorization")
        self.tunnels.append((target, given))
        expected = f"Basic {base64.b64encode(self.credentials.encode()).decode()}" if self.credentials else None
        if method != "CONNECT" or given != expected:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        host, port = target.rsplit(":", 1)
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[ConnectProxy]:
    proxy = ConnectProxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    async with server:
        yield proxy


def proxied(server: DevServer, proxy: str) -> Connections:
    host, port = server.address.rsplit(":", 1)
    text = f"temporalio:\n  servers:\n    - {{name: far, ip: {host}, port: {port}, proxy: '{proxy}'}}\n"
    return Connections(parse_config(text, "c.yaml", env={}).temporalio, connect_timeout=5)


@pytest.mark.temporal
async def test_a_server_is_reached_through_its_proxy(temporal_server: DevServer, proxy: ConnectProxy) -> None:
    client = await proxied(temporal_server, f"127.0.0.1:{proxy.port}").client()
    await client.count_workflows()
    assert proxy.tunnels and {target for target, _ in proxy.tunnels} == {temporal_server.address}


@pytest.mark.temporal
async def test_proxy_credentials_come_from_the_url(temporal_server: DevServer, proxy: ConnectProxy) -> None:
    proxy.credentials = "lp:s3cr@t"
    client = await proxied(temporal_server, f"http://lp:s3cr%40t@127.0.0.1:{proxy.port}").client()
    await client.count_workflows()
    assert proxy.tunnels[-1] == (temporal_server.address, f"Basic {base64.b64encode(b'lp:s3cr@t').decode()}")


@pytest.mark.temporal
async def test_a_proxy_that_refuses_makes_the_server_unavailable(
    temporal_server: DevServer, proxy: ConnectProxy
) -> None:
    proxy.credentials = "lp:s3cr@t"
    with pytest.raises(TemporalUnavailable, match=r"'far' at .* is unreachable"):
        await proxied(temporal_server, f"127.0.0.1:{proxy.port}").client()
    assert proxy.tunnels, "the connection went to the proxy"


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        ("socks5://user:hunter2@proxy:1080", "scheme 'socks5' is not supported"),
        ("https://user:hunter2@proxy:3128", "scheme 'https' is not supported"),
        ("http://user:hunter2@proxy", "give host:port or http://[user:password@]host:port"),
        ("user:hunter2@proxy:3128/path", "give host:port or http://[user:password@]host:port"),
    ],
)
def test_a_bad_proxy_is_refused_without_echoing_it(proxy: str, message: str) -> None:
    text = f"temporalio:\n  servers:\n    - {{name: far, proxy: '{proxy}'}}\n"
    with pytest.raises(SpecErrors) as refused:
        parse_config(text, "c.yaml", env={})
    [error] = refused.value.errors
    assert error.path == "temporalio.servers.0.proxy" and message in error.message
    assert "hunter2" not in str(refused.value)


# --- the dev server's search attributes ---------------------------------------------------------


@pytest.mark.temporal
async def test_dev_server_search_attributes_are_for_task_files_not_ownership(engine: Engine) -> None:
    listed = temporal_json(engine.server, "operator", "search-attribute", "list")
    custom = listed["customAttributes"] if isinstance(listed, dict) else {}
    assert {name: custom.get(name) for name in SEARCH_ATTRIBUTES} == {
        name: "INDEXED_VALUE_TYPE_KEYWORD" for name in SEARCH_ATTRIBUTES
    }, "registered at start, so a task file may set them"
    wid = f"sa-{os.urandom(4).hex()}"
    text = f"""
        name: plain
        runner: WorkflowRunner
        workflow: {{task_queue: nowhere, workflow_id: {wid}, workflow: Task, workflow_kwargs: {{activity: zero}}}}
        """
    await engine.deploy(text, "plain")
    handle = (await engine.client()).get_workflow_handle(wid)
    described = await handle.describe()
    assert (await described.memo())[MARKER]["task"] == "plain", "ownership is the memo marker"
    assert not set(SEARCH_ATTRIBUTES) & {pair.key.name for pair in described.typed_search_attributes}
    await handle.terminate()


# --- git: the user's, on their PATH -------------------------------------------------------------


def git_on_path(tmp_path: Path) -> tuple[Path, Path]:
    """A folder with a `git` that logs its arguments and runs the real git (which this test
    finds once): a git that only the user's PATH leads to. Returns (folder, log file)."""
    real = shutil.which("git")
    assert real, "git is installed"
    folder, log = tmp_path / "user-bin", tmp_path / "git-calls.log"
    folder.mkdir()
    wrapper = folder / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return folder, log


def test_launchpad_dev_worktree_snapshot_runs_the_git_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = GitRepo(tmp_path)
    repo.write("deployments/tasks/a.yaml", "name: a\n")
    repo.commit(push=False)
    (repo.work / "deployments/tasks/b.yaml").write_text("name: b\n")  # saved, not committed
    folder, log = git_on_path(tmp_path)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    commit = snapshot_worktree(repo.work)
    assert commit and repo.git("rev-parse", WORKTREE_BRANCH) == commit
    calls = log.read_text().splitlines()
    assert {"add -A", "write-tree"} <= set(calls) and any(c.startswith("commit-tree") for c in calls), calls


def test_the_test_repositories_run_the_git_on_path(tmp_path: Path) -> None:
    folder, log = git_on_path(tmp_path)
    script = "import sys; from pathlib import Path; from tests.gitrepo import GitRepo; GitRepo(Path(sys.argv[1]))"
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"},
        check=True,
        timeout=60,
    )
    assert any(call.startswith("init") for call in log.read_text().splitlines())
