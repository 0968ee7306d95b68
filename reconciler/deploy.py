"""Deploy one task now, from the branch at any revision of its history (the API and the CLI use this).

Finding and naming tasks needs only git; the runners are imported by `deploy_task` itself, so
the API routes that only read tasks do not load the engine on a Lambda cold start.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from launchpad.errors import LaunchpadError
from launchpad.observability.deploys import deploying, observed
from reconciler.source import GitSource

if TYPE_CHECKING:
    from launchpad.spec.document import TaskDocument
    from launchpad.temporal.result import DeployResult
    from reconciler.sync import Reconciler

TASK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class TaskNotFound(LaunchpadError):
    code = "task_not_found"
    kind = "not_found"


@dataclass(frozen=True)
class TaskFile:
    path: str
    blob: str
    revision: str


def check_name(name: str) -> str:
    """Task names are file stems: no separators, no `..`, so no path traversal."""
    if not TASK_NAME.fullmatch(name) or ".." in name:  # fullmatch: `$` alone lets a final newline through
        raise TaskNotFound(f"invalid task name {name!r}")
    return name


def find_task(source: GitSource, revision: str, tasks_dir: str, name: str) -> TaskFile:
    check_name(name)
    files = source.files(revision, [tasks_dir])
    for path, blob in files.items():
        if path.rsplit("/", 1)[-1] in (f"{name}.yaml", f"{name}.yml"):
            return TaskFile(path, blob, revision)
    raise TaskNotFound(f"no task {name!r} at revision {revision[:12]}")


async def current_revision(reconciler: Reconciler, fetch: bool = False) -> str:
    """The branch head: fetched now, or as the last sync (or deploy) fetched it."""
    source = reconciler.source
    if fetch or not source.fetched:
        return await asyncio.to_thread(source.fetch)
    return source.head()  # read from the ref files, no git process


async def locate(reconciler: Reconciler, name: str, fetch: bool = False) -> TaskFile:
    """The task's file at the branch head (fetched now, or as last fetched)."""
    head = await current_revision(reconciler, fetch)
    return await asyncio.to_thread(find_task, reconciler.source, head, reconciler.config.tasks_dir, name)


@observed  # metrics, a log line, a notification when it fails
async def deploy_task(
    reconciler: Reconciler,
    name: str,
    *,
    ref: str | None = None,
    template_args: Mapping[str, Any] | None = None,
    overwrite: Mapping[str, Any] | None = None,
    fetch: bool = True,
    super_user: bool = False,
) -> DeployResult:
    """Render the task file at `ref` (default: the branch head) and run it through its runner.

    `ref` names the branch's history only (`GitSource.resolve`). Only the file is taken from
    there: the code is the branch head's, the code the workers run, so no code from a revision a
    caller chose is imported (a rollback of code is a revert commit on the branch). With
    `fetch=False` the head is the one last fetched (by the last sync), which saves a round trip
    to the git remote on every deploy. `super_user`: the caller may overwrite SUPER_USER_ONLY keys.
    """
    from launchpad.temporal.runners import runner_for  # the engine, only when something deploys

    head = await current_revision(reconciler, fetch)

    def read() -> tuple[TaskFile, TaskDocument]:  # git, in a thread
        revision = reconciler.source.resolve(ref) if ref else head
        found = find_task(reconciler.source, revision, reconciler.config.tasks_dir, name)
        document = reconciler.document(found.path, found.blob)
        reconciler.load_code(head)
        return found, document

    cached = None if ref else reconciler.deploy_inputs.get((head, name))
    if cached and reconciler.code_loaded(head):  # nothing to read from git: no thread hop
        found, document = cached
    else:
        found, document = await asyncio.to_thread(read)
        if not ref:
            if len(reconciler.deploy_inputs) > 1024:
                reconciler.deploy_inputs.clear()
            reconciler.deploy_inputs[(head, name)] = (found, document)
    spec = document.render(template_args, overwrite, super_user=super_user)
    deploying(spec.runner)
    runner = runner_for(spec, reconciler.connections, reconciler.registry, reconciler.instance)
    return await runner.deploy(spec, found.blob)
