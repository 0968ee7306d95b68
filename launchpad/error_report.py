"""Validation errors in the forms a CI reads: GitHub Actions annotations, or a JSON list.

An annotation (`::error file=F,line=L,col=C,title=T::message`) makes GitHub show the error on
the pull request's diff, at the line. Its file is relative to the repository's root, which is
where a workflow's steps run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from launchpad.errors import SpecError, SpecErrors
from launchpad.spec.positions import locate


def locate_files(errors: list[SpecError], path_of: Callable[[str], Path]) -> None:
    """Give the errors found without a text at hand (across files, unknown components) their
    line and column, reading each file once."""
    by_file: dict[str, list[SpecError]] = {}
    for error in errors:
        if error.line is None:
            by_file.setdefault(error.file, []).append(error)
    for file, found in by_file.items():
        try:
            text = path_of(file).read_text()
        except (OSError, UnicodeDecodeError):
            continue
        locate(SpecErrors(found), text)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github(errors: Iterable[SpecError], path_of: Callable[[str], Path]) -> str:
    """One `::error` workflow command per error, its file relative to the current folder."""
    lines = []
    for error in errors:
        where = [f"file={_escape_property(_relative(path_of(error.file)))}"]
        if error.line is not None:
            where += [f"line={error.line}", f"col={error.column or 1}"]
        where.append(f"title={_escape_property('launchpad: ' + error.path)}")
        lines.append(f"::error {','.join(where)}::{_escape_data(f'{error.path}: {error.message}')}")
    return "\n".join(lines)


def as_json(errors: Iterable[SpecError], path_of: Callable[[str], Path]) -> str:
    """A JSON list of {file, line, column, path, message}; line and column null when unknown."""
    out = [
        {
            "file": _relative(path_of(e.file)),
            "line": e.line,
            "column": e.column,
            "path": e.path,
            "message": e.message,
        }
        for e in errors
    ]
    return json.dumps(out, indent=2)


def _relative(path: Path) -> str:
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()
