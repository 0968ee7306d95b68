"""Reading one YAML file into a validated model; every error names the file and the key path.

Kept apart from the task models so that reading the configuration does not import them.
"""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from launchpad.errors import SpecError, SpecErrors

M = TypeVar("M", bound=BaseModel)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str, file: str) -> dict[str, Any]:
    """Parse one YAML mapping; syntax errors name the line."""
    try:
        doc = yaml.load(text, Loader=_LOADER)  # a safe loader, the C one when built
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "<yaml>"
        problem = getattr(exc, "problem", None) or str(exc)
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise SpecErrors([SpecError(file, where, f"invalid YAML: {problem}", line, column)]) from None
    if not isinstance(doc, dict):
        raise SpecErrors([SpecError(file, "<root>", "the file must hold a YAML mapping")])
    return doc


def validate(model: type[M], doc: Any, file: str) -> M:
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise SpecErrors.from_validation(file, exc) from None
