"""`depends_on` between tasks: the order they are applied in, and the cycles that forbid one.

A graph maps a task's name to the names it depends on. Kept free of I/O: `launchpad validate`
checks the files' graph, the reconciler orders a plan by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from launchpad.errors import SpecError

Graph = Mapping[str, Iterable[str]]


def levels(graph: Graph) -> dict[str, int]:
    """Each name's depth: 0 when it depends on nothing in the graph, else one more than its
    deepest dependency. Names on a cycle, or depending on one, have no level."""
    edges = {name: [d for d in deps if d in graph] for name, deps in graph.items()}
    depth: dict[str, int] = {}
    pending = dict(edges)
    while pending:
        ready = {n: deps for n, deps in pending.items() if all(d in depth for d in deps)}
        if not ready:
            break
        for name, deps in ready.items():
            depth[name] = 1 + max((depth[d] for d in deps), default=-1)
            del pending[name]
    return depth


def cycles(graph: Graph) -> list[list[str]]:
    """Each cycle once, as the names along it (starting from its smallest), sorted."""
    edges = {name: sorted({d for d in deps if d in graph}) for name, deps in graph.items()}
    found = []
    for component in _strong_components(edges):
        start = min(component)
        if len(component) > 1 or start in edges[start]:
            found.append(_path_back(edges, component, start))
    return sorted(found)


def _strong_components(edges: Mapping[str, list[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on long chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _path_back(edges: Mapping[str, list[str]], component: set[str], start: str) -> list[str]:
    """A shortest cycle through `start` inside its component (breadth first)."""
    parents: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in edges[node]:
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return path[::-1]
            if child in component and child not in parents:
                parents[child] = node
                queue.append(child)
    return [start]


def describe(cycle: list[str]) -> str:
    return "dependency cycle: " + " → ".join([*cycle, cycle[0]])


def reconciled(doc: Mapping[str, Any]) -> bool:
    """Whether the reconciler manages the task these fields describe: a parsed task file, or the
    fields a TaskSpec validator has seen so far (a ScheduledWorkflowRunner without its
    scheduler_id is refused by the spec itself)."""
    if doc.get("template"):
        return False
    return doc.get("runner") == "ScheduledWorkflowRunner" or bool(doc.get("deploy_on_server_start"))


def check_files(tasks: Mapping[str, tuple[str, Mapping[str, Any]]]) -> list[SpecError]:
    """`launchpad validate`'s check across task files (name -> (file, parsed document)): every
    name in `depends_on` is a reconciled task, and no cycle."""
    errors = []
    graph: dict[str, list[str]] = {}
    for name, (file, doc) in sorted(tasks.items()):
        names = [d for d in doc.get("depends_on") or [] if isinstance(d, str)]
        graph[name] = names
        for i, dep in enumerate(names):
            if dep not in tasks:
                errors.append(SpecError(file, f"depends_on.{i}", f"no task named {dep!r}"))
            elif not reconciled(tasks[dep][1]):
                errors.append(
                    SpecError(
                        file,
                        f"depends_on.{i}",
                        f"{dep!r} is not reconciled (neither a schedule nor deploy_on_server_start): "
                        "there is nothing to wait for",
                    )
                )
    for cycle in cycles(graph):
        errors += [SpecError(tasks[name][0], "depends_on", describe(cycle)) for name in cycle]
    return errors
