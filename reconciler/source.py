"""A git repository at a branch, cloned into a cache folder. Knows nothing of Temporal.

Safe to share: every call may come from any thread (never from an event loop: callers hop to a
thread), and several processes may share one cache folder. Reads (listings, blobs, history) run
beside each other; whatever changes the cache (clone, fetch, checkout, commit) holds the cache's
lock (reconciler.cache_lock). Every git call has a deadline.

Only the configured branch (and the tags on its history) is fetched, and `resolve` answers only
commits of that branch's history: a revision nobody merged cannot be named.

The cache heals itself: git lock files left by a killed process are removed before each change,
a corrupt index is rebuilt, and a cache git cannot use any more is cloned again.

Credentials come from the environment and never touch the disk or the remote URL:
an HTTPS token is sent as an `http.extraHeader` through `GIT_CONFIG_*` variables,
an SSH key is written to a 0600 temporary file used by `GIT_SSH_COMMAND`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import stat
import tempfile
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from launchpad.errors import LaunchpadError
from reconciler.cache_lock import CacheBusy, CacheLock
from reconciler.git_process import BatchReader, GitFailed, run_git

DEFAULT_TIMEOUT = 120.0  # seconds, for any one git call (a clone of a large repository included)
# A fetch stores what it receives as loose objects, zlib-compressed by default: at a folder of
# 10,000 files, deflating its new tree object (about 500 KB) was a third of what the folder's size
# added to a fetch. The cache trades that for disk until git's automatic gc packs them.
LOOSE_UNCOMPRESSED = "core.looseCompression=0"
LISTINGS_KEPT = 16  # tree listings kept (per revision: the tasks', workers', code's folders)


class SourceError(LaunchpadError):
    code = "source_error"
    kind = "upstream"


class UnknownRevision(SourceError):
    """A revision the repository does not have: the caller's mistake, not the server's."""

    code = "unknown_revision"
    kind = "invalid"


class UnreviewedRevision(UnknownRevision):
    """A revision outside the branch's history: nobody merged it, so nobody reviewed it."""

    code = "revision_not_on_branch"


@dataclass(frozen=True)
class Change:
    status: str  # added | modified | deleted | renamed
    path: str
    old_path: str | None = None
    blob: str | None = None  # the path's blob at the new revision (None: deleted, or not a file)


@dataclass(frozen=True)
class Revision:
    sha: str
    author: str
    date: datetime
    message: str


_STATUS = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed", "T": "modified", "C": "added"}
_NOT_A_FILE = ("000000", "160000")  # the mode of a deleted path, of a submodule
_SHA = re.compile(rb"^[0-9a-f]{40}$")


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
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = url
        self.branch = branch
        self.token_env = token_env
        self.ssh_key_env = ssh_key_env
        self.env = os.environ if env is None else env
        self.timeout = timeout
        name = hashlib.sha1(f"{url}#{branch}".encode()).hexdigest()[:12]
        self.path = cache_dir / name
        self.ref = f"refs/remotes/origin/{branch}"
        git_dir = self.path / ".git"
        self._git_dir = str(git_dir)  # str paths: head() and fetched run on every API request
        self._ref_files = (str(git_dir / self.ref), str(git_dir / "packed-refs"))
        self._fetched = False
        self._refs_dropped = False  # once per process: a cache made by an older launchpad may hold more
        self._lock = CacheLock(cache_dir / f"{name}.lock", timeout)
        self._reader = BatchReader(self.path, self._local_env(), timeout)
        self._listings: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}
        self._listing_lock = threading.Lock()
        self._resolved: dict[tuple[str, str], str] = {}
        self._head: tuple[object, str] | None = None  # (identity of the ref files, sha)

    # --- running git ---------------------------------------------------------------------------------------------

    def _local_env(self) -> dict[str, str]:
        return {**self.env, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}

    @contextmanager
    def _git_env(self) -> Iterator[dict[str, str]]:
        """The environment of a command that talks to the remote: credentials, and no prompt."""
        extra = self._local_env()
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

    def _git(self, *args: str, env: Mapping[str, str] | None = None, check: bool = True) -> str:
        done = run_git(self.path, *args, env=env or self._local_env(), timeout=self.timeout, check=check)
        return done.stdout.decode(errors="replace")

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """Hold the cache's lock, and clear what a killed git left behind, before changing the cache."""
        try:
            with self._lock.held():
                self._remove_stale_locks()
                yield
        except CacheBusy as exc:
            raise SourceError(f"the repository cache is busy: {exc}") from None

    def _remove_stale_locks(self) -> None:
        git_dir = Path(self._git_dir)
        if git_dir.is_dir():
            for lock in [*git_dir.glob("*.lock"), *git_dir.glob("refs/**/*.lock")]:
                lock.unlink(missing_ok=True)

    # --- the cache -----------------------------------------------------------------------------------------------

    @property
    def fetched(self) -> bool:
        """Whether the clone exists; once it does it stays (fetches only update it)."""
        if not self._fetched:
            self._fetched = os.path.isdir(self._git_dir)
        return self._fetched

    def fetch(self) -> str:
        """Clone on first use, fetch the branch afterwards; return the branch's head revision."""
        with self._changing():
            if not self.fetched:
                self._clone()
                return self.head()
            try:
                with self._git_env() as env:
                    self._git(
                        "-c",
                        LOOSE_UNCOMPRESSED,
                        "fetch",
                        "--prune",
                        "origin",
                        f"+refs/heads/{self.branch}:{self.ref}",
                        env=env,
                    )
                if not self._refs_dropped:  # a fetch of the one refspec adds no other ref
                    self._drop_other_refs(self.path)
            except GitFailed as failed:
                self._reclone_or_raise(failed)
            return self.head()

    def _clone(self) -> None:
        """Clone the branch alone into a fresh folder beside the cache, then move it into place:
        a clone killed half-way leaves no half-made cache."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = self.path.with_name(f"{self.path.name}.clone-{uuid.uuid4().hex[:8]}")
        args = ["clone", "--quiet", "--no-checkout", "--single-branch", "--branch", self.branch]
        try:
            with self._git_env() as env:
                run_git(self.path.parent, *args, "--no-local", self.url, str(fresh), env=env, timeout=self.timeout)
                run_git(fresh, "update-ref", "--no-deref", "HEAD", self.ref, env=env, timeout=self.timeout)
                self._drop_other_refs(fresh)
        except GitFailed as failed:
            shutil.rmtree(fresh, ignore_errors=True)
            raise SourceError(f"cannot fetch {self.url} ({self.branch}): {failed.message}") from None
        if self.path.exists():
            old = self.path.with_name(f"{self.path.name}.old-{uuid.uuid4().hex[:8]}")
            self.path.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        fresh.rename(self.path)
        self._reader.close()  # it read the folder that was replaced
        self._fetched = True

    def _reclone_or_raise(self, failed: GitFailed) -> None:
        """A fetch failed: when the remote answers, the cache is what is broken, so clone again."""
        try:
            with self._git_env() as env:
                run_git(self.path.parent, "ls-remote", "--heads", self.url, self.branch, env=env, timeout=self.timeout)
        except GitFailed:
            raise SourceError(f"cannot fetch {self.url} ({self.branch}): {failed.message}") from None
        self._clone()

    def _drop_other_refs(self, clone: Path) -> None:
        """Only the branch and tags: not the local branch a clone makes (it would never move), not
        `origin/HEAD`, not the other branches a cache made by an older launchpad held."""
        env, timeout = self._local_env(), self.timeout
        listed = run_git(
            clone, "for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes", env=env, timeout=timeout
        )
        for ref in listed.stdout.decode().split():
            if ref != self.ref:
                run_git(clone, "update-ref", "--no-deref", "-d", ref, env=env, timeout=timeout)
        self._refs_dropped = True

    def close(self) -> None:
        """Stop the batch reader (it would outlive a fast exit)."""
        self._reader.close()

    # --- reading ------------------------------------------------------------------------------------------------

    def head(self) -> str:
        """The branch head as last fetched. Read from the ref files, without git: the API asks on
        every request. Kept until the ref files change: git replaces a ref by renaming a new file
        over it, so (inode, mtime) of the loose ref and of packed-refs tell whether any process
        (a sync, a `git fetch` by hand) has moved it since."""
        if not self.fetched:
            raise SourceError(f"{self.url} is not fetched yet")
        key = tuple(_identity(path) for path in self._ref_files)
        if self._head is None or self._head[0] != key:
            self._head = (key, self._read_ref())
        return self._head[1]

    def _read_ref(self) -> str:
        loose, packed = self._ref_files
        try:
            with open(loose, "rb") as file:
                sha = file.read().strip()
            if _SHA.match(sha):
                return sha.decode()
        except FileNotFoundError:
            pass
        try:
            with open(packed, "rb") as file:
                for line in file:
                    parts = line.split()
                    if len(parts) == 2 and parts[1].decode(errors="replace") == self.ref and _SHA.match(parts[0]):
                        return parts[0].decode()
        except FileNotFoundError:
            pass
        raise SourceError(f"{self.url}: the cache has no {self.ref}; fetch again")

    def changes(self, old: str, new: str, folders: list[str]) -> list[Change]:
        """Paths changed between two revisions under the folders (renames detected), each with its
        new blob, so a refresh reads no tree for the files it is about to parse."""
        fields = self._read_git("diff", "--raw", "--no-abbrev", "-M", "--no-color", "-z", old, new, "--").split("\0")
        changes = []
        while len(fields) > 1:
            meta = fields.pop(0).split()  # :old_mode new_mode old_sha new_sha STATUS
            code, new_mode, new_sha = meta[4], meta[1], meta[3]
            status = _STATUS.get(code[:1], "modified")
            blob = new_sha if new_mode not in _NOT_A_FILE else None
            if status == "renamed" or code.startswith("C"):
                old_path, path = fields.pop(0), fields.pop(0)
                change = Change(status, path, old_path if status == "renamed" else None, blob)
            else:
                change = Change(status, fields.pop(0), blob=blob)
            if under(change.path, folders) or (change.old_path and under(change.old_path, folders)):
                changes.append(change)
        return changes

    def files(self, revision: str, folders: list[str]) -> dict[str, str]:
        """Every file under the folders at a revision: path → blob sha. A commit never changes,
        so the last few listings are kept per (commit, folders): a few MB each at 10,000 files."""
        key = (revision, tuple(folders))
        with self._listing_lock:  # threads of the API, a deploy and a sync ask at once
            listing = self._listings.pop(key, None)
        if listing is None:
            out = self._read_git("ls-tree", "-r", "-z", "--full-tree", f"{revision}^{{commit}}")
            listing = {path: blob for path, blob in _blobs_listed(out).items() if under(path, folders)}
        with self._listing_lock:
            self._listings[key] = listing  # the most recent last
            while len(self._listings) > LISTINGS_KEPT:
                del self._listings[next(iter(self._listings))]
        return dict(listing)

    def read(self, path: str, revision: str) -> str | None:
        """A file at a revision; None when it does not exist there."""
        data = self._read_object(f"{revision}:{path}")
        return None if data is None else data.decode()

    def read_blob(self, sha: str) -> str:
        data = self._read_object(sha)
        if data is None:
            raise SourceError(f"the repository has no object {sha}")
        return data.decode()

    def _read_object(self, name: str) -> bytes | None:
        try:
            return self._reader.read(name)
        except GitFailed:  # once more, with a new reader (the cache may have been cloned again)
            try:
                return self._reader.read(name)
            except GitFailed as failed:
                raise SourceError(f"cannot read {name}: {failed.message}") from None

    def _read_git(self, *args: str) -> str:
        try:
            return self._git(*args)
        except GitFailed as failed:
            raise SourceError(f"git {args[0]} failed: {failed.message}") from None

    def history(self, path: str, limit: int = 100) -> list[Revision]:
        """The file's versions on the branch, newest first (renames followed)."""
        out = self._read_git(
            "log", self.ref, "--follow", f"--max-count={limit}", "--format=%H%x1f%an <%ae>%x1f%cI%x1f%B%x1e", "--", path
        )
        revisions = []
        for entry in out.split("\x1e"):
            if entry.strip():
                sha, author, date, message = entry.strip().split("\x1f", 3)
                revisions.append(Revision(sha, author, datetime.fromisoformat(date), message.strip()))
        return revisions

    def resolve(self, ref: str) -> str:
        """The commit a ref names, if it is on the branch's history (the branch head, a commit
        merged into it, a tag on it, `HEAD~3`); UnknownRevision for any other. `HEAD` and the
        branch's name mean the branch head as last fetched. A ref git cannot even be given (a NUL
        byte, a leading `-` that would read as an option) is as unknown as one it does not have."""
        if not ref or ref.startswith("-") or any(ord(c) < 0x20 or c == "\x7f" for c in ref):
            raise UnknownRevision(f"unknown revision {ref!r}")
        if "@{" in ref:
            raise UnknownRevision(f"unknown revision {ref!r}: reflog and upstream names (@{{...}}) are not accepted")
        if "^{/" in ref or ref.startswith(":/"):  # git runs the regex over every commit message: seconds each
            raise UnknownRevision(
                f"unknown revision {ref!r}: searches by commit message (:/ and ^{{/...}}) are not accepted"
            )
        head = self.head()
        key = (ref, head)
        if key not in self._resolved:
            if len(self._resolved) > 256:
                self._resolved.clear()
            self._resolved[key] = self._on_branch(ref, head)
        return self._resolved[key]

    def _on_branch(self, ref: str, head: str) -> str:
        branch = re.escape(self.branch)
        named = re.sub(rf"^(HEAD|@|{branch}|origin/{branch})(?=$|[~^])", head, ref)
        try:
            sha = self._git("rev-parse", "--verify", "--end-of-options", f"{named}^{{commit}}").strip()
        except GitFailed:
            raise UnknownRevision(f"unknown revision {ref!r}") from None
        try:
            self._git("merge-base", "--is-ancestor", sha, head)
        except GitFailed as failed:
            if failed.returncode != 1:
                raise SourceError(f"cannot check {ref!r}: {failed.message}") from None
            raise UnreviewedRevision(
                f"{ref!r} ({sha[:12]}) is not on the history of {self.branch}: only merged revisions can be deployed"
            ) from None
        return sha

    # --- changing the work tree and the branch --------------------------------------------------------------------

    @contextmanager
    def worktree(self, revision: str) -> Iterator[Path]:
        """The work tree at a revision, kept so (no checkout by another thread or process) until
        the block ends: users' Python code is imported from there."""
        with self._changing():
            self._checkout(revision)
            yield self.path

    def checkout(self, revision: str) -> Path:
        """Check the work tree out at a revision (it may move again once this returns)."""
        with self.worktree(revision) as root:
            return root

    def _checkout(self, revision: str) -> None:
        """`git checkout`, healed: a corrupt index is rebuilt, then a broken cache cloned again."""
        for attempt in range(3):
            try:
                self._git("checkout", "--quiet", "--force", "--detach", revision)
                return
            except GitFailed as failed:
                if attempt == 0:
                    Path(self._git_dir, "index").unlink(missing_ok=True)
                elif attempt == 1:
                    self._reclone_or_raise(failed)
                else:
                    raise SourceError(f"cannot check out {revision[:12]}: {failed.message}") from None

    def commit_file(self, path: str, content: str | None, message: str, author: str, email: str) -> str:
        """Write (or, with None, remove) one file on the branch, commit as `author` and push.

        Git stays the single source of truth: the API changes files only through commits.
        """
        with self._changing():
            self._checkout(self.ref)
            try:
                if content is None:
                    self._git("rm", "-q", "--", path)
                else:
                    target = (self.path / path).resolve()
                    if not target.is_relative_to(self.path.resolve()):
                        raise SourceError(f"cannot commit {path}: it is outside the repository")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(content)
                    self._git("add", "--", path)
                if not self._staged(path):  # the same content again: nothing to commit
                    return self.fetch()
                committer = {"GIT_COMMITTER_NAME": "launchpad", "GIT_COMMITTER_EMAIL": "launchpad@localhost"}
                by = f"--author={author} <{email}>"
                self._git("commit", "-q", "-m", message, by, env=self._local_env() | committer)
                with self._git_env() as env:
                    self._git("push", "origin", f"HEAD:refs/heads/{self.branch}", env=env)
            except GitFailed as failed:
                raise SourceError(f"cannot commit {path}: {failed.message}") from None
            return self.fetch()

    def _staged(self, path: str) -> bool:
        """Whether the index differs from the branch head at `path`."""
        try:
            self._git("diff", "--cached", "--quiet", "--", path)
        except GitFailed as failed:
            if failed.returncode == 1:
                return True
            raise
        return False

    def blobs(self, revision: str, paths: list[str]) -> dict[str, str]:
        """The blob sha of each of these paths that exists at the revision (one `git ls-tree`,
        whatever the size of the tree)."""
        if not paths:
            return {}
        return _blobs_listed(self._read_git("ls-tree", "-z", "--full-tree", revision, "--", *paths))

    def message(self, revision: str) -> str:
        """A commit's message."""
        return self._read_git("log", "-1", "--format=%B", revision, "--").strip()

    def contains(self, revision: str) -> bool:
        """Whether the cache holds this commit (a force-push or a fresh clone may have lost it)."""
        try:
            self._git("cat-file", "-e", f"{revision}^{{commit}}")
        except GitFailed:
            return False
        return True


def _blobs_listed(out: str) -> dict[str, str]:
    """path → blob sha of the files in `git ls-tree -z` output (folders and submodules left out)."""
    found = {}
    for entry in out.split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            found[path] = parts[2]
    return found
