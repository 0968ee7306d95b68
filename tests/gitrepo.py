"""Real git repositories for tests: a bare remote and a working clone that commits and pushes."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.test",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.test",
    "HOME": "/tmp",
    "PATH": os.environ.get("PATH", os.defpath),  # the user's git, wherever it is installed
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


class GitRepo:
    """`remote` is a bare repository (what launchpad fetches); `work` is a developer's clone."""

    def __init__(self, root: Path, branch: str = "main") -> None:
        self.remote = root / "remote.git"
        self.work = root / "work"
        self.branch = branch
        git(root, "init", "-q", "--bare", "-b", branch, str(self.remote))
        git(root, "init", "-q", "-b", branch, str(self.work))
        git(self.work, "remote", "add", "origin", str(self.remote))

    def write(self, path: str, text: str) -> None:
        file = self.work / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(textwrap.dedent(text).lstrip())

    def delete(self, path: str) -> None:
        git(self.work, "rm", "-q", "-r", path)

    def commit(self, message: str = "change", push: bool = True) -> str:
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        if push:
            self.push()
        return self.head()

    def push(self) -> None:
        git(self.work, "push", "-q", "origin", f"HEAD:{self.branch}")

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")

    def git(self, *args: str) -> str:
        return git(self.work, *args)
