"""Everything the object page of a task shows: the desired spec (redacted), its state in the
store, what Temporal holds, the versions, and what a deploy may change."""

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml
from temporalio.service import RPCError

from functions.routes.tasks import redact
from functions.services import Services
from functions.ui import live
from functions.ui.deploy_form import DeployForm, form_for
from functions.ui.links import Links
from functions.ui.versions import Version, diff, versions
from launchpad.errors import LaunchpadError, SpecError, SpecErrors
from launchpad.state import AppliedObject, call
from launchpad.temporal.connections import outage_of

if TYPE_CHECKING:
    from launchpad.spec.task import TaskSpec


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


def _kind(spec: "TaskSpec | None", template: bool) -> str:
    if template:
        return "template"
    if spec is None:
        return "unknown"
    if spec.is_scheduled:
        return "schedule"
    return "task" if spec.deploy_on_server_start else "on demand"


async def _applied(svc: Services, name: str) -> AppliedObject | None:
    found = await call(svc.store, svc.store.objects_named, [name])
    return next((o for o in found if o.kind in ("schedule", "task")), None)


async def task_view(svc: Services, name: str, form: DeployForm | None = None) -> TaskView:
    """`form`: a refused deploy's form, shown again with what was typed."""
    from reconciler.deploy import current_revision, find_task

    rec = svc.reconciler
    found = find_task(rec.source, await current_revision(rec), rec.config.tasks_dir, name)
    view = TaskView(name, found.path, found.revision, "unknown", applied=await _applied(svc, name))
    links = Links(svc.config)
    view.commit_url = links.commit(found.revision)
    spec: TaskSpec | None = None
    try:
        doc = rec.document(found.path, found.blob)
        view.spec_yaml = yaml.safe_dump(redact(doc.doc, doc.injected), sort_keys=False, allow_unicode=True)
        view.description = doc.doc.get("description") if isinstance(doc.doc.get("description"), str) else None
        spec = None if doc.template else doc.spec()
        view.kind = _kind(spec, doc.template)
        if view.kind in ("on demand", "template"):
            view.form = form or form_for(doc.doc, doc.template, doc.overwritable)
    except SpecErrors as exc:
        view.errors = exc.errors
    view.versions = await asyncio.to_thread(versions, rec.source, found.path)
    if spec is not None:
        await _observe(svc, view, spec, links)
        view.live_diff = _live_diff(rec.source, found.blob, view, found.path)
    return view


async def _observe(svc: Services, view: TaskView, spec: "TaskSpec", links: Links) -> None:
    target, namespace = svc.config.temporalio.resolve(spec.server, spec.namespace)
    view.server, view.namespace = target.name, namespace
    view.workflow_id = spec.workflow.workflow_id
    if spec.is_scheduled:
        view.schedule_id = spec.workflow.scheduler_id
    try:
        client = await svc.connections.client(target.name, namespace)
        if view.schedule_id:
            view.schedule = await live.schedule(client, view.schedule_id)
            view.temporal_url = links.temporal("schedule", target.name, namespace, view.schedule_id)
        else:
            view.workflow = await live.workflow(client, view.workflow_id)
            view.temporal_url = links.temporal("workflow", target.name, namespace, view.workflow_id)
    except (RPCError, LaunchpadError, RuntimeError, OSError) as exc:
        if outage_of(exc):  # reconnect next time; a refusal (a permission, say) keeps everyone's connections
            svc.connections.forget_all()
        view.live_error = f"Temporal ({target.name}) did not answer: {exc}"


def _live_diff(source: Any, desired_blob: str, view: TaskView, path: str) -> str | None:
    """The file as Temporal runs it against the file as the branch has it, when they differ."""
    running = view.schedule.version if view.schedule else view.workflow.version if view.workflow else None
    if not running or running == desired_blob:
        return None
    try:
        text = source.read_blob(running)
    except Exception:  # a version this repository does not hold (git's own error types)
        return None
    return diff(text, source.read_blob(desired_blob), f"{path} (running in Temporal)", f"{path} (desired)") or None
