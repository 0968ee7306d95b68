"""The git checkout a command runs in, read at any of its revisions (`launchpad plan --ref`).

A CI job runs in a checkout of the repository (a pull request's merge commit, detached, with the
base branch fetched beside it): the revisions to compare are there, and fetching the configured
remote again would neither have them nor be allowed to. Only the command line uses this; the
API resolves refs through `GitSource` and its rules. Nothing here writes to the checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.git_process import BatchReader, GitFailed, run_git
from reconciler.source import GitSource, SourceError, UnknownRevision


class CheckoutSource(GitSource):
    """A `GitSource` whose repository is an existing checkout, used as it is: never cloned,
    fetched, checked out or committed to."""

    def __init__(self, root: Path, branch: str) -> None:
        super().__init__(str(root), branch, root)
        self.root = self.path = root
        self._git_dir = str(root / ".git")
        self._reader = BatchReader(root, self._local_env(), self.timeout)

    @classmethod
    def here(cls, branch: str, cwd: Path | None = None) -> CheckoutSource:
        """The checkout holding `cwd` (default: the current folder)."""
        where = cwd or Path.cwd()
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        try:
            top = run_git(where, "rev-parse", "--show-toplevel", env=env, timeout=30).stdout.decode().strip()
        except (GitFailed, OSError):
            raise SourceError(f"{where} is not in a git checkout") from None
        if not top:
            raise SourceError("a bare repository has no checkout to plan from")
        return cls(Path(top), branch)

    @property
    def fetched(self) -> bool:
        return True

    def fetch(self) -> str:
        """No fetch: the checkout's HEAD."""
        return self.resolve("HEAD")

    def head(self) -> str:
        return self.resolve("HEAD")

    def resolve(self, ref: str) -> str:
        """Any revision of the checkout (a branch, a remote branch, a tag, a sha, HEAD~2)."""
        if not ref or ref.startswith("-") or any(ord(c) < 0x20 or c == "\x7f" for c in ref):
            raise UnknownRevision(f"unknown revision {ref!r}")
        try:
            return self._git("rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").strip()
        except GitFailed:
            raise UnknownRevision(f"unknown revision {ref!r} in the checkout {self.root}") from None

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return self._git("merge-base", a, b).strip() or None
        except GitFailed:
            return None

    def has_blob(self, sha: str) -> bool:
        try:
            self._git("cat-file", "-e", sha)
        except GitFailed:
            return False
        return True

    def checkout(self, revision: str) -> Path:
        raise SourceError("a plan of the checkout never checks it out")

    def commit_file(self, path: str, content: str | None, message: str, author: str, email: str) -> str:
        raise SourceError("a plan of the checkout never commits")
