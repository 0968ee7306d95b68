"""A git repository at a branch, cloned into a cache folder. Knows nothing of Temporal.

Credentials come from the environment and never touch the disk or the remote URL:
an HTTPS token is sent as an `http.extraHeader` through `GIT_CONFIG_*` variables,
an SSH key is written to a 0600 temporary file used by `GIT_SSH_COMMAND`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import TYPE_CHECKING

from launchpad.errors import LaunchpadError

if TYPE_CHECKING:
    import git


@functools.cache
def gitpython() -> ModuleType:
    """GitPython, imported on first use: its import runs `git version`, which a Lambda
    cold start (or an API that never touches git) should not pay for."""
    import git

    return git


class SourceError(LaunchpadError):
    code = "source_error"
    kind = "upstream"


class UnknownRevision(SourceError):
    """A revision the repository does not have: the caller's mistake, not the server's."""

    code = "unknown_revision"
    kind = "invalid"


@dataclass(frozen=True)
class Change:
    status: str  # added | modified | deleted | renamed
    path: str
    old_path: str | None = None


@dataclass(frozen=True)
class Revision:
    sha: str
    author: str
    date: datetime
    message: str


_STATUS = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed", "T": "modified", "C": "added"}


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_mtime_ns)


def under(path: str, folders: list[str]) -> bool:
    """Whether a repository path is one of `folders` or inside one of them."""
    p = PurePosixPath(path)
    for folder in folders:
        f = PurePosixPath(folder.strip("./") or ".")
        if str(f) == "." or p == f or f in p.parents:
            return True
    return False


class GitSource:
    def __init__(
        self,
        url: str,
        branch: str,
        cache_dir: Path,
        *,
        token_env: str = "LAUNCHPAD_GIT_TOKEN",
        ssh_key_env: str = "LAUNCHPAD_GIT_SSH_KEY",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.branch = branch
        self.token_env = token_env
        self.ssh_key_env = ssh_key_env
        self.env = os.environ if env is None else env
        self.path = cache_dir / hashlib.sha1(f"{url}#{branch}".encode()).hexdigest()[:12]
        git_dir = self.path / ".git"
        self._git_dir = str(git_dir)  # str paths: head() and fetched run on every API request
        self._ref_files = (str(git_dir / "refs" / "remotes" / "origin" / branch), str(git_dir / "packed-refs"))
        self._fetched = False
        self._repo: git.Repo | None = None
        self._listings: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}
        self._head: tuple[object, str] | None = None  # (identity of the ref files, sha)

    @property
    def repo(self) -> git.Repo:
        if self._repo is None:
            if not self.fetched:
                raise SourceError(f"{self.url} is not fetched yet")
            self._repo = gitpython().Repo(self.path)
        return self._repo

    @contextmanager
    def _git_env(self) -> Iterator[dict[str, str]]:
        extra = {"GIT_TERMINAL_PROMPT": "0"}
        token = self.env.get(self.token_env)
        if token and self.url.startswith("https://"):
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            extra |= {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            }
        key = self.env.get(self.ssh_key_env)
        if not key:
            yield extra
            return
        with tempfile.NamedTemporaryFile("w", suffix=".key", delete=False) as handle:
            handle.write(key if key.endswith("\n") else key + "\n")
        os.chmod(handle.name, stat.S_IRUSR | stat.S_IWUSR)
        try:
            extra["GIT_SSH_COMMAND"] = f"ssh -i {handle.name} -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new"
            yield extra
        finally:
            os.unlink(handle.name)

    def fetch(self) -> str:
        """Clone on first use, fetch afterwards; return the branch's head revision."""
        ref = f"refs/remotes/origin/{self.branch}"
        try:
            with self._git_env() as env:
                if not self.fetched:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    gitpython().Repo.clone_from(self.url, self.path, branch=self.branch, no_checkout=True, env=env)
                    self._repo = None
                else:
                    self.repo.git.fetch("origin", f"+refs/heads/{self.branch}:{ref}", "--prune", env=env)
            return self.head()
        except gitpython().GitCommandError as exc:
            raise SourceError(f"cannot fetch {self.url} ({self.branch}): {_stderr(exc)}") from None

    def close(self) -> None:
        """Stop GitPython's persistent `git cat-file` helpers (they would outlive a fast exit)."""
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    @property
    def fetched(self) -> bool:
        """Whether the clone exists; once it does it stays (fetches only update it)."""
        if not self._fetched:
            self._fetched = os.path.isdir(self._git_dir)
        return self._fetched

    def head(self) -> str:
        """The branch head as last fetched (no subprocess: the API asks on every request).

        Kept until the ref files change: git replaces a ref by renaming a new file over it, so
        (inode, mtime) of the loose ref and of packed-refs tell whether any process (a sync, a
        `git fetch` by hand) has moved it since.
        """
        key = tuple(_identity(path) for path in self._ref_files)
        if self._head is None or self._head[0] != key:
            ref = gitpython().Reference(self.repo, f"refs/remotes/origin/{self.branch}")
            self._head = (key, str(ref.commit.hexsha))
        return self._head[1]

    def changes(self, old: str, new: str, folders: list[str]) -> list[Change]:
        """Paths changed between two revisions under the folders (renames detected)."""
        out = self.repo.git.diff("--name-status", "-M", "--no-color", old, new)
        changes = []
        for line in out.splitlines():
            parts = line.split("\t")
            status = _STATUS.get(parts[0][0], "modified")
            change = Change(status, parts[2], parts[1]) if status == "renamed" else Change(status, parts[1])
            if under(change.path, folders) or (change.old_path and under(change.old_path, folders)):
                changes.append(change)
        return changes

    def files(self, revision: str, folders: list[str]) -> dict[str, str]:
        """Every file under the folders at a revision: path → blob sha. A commit never changes,
        so listings are kept per (commit, folders)."""
        key = (revision, tuple(folders))
        if key not in self._listings:
            if len(self._listings) > 64:
                self._listings.clear()
            tree = self.repo.commit(revision).tree
            self._listings[key] = {
                str(item.path): str(item.hexsha)
                for item in tree.traverse()
                if isinstance(item, gitpython().Blob) and under(str(item.path), folders)
            }
        return dict(self._listings[key])

    def read(self, path: str, revision: str) -> str | None:
        try:
            blob = self.repo.commit(revision).tree / path
        except KeyError:
            return None
        return str(blob.data_stream.read().decode())

    def read_blob(self, sha: str) -> str:
        return str(self.repo.odb.stream(bytes.fromhex(sha)).read().decode())

    def history(self, path: str, limit: int = 100) -> list[Revision]:
        """The file's versions, newest first (renames followed)."""
        out = self.repo.git.log(
            f"origin/{self.branch}",
            "--follow",
            f"--max-count={limit}",
            "--format=%H%x1f%an <%ae>%x1f%cI%x1f%B%x1e",
            "--",
            path,
        )
        revisions = []
        for entry in out.split("\x1e"):
            if entry.strip():
                sha, author, date, message = entry.strip().split("\x1f", 3)
                revisions.append(Revision(sha, author, datetime.fromisoformat(date), message.strip()))
        return revisions

    def checkout(self, revision: str) -> Path:
        """The work tree at a revision (users' Python code is imported from there)."""
        self.repo.git.checkout("--force", "--detach", revision)
        return self.path

    def commit_file(self, path: str, content: str | None, message: str, author: str, email: str) -> str:
        """Write (or, with None, remove) one file on the branch, commit as `author` and push.

        Git stays the single source of truth: the API changes files only through commits.
        """
        with self._git_env() as env:
            try:
                self.repo.git.checkout("--force", "--detach", f"refs/remotes/origin/{self.branch}")
                target = self.path / path
                if content is None:
                    self.repo.git.rm("-q", "--", path)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(content)
                    self.repo.git.add("--", path)
                self.repo.git.commit(
                    "-q",
                    "-m",
                    message,
                    f"--author={author} <{email}>",
                    env={**env, "GIT_COMMITTER_NAME": "launchpad", "GIT_COMMITTER_EMAIL": "launchpad@localhost"},
                )
                self.repo.git.push("origin", f"HEAD:refs/heads/{self.branch}", env=env)
            except gitpython().GitCommandError as exc:
                raise SourceError(f"cannot commit {path}: {_stderr(exc)}") from None
        return self.fetch()

    def resolve(self, ref: str) -> str:
        """The commit a ref names; a ref git cannot even be given (a NUL byte, a leading `-` that
        would read as an option) is as unknown as one it does not have."""
        if not ref or ref.startswith("-") or any(ord(c) < 0x20 or c == "\x7f" for c in ref):
            raise UnknownRevision(f"unknown revision {ref!r}")
        try:
            return str(self.repo.git.rev_parse("--verify", f"{ref}^{{commit}}"))
        except gitpython().GitCommandError:
            raise UnknownRevision(f"unknown revision {ref!r}") from None

    def blobs(self, revision: str, paths: list[str]) -> dict[str, str]:
        """The blob sha of each of these paths that exists at the revision (one `git ls-tree`,
        whatever the size of the tree)."""
        if not paths:
            return {}
        out = self.repo.git.ls_tree("-z", "--full-tree", revision, "--", *paths)
        found = {}
        for entry in str(out).split("\0"):
            if entry:
                meta, path = entry.split("\t", 1)
                _mode, kind, sha = meta.split()
                if kind == "blob":
                    found[path] = sha
        return found

    def contains(self, revision: str) -> bool:
        """Whether the cache holds this commit (a force-push or a fresh clone may have lost it)."""
        try:
            self.repo.git.cat_file("-e", f"{revision}^{{commit}}")
        except gitpython().GitCommandError:
            return False
        return True


def _stderr(exc: git.GitCommandError) -> str:
    return str(exc.stderr or exc).strip().replace("\n", " ")[-500:]
