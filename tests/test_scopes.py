"""Two scoped reconcilers on one repository and one state store: each its own lease and its own
objects, never touching the other's (docs/scaling.md)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from launchpad.config import Config, parse_config
from launchpad.state import open_store
from reconciler.sync import Reconciler, Scope
from tests.conftest import ENGINE_QUEUE, SECOND_NAMESPACE, Engine
from tests.gitrepo import GitRepo
from tests.helpers import SCHEDULE_TASK, run_launchpad, temporal_json

pytestmark = pytest.mark.temporal


def scoped(engine: Engine, root: Path, repo: GitRepo, scopes: str) -> Config:
    """The configuration, also written to ROOT/launchpad_configs.yaml for the command line."""
    host, port = engine.server.address.split(":")
    text = f"""
temporalio:
  servers: [{{name: local, ip: {host}, port: {port}, namespaces: [{{name: default}}, {{name: {SECOND_NAMESPACE}}}]}}]
repository: {{url: "{repo.remote}", branch: main, cache_dir: "{root}/cache"}}
state: {{path: "{root}/state.db"}}
reconciler: {{scopes: [{scopes}]}}
"""
    (root / "launchpad_configs.yaml").write_text(text)
    return parse_config(text, "launchpad_configs.yaml", env={})


def status_names(root: Path, scope: str) -> list[str]:
    """The objects `launchpad status --scope SCOPE --json` lists."""
    done = run_launchpad("status", "--scope", scope, "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    return [o["name"] for o in json.loads(done.stdout)["objects"]]


def ids(engine: Engine, prefix: str, namespace: str = "default") -> set[str]:
    listed = temporal_json(engine.server, "schedule", "list", namespace=namespace) or []
    return {s["scheduleId"] for s in listed if s["scheduleId"].startswith(prefix)}


async def test_folder_scopes_share_a_repository_and_never_touch_each_other(tmp_path: Path, engine: Engine) -> None:
    repo = GitRepo(tmp_path)
    p = f"sc{uuid.uuid4().hex[:6]}"

    def task(folder: str, name: str) -> None:
        repo.write(
            f"deployments/tasks/{folder}/{name}.yaml",
            SCHEDULE_TASK.format(name=name, sid=f"{p}-{name}", queue=ENGINE_QUEUE, every="1h"),
        )

    task("a", "x")
    task("a", "w")  # each scope keeps one more: deleting a scope's last object is refused (allow_empty)
    task("b", "y")
    task("b", "z")
    repo.commit()
    config = scoped(
        engine, tmp_path, repo, "{name: a, folders: [deployments/tasks/a]}, {name: b, folders: [deployments/tasks/b]}"
    )
    a = Reconciler(config, open_store(config), connections=engine.connections, scope=Scope.named(config, "a"))
    elsewhere = config.model_copy(deep=True)  # b runs on another host: a cache of its own
    elsewhere.repository.cache_dir = f"{tmp_path}/cache-b"
    b = Reconciler(elsewhere, open_store(config), connections=engine.connections, scope=Scope.named(config, "b"))
    first_a, first_b = await asyncio.gather(a.sync("a"), b.sync("b"))
    assert (first_a.status, first_b.status) == ("succeeded", "succeeded"), (first_a.message, first_b.message)
    assert sorted(o.name for o in first_a.outcomes if o.wrote) == ["w", "x"]
    assert sorted(o.name for o in first_b.outcomes if o.wrote) == ["y", "z"]
    assert ids(engine, p) == {f"{p}-w", f"{p}-x", f"{p}-y", f"{p}-z"}
    assert (await a.sync("a", hard=True)).writes == 0, "a's drift scan leaves b's schedule alone"
    assert (await b.sync("b", hard=True)).writes == 0

    repo.delete("deployments/tasks/b/y.yaml")
    repo.commit("remove y")
    assert (await a.sync("a", hard=True)).writes == 0 and f"{p}-y" in ids(engine, p), "not a's to prune"
    pruned = await b.sync("b")
    assert [o.action for o in pruned.outcomes if o.wrote] == ["delete"], (
        pruned.status,
        pruned.message,
        pruned.outcomes,
    )
    assert ids(engine, p) == {f"{p}-w", f"{p}-x", f"{p}-z"}

    repo.delete("deployments/tasks/a/x.yaml")
    task("b", "x")
    repo.commit("x moves to b")
    blocked = await b.sync("b")
    assert blocked.status == "failed" and "managed by task 'x' of launchpad" in blocked.outcomes[0].message
    moved = await a.sync("a")
    assert [o.action for o in moved.outcomes if o.wrote] == ["delete"], (moved.status, moved.message, moved.outcomes)
    healed = await b.sync("b", hard=True)  # or its next poll after the retry back-off
    assert [o.message for o in healed.outcomes if o.wrote] == ["created"]
    assert ids(engine, p) == {f"{p}-w", f"{p}-x", f"{p}-z"}
    assert (await a.sync("a", hard=True)).writes == 0 and (await b.sync("b", hard=True)).writes == 0


async def test_namespace_scopes_split_one_folder(tmp_path: Path, engine: Engine) -> None:
    repo = GitRepo(tmp_path)
    p = f"sn{uuid.uuid4().hex[:6]}"
    repo.write(
        "deployments/tasks/one.yaml", SCHEDULE_TASK.format(name="one", sid=f"{p}-one", queue=ENGINE_QUEUE, every="1h")
    )
    second = SCHEDULE_TASK.format(name="two", sid=f"{p}-two", queue=ENGINE_QUEUE, every="1h")
    repo.write("deployments/tasks/two.yaml", f"namespace: {SECOND_NAMESPACE}\n{second}")
    repo.commit()
    config = scoped(
        engine,
        tmp_path,
        repo,
        f"{{name: first, namespaces: [default]}}, {{name: second, namespaces: [local/{SECOND_NAMESPACE}]}}",
    )
    first = Reconciler(config, open_store(config), connections=engine.connections, scope=Scope.named(config, "first"))
    other = Reconciler(config, open_store(config), connections=engine.connections, scope=Scope.named(config, "second"))
    assert [o.name for o in (await first.sync("first")).outcomes if o.wrote] == ["one"]
    assert [o.name for o in (await other.sync("second")).outcomes if o.wrote] == ["two"]
    assert ids(engine, p) == {f"{p}-one"} and ids(engine, p, SECOND_NAMESPACE) == {f"{p}-two"}
    assert (status_names(tmp_path, "first"), status_names(tmp_path, "second")) == (["one"], ["two"])
    assert (await first.sync("first", hard=True)).writes == 0 and (await other.sync("second", hard=True)).writes == 0


async def test_a_task_may_depend_on_another_scopes_task(tmp_path: Path, engine: Engine) -> None:
    """depends_on names a task wherever it is managed: the dependant waits until the other
    scope's reconciler has synced its dependency, then goes."""
    repo = GitRepo(tmp_path)
    p = f"sd{uuid.uuid4().hex[:6]}"

    def task(folder: str, name: str, more: str = "") -> None:
        text = SCHEDULE_TASK.format(name=name, sid=f"{p}-{name}", queue=ENGINE_QUEUE, every="1h")
        repo.write(f"deployments/tasks/{folder}/{name}.yaml", more + text)

    task("a", "report", "depends_on: [base]\n")
    task("b", "base")
    repo.commit()
    config = scoped(
        engine, tmp_path, repo, "{name: a, folders: [deployments/tasks/a]}, {name: b, folders: [deployments/tasks/b]}"
    )
    a = Reconciler(config, open_store(config), connections=engine.connections, scope=Scope.named(config, "a"))
    b = Reconciler(config, open_store(config), connections=engine.connections, scope=Scope.named(config, "b"))
    waiting = await a.sync("a")
    assert [o.message for o in waiting.outcomes] == ["waiting for 'base': missing: no reconciled task of that name"]
    assert ids(engine, p) == set()
    assert [o.name for o in (await b.sync("b")).outcomes if o.wrote] == ["base"]
    went = await a.sync("a", hard=True)  # or its next poll after the retry back-off
    assert [o.name for o in went.outcomes if o.wrote] == ["report"], (went.status, went.outcomes)
    assert ids(engine, p) == {f"{p}-base", f"{p}-report"}
