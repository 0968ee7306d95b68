"""Where a key path is in a YAML text: the line and column a CI annotation or an editor points at.

Validation works on parsed values, which have no positions; errors name a key path
(`workflow.intervals.0.every`). Only when a file has errors is its text composed again into YAML
nodes, which carry their marks, and each path looked up: a mapping key points at the key, a list
item at the item; a path that does not exist (a missing key) points at its deepest existing parent.
"""

from __future__ import annotations

import yaml

from launchpad.errors import SpecErrors

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Position = tuple[int, int]  # line, column: 1-based


def position(text: str, path: str) -> Position | None:
    """The position of a dotted key path in the text; None when the text does not compose."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        return None
    if root is None:
        return (1, 1)
    return _find(root, path)


def _find(root: yaml.Node, path: str) -> Position:
    node, at = root, _mark(root)
    if path in ("", "<root>"):
        return at
    for part in path.split("."):
        child = _child(node, part)
        if child is None:
            break
        at, node = child
    return at


def _child(node: yaml.Node, part: str) -> tuple[Position, yaml.Node] | None:
    """The position and node of one step down: a mapping's key, or a list's item."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return _mark(key), value
    elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
        item = node.value[int(part)]
        return _mark(item), item
    return None


def _mark(node: yaml.Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def locate(exc: SpecErrors, text: str) -> SpecErrors:
    """The same errors, each with the line and column of its key path in `text` (those that
    already have one, a YAML syntax error's, keep it). The text is composed once."""
    missing = [e for e in exc.errors if e.line is None]
    if not missing:
        return exc
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        return exc
    for error in missing:
        error.line, error.column = _find(root, error.path) if root is not None else (1, 1)
    return exc
