"""All task and worker files of a tree, parsed, with every error collected (not the first)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from launchpad.errors import SpecError, SpecErrors
from launchpad.render import is_templated
from launchpad.spec.document import TaskDocument, worker_from_raw
from launchpad.spec.positions import locate
from launchpad.spec.reading import read_yaml
from launchpad.spec.worker import WorkerSpec

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class Catalog:
    tasks: dict[str, TaskDocument] = field(default_factory=dict)
    workers: dict[str, WorkerSpec] = field(default_factory=dict)
    errors: list[SpecError] = field(default_factory=list)
    files: dict[tuple[str, str], str] = field(default_factory=dict)

    def add_file(self, file: str, text: str, env: Mapping[str, str] | None = None) -> None:
        """Parse one file (a worker when it has a root `worker:` key, else a task)."""
        try:
            parsed = parse_file(file, text, env)
            if isinstance(parsed, TaskDocument):
                self._unique(self.tasks, parsed.name, file)
                self.tasks[parsed.name] = parsed
                self.files[("task", parsed.name)] = file
            else:
                name, worker = parsed
                self._unique(self.workers, name, file)
                self.workers[name] = worker
                self.files[("worker", name)] = file
        except SpecErrors as exc:
            self.errors.extend(exc.errors)

    def check_components(self, known: Callable[[str], set[str]]) -> list[SpecError]:
        """Workflows, activities and runners the files name but no code defines.

        `known(kind)` gives the names of a kind ("workflow", "activity", "runner");
        template values are checked when rendered, not here.
        """
        errors: list[SpecError] = []

        def need(kind: str, name: object, file: str, path: str) -> None:
            if isinstance(name, str) and not is_templated(name) and name not in known(kind):
                errors.append(SpecError(file, path, f"unknown {kind} {name!r}"))

        for task in self.tasks.values():
            doc = task.doc
            workflow = doc.get("workflow") or {}
            kwargs = workflow.get("workflow_kwargs") or {}
            need("runner", doc.get("runner"), task.file, "runner")
            need("workflow", workflow.get("workflow"), task.file, "workflow.workflow")
            need("activity", kwargs.get("activity"), task.file, "workflow.workflow_kwargs.activity")
            for i, item in enumerate(kwargs.get("batch") or []):
                need(
                    "activity",
                    item.get("activity"),
                    task.file,
                    f"workflow.workflow_kwargs.batch.{i}.activity",
                )
        for name, worker in self.workers.items():
            file = self.files.get(("worker", name), name)
            for i, wf in enumerate(worker.worker.workflows):
                need("workflow", wf, file, f"worker.workflows.{i}")
            for i, act in enumerate(worker.worker.activities):
                need("activity", act, file, f"worker.activities.{i}")
        return errors

    def _unique(self, known: Mapping[str, object], name: str, file: str) -> None:
        if name in known:
            raise SpecErrors([SpecError(file, "name", f"{name!r} is defined twice")])


def parse_file(file: str, text: str, env: Mapping[str, str] | None = None) -> TaskDocument | tuple[str, WorkerSpec]:
    """A task document, or a worker's (name, spec) when the file has a root `worker:` key; every
    error with its line and column."""
    try:
        raw = read_yaml(text, file)
        if "worker" in raw:
            return worker_from_raw(raw, file, env)
        return TaskDocument.from_raw(raw, file, env)
    except SpecErrors as exc:
        raise locate(exc, text) from None


def yaml_files(root: Path) -> list[Path]:
    """YAML files under a file or folder, sorted for stable output."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def load_catalog(paths: Iterable[Path], env: Mapping[str, str] | None = None, base: Path | None = None) -> Catalog:
    catalog = Catalog()
    for root in paths:
        if not root.exists():
            catalog.errors.append(SpecError(str(root), "<file>", "no such file or folder"))
            continue
        for file in yaml_files(root):
            label = os.path.relpath(file, base) if base else str(file)
            catalog.add_file(label, file.read_text(), env)
    return catalog
