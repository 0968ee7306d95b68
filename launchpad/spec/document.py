"""Reading task and worker files: YAML → env injection → (render) → validated model.

A `TaskDocument` is a task file as stored (after env injection). Plain tasks are
validated at once; `template: true` tasks are checked for structure at once and
fully validated when rendered with their template arguments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from pydantic import ValidationError

from launchpad.errors import SpecError, SpecErrors
from launchpad.observability.logs import redact
from launchpad.render import Path, apply_overwrite, guarded_changes, inject_env, is_templated, render_template
from launchpad.spec.positions import locate
from launchpad.spec.reading import read_yaml, validate
from launchpad.spec.task import ARGUMENTS, SUPER_USER_ONLY, TaskSpec
from launchpad.spec.worker import WorkerSpec, task_only_keys

_REFUSED_TEMPLATE = "this task is not a template (template: false): template_args are refused"
_REFUSED_OVERWRITE = "this task is not overwritable (overwritable: false): overwrite is refused"


def _with_env(raw: dict[str, Any], file: str, env: Mapping[str, str] | None) -> tuple[Any, set[Path]]:
    """A task or worker file's env references replaced (from the process environment by default);
    the values taken may be secrets, so no log line shows them from now on."""
    used: set[str] = set()
    doc, injected = inject_env(raw, file, os.environ if env is None else env, used)
    redact(used)
    return doc, injected


def _check_name(doc: dict[str, Any], file: str, required: bool) -> str:
    stem = PurePath(file).stem
    name = doc.get("name")
    if name is None and not required:
        return stem
    if name != stem:
        raise SpecErrors([SpecError(file, "name", f"name {name!r} must equal the file name {stem!r}")])
    return stem


@dataclass(frozen=True)
class TaskDocument:
    file: str
    name: str
    doc: dict[str, Any]
    injected: frozenset[Path] = field(default_factory=frozenset)

    @property
    def template(self) -> bool:
        return bool(self.doc.get("template"))

    @property
    def overwritable(self) -> bool:
        return bool(self.overwrite_paths)

    @property
    def overwrite_paths(self) -> list[str]:
        """What a deploy may overwrite, as the file says it (`true`: the arguments)."""
        value = self.doc.get("overwritable")
        if value is True:
            return [ARGUMENTS]
        return [path for path in value if isinstance(path, str)] if isinstance(value, list) else []

    @classmethod
    def parse(cls, text: str, file: str, env: Mapping[str, str] | None = None) -> TaskDocument:
        try:
            return cls.from_raw(read_yaml(text, file), file, env)
        except SpecErrors as exc:
            raise locate(exc, text) from None

    @classmethod
    def from_raw(cls, raw: dict[str, Any], file: str, env: Mapping[str, str] | None = None) -> TaskDocument:
        doc, injected = _with_env(raw, file, env)
        document = cls(file, _check_name(doc, file, required=True), doc, frozenset(injected))
        document.check()
        return document

    def check(self) -> None:
        """Validate what can be validated before rendering; raise SpecErrors otherwise."""
        if not self.template:
            validate(TaskSpec, self.doc, self.file)
            return
        try:
            TaskSpec.model_validate(self.doc)
        except ValidationError as exc:
            templated = _templated_paths(self.doc)
            real = [err for err in exc.errors() if not _under(tuple(err["loc"]), templated)]
            if real:
                raise SpecErrors.from_validation(
                    self.file,
                    ValidationError.from_exception_data(exc.title, real),  # type: ignore[arg-type]
                ) from None

    def render(
        self,
        template_args: Mapping[str, Any] | None = None,
        overwrite: Mapping[str, Any] | None = None,
        *,
        super_user: bool = False,
    ) -> TaskSpec:
        """The spec to deploy; template args and overwrites only where the file allows them, and
        the keys of SUPER_USER_ONLY only for a super user (`super_user`), whatever the file says."""
        doc = self.doc
        if template_args and not self.template:
            raise SpecErrors([SpecError(self.file, "template", _REFUSED_TEMPLATE)])
        if self.template:
            doc = render_template(doc, template_args or {}, self.file)
        if overwrite:
            if not self.overwrite_paths:
                raise SpecErrors([SpecError(self.file, "overwritable", _REFUSED_OVERWRITE)])
            guarded = None if super_user else SUPER_USER_ONLY
            overwritten = apply_overwrite(doc, overwrite, self.file, self.overwrite_paths, guarded)
            spec = validate(TaskSpec, overwritten, self.file)
            if guarded:
                _unchanged_where_guarded(doc, overwritten, spec, guarded, self.file)
            return spec
        return validate(TaskSpec, doc, self.file)

    def spec(self) -> TaskSpec:
        """The spec of a plain task (no arguments needed)."""
        return self.render()


def _unchanged_where_guarded(
    doc: dict[str, Any], overwritten: dict[str, Any], spec: TaskSpec, guarded: Mapping[str, str], file: str
) -> None:
    """An overwrite that replaced a mapping above a guarded key left that key's value as it was:
    compared as validated (so an omitted key equals its default), or as written when the document
    alone does not validate."""
    try:
        before: Any = validate(TaskSpec, doc, file).model_dump()
        after: Any = spec.model_dump()
    except SpecErrors:
        before, after = doc, overwritten
    errors = guarded_changes(before, after, guarded, file)
    if errors:
        raise SpecErrors(errors)


def _templated_paths(doc: Any, path: Path = ()) -> set[Path]:
    if isinstance(doc, dict):
        return {p for key, value in doc.items() for p in _templated_paths(value, (*path, key))}
    if isinstance(doc, list):
        return {p for i, value in enumerate(doc) for p in _templated_paths(value, (*path, i))}
    return {path} if is_templated(doc) else set()


def _under(loc: Path, prefixes: set[Path]) -> bool:
    return any(loc[: len(prefix)] == prefix for prefix in prefixes)


def parse_worker(text: str, file: str, env: Mapping[str, str] | None = None) -> tuple[str, WorkerSpec]:
    """A worker file's name (its stem) and its validated spec."""
    return worker_from_raw(read_yaml(text, file), file, env)


def worker_from_raw(raw: dict[str, Any], file: str, env: Mapping[str, str] | None = None) -> tuple[str, WorkerSpec]:
    """Task-only keys are refused by name, together with every other error of the file."""
    doc, _ = _with_env(raw, file, env)
    name = _check_name(doc, file, required=False)
    task_keys = task_only_keys(doc)
    refused = [SpecError(file, key, message) for key, message in task_keys.items()]
    try:
        spec = validate(WorkerSpec, {k: v for k, v in doc.items() if k not in task_keys}, file)
    except SpecErrors as exc:
        raise SpecErrors([*refused, *exc.errors]) from None
    if refused:
        raise SpecErrors(refused)
    return name, spec
