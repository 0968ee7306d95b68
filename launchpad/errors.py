"""Error types shared by every layer; each carries a stable code for the API."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError


def format_path(loc: Sequence[str | int]) -> str:
    """Dotted key path, list indices included (`workflow.workflow_kwargs.args.0`)."""
    return ".".join(str(part) for part in loc) or "<root>"


class LaunchpadError(Exception):
    """Base of every error launchpad reports to a user.

    `code` is stable and names the error; `kind` says what the user can do about it, for the
    front ends to map (the API to an HTTP status) without importing every error class:
    invalid (fix the input), not_found, conflict (the state forbids it now), unavailable
    (retry later), upstream (a system launchpad depends on failed), error (anything else).
    """

    code = "launchpad_error"
    kind = "error"

    def details(self) -> Any:
        """Structured data for the user beyond the message (None when there is none)."""
        return None


class SpecError(LaunchpadError):
    """One problem in one file, at one key path."""

    code = "invalid_spec"
    kind = "invalid"

    def __init__(self, file: str, path: str, message: str, line: int | None = None, column: int | None = None) -> None:
        self.file = file
        self.path = path
        self.message = message
        self.line = line  # 1-based, where the YAML node of `path` starts (launchpad.spec.positions)
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"

    def as_dict(self) -> dict[str, str | int]:
        out: dict[str, str | int] = {"file": self.file, "path": self.path, "message": self.message}
        if self.line is not None and self.column is not None:
            out |= {"line": self.line, "column": self.column}
        return out


class SpecErrors(LaunchpadError):
    """All the problems found in one or more files, reported together."""

    code = "invalid_spec"
    kind = "invalid"

    def __init__(self, errors: Iterable[SpecError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))

    @classmethod
    def from_validation(cls, file: str, exc: ValidationError, prefix: Sequence[str | int] = ()) -> SpecErrors:
        return cls(
            SpecError(file, format_path([*prefix, *_clean_loc(err["loc"])]), _message(err)) for err in exc.errors()
        )


def _clean_loc(loc: Sequence[Any]) -> list[str | int]:
    # pydantic adds the tag of a function validator to the location; keep only real keys
    return [part for part in loc if not (isinstance(part, str) and part.startswith("function-"))]


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (typo?)"
    return str(err["msg"]).removeprefix("Value error, ")


class TemporalUnavailable(LaunchpadError):
    """A Temporal server could not be reached in the allowed time."""

    code = "temporal_unavailable"
    kind = "unavailable"


class UnknownTarget(LaunchpadError):
    """A server or namespace name that the configuration does not define."""

    code = "unknown_target"
    kind = "not_found"
