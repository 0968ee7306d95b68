"""`launchpad setup --name NAME`: the scaffold, run as a user runs it (a subprocess)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from launchpad.config import load_config
from launchpad.devserver import DevServer
from launchpad.registry import Registry
from launchpad.scaffold import ScaffoldError, scaffold
from launchpad.spec.catalog import load_catalog
from launchpad.temporal.connections import Connections
from launchpad.temporal.runners import runner_for
from launchpad.temporal.workers import WorkerSet
from tests.helpers import config_for, eventually, run_launchpad, write

FILES = {
    ".gitignore",
    "launchpad_configs.yaml",
    "deployments/workers/main-worker.yaml",
    "deployments/tasks/hello-world.yaml",
    "deployments/tasks/hello-schedule.yaml",
    "deployments/tasks/greet-everyone.yaml",
    "demo/__init__.py",
    "demo/temporal/__init__.py",
    "demo/temporal/activities.py",
    "demo/temporal/workflows.py",
    "demo/temporal/runners.py",
}


def clean_env(home: Path, gitconfig: str = "") -> dict[str, str]:
    """The environment with a fresh git home: no identity unless `gitconfig` gives one."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(gitconfig)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "LAUNCHPAD_", "CONFIGS_FILEPATH"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


def launchpad(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_launchpad(*args, cwd=cwd, env=env)


def setup(target: Path, env: dict[str, str], name: str = "demo") -> subprocess.CompletedProcess[str]:
    return launchpad("setup", "--name", name, "--path", str(target), cwd=target.parent, env=env)


def git(repo: Path, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the work tree (not .git) with its content and mtime."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return clean_env(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Path:
    root = tmp_path_factory.mktemp("setup") / "demo-project"  # a folder that does not exist yet
    done = setup(root, env)
    assert done.returncode == 0, done.stderr
    assert {line.removeprefix("created ") for line in done.stdout.splitlines() if line.startswith("created ")} == FILES
    return root


def test_files_are_written_and_wired(project: Path) -> None:
    assert {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file() and ".git" not in p.parts} >= FILES
    config = load_config(project / "launchpad_configs.yaml", env={})
    assert (config.tasks_dir, config.workers_dir) == ("deployments/tasks", "deployments/workers")
    assert config.code_paths == [
        "demo/temporal/activities.py",
        "demo/temporal/workflows.py",
        "demo/temporal/runners.py",
    ]
    server = config.temporalio.server()
    assert (server.address, server.resolved_default_namespace) == ("localhost:7233", "default")
    assert (config.repository.url, config.repository.branch) == (".", "main")
    assert config.state.path == ".launchpad/state.db"
    assert config.authenticator and [u.username for u in config.authenticator.base_users] == ["admin"]
    assert config.secret is not None, "the API's JWT secret (LAUNCHPAD_SECRET, with a dev default)"
    assert ".launchpad/" in (project / ".gitignore").read_text().splitlines()
    assert "class WorkflowRunnerWithResult(WorkflowRunner)" in (project / "demo/temporal/runners.py").read_text()
    assert "class ForEach(BaseWorkflow)" in (project / "demo/temporal/workflows.py").read_text()


def test_git_repository_with_one_commit_by_the_default_identity(project: Path, env: dict[str, str]) -> None:
    assert git(project, "rev-parse", "--show-toplevel", env=env) == str(project.resolve())
    assert git(project, "branch", "--show-current", env=env) == "main"
    assert (
        git(project, "log", "--format=%an <%ae>|%s", env=env)
        == "launchpad <launchpad@localhost>|launchpad setup: scaffold demo"
    )
    assert set(git(project, "ls-files", env=env).splitlines()) == FILES
    assert git(project, "status", "--porcelain", env=env) == ""


def test_generated_project_validates(project: Path, env: dict[str, str]) -> None:
    done = launchpad("validate", cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    assert "ok: 3 task(s), 1 worker(s)" in done.stdout
    assert git(project, "status", "--porcelain", env=env) == "", "validate's byproducts are ignored by .gitignore"


def test_running_setup_twice_changes_nothing(project: Path, env: dict[str, str]) -> None:
    before, head = snapshot(project), git(project, "rev-parse", "HEAD", env=env)
    done = setup(project, env)
    assert done.returncode == 0, done.stderr
    assert "created" not in done.stdout
    assert {line.split()[1] for line in done.stdout.splitlines() if line.startswith("skipped ")} == FILES
    assert "nothing to do" in done.stdout
    assert snapshot(project) == before
    assert git(project, "rev-parse", "HEAD", env=env) == head
    assert git(project, "rev-list", "--count", "HEAD", env=env) == "1"


@pytest.mark.parametrize(
    ("name", "messages"),
    [
        (
            "my-project",
            ["invalid project name 'my-project': it must be a valid Python package name", "try 'my_project'"],
        ),
        ("class", ["invalid project name 'class': it is a Python keyword"]),
        ("1st", ["invalid project name '1st'"]),
        ("json", ["the project folder would shadow it"]),
    ],
)
def test_an_invalid_name_fails_clearly_and_writes_nothing(
    tmp_path: Path, env: dict[str, str], name: str, messages: list[str]
) -> None:
    done = setup(tmp_path / "p", env, name)
    assert done.returncode == 1
    for message in messages:
        assert message in done.stderr
    assert not (tmp_path / "p").exists()


def test_existing_files_are_kept_and_listed_as_skipped(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home", "[user]\n\tname = Ada\n\temail = ada@example.com\n")
    root = tmp_path / "existing"
    mine = "# my own hello-world\nname: hello-world\n"
    write(root / "deployments/tasks/hello-world.yaml", mine)
    write(root / "README.md", "# mine\n")
    done = setup(root, env)
    assert done.returncode == 0, done.stderr
    assert "skipped deployments/tasks/hello-world.yaml (exists; left unchanged)" in done.stdout
    assert "created deployments/tasks/hello-world.yaml" not in done.stdout
    assert (root / "deployments/tasks/hello-world.yaml").read_text() == mine
    assert (root / "launchpad_configs.yaml").exists()
    assert git(root, "log", "--format=%an <%ae>", env=env) == "Ada <ada@example.com>", "a configured identity is used"
    assert "README.md" not in git(root, "ls-files", env=env), "only the scaffold's files are committed"
    assert "note: only the scaffold's files were committed" in done.stdout


def test_an_existing_repository_gets_no_commit(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home", "[user]\n\tname = Ada\n\temail = ada@example.com\n")
    root = tmp_path / "repo"
    write(root / "README.md", "# mine\n")
    git(root, "init", "-q", "-b", "trunk", env=env)
    git(root, "add", "README.md", env=env)
    git(root, "commit", "-q", "-m", "first", env=env)
    head = git(root, "rev-parse", "HEAD", env=env)
    done = setup(root, env)
    assert done.returncode == 0, done.stderr
    assert git(root, "rev-parse", "HEAD", env=env) == head
    assert "commit the new files yourself" in done.stdout
    assert (root / "demo/temporal/activities.py").exists()


@pytest.mark.temporal
async def test_generated_worker_and_tasks_run(project: Path, temporal_server: DevServer) -> None:
    """The scaffold's worker serves its hello-world task and its custom workflow and runner."""
    suffix = uuid.uuid4().hex[:8]
    config = load_config(project / "launchpad_configs.yaml", env={})
    registry = Registry.builtin()
    registry.load_paths([config.path(p) for p in config.code_paths])
    assert not registry.module_errors, registry.module_errors
    catalog = load_catalog([config.path(config.tasks_dir), config.path(config.workers_dir)], env={})
    assert not catalog.errors, catalog.errors
    connections = Connections(config_for(temporal_server).temporalio)
    workers = WorkerSet(connections, registry)
    spec = catalog.workers["main-worker"]
    queue = f"{spec.worker.task_queue}-{suffix}"
    await workers.start(
        "main-worker", spec.model_copy(update={"worker": spec.worker.model_copy(update={"task_queue": queue})})
    )
    try:
        results: dict[str, Any] = {}
        render = {"hello-world": {"overwrite": {"workflow.workflow_kwargs.args.0": "Ada"}}}
        for name in ("hello-world", "greet-everyone", "hello-schedule"):
            document = catalog.tasks[name]
            workflow = {**document.doc["workflow"], "task_queue": queue}
            workflow["workflow_id"] = f"{workflow['workflow_id']}-{suffix}"
            if "scheduler_id" in workflow:
                workflow["scheduler_id"] = f"{workflow['scheduler_id']}-{suffix}"
            task = dataclasses.replace(document, doc={**document.doc, "workflow": workflow}).render(
                **render.get(name, {})
            )
            results[name] = await runner_for(task, connections, registry).deploy(task)
        client = await connections.client()
        hello = results["hello-world"]
        assert await client.get_workflow_handle(hello.workflow_id or "").result() == "Hello, Ada!"
        assert (results["greet-everyone"].action, results["greet-everyone"].result) == (
            "completed",
            ["Hello, Ada!", "Hello, Grace!", "Hello, Linus!"],
        )
        schedule = client.get_schedule_handle(results["hello-schedule"].schedule_id or "")
        try:

            async def started() -> Any:
                return (await schedule.describe()).info.recent_actions  # trigger_immediately

            actions = await eventually(started, 30, "the schedule running at creation")
            run = client.get_workflow_handle(actions[0].action.workflow_id)
            assert await asyncio.wait_for(run.result(), 30) == "Hello, schedule!"
        finally:
            await schedule.delete()
    finally:
        await workers.stop_all()


def test_a_file_in_the_way_fails_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "deployments").write_text("not a folder")
    with pytest.raises(ScaffoldError, match="deployments exists and is not a folder"):
        scaffold("demo", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deployments"]
