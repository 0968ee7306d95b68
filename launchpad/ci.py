"""`launchpad setup --ci github|gitlab`: the CI recipe that validates and plans every pull request.

The recipes are package data (launchpad/templates/ci/); `@@package@@` becomes what the job
installs (`launchpad==<this version>`). Like the scaffold, a file that exists is never
overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from launchpad import __version__
from launchpad.scaffold import TEMPLATES, ScaffoldError, write_new

CiKind = Literal["github", "gitlab"]
WHERE: dict[str, str] = {"github": ".github/workflows/launchpad.yml", "gitlab": ".gitlab-ci.yml"}


def ci_files(kind: CiKind) -> dict[str, str]:
    """Relative path -> content of the recipe for `kind`."""
    if kind not in WHERE:
        raise ScaffoldError(f"unknown CI {kind!r}: choose github or gitlab")
    text = (TEMPLATES / "ci" / f"{kind}.yml").read_text(encoding="utf-8")
    return {WHERE[kind]: text.replace("@@package@@", f"launchpad=={__version__}")}


@dataclass
class CiResult:
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self, kind: CiKind) -> list[str]:
        lines = [f"created {path}" for path in self.created]
        lines += [f"skipped {path} (exists; left unchanged)" for path in self.skipped]
        if kind == "gitlab" and self.skipped:
            lines.append("note: add the jobs of launchpad's GitLab recipe to your .gitlab-ci.yml (docs/ci.md)")
        if self.created:
            lines.append("next: commit it; docs/ci.md says what the job needs to reach Temporal and the state store")
        return lines


def write_ci(kind: CiKind, root: Path) -> CiResult:
    """Write the recipe under `root` unless its file exists."""
    result = CiResult()
    for relative, text in ci_files(kind).items():
        (result.created if write_new(root, relative, text) else result.skipped).append(relative)
    return result
