"""Tasks, read from the repository: list, show (redacted), versions, deploy, write, delete."""

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path

from functions.models import (
    CommitResponse,
    DeployRequest,
    TaskDetail,
    TaskSummary,
    TaskVersion,
    TaskWrite,
)
from functions.security import SuperUser, User
from functions.services import Services
from launchpad.errors import SpecErrors
from launchpad.render import Path as KeyPath
from launchpad.temporal.result import DeployResult

if TYPE_CHECKING:
    from launchpad.spec.document import TaskDocument
    from reconciler.deploy import TaskFile
    from reconciler.sync import Reconciler

router = APIRouter(prefix="/tasks", tags=["tasks"])
TaskName = Annotated[str, Path(max_length=128, description="the task's name (its file name without .yaml)")]
REDACTED = "***"


def redact(doc: Any, injected: frozenset[KeyPath], path: KeyPath = ()) -> Any:
    """Values that came from the environment are secrets until proven otherwise."""
    if path in injected:
        return REDACTED
    if isinstance(doc, dict):
        return {k: redact(v, injected, (*path, k)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [redact(v, injected, (*path, i)) for i, v in enumerate(doc)]
    return doc


def summary(doc: "TaskDocument") -> dict[str, Any]:
    shown = redact(doc.doc, doc.injected)  # as the spec is shown: values from the environment hidden
    workflow = shown.get("workflow") or {}
    return {
        "name": doc.name,
        "path": doc.file,
        "runner": shown.get("runner"),
        "workflow": workflow.get("workflow") if isinstance(workflow, dict) else None,
        "server": shown.get("server"),
        "namespace": shown.get("namespace"),
        "template": doc.template,
        "overwritable": doc.overwritable,
        "overwrite_paths": doc.overwrite_paths,
        "deploy_on_server_start": bool(shown.get("deploy_on_server_start")),
    }


@router.get("", response_model=list[TaskSummary])
async def list_tasks(caller: User) -> list[dict[str, Any]]:
    """Every valid task file at the branch head (as last fetched)."""
    from reconciler.deploy import current_revision

    rec = caller.svc.reconciler
    revision = await current_revision(rec)

    def summaries() -> list[dict[str, Any]]:  # git, in a thread
        out = []
        for path, blob in sorted(rec.source.files(revision, [rec.config.tasks_dir]).items()):
            if path.endswith((".yaml", ".yml")):
                try:
                    out.append(summary(rec.document(path, blob)))
                except SpecErrors:
                    continue  # broken files show up in /sync/status
        return out

    return await asyncio.to_thread(summaries)


async def _find(rec: "Reconciler", name: str, fetch: bool = False) -> "TaskFile":
    """The task's file at the branch head. reconciler.deploy is imported here, with the
    reconciler, by the first task route: the other routes never load it."""
    from reconciler.deploy import locate

    return await locate(rec, name, fetch)


@router.get("/{name}", response_model=TaskDetail)
async def get_task(caller: User, name: TaskName) -> dict[str, Any]:
    rec = caller.svc.reconciler
    found = await _find(rec, name)
    doc = await asyncio.to_thread(rec.document, found.path, found.blob)
    return {**summary(doc), "revision": found.revision, "spec": redact(doc.doc, doc.injected)}


@router.get("/{name}/versions", response_model=list[TaskVersion])
async def task_versions(caller: User, name: TaskName) -> list[dict[str, Any]]:
    """The task file's git history on the branch, newest first."""
    rec = caller.svc.reconciler
    found = await _find(rec, name)
    history = await asyncio.to_thread(rec.source.history, found.path)
    return [{"revision": r.sha, "author": r.author, "date": r.date, "message": r.message} for r in history]


@router.post("/deploy/{name}", response_model=DeployResult)
async def deploy(caller: User, name: TaskName, body: DeployRequest | None = None) -> DeployResult:
    """Deploy now, with `overwrite` (dotted paths the task allows) and `template_args`, at `ref`
    (a revision of the branch's history: commit, tag, `HEAD~N`; default: the head)."""
    from reconciler.deploy import deploy_task

    body = body or DeployRequest()
    result = await deploy_task(
        caller.svc.reconciler,
        name,
        ref=body.ref,
        template_args=body.template_args,
        overwrite=body.overwrite,
        fetch=False,
        super_user=caller.who.allows("super user"),
    )
    return result


async def _task_path(svc: Services, name: str) -> str:
    """Where the task's file is, or would be (a new task goes to the tasks folder)."""
    from reconciler.deploy import TaskNotFound, check_name

    try:
        return (await _find(svc.reconciler, name, fetch=True)).path
    except TaskNotFound:
        check_name(name)
        return f"{svc.config.tasks_dir.strip('/').removeprefix('./')}/{name}.yaml"


async def _commit_and_sync(
    svc: Services, who: str, path: str, name: str, content: str | None, message: str
) -> CommitResponse:
    rec = svc.reconciler
    trigger = f"api: {who}"
    async with rec.locked(trigger) as lease:
        revision = await asyncio.to_thread(rec.source.commit_file, path, content, message, who, f"{who}@launchpad")
        result = await rec.run(lease, trigger)
    return CommitResponse(task=name, revision=revision, sync_id=result.id or None, sync_status=result.status)


@router.put("/{name}", response_model=CommitResponse)
async def put_task(caller: SuperUser, body: TaskWrite, name: TaskName) -> CommitResponse:
    """Write the task file by a commit (author: you), push, then sync. Git stays the source of truth."""
    svc = caller.svc
    path = await _task_path(svc, name)
    from launchpad.spec.document import TaskDocument  # the task models: loaded by the routes that parse

    TaskDocument.parse(body.content, path, svc.reconciler.env)  # refuse what would not validate
    message = body.message or f"launchpad: update {name}"
    return await _commit_and_sync(svc, caller.who.sub, path, name, body.content, message)


@router.delete("/{name}", response_model=CommitResponse)
async def delete_task(caller: SuperUser, name: TaskName) -> CommitResponse:
    found = await _find(caller.svc.reconciler, name, fetch=True)
    return await _commit_and_sync(caller.svc, caller.who.sub, found.path, name, None, f"launchpad: delete {name}")
