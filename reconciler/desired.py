"""Desired state: the managed objects the repository describes at a revision.

A file whose blob is the one last applied is not parsed again (its hash is in the state store);
only new or changed files are. A file that fails to parse or validate is reported with file, key
path and revision, and its last good version (the blob last applied) stays the desired one, so
one bad file never blocks the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from launchpad.config import Config
from launchpad.errors import SpecError, SpecErrors
from launchpad.spec.base import model_hash
from launchpad.spec.catalog import YAML_SUFFIXES, parse_file
from launchpad.spec.document import TaskDocument
from launchpad.spec.positions import position
from launchpad.spec.task import TaskSpec
from launchpad.spec.worker import WorkerSpec
from launchpad.state.records import AppliedObject, FileError, Kind, Policy
from launchpad.temporal.runners import spec_hash
from reconciler.source import GitSource

Spec = TaskSpec | WorkerSpec


@dataclass
class DesiredObject:
    kind: Kind
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
    policy: Policy = field(default_factory=Policy)

    @property
    def key(self) -> tuple[Kind, str]:
        return (self.kind, self.name)


@dataclass
class DesiredState:
    revision: str
    objects: dict[tuple[Kind, str], DesiredObject] = field(default_factory=dict)
    errors: list[FileError] = field(default_factory=list)
    code_hash: str = ""
    broken: set[str] = field(default_factory=set)  # names of broken files: never pruned as orphans


def task_object(doc: TaskDocument, path: str, blob: str) -> DesiredObject | None:
    """The managed object a task file describes: a schedule, a deploy-on-start task, or none
    (tasks deployed only on demand, and templates, are not reconciled)."""
    if doc.template:
        return None
    spec = doc.spec()
    if spec.is_scheduled:
        kind, temporal_id = Kind.SCHEDULE, spec.workflow.scheduler_id
    elif spec.deploy_on_server_start:
        kind, temporal_id = Kind.TASK, spec.workflow.workflow_id
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
        policy=policy_of(spec),
    )


def policy_of(spec: TaskSpec) -> Policy:
    return Policy(
        spec.sync.suspend,
        spec.sync.self_heal,
        spec.sync.prune,
        tuple(spec.ignore_differences),
        tuple(spec.depends_on),
    )


def worker_object(name: str, spec: WorkerSpec, path: str, blob: str, code_hash: str) -> DesiredObject:
    return DesiredObject(
        Kind.WORKER,
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
        policy=applied.policy,
    )


def code_hash(source: GitSource, revision: str, config: Config) -> str:
    files = source.files(revision, config.code_paths) if config.code_paths else {}
    return hashlib.sha256("".join(f"{p}:{b}\n" for p, b in sorted(files.items())).encode()).hexdigest()[:16]


def stem(path: str) -> str:
    """A task's or worker's name is its file name without the suffix."""
    return PurePosixPath(path).stem


def load_desired(
    source: GitSource,
    revision: str,
    files: Mapping[str, str],
    applied: list[AppliedObject],
    code: str,
    env: Mapping[str, str] | None = None,
) -> DesiredState:
    """The objects that `files` (path → blob at `revision`) describe. `applied` are the objects
    recorded for those files (any other applied object is ignored); `code` is the code hash."""
    state = DesiredState(revision, code_hash=code)
    by_path: dict[str, list[AppliedObject]] = {}
    for obj in applied:
        by_path.setdefault(obj.path, []).append(obj)
    for path, blob in sorted(files.items()):
        if not path.endswith(YAML_SUFFIXES):
            continue
        previous = [o for o in by_path.get(path, []) if o.applied]  # a version of them runs
        # workers are always parsed again: their hash includes the code, which may have changed
        unchanged = [o for o in previous if o.blob == blob and not o.error and o.kind != Kind.WORKER]
        if unchanged:
            for obj in unchanged:
                _add(state, reuse(obj, source, code, env), source)
            continue
        try:
            parsed = parse_object(path, source.read_blob(blob), blob, code, env)
        except SpecErrors as exc:
            state.errors += [FileError(e.file, e.path, e.message, revision, e.line, e.column) for e in exc.errors]
            state.broken.add(stem(path))
            for good in previous:  # the last good version stays desired
                kept = reuse(good, source, code, env)
                kept.last_good = True
                _add(state, kept, source)
            continue
        if parsed is not None:
            _add(state, parsed, source)
    return state


def _add(state: DesiredState, obj: DesiredObject, source: GitSource) -> None:
    known = state.objects.get(obj.key)
    if known is not None and known.path != obj.path:
        # rare enough to read the second file again, for where a CI points: its `name:` key
        line, column = position(source.read_blob(obj.blob), "name") or (None, None)
        message = f"{obj.kind} {obj.name!r} is also defined in {known.path}"
        state.errors.append(FileError(obj.path, "name", message, state.revision, line, column))
        return
    state.objects[obj.key] = obj
