"""The git checkout a command runs in, read at any of its revisions (`launchpad plan --ref`).

A CI job runs in a checkout of the repository (a pull request's merge commit, detached, with the
base branch fetched beside it): the revisions to compare are there, and fetching the configured
remote again would neither have them nor be allowed to. Only the command line uses this; the
API resolves refs through `GitSource` and its rules. Nothing here writes to the checkout.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.source import GitSource, SourceError, UnknownRevision, gitpython

if TYPE_CHECKING:
    import git


class CheckoutSource(GitSource):
    """A `GitSource` whose repository is an existing checkout, used as it is: never cloned,
    fetched, checked out or committed to."""

    def __init__(self, root: Path, branch: str) -> None:
        super().__init__(str(root), branch, root)
        self.root = root

    @classmethod
    def here(cls, branch: str, cwd: Path | None = None) -> CheckoutSource:
        """The checkout holding `cwd` (default: the current folder)."""
        try:
            repo = gitpython().Repo(cwd or Path.cwd(), search_parent_directories=True)
        except (gitpython().InvalidGitRepositoryError, gitpython().NoSuchPathError):
            raise SourceError(f"{cwd or Path.cwd()} is not in a git checkout") from None
        if repo.working_tree_dir is None:
            raise SourceError("a bare repository has no checkout to plan from")
        return cls(Path(repo.working_tree_dir), branch)

    @property
    def repo(self) -> git.Repo:
        return self._checkout

    @functools.cached_property
    def _checkout(self) -> git.Repo:
        repo: git.Repo = gitpython().Repo(self.root)
        return repo

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
            return str(self.repo.git.rev_parse("--verify", f"{ref}^{{commit}}"))
        except gitpython().GitCommandError:
            raise UnknownRevision(f"unknown revision {ref!r} in the checkout {self.root}") from None

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return str(self.repo.git.merge_base(a, b)) or None
        except gitpython().GitCommandError:
            return None

    def has_blob(self, sha: str) -> bool:
        try:
            self.repo.git.cat_file("-e", sha)
        except gitpython().GitCommandError:
            return False
        return True

    def checkout(self, revision: str) -> Path:
        raise SourceError("a plan of the checkout never checks it out")

    def commit_file(self, path: str, content: str | None, message: str, author: str, email: str) -> str:
        raise SourceError("a plan of the checkout never commits")
