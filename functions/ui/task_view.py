"""Everything the object page of a task shows: the desired spec (redacted), its state in the
store, what Temporal holds, the versions, and what a deploy may change."""

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml
from temporalio.service import RPCError

from functions.errors import ApiError
from functions.routes.tasks import redact
from functions.services import Services
from functions.ui import live
from functions.ui.deploy_form import DeployForm, form_for
from functions.ui.links import Links
from functions.ui.versions import Version, diff, versions
from launchpad.errors import LaunchpadError, SpecError, SpecErrors
from launchpad.state import AppliedObject, call
from launchpad.temporal.connections import outage_of
from reconciler.source import SourceError

if TYPE_CHECKING:
    from launchpad.spec.document import TaskDocument
    from launchpad.spec.task import TaskSpec
    from reconciler.deploy import TaskFile


@dataclass
class TaskView:
    name: str
    path: str
    revision: str
    kind: str  # schedule | task (deploy on start) | on demand | template
    description: str | None = None
    spec_yaml: str | None = None
    errors: list[SpecError] = field(default_factory=list)  # the file is broken at the head
    applied: AppliedObject | None = None
    server: str | None = None
    namespace: str | None = None
    schedule_id: str | None = None
    workflow_id: str | None = None
    schedule: live.LiveSchedule | None = None
    workflow: live.LiveWorkflow | None = None
    live_error: str | None = None
    live_diff: str | None = None  # desired vs the version Temporal runs, when they differ
    versions: list[Version] = field(default_factory=list)
    form: DeployForm | None = None  # on-demand tasks and templates
    temporal_url: str | None = None
    commit_url: str | None = None


def _read(doc: "TaskDocument") -> tuple["TaskSpec | None", str]:
    """The file's spec (None for a template) and what kind of task it is; SpecErrors when broken."""
    if doc.template:
        return None, "template"
    spec = doc.spec()
    if spec.is_scheduled:
        return spec, "schedule"
    return spec, "task" if spec.deploy_on_server_start else "on demand"


def _form(doc: "TaskDocument", kind: str) -> DeployForm | None:
    """The deploy form the page shows: for on-demand tasks and templates only."""
    return form_for(doc.doc, doc.template, doc.overwritable) if kind in ("on demand", "template") else None


@dataclass(frozen=True)
class Handles:
    """Where the task's schedule or workflow is in Temporal: what the page shows and its buttons act on."""

    server: str
    namespace: str
    workflow_id: str
    schedule_id: str | None


def handles_of(svc: Services, spec: "TaskSpec") -> Handles:
    target, namespace = svc.config.temporalio.resolve(spec.server, spec.namespace)
    schedule_id = spec.workflow.scheduler_id if spec.is_scheduled else None
    return Handles(target.name, namespace, spec.workflow.workflow_id, schedule_id)


async def _parsed(svc: Services, found: "TaskFile") -> "TaskDocument":
    """The file parsed (git is read in a thread, never on the event loop); SpecErrors when broken."""
    return await asyncio.to_thread(svc.reconciler.document, found.path, found.blob)


async def task_form(svc: Services, name: str) -> tuple[str, DeployForm | None]:
    """The task's file and the deploy form its page shows: what a posted form is read against,
    without the page's reads of Temporal and of the history."""
    from reconciler.deploy import locate

    found = await locate(svc.reconciler, name)
    try:
        doc = await _parsed(svc, found)
        _, kind = _read(doc)
    except SpecErrors:
        return found.path, None
    return found.path, _form(doc, kind)


async def task_handles(svc: Services, name: str) -> Handles:
    """Where the buttons of the task's page act; a template or a broken file has nothing to act on."""
    from reconciler.deploy import locate

    spec, _ = _read(await _parsed(svc, await locate(svc.reconciler, name)))
    if spec is None:
        raise ApiError(409, "not_deployable", f"task {name!r} is a template: it has no workflow or schedule")
    return handles_of(svc, spec)


async def _applied(svc: Services, name: str) -> AppliedObject | None:
    found = await call(svc.store, svc.store.objects_named, [name])
    return next((o for o in found if o.kind in ("schedule", "task")), None)


async def task_view(svc: Services, name: str, form: DeployForm | None = None) -> TaskView:
    """`form`: a refused deploy's form, shown again with what was typed."""
    from reconciler.deploy import locate

    rec = svc.reconciler
    found = await locate(rec, name)
    view = TaskView(name, found.path, found.revision, "unknown", applied=await _applied(svc, name))
    links = Links(svc.config)
    view.commit_url = links.commit(found.revision)
    spec: TaskSpec | None = None
    try:
        doc = await _parsed(svc, found)
        redacted = redact(doc.doc, doc.injected)  # the page shows no value taken from the environment
        view.spec_yaml = yaml.safe_dump(redacted, sort_keys=False, allow_unicode=True)
        description = redacted.get("description")
        view.description = description if isinstance(description, str) else None
        spec, view.kind = _read(doc)
        shown = _form(doc, view.kind)
        view.form = form if form and shown else shown
    except SpecErrors as exc:
        view.errors = exc.errors
    view.versions = await asyncio.to_thread(versions, rec.source, found.path)
    if spec is not None:
        await _observe(svc, view, handles_of(svc, spec), links)
        view.live_diff = await asyncio.to_thread(_live_diff, rec.source, found.blob, view, found.path)
    return view


async def _observe(svc: Services, view: TaskView, where: Handles, links: Links) -> None:
    view.server, view.namespace = where.server, where.namespace
    view.workflow_id, view.schedule_id = where.workflow_id, where.schedule_id
    try:
        client = await svc.connections.client(where.server, where.namespace)
        if where.schedule_id:
            view.schedule = await live.schedule(client, where.schedule_id)
            view.temporal_url = links.temporal("schedule", where.server, where.namespace, where.schedule_id)
        else:
            view.workflow = await live.workflow(client, where.workflow_id)
            view.temporal_url = links.temporal("workflow", where.server, where.namespace, where.workflow_id)
    except (RPCError, LaunchpadError, RuntimeError, OSError) as exc:
        if outage_of(exc):  # reconnect next time; a refusal (a permission, say) keeps everyone's connections
            svc.connections.forget_all()
        view.live_error = f"Temporal ({where.server}) did not answer: {exc}"


def _live_diff(source: Any, desired_blob: str, view: TaskView, path: str) -> str | None:
    """The file as Temporal runs it against the file as the branch has it, when they differ."""
    running = view.schedule.version if view.schedule else view.workflow.version if view.workflow else None
    if not running or running == desired_blob:
        return None
    try:
        text = source.read_blob(running)
    except (SourceError, UnicodeDecodeError):  # a version this repository does not hold, or not a file
        return None
    return diff(text, source.read_blob(desired_blob), f"{path} (running in Temporal)", f"{path} (desired)") or None
