"""`launchpad setup --name NAME`: scaffold a launchpad project in a new or existing folder.

It writes a worker, three example tasks (on demand, a schedule, custom components), the
project's code folder (`NAME/temporal/` with an activity, a custom workflow and a custom
runner), `launchpad_configs.yaml` wired to all of them and a `.gitignore`; then, when the
folder is not in a git repository yet, `git init -b main` and a first commit of those files.

It never overwrites a file: what exists is listed as skipped, so running it twice
changes nothing the second time (and makes no second commit).
"""

from __future__ import annotations

import keyword
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from launchpad.errors import LaunchpadError

PLACEHOLDER = "@@name@@"
DEFAULT_IDENTITY = {"user.name": "launchpad", "user.email": "launchpad@localhost"}
# Top-level packages a project folder must not shadow: `python -m launchpad`, run from the
# project folder, puts that folder first on sys.path.
RESERVED = frozenset(
    {
        "launchpad",
        "launchpad_user",
        "reconciler",
        "functions",
        "temporalio",
        "yaml",
        "jinja2",
        "pydantic",
        "git",
        "typer",
        "rich",
        "fastapi",
        "uvicorn",
        "mangum",
        "jwt",
        "boto3",
        "argon2",
        "google",
    }
)


class ScaffoldError(LaunchpadError):
    code = "scaffold_error"


@dataclass
class ScaffoldResult:
    root: Path
    name: str
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    git_initialized: bool = False
    commit: str | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # git failed after the files were written

    def summary(self) -> list[str]:
        """Plain lines for the command line."""
        lines = [f"created {path}" for path in self.created]
        lines += [f"skipped {path} (exists; left unchanged)" for path in self.skipped]
        if self.git_initialized:
            lines.append("initialized a git repository (branch main)")
        if self.commit:
            lines.append(f"committed the scaffold: {self.commit[:12]}")
        lines += self.notes
        if self.error:
            return lines
        if not self.created and not self.commit:
            lines.append("nothing to do: the project is already set up")
        lines += [
            "next steps:",
            f"  cd {self.root}",
            "  launchpad validate              # check the config, tasks, workers and code",
            "  launchpad dev                   # Temporal dev server, workers, reconciler (hello-schedule), API",
            "  launchpad deploy hello-world    # from another terminal: run the example task",
        ]
        return lines


def check_name(name: str) -> None:
    """The project name is the code folder's name: it must be importable as a package."""
    if not name.isidentifier():
        hint = name.replace("-", "_").replace(" ", "_").replace(".", "_")
        suggestion = f"; try {hint!r}" if hint.isidentifier() and not keyword.iskeyword(hint) else ""
        raise ScaffoldError(
            f"invalid project name {name!r}: it must be a valid Python package name "
            f"(letters, digits and underscores, not starting with a digit){suggestion}"
        )
    if keyword.iskeyword(name):
        raise ScaffoldError(f"invalid project name {name!r}: it is a Python keyword; choose another name")
    if name in RESERVED or name in sys.stdlib_module_names:
        raise ScaffoldError(
            f"invalid project name {name!r}: a package of that name already exists "
            "(standard library or launchpad's dependencies) and the project folder would shadow it"
        )


def project_files(name: str) -> dict[str, str]:
    """Relative path -> content of every file the scaffold writes."""
    files = {
        ".gitignore": GITIGNORE,
        "launchpad_configs.yaml": CONFIG,
        "deployments/workers/main-worker.yaml": WORKER,
        "deployments/tasks/hello-world.yaml": HELLO_WORLD,
        "deployments/tasks/hello-schedule.yaml": HELLO_SCHEDULE,
        "deployments/tasks/hello-everyone.yaml": HELLO_EVERYONE,
        f"{name}/__init__.py": PACKAGE_INIT,
        f"{name}/temporal/__init__.py": TEMPORAL_INIT,
        f"{name}/temporal/activities.py": ACTIVITIES,
        f"{name}/temporal/workflows.py": WORKFLOWS,
        f"{name}/temporal/runners.py": RUNNERS,
    }
    return {path: text.replace(PLACEHOLDER, name) for path, text in files.items()}


def scaffold(name: str, path: Path | str = ".") -> ScaffoldResult:
    """Write the project files that do not exist yet; set up git when there is no repository."""
    check_name(name)
    root = Path(path).expanduser()
    if root.exists() and not root.is_dir():
        raise ScaffoldError(f"{root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    result = ScaffoldResult(root, name)
    files = project_files(name)
    for relative in files:  # refuse before writing anything
        for parent in list((root / relative).relative_to(root).parents)[:-1]:
            if (root / parent).exists() and not (root / parent).is_dir():
                raise ScaffoldError(f"cannot write {relative}: {parent} exists and is not a folder")
    for relative, text in files.items():
        target = root / relative
        if target.exists() or target.is_symlink():
            result.skipped.append(relative)
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("x", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        except FileExistsError:  # appeared meanwhile: still never overwritten
            result.skipped.append(relative)
            continue
        except OSError as exc:
            raise ScaffoldError(f"cannot write {relative}: {exc.strerror or exc}") from None
        result.created.append(relative)
    if ".gitignore" in result.skipped and ".launchpad" not in (root / ".gitignore").read_text(errors="replace"):
        result.notes.append("note: add .launchpad/ to your .gitignore (local state and the dev server's data)")
    try:
        _setup_git(result, list(files))
    except ScaffoldError as exc:
        result.error = str(exc)
    return result


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise ScaffoldError("git is not installed; install it, or run `git init` yourself") from None
    if check and done.returncode != 0:
        raise ScaffoldError(f"git {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


def _setup_git(result: ScaffoldResult, paths: list[str]) -> None:
    """`git init -b main` and a first commit when there is no repository; a repository whose
    root is this folder and that has no commit yet gets the first commit; otherwise git is
    left alone (the user commits)."""
    root = result.root
    inside = _git(root, "rev-parse", "--show-toplevel", check=False)
    if inside.returncode != 0:
        if _git(root, "init", "-q", "-b", "main", check=False).returncode != 0:  # git < 2.28
            _git(root, "init", "-q")
            _git(root, "symbolic-ref", "HEAD", "refs/heads/main")
        result.git_initialized = True
    elif Path(inside.stdout.strip()).resolve() != root:
        if result.created:
            result.notes.append(
                f"note: this folder is inside the git repository {inside.stdout.strip()}: commit the new files "
                "yourself, and point repository.url / tasks_path / workers_path in launchpad_configs.yaml at it"
            )
        return
    if _git(root, "rev-parse", "--verify", "-q", "HEAD", check=False).returncode == 0:
        if result.created:
            result.notes.append("note: the repository already has commits: review and commit the new files yourself")
        return
    ignored = set(_git(root, "check-ignore", "--", *paths, check=False).stdout.splitlines())
    paths = [p for p in paths if p not in ignored and (root / p).exists()]
    if not paths:
        return
    _git(root, "add", "--", *paths)
    identity: list[str] = []
    for key, default in DEFAULT_IDENTITY.items():
        if not _git(root, "config", key, check=False).stdout.strip():
            identity += ["-c", f"{key}={default}"]
    _git(root, *identity, "commit", "-q", "-m", f"launchpad setup: scaffold {result.name}", "--", *paths)
    result.commit = _git(root, "rev-parse", "HEAD").stdout.strip()
    if _git(root, "status", "--porcelain").stdout.strip():
        result.notes.append("note: only the scaffold's files were committed; commit your other files yourself")


GITIGNORE = """\
# launchpad's local state (state store, repository cache, dev server data)
.launchpad/
__pycache__/
*.py[cod]
.venv/
.pytest_cache/
"""

CONFIG = """\
# launchpad configuration of @@name@@ (written by `launchpad setup`).
# Relative paths are relative to this file's folder. Any string may use ${VAR} or ${VAR:-default}.

temporalio:
  servers:
    - name: local
      ip: localhost # the Temporal frontend (`launchpad dev` starts a dev server there)
      port: 7233
      gui_port: 8233 # the UI: 8233 for the dev server, 8080 for docker compose
      namespaces:
        - name: default
          retention: 3d # how long closed workflows are kept
      # Temporal Cloud: ip: <ns>.<account>.tmprl.cloud, a namespace <ns>.<account>,
      # and api_key: ${TEMPORAL_API_KEY} or tls: {client_cert: ..., client_key: ...}

watcher:
  modules:
    workers:
      basepaths: [deployments/workers]
    tasks:
      basepaths: [deployments/tasks]
    activities:
      basepaths: [@@name@@/temporal/activities.py]
    workflows:
      basepaths: [@@name@@/temporal/workflows.py]
    runners:
      basepaths: [@@name@@/temporal/runners.py]
  polling:
    on_server_start: false
    automatic_refresh: false
    polling_interval: 600 # seconds between two syncs of `launchpad reconcile --watch`

# The git repository the reconciler makes Temporal match (a local path or a git URL).
repository:
  url: .
  branch: main

state:
  backend: sqlite
  path: .launchpad/state.db

# Users of the HTTP API (POST /auth/token gives a JWT). The defaults are for your laptop only:
# wherever the API is reachable by others, set LAUNCHPAD_SECRET (a long random string) and
# LAUNCHPAD_ADMIN_PASSWORD in the environment.
app:
  secret: ${LAUNCHPAD_SECRET:-insecure-dev-secret-set-LAUNCHPAD_SECRET}
authenticator:
  db: .launchpad/users.db
  base_users:
    - username: admin
      password: ${LAUNCHPAD_ADMIN_PASSWORD:-change-me}
      auth_level: [user, super user]
      max_age: 3600 # token lifetime, seconds
"""

WORKER = """\
# A worker: polls one task queue and serves the workflows and activities listed here.
# Run it with `launchpad worker` (every worker file) or `launchpad worker main-worker`.
worker:
  task_queue: @@name@@-tasks
  # built-in workflows, plus ForEach from @@name@@/temporal/workflows.py
  workflows: [Task, AwaitedTask, BatchTask, AwaitedBatchTask, TaskDispatcher, ForEach]
  # activities from @@name@@/temporal/activities.py, by name
  activities: [say_hello]
  max_workers: 8 # threads for sync (non-async) activities
"""

HELLO_WORLD = """\
# A task: what to run on Temporal, on demand. Deploy it with `launchpad deploy hello-world`
# or POST /tasks/deploy/hello-world on the HTTP API, optionally with an overwrite:
#   launchpad deploy hello-world --set workflow.workflow_kwargs.args.0=Ada
name: hello-world # must equal the file name
runner: WorkflowRunner # start the workflow on the running worker and return at once
overwritable: true # a deploy may replace the arguments (workflow.workflow_kwargs) by dotted path
workflow:
  task_queue: @@name@@-tasks # served by deployments/workers/main-worker.yaml
  workflow_id: hello-world
  workflow: Task # built-in: run one activity
  id_reuse_policy: ALLOW_DUPLICATE # may run again once the previous run closed
  execution_timeout: 5m
  workflow_kwargs:
    activity: say_hello
    args: [world]
    start_to_close_timeout: 10s
"""

HELLO_SCHEDULE = """\
# A schedule: the reconciler (`launchpad dev`, `launchpad reconcile`) creates it from this file and
# updates or deletes it when a commit changes or removes the file.
name: hello-schedule
runner: ScheduledWorkflowRunner
workflow:
  task_queue: @@name@@-tasks
  workflow_id: hello-schedule # each run gets this id plus a timestamp
  workflow: Task
  scheduler_id: hello-schedule
  trigger_immediately: true # one run as soon as the schedule is created
  intervals:
    - every: 15m
  overlap: SKIP # a run still going when the next is due: skip the new one
  workflow_kwargs:
    activity: say_hello
    args: [schedule]
"""

HELLO_EVERYONE = """\
# Custom components: the workflow ForEach and the runner WorkflowRunnerWithResult live in
# @@name@@/temporal/; launchpad_configs.yaml (watcher.modules) loads them.
name: hello-everyone
runner: WorkflowRunnerWithResult # starts the workflow, waits and returns its result
workflow:
  task_queue: @@name@@-tasks
  workflow_id: hello-everyone
  workflow: ForEach # calls the activity once per item of args
  id_reuse_policy: ALLOW_DUPLICATE
  execution_timeout: 1m
  workflow_kwargs:
    activity: say_hello
    args: [Ada, Grace]
"""

PACKAGE_INIT = '''\
"""@@name@@: a launchpad project."""
'''

TEMPORAL_INIT = '''\
"""@@name@@'s Temporal code: activities, custom workflows and custom runners.

launchpad loads these files by path (launchpad_configs.yaml, watcher.modules).
"""
'''

ACTIVITIES = '''\
"""Activities: the functions your tasks run. Decorate each with `@activity.defn` and list
it in a worker file (deployments/workers/*.yaml) by name.

Activities do the I/O (APIs, databases, files); async ones must not block, sync ones run in
the worker's thread pool.
"""

from __future__ import annotations

from temporalio import activity


@activity.defn
async def say_hello(name: str) -> str:
    return f"Hello, {name}!"
'''

WORKFLOWS = '''\
"""Custom workflows. Build on `BaseWorkflow` to get launchpad's handling of `workflow_kwargs`
(activity settings, `at_start`/`at_end` with `chain_with` and `renew`, the `status` query),
and register the class with `@workflow.defn(name=...)`: tasks and workers use that name.

Workflow code must be deterministic: no I/O, no clocks, no randomness; call activities.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow

from launchpad.temporal.workflows import BaseWorkflow


@workflow.defn(name="ForEach")
class ForEach(BaseWorkflow):
    """Calls the task's activity once per item of `args`, concurrently; returns the results in order."""

    @workflow.run
    async def run(self, raw: dict[str, Any]) -> list[Any]:
        kwargs = self.parse(raw)
        self.state = "running"
        await self.at_start(kwargs)
        results = await asyncio.gather(*(self.run_activity(kwargs, [item]) for item in kwargs.args))
        await self.at_end(kwargs, raw)
        return list(results)
'''

RUNNERS = '''\
"""Custom runners. A runner turns a rendered task into work on Temporal: subclass `Runner`
(or a built-in runner) and implement `deploy`; tasks name it by class name (`runner:`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from launchpad.spec.task import TaskSpec
from launchpad.temporal.runners import DeployResult, WorkflowRunner

DEFAULT_WAIT = timedelta(minutes=5)


class WorkflowRunnerWithResult(WorkflowRunner):
    """Starts the workflow like `WorkflowRunner`, then waits for its result (at most the
    task's `execution_timeout`, else 5 minutes) and returns it to the deployer."""

    async def deploy(self, task: TaskSpec, version: str | None = None) -> DeployResult:
        started = await super().deploy(task, version)
        client, _, _ = await self.client_for(task)
        handle = client.get_workflow_handle(started.workflow_id or "", run_id=started.run_id)
        timeout = task.workflow.execution_timeout or DEFAULT_WAIT
        result = await asyncio.wait_for(handle.result(), timeout.total_seconds())
        return dataclasses.replace(started, action="completed", result=result)
'''
