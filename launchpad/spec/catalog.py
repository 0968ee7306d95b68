"""All task and worker files of a tree, parsed, with every error collected (not the first)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from launchpad.errors import SpecError, SpecErrors
from launchpad.spec.document import TaskDocument, parse_worker, read_yaml
from launchpad.spec.worker import WorkerSpec

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class Catalog:
    tasks: dict[str, TaskDocument] = field(default_factory=dict)
    workers: dict[str, WorkerSpec] = field(default_factory=dict)
    errors: list[SpecError] = field(default_factory=list)

    def add_file(self, file: str, text: str, env: Mapping[str, str] | None = None) -> None:
        """Parse one file (a worker when it has a root `worker:` key, else a task)."""
        try:
            if is_worker_file(text, file):
                name, worker = parse_worker(text, file, env)
                self._unique(self.workers, name, file)
                self.workers[name] = worker
            else:
                task = TaskDocument.parse(text, file, env)
                self._unique(self.tasks, task.name, file)
                self.tasks[task.name] = task
        except SpecErrors as exc:
            self.errors.extend(exc.errors)

    def _unique(self, known: Mapping[str, object], name: str, file: str) -> None:
        if name in known:
            raise SpecErrors([SpecError(file, "name", f"{name!r} is defined twice")])


def is_worker_file(text: str, file: str) -> bool:
    try:
        return "worker" in read_yaml(text, file)
    except SpecErrors:
        return False


def yaml_files(root: Path) -> list[Path]:
    """YAML files under a file or folder, sorted for stable output."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def load_catalog(
    paths: Iterable[Path], env: Mapping[str, str] | None = None, base: Path | None = None
) -> Catalog:
    catalog = Catalog()
    for root in paths:
        if not root.exists():
            catalog.errors.append(SpecError(str(root), "<file>", "no such file or folder"))
            continue
        for file in yaml_files(root):
            label = os.path.relpath(file, base) if base else str(file)
            catalog.add_file(label, file.read_text(), env)
    return catalog
