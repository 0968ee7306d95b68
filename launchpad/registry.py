"""Components by name: built-in and users' activities, workflows and runners.

Users' Python files (the `watcher.modules.activities|workflows|runners` paths) are
imported as modules named `launchpad_user.<stem>_<hash>`; the workers pass that
package through the workflow sandbox, so user workflows run like built-in ones.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from launchpad.errors import LaunchpadError

USER_PACKAGE = "launchpad_user"


class ComponentError(LaunchpadError):
    code = "component_error"
    kind = "invalid"


@dataclass(frozen=True)
class Component:
    kind: str  # "activity" | "workflow" | "runner"
    name: str
    obj: Any
    source: str


# The SDK has no public function that reads the name `@activity.defn` / `@workflow.defn` gave
# (https://github.com/temporalio/sdk-python/issues/758 asks for discovery helpers). The decorators
# store their definition in these attributes, whose `name` is the registered name; read them,
# without touching the SDK's private definition classes.
_ACTIVITY_DEFINITION = "__temporal_activity_definition"
_WORKFLOW_DEFINITION = "__temporal_workflow_definition"


def _defined_name(obj: object, attribute: str) -> str | None:
    name = getattr(getattr(obj, attribute, None), "name", None)
    return name if isinstance(name, str) and name else None


def activity_name(fn: Callable[..., Any]) -> str | None:
    return _defined_name(fn, _ACTIVITY_DEFINITION)


def workflow_name(cls: type) -> str | None:
    # `vars`: the class's own definition; a subclass of a workflow is not a workflow until decorated
    return _defined_name(cls, _WORKFLOW_DEFINITION) if _WORKFLOW_DEFINITION in vars(cls) else None


@dataclass
class Registry:
    components: dict[tuple[str, str], Component] = field(default_factory=dict)
    module_errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def builtin(cls) -> Registry:
        from launchpad.temporal.runners import BUILTIN_RUNNERS
        from launchpad.temporal.workflows import BUILTIN_WORKFLOWS

        registry = cls()
        for wf in BUILTIN_WORKFLOWS:
            registry.add(Component("workflow", workflow_name(wf) or wf.__name__, wf, "launchpad"))
        for runner in BUILTIN_RUNNERS:
            registry.add(Component("runner", runner.__name__, runner, "launchpad"))
        return registry

    def add(self, component: Component) -> None:
        self._check_duplicate(component)
        self.components[(component.kind, component.name)] = component

    def get(self, kind: str, name: str) -> Any:
        component = self.components.get((kind, name))
        if component is None:
            known = sorted(n for k, n in self.components if k == kind)
            raise ComponentError(f"unknown {kind} {name!r}; known: {', '.join(known) or 'none'}")
        return component.obj

    def names(self, kind: str) -> set[str]:
        return {name for k, name in self.components if k == kind}

    def load_paths(self, paths: Iterable[Path], skips: Iterable[Path] = ()) -> None:
        """Import every .py file under the paths and register what they define.

        A module that fails to import is recorded in `module_errors` (traceback summary);
        what it registered before, if anything, stays in place.
        """
        skipped = {p.resolve() for p in skips}
        for file in python_files(paths):
            if file.resolve() in skipped:
                continue
            try:
                module = import_user_module(file)
                found = list(discover(module, str(file)))
                for component in found:
                    self._check_duplicate(component)
            except Exception as exc:
                self.module_errors[str(file)] = summarize(exc)
                continue
            self.module_errors.pop(str(file), None)
            for key in [k for k, c in self.components.items() if c.source == str(file)]:
                del self.components[key]
            for component in found:
                self.components[(component.kind, component.name)] = component

    def _check_duplicate(self, component: Component) -> None:
        known = self.components.get((component.kind, component.name))
        if known is not None and known.source != component.source:
            what = f"{component.kind} {component.name!r}"
            raise ComponentError(f"{what} is defined twice: in {known.source} and {component.source}")


def python_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_file() and path.suffix == ".py":
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts))
    return files


def module_name(file: Path) -> str:
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:10]
    return f"{USER_PACKAGE}.{file.stem}_{digest}"


def import_user_module(file: Path) -> ModuleType:
    """(Re)import a user file; it replaces the previous version only when it imports cleanly."""
    if USER_PACKAGE not in sys.modules:
        package = ModuleType(USER_PACKAGE)
        package.__path__ = []
        sys.modules[USER_PACKAGE] = package
    name = module_name(file)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ComponentError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if previous is not None:
            sys.modules[name] = previous
        else:
            del sys.modules[name]
        raise
    return module


def discover(module: ModuleType, source: str) -> Iterable[Component]:
    """The activities, workflows and runners a module defines (not those it imports)."""
    from launchpad.temporal.runners import Runner

    for _, obj in inspect.getmembers(module):
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if callable(obj) and not inspect.isclass(obj) and (name := activity_name(obj)):
            yield Component("activity", name, obj, source)
        elif inspect.isclass(obj) and (name := workflow_name(obj)):
            yield Component("workflow", name, obj, source)
        elif inspect.isclass(obj) and issubclass(obj, Runner) and obj is not Runner:
            yield Component("runner", obj.__name__, obj, source)


def summarize(exc: BaseException) -> str:
    """The last frames and the message, enough to find the line without a wall of text."""
    frames = traceback.extract_tb(exc.__traceback__)[-2:]
    where = "; ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames)
    return f"{type(exc).__name__}: {exc} (at {where})"
