"""Desired state: every managed object the repository describes at a revision.

A file whose blob is the one last applied is not parsed again (its hash is in the
state store); only new or changed files are. A file that fails to parse or validate
is reported with file, key path and revision, and its last good version (the blob
last applied) stays the desired one, so one bad file never blocks the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from launchpad.config import Config
from launchpad.errors import SpecError, SpecErrors
from launchpad.spec.base import model_hash
from launchpad.spec.catalog import YAML_SUFFIXES, parse_file
from launchpad.spec.document import TaskDocument
from launchpad.spec.task import TaskSpec
from launchpad.spec.worker import WorkerSpec
from launchpad.state.store import AppliedObject
from launchpad.temporal.runners import spec_hash
from reconciler.source import GitSource

Spec = TaskSpec | WorkerSpec


@dataclass
class DesiredObject:
    kind: str  # schedule | task | worker
    name: str
    path: str
    blob: str
    spec_hash: str
    load: Callable[[], Spec]  # the spec, parsed on demand
    server: str | None = None
    namespace: str | None = None
    temporal_id: str | None = None
    on_change: str = "keep"
    last_good: bool = False  # the file is broken at this revision; this is its last good version

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)


@dataclass
class FileError:
    file: str
    path: str
    message: str
    revision: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "message": self.message, "revision": self.revision}


@dataclass
class DesiredState:
    revision: str
    objects: dict[tuple[str, str], DesiredObject] = field(default_factory=dict)
    errors: list[FileError] = field(default_factory=list)
    code_hash: str = ""


def task_object(doc: TaskDocument, path: str, blob: str) -> DesiredObject | None:
    """The managed object a task file describes: a schedule, a deploy-on-start task, or none
    (tasks deployed only on demand, and templates, are not reconciled)."""
    if doc.template:
        return None
    spec = doc.spec()
    if spec.is_scheduled:
        kind, temporal_id = "schedule", spec.workflow.scheduler_id
    elif spec.deploy_on_server_start:
        kind, temporal_id = "task", spec.workflow.workflow_id
    else:
        return None
    return DesiredObject(
        kind,
        spec.name,
        path,
        blob,
        spec_hash(spec),
        lambda: spec,
        server=spec.server,
        namespace=spec.namespace,
        temporal_id=temporal_id,
        on_change=spec.on_change,
    )


def worker_object(name: str, spec: WorkerSpec, path: str, blob: str, code_hash: str) -> DesiredObject:
    return DesiredObject(
        "worker",
        name,
        path,
        blob,
        model_hash(spec, code_hash),
        lambda: spec,
        server=spec.server,
        namespace=spec.namespace,
        temporal_id=spec.worker.task_queue,
    )


def parse_object(
    path: str, text: str, blob: str, code_hash: str, env: Mapping[str, str] | None
) -> DesiredObject | None:
    parsed = parse_file(path, text, env)
    if isinstance(parsed, TaskDocument):
        return task_object(parsed, path, blob)
    return worker_object(parsed[0], parsed[1], path, blob, code_hash)


def reuse(applied: AppliedObject, source: GitSource, code_hash: str, env: Mapping[str, str] | None) -> DesiredObject:
    """The applied version of an unchanged file, parsed only if someone needs its spec."""

    def load() -> Spec:
        obj = parse_object(applied.path, source.read_blob(applied.blob), applied.blob, code_hash, env)
        if obj is None:
            raise SpecErrors([SpecError(applied.path, "<root>", "no longer a managed object")])
        return obj.load()

    return DesiredObject(
        applied.kind,
        applied.name,
        applied.path,
        applied.blob,
        applied.spec_hash,
        load,
        server=applied.server,
        namespace=applied.namespace,
        temporal_id=applied.temporal_id,
    )


def code_hash(source: GitSource, revision: str, config: Config) -> str:
    files = source.files(revision, config.code_paths) if config.code_paths else {}
    return hashlib.sha256("".join(f"{p}:{b}\n" for p, b in sorted(files.items())).encode()).hexdigest()[:16]


def load_desired(
    source: GitSource,
    revision: str,
    config: Config,
    applied: list[AppliedObject],
    env: Mapping[str, str] | None = None,
    folders: list[str] | None = None,
) -> DesiredState:
    """The objects the files under `folders` (default: the tasks and workers folders) describe."""
    state = DesiredState(revision, code_hash=code_hash(source, revision, config))
    files = {
        path: blob
        for path, blob in source.files(revision, folders or [config.tasks_dir, config.workers_dir]).items()
        if path.endswith(YAML_SUFFIXES)
    }
    by_path: dict[str, list[AppliedObject]] = {}
    for obj in applied:
        by_path.setdefault(obj.path, []).append(obj)
    for path, blob in sorted(files.items()):
        previous = by_path.get(path, [])
        # workers are always parsed again: their hash includes the code, which may have changed
        unchanged = [o for o in previous if o.blob == blob and not o.error and o.kind != "worker"]
        if unchanged:
            for obj in unchanged:
                _add(state, reuse(obj, source, state.code_hash, env))
            continue
        try:
            parsed = parse_object(path, source.read_blob(blob), blob, state.code_hash, env)
        except SpecErrors as exc:
            state.errors += [FileError(e.file, e.path, e.message, revision) for e in exc.errors]
            for good in previous:  # the last good version stays desired
                kept = reuse(good, source, state.code_hash, env)
                kept.last_good = True
                _add(state, kept)
            continue
        if parsed is not None:
            _add(state, parsed)
    return state


def _add(state: DesiredState, obj: DesiredObject) -> None:
    known = state.objects.get(obj.key)
    if known is not None and known.path != obj.path:
        state.errors.append(
            FileError(obj.path, "name", f"{obj.kind} {obj.name!r} is also defined in {known.path}", state.revision)
        )
        return
    state.objects[obj.key] = obj
