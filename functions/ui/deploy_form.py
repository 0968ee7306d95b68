"""The deploy form of a task: which fields it offers, and what a submitted form asks for.

Values are YAML, as with `launchpad deploy --set/--arg` (`40` is a number, `[1, 2]` a list,
`"40"` a string); an empty field is left out, so a template's defaults apply.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from launchpad.errors import SpecError, SpecErrors, format_path
from launchpad.render import PROTECTED_ROOT_KEYS, Path, template_variables

OVERWRITE_ROWS = 3


@dataclass
class DeployForm:
    """What the form shows, and what was typed in it (kept when the deploy is refused)."""

    template_args: list[str] = field(default_factory=list)  # the template's variables
    overwrite_paths: list[str] = field(default_factory=list)  # suggestions: the file's leaf values
    args: dict[str, str] = field(default_factory=dict)
    overwrites: list[tuple[str, str]] = field(default_factory=lambda: [("", "")] * OVERWRITE_ROWS)


def leaf_paths(doc: Any, path: Path = ()) -> list[str]:
    """Every value's dotted path, except the keys an overwrite may not change."""
    if isinstance(doc, dict):
        return [
            p
            for key, value in doc.items()
            if not (not path and key in PROTECTED_ROOT_KEYS)
            for p in leaf_paths(value, (*path, key))
        ]
    if isinstance(doc, list) and doc:
        return [p for i, value in enumerate(doc) for p in leaf_paths(value, (*path, i))]
    return [format_path(path)] if path else []


def form_for(doc: Mapping[str, Any], template: bool, overwritable: bool) -> DeployForm:
    return DeployForm(
        template_args=template_variables(doc) if template else [],
        overwrite_paths=leaf_paths(doc) if overwritable else [],
    )


class _PlainLoader(yaml.SafeLoader):
    """Safe YAML without aliases: a few hundred bytes of `&a [*b, *b, ...]` stand for gigabytes
    once a template turns the value into text, and a plain user's form stalled the API."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases (*name) are not allowed in a form value")
        return super().compose_node(parent, index)


def _value(text: str, file: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_PlainLoader)  # a SafeLoader, without aliases
    except yaml.YAMLError as exc:
        raise SpecErrors([SpecError(file, where, f"not a YAML value: {exc}")]) from None


def submitted(form: DeployForm, fields: Mapping[str, str], file: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(template_args, overwrite) from the submitted fields; `form` keeps what was typed."""
    form.args = {name: fields.get(f"arg.{name}", "") for name in form.template_args}
    form.overwrites = [
        (fields.get(f"path.{i}", "").strip(), fields.get(f"value.{i}", "")) for i in range(OVERWRITE_ROWS)
    ]
    args = {name: _value(text, file, name) for name, text in form.args.items() if text.strip()}
    overwrite = {path: _value(text, file, path) for path, text in form.overwrites if path}
    return args, overwrite
