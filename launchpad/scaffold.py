"""`launchpad setup --name NAME`: scaffold a launchpad project in a new or existing folder.

It writes a worker, three example tasks (on demand, a schedule, custom components), the
project's code folder (`NAME/temporal/` with activities, a custom workflow and a custom
runner), `launchpad_configs.yaml` wired to all of them and a `.gitignore`; then, when the
folder is not in a git repository yet, `git init -b main` and a first commit of those files.

The files are package data, `launchpad/templates/project/` (`package/` is the code folder,
`gitignore` the `.gitignore`), with placeholders: `@@name@@` (the project's name), `@@queue@@`
(its task queue) and `@@code@@` (its code folder). Most are the repository's own examples
(deployments/, launchpad_configs.yaml) with those placeholders, and a test keeps them equal.
The project's configuration also gets `launchpad/templates/users.yaml`: its API is not open.

It never overwrites a file: what exists is listed as skipped, so running it twice
changes nothing the second time (and makes no second commit).
"""

from __future__ import annotations

import keyword
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from launchpad.errors import LaunchpadError

TEMPLATES = files("launchpad") / "templates"
CODE_FOLDER = "package"  # in the templates; named after the project when written
DEFAULT_IDENTITY = {"user.name": "launchpad", "user.email": "launchpad@localhost"}
# Top-level packages a project folder must not shadow: `python -m launchpad`, run from the
# project folder, puts that folder first on sys.path.
RESERVED = frozenset(
    {
        "launchpad",
        "launchpad_user",
        "reconciler",
        "functions",
        "temporalio",
        "yaml",
        "jinja2",
        "pydantic",
        "git",
        "typer",
        "rich",
        "fastapi",
        "uvicorn",
        "mangum",
        "jwt",
        "boto3",
        "argon2",
        "google",
    }
)


class ScaffoldError(LaunchpadError):
    code = "scaffold_error"


@dataclass
class ScaffoldResult:
    root: Path
    name: str
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    git_initialized: bool = False
    commit: str | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # git failed after the files were written

    def summary(self) -> list[str]:
        """Plain lines for the command line."""
        lines = [f"created {path}" for path in self.created]
        lines += [f"skipped {path} (exists; left unchanged)" for path in self.skipped]
        if self.git_initialized:
            lines.append("initialized a git repository (branch main)")
        if self.commit:
            lines.append(f"committed the scaffold: {self.commit[:12]}")
        lines += self.notes
        if self.error:
            return lines
        if not self.created and not self.commit:
            lines.append("nothing to do: the project is already set up")
        lines += [
            "next steps:",
            f"  cd {self.root}",
            "  launchpad validate              # check the config, tasks, workers and code",
            "  launchpad dev                   # Temporal dev server, workers, reconciler (hello-schedule), API",
            "  launchpad deploy hello-world    # from another terminal: run the example task",
        ]
        return lines


def check_name(name: str) -> None:
    """The project name is the code folder's name: it must be importable as a package."""
    if not name.isidentifier():
        hint = name.replace("-", "_").replace(" ", "_").replace(".", "_")
        suggestion = f"; try {hint!r}" if hint.isidentifier() and not keyword.iskeyword(hint) else ""
        raise ScaffoldError(
            f"invalid project name {name!r}: it must be a valid Python package name "
            f"(letters, digits and underscores, not starting with a digit){suggestion}"
        )
    if keyword.iskeyword(name):
        raise ScaffoldError(f"invalid project name {name!r}: it is a Python keyword; choose another name")
    if name in RESERVED or name in sys.stdlib_module_names:
        raise ScaffoldError(
            f"invalid project name {name!r}: a package of that name already exists "
            "(standard library or launchpad's dependencies) and the project folder would shadow it"
        )


def placeholders(name: str) -> dict[str, str]:
    """What the templates' placeholders become in a project named `name`."""
    return {"@@name@@": name, "@@queue@@": f"{name}-tasks", "@@code@@": f"{name}/temporal"}


def fill(text: str, values: Mapping[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def templates(folder: Traversable = TEMPLATES / "project", prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path under launchpad/templates/project, text) of every template, placeholders unfilled."""
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.is_dir() and entry.name != "__pycache__":
            yield from templates(entry, f"{prefix}{entry.name}/")
        elif entry.is_file() and not entry.name.endswith(".pyc"):
            yield f"{prefix}{entry.name}", entry.read_text(encoding="utf-8")


def project_path(template: str, name: str) -> str:
    """Where a template goes in the project."""
    if template == "gitignore":
        return ".gitignore"
    first, _, rest = template.partition("/")
    return f"{name}/{rest}" if first == CODE_FOLDER else template


def project_files(name: str) -> dict[str, str]:
    """Relative path -> content of every file the scaffold writes."""
    values = placeholders(name)
    out = {project_path(template, name): fill(text, values) for template, text in templates()}
    out["launchpad_configs.yaml"] += "\n" + (TEMPLATES / "users.yaml").read_text(encoding="utf-8")
    return dict(sorted(out.items()))


def write_new(root: Path, relative: str, text: str) -> bool:
    """Write a file that does not exist yet; False (and nothing written) when it does: a user's
    file is never overwritten."""
    target = root / relative
    if target.exists() or target.is_symlink():
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except FileExistsError:  # appeared meanwhile: still never overwritten
        return False
    except OSError as exc:
        raise ScaffoldError(f"cannot write {relative}: {exc.strerror or exc}") from None
    return True


def scaffold(name: str, path: Path | str = ".", extra: Mapping[str, str] | None = None) -> ScaffoldResult:
    """Write the project files that do not exist yet (and `extra`'s: path -> text, a CI recipe);
    set up git when there is no repository."""
    check_name(name)
    root = Path(path).expanduser()
    if root.exists() and not root.is_dir():
        raise ScaffoldError(f"{root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    result = ScaffoldResult(root, name)
    files = project_files(name) | dict(extra or {})
    for relative in files:  # refuse before writing anything
        for parent in list((root / relative).relative_to(root).parents)[:-1]:
            if (root / parent).exists() and not (root / parent).is_dir():
                raise ScaffoldError(f"cannot write {relative}: {parent} exists and is not a folder")
    for relative, text in files.items():
        (result.created if write_new(root, relative, text) else result.skipped).append(relative)
    if ".gitignore" in result.skipped and ".launchpad" not in (root / ".gitignore").read_text(errors="replace"):
        result.notes.append("note: add .launchpad/ to your .gitignore (local state and the dev server's data)")
    try:
        _setup_git(result, list(files))
    except ScaffoldError as exc:
        result.error = str(exc)
    return result


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise ScaffoldError("git is not installed; install it, or run `git init` yourself") from None
    if check and done.returncode != 0:
        raise ScaffoldError(f"git {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


def _setup_git(result: ScaffoldResult, paths: list[str]) -> None:
    """`git init -b main` and a first commit when there is no repository; a repository whose
    root is this folder and that has no commit yet gets the first commit; otherwise git is
    left alone (the user commits)."""
    root = result.root
    inside = _git(root, "rev-parse", "--show-toplevel", check=False)
    if inside.returncode != 0:
        if _git(root, "init", "-q", "-b", "main", check=False).returncode != 0:  # git < 2.28
            _git(root, "init", "-q")
            _git(root, "symbolic-ref", "HEAD", "refs/heads/main")
        result.git_initialized = True
    elif Path(inside.stdout.strip()).resolve() != root:
        if result.created:
            result.notes.append(
                f"note: this folder is inside the git repository {inside.stdout.strip()}: commit the new files "
                "yourself, and point repository.url / tasks_path / workers_path in launchpad_configs.yaml at it"
            )
        return
    if _git(root, "rev-parse", "--verify", "-q", "HEAD", check=False).returncode == 0:
        if result.created:
            result.notes.append("note: the repository already has commits: review and commit the new files yourself")
        return
    ignored = set(_git(root, "check-ignore", "--", *paths, check=False).stdout.splitlines())
    paths = [p for p in paths if p not in ignored and (root / p).exists()]
    if not paths:
        return
    _git(root, "add", "--", *paths)
    identity: list[str] = []
    for key, default in DEFAULT_IDENTITY.items():
        if not _git(root, "config", key, check=False).stdout.strip():
            identity += ["-c", f"{key}={default}"]
    _git(root, *identity, "commit", "-q", "-m", f"launchpad setup: scaffold {result.name}", "--", *paths)
    result.commit = _git(root, "rev-parse", "HEAD").stdout.strip()
    if _git(root, "status", "--porcelain").stdout.strip():
        result.notes.append("note: only the scaffold's files were committed; commit your other files yourself")
