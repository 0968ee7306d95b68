"""Turn a parsed YAML document into the values to validate.

Three steps, always in this order and always on *values*, never on text, so a
value can never inject structure or change another field:

1. env injection: `${VAR}` / `${VAR:-default}` in any string (`$$` is a literal `$`);
2. templating (tasks with `template: true` only): every string is rendered by a
   sandboxed jinja2 environment with StrictUndefined; a string that is exactly
   `{{ name }}` takes the argument's value as is (a list stays a list);
3. overwrite (tasks with `overwritable` only): dotted paths with list indices, each under a path
   the task allows; guarded paths (the keys that decide where, as whom or how often a task runs)
   keep their value unless the caller may change them.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from launchpad.errors import SpecError, SpecErrors, format_path

Path = tuple[str | int, ...]
_ENV_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SOLE_EXPRESSION = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_JINJA_MARK = re.compile(r"\{\{|\{%|\{#")
PROTECTED_ROOT_KEYS = frozenset({"name", "template", "overwritable", "deploy_on_server_start"})


@functools.cache
def _sandbox() -> Any:
    """The jinja2 sandbox, built on first use: most processes never render a template."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def map_strings(doc: Any, fn: Callable[[str, Path], Any], path: Path = ()) -> Any:
    """Rebuild `doc` with every string value replaced by `fn(value, path)`; keys untouched."""
    if isinstance(doc, dict):
        return {key: map_strings(value, fn, (*path, key)) for key, value in doc.items()}
    if isinstance(doc, list):
        return [map_strings(value, fn, (*path, index)) for index, value in enumerate(doc)]
    if isinstance(doc, str):
        return fn(doc, path)
    return doc


def inject_env(doc: Any, file: str, env: Mapping[str, str], used: set[str] | None = None) -> tuple[Any, set[Path]]:
    """Replace env references; return the new document and the paths that received a value.
    `used` collects the values taken from the environment."""
    errors: list[SpecError] = []
    injected: set[Path] = set()

    def substitute(text: str, path: Path) -> str:
        def one(match: re.Match[str]) -> str:
            if match[0] == "$$":
                return "$"
            name, default = match[1], match[2]
            if name in env:
                injected.add(path)
                if used is not None:
                    used.add(env[name])
                return env[name]
            if default is not None:
                return default
            errors.append(SpecError(file, format_path(path), f"environment variable {name} is not set"))
            return ""

        return _ENV_REF.sub(one, text)

    result = map_strings(doc, substitute)
    if errors:
        raise SpecErrors(errors)
    return result, injected


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and bool(_JINJA_MARK.search(value))


def render_template(doc: Any, args: Mapping[str, Any], file: str) -> Any:
    """Render every string value in the jinja2 sandbox with `args`."""
    from jinja2 import TemplateError

    if "self" in args:  # every jinja2 template names itself `self`: the argument could never be read
        raise SpecErrors([SpecError(file, "template", "'self' is reserved by jinja2: name the argument otherwise")])
    errors: list[SpecError] = []

    def render(text: str, path: Path) -> Any:
        if not is_templated(text):
            return text
        sole = _SOLE_EXPRESSION.match(text)
        if sole:
            if sole[1] not in args:
                errors.append(SpecError(file, format_path(path), f"template variable {sole[1]!r} is missing"))
                return text
            return copy.deepcopy(args[sole[1]])
        try:
            return _sandbox().from_string(text).render(**args)
        except TemplateError as exc:
            errors.append(SpecError(file, format_path(path), f"template error: {_jinja_message(exc)}"))
            return text
        except (ArithmeticError, LookupError, TypeError, ValueError) as exc:  # `{{ n + 1 }}` with n="x", `{{ a / 0 }}`
            errors.append(SpecError(file, format_path(path), f"template error: {type(exc).__name__}: {exc}"))
            return text

    result = map_strings(doc, render)
    if errors:
        raise SpecErrors(errors)
    return result


def template_variables(doc: Any) -> list[str]:
    """The names a template's strings use, in the order they first appear."""
    from jinja2 import TemplateSyntaxError, meta

    names: dict[str, None] = {}

    def collect(text: str, _: Path) -> str:
        if is_templated(text):
            with contextlib.suppress(TemplateSyntaxError):  # reported when the template is rendered
                names.update(dict.fromkeys(sorted(meta.find_undeclared_variables(_sandbox().parse(text)))))
        return text

    map_strings(doc, collect)
    return list(names)


def _jinja_message(exc: Any) -> str:
    message = exc.message or type(exc).__name__
    match = re.match(r"^'(\w+)' is undefined$", message)
    return f"template variable {match[1]!r} is missing" if match else message


def apply_overwrite(
    doc: dict[str, Any],
    overwrite: Mapping[str, Any],
    file: str,
    allowed: Sequence[str],
    guarded: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Set each dotted path to its value. Each path must be one of `allowed` or under one; a path
    at or under a `guarded` one (`*` stands for any list index; the value says why it is guarded)
    is refused (`guarded_changes` finds the other ways to change a guarded value). Intermediate
    keys must exist; the last key may be new on a mapping (the result is validated again, so an
    unknown key is still an error)."""
    result = dict(doc)  # copied along each overwritten path only: the parsed document is shared
    guarded = guarded or {}
    prefixes = [prefix.split(".") for prefix in allowed]
    errors: list[SpecError] = []
    for dotted, value in overwrite.items():
        parts = dotted.split(".")
        if not dotted or any(part == "" for part in parts):
            errors.append(SpecError(file, dotted or "<root>", "invalid overwrite path"))
            continue
        if parts[0] in PROTECTED_ROOT_KEYS:
            errors.append(SpecError(file, dotted, f"{parts[0]!r} cannot be overwritten"))
            continue
        if not any(_within(parts, prefix) for prefix in prefixes):
            errors.append(SpecError(file, dotted, f"not overwritable: this task allows {', '.join(allowed)}"))
            continue
        guard = next((g for g in guarded if _within(parts, g.split("."))), None)
        if guard is not None:
            where = ".".join(parts[: len(guard.split("."))])
            errors.append(SpecError(file, dotted, _guarded_message(where, guarded[guard])))
            continue
        try:
            _set_path(result, parts, copy.deepcopy(value))
        except LookupError as exc:
            errors.append(SpecError(file, dotted, f"path does not exist ({exc.args[0]})"))
    if errors:
        raise SpecErrors(errors)
    return result


def guarded_changes(before: Any, after: Any, guarded: Mapping[str, str], file: str) -> list[SpecError]:
    """A guarded value that differs between two versions of a document (an overwrite of a mapping
    above it, say), one error per guard."""
    errors = []
    for guard, why in guarded.items():
        old, new = _values(before, guard.split(".")), _values(after, guard.split("."))
        changed = [path for path in {*old, *new} if old.get(path, _ABSENT) != new.get(path, _ABSENT)]
        if changed:
            where = format_path(min(changed, key=str))
            errors.append(SpecError(file, where, _guarded_message(where, why)))
    return errors


_ABSENT = object()


def _guarded_message(path: str, why: str) -> str:
    return f"{path} {why}: only a super user may overwrite it"


def _within(parts: list[str], prefix: list[str]) -> bool:
    """Whether a path is `prefix` or under it; `*` in the prefix matches a list index."""
    if len(parts) < len(prefix):
        return False
    return all(p == q or (p == "*" and q.isdecimal()) for p, q in zip(prefix, parts[: len(prefix)], strict=True))


def _values(doc: Any, pattern: list[str], path: Path = ()) -> dict[Path, Any]:
    """The values at a pattern's paths (`*`: every index of a list), by path."""
    if not pattern:
        return {path: doc}
    head, rest = pattern[0], pattern[1:]
    if head == "*" and isinstance(doc, list):
        return {p: v for i, item in enumerate(doc) for p, v in _values(item, rest, (*path, i)).items()}
    if isinstance(doc, dict) and head in doc:
        return _values(doc[head], rest, (*path, head))
    return {}


def _set_path(doc: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set the value in `doc` (a fresh top-level copy), copying each container on the way down
    before changing it, so what the caller's document shares with `doc` is never modified."""
    node: Any = doc
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not (part.isascii() and part.isdecimal()) or len(part) > len(str(len(node))) or int(part) >= len(node):
                raise LookupError(f"no index {part[:20]} at {where[:200]}")
            key: int | str = int(part)
        else:
            key = part
        if last:
            node[key] = value
            return
        child = node.get(key) if isinstance(node, dict) else node[key]
        if not isinstance(child, dict | list):
            raise LookupError(f"no mapping or list at {where}")
        node[key] = node = list(child) if isinstance(child, list) else dict(child)
