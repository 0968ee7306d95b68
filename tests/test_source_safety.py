"""GitSource under the conditions a shared cache meets: concurrent threads, a killed git, a
corrupt cache, a hanging remote, and callers naming revisions nobody merged."""

from __future__ import annotations

import shutil
import stat
import threading
import time
from pathlib import Path

import pytest

from reconciler.git_process import BatchReader, GitFailed
from reconciler.source import GitSource, SourceError, UnknownRevision, UnreviewedRevision
from tests.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path)
    repo.write("deployments/tasks/a.yaml", "name: a\n")
    repo.commit("first")
    return repo


def source_for(repo: GitRepo, tmp_path: Path, **kwargs: float) -> GitSource:
    return GitSource(str(repo.remote), "main", tmp_path / "cache", **kwargs)  # type: ignore[arg-type]


# --- only reviewed history ---------------------------------------------------------------------------------------


def test_only_the_branch_and_its_tags_are_fetched(repo: GitRepo, tmp_path: Path) -> None:
    repo.git("tag", "v1")
    repo.git("push", "-q", "origin", "v1")
    repo.git("checkout", "-q", "-b", "feature-x")
    repo.write("deployments/tasks/a.yaml", "name: a\nunmerged: true\n")
    unmerged = repo.commit("unmerged", push=False)
    repo.git("push", "-q", "origin", "feature-x")
    repo.git("tag", "on-feature")
    repo.git("push", "-q", "origin", "on-feature")
    repo.git("checkout", "-q", "main")
    source = source_for(repo, tmp_path)
    head = source.fetch()
    refs = repo.git("-C", str(source.path), "for-each-ref", "--format=%(refname)").split()
    assert sorted(refs) == ["refs/remotes/origin/main", "refs/tags/v1"]
    assert repo.git("-C", str(source.path), "cat-file", "-t", head) == "commit"
    with pytest.raises(AssertionError, match="could not get object info"):  # not even its objects
        repo.git("-C", str(source.path), "cat-file", "-t", unmerged)


def test_resolve_answers_only_the_branchs_history(repo: GitRepo, tmp_path: Path) -> None:
    first = repo.head()
    repo.git("tag", "v1")
    repo.git("push", "-q", "origin", "v1")
    repo.write("deployments/tasks/a.yaml", "name: a\nsecond: true\n")
    second = repo.commit("second")
    source = source_for(repo, tmp_path)
    assert source.fetch() == second
    for ref, sha in [
        ("HEAD", second),
        ("@", second),
        ("main", second),
        ("origin/main", second),
        ("HEAD~1", first),
        ("main^", first),
        ("v1", first),
        (first, first),
        (first[:10], first),
        (second, second),
    ]:
        assert source.resolve(ref) == sha, ref
    # another branch, pushed but never merged, even with its commits in the remote
    repo.git("checkout", "-q", "-b", "feature-x")
    repo.write("deployments/tasks/a.yaml", "name: a\nunmerged: true\n")
    unmerged = repo.commit("unmerged", push=False)
    repo.git("push", "-q", "origin", "feature-x")
    repo.git("checkout", "-q", "main")
    source.fetch()
    for ref in ("origin/feature-x", "feature-x", unmerged, unmerged[:12], "HEAD@{0}", "main@{1}", "@{-1}", "HEAD@{u}"):
        with pytest.raises(UnknownRevision):
            source.resolve(ref)
    # searches by commit message run a caller's regex over the whole history (seconds each, by backtracking)
    for ref in ("HEAD^{/(.*)(.*)\\2\\1Q}", ":/(.*)(.*)\\2\\1Q", "main^{/second}"):
        with pytest.raises(UnknownRevision, match="searches by commit message"):
            source.resolve(ref)
    # a commit that exists in the cache but is not on the branch (a local commit, say)
    repo.git(
        "-C",
        str(source.path),
        "update-ref",
        "refs/tags/stray",
        repo.git("-C", str(source.path), "commit-tree", "-m", "x", f"{second}^{{tree}}"),
    )
    with pytest.raises(UnreviewedRevision, match="not on the history of main"):
        source.resolve("stray")
    # once merged, it is history like any other
    repo.git("merge", "-q", "--no-edit", "feature-x")
    repo.push()
    source.fetch()
    assert source.resolve(unmerged) == unmerged


# --- concurrency -------------------------------------------------------------------------------------------------


def test_threads_reading_while_others_fetch_and_check_out(repo: GitRepo, tmp_path: Path) -> None:
    source = source_for(repo, tmp_path)
    source.fetch()
    heads = [repo.head()]
    for i in range(3):
        repo.write(f"deployments/tasks/t{i}.yaml", f"name: t{i}\n")
        heads.append(repo.commit(f"t{i}"))
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for _ in range(15):
                if n % 3 == 0:
                    source.fetch()
                elif n % 3 == 1:
                    with source.worktree(heads[n % len(heads)]) as root:
                        assert (root / "deployments/tasks/a.yaml").read_text() == "name: a\n"
                head = source.head()
                files = source.files(head, ["deployments/tasks"])
                assert "deployments/tasks/a.yaml" in files
                assert source.read_blob(files["deployments/tasks/a.yaml"]) == "name: a\n"
                assert source.resolve("HEAD") in heads  # the head may have moved since
                assert source.history("deployments/tasks/a.yaml")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert source.fetch() == heads[-1]


# --- a cache that heals itself -----------------------------------------------------------------------------------


def test_stale_git_locks_of_a_killed_process_are_cleared(repo: GitRepo, tmp_path: Path) -> None:
    source = source_for(repo, tmp_path)
    first = source.fetch()
    git_dir = source.path / ".git"
    # what a git killed in the middle of a checkout, a fetch or a pack-refs leaves behind
    for lock in ("index.lock", "HEAD.lock", "packed-refs.lock", "refs/remotes/origin/main.lock"):
        (git_dir / lock).parent.mkdir(parents=True, exist_ok=True)
        (git_dir / lock).write_text("")
    repo.write("deployments/tasks/b.yaml", "name: b\n")
    second = repo.commit("second")
    assert source.fetch() == second
    assert source.checkout(first) == source.path
    assert not (source.path / "deployments/tasks/b.yaml").exists()
    (git_dir / "index.lock").write_text("")
    with source.worktree(second) as root:
        assert (root / "deployments/tasks/b.yaml").read_text() == "name: b\n"
    assert not list(git_dir.glob("*.lock"))


def test_a_corrupt_index_is_rebuilt(repo: GitRepo, tmp_path: Path) -> None:
    source = source_for(repo, tmp_path)
    head = source.fetch()
    source.checkout(head)
    (source.path / ".git" / "index").write_bytes(b"DIRC garbage")
    with source.worktree(head) as root:
        assert (root / "deployments/tasks/a.yaml").read_text() == "name: a\n"


@pytest.mark.parametrize("damage", ["objects", "HEAD", "config", "half-clone"])
def test_a_broken_cache_is_cloned_again(repo: GitRepo, tmp_path: Path, damage: str) -> None:
    source = source_for(repo, tmp_path)
    source.fetch()
    git_dir = source.path / ".git"
    if damage == "objects":
        shutil.rmtree(git_dir / "objects")
    elif damage == "HEAD":
        (git_dir / "HEAD").write_text("garbage\n")
    elif damage == "config":
        (git_dir / "config").write_text("[core\n")
    else:
        shutil.rmtree(source.path)
        (git_dir / "objects").mkdir(parents=True)  # a clone killed after creating .git
    repo.write("deployments/tasks/b.yaml", "name: b\n")
    head = repo.commit("second")
    other = source_for(repo, tmp_path)  # a second process on the same cache, too
    assert other.fetch() == head
    assert source.fetch() == head
    assert source.read_blob(source.files(head, ["deployments"])["deployments/tasks/b.yaml"]) == "name: b\n"
    with source.worktree(head) as root:
        assert (root / "deployments/tasks/b.yaml").exists()


def test_an_unreachable_remote_is_not_a_broken_cache(repo: GitRepo, tmp_path: Path) -> None:
    source = source_for(repo, tmp_path)
    head = source.fetch()
    repo.remote.rename(repo.remote.with_name("moved.git"))
    with pytest.raises(SourceError, match="cannot fetch"):
        source.fetch()
    assert source.head() == head  # the cache was kept, and still answers
    assert source.files(head, ["deployments"])


# --- deadlines ---------------------------------------------------------------------------------------------------


def test_a_hanging_remote_times_out(repo: GitRepo, tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "protocol.ext.allow",
        "GIT_CONFIG_VALUE_0": "always",
    }
    source = GitSource("ext::sleep 30", "main", tmp_path / "cache", env=env, timeout=0.5)
    with pytest.raises(SourceError, match=r"timed out after 0\.5s"):
        source.fetch()


def test_a_reader_that_stops_answering_is_killed(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexec /bin/sleep 30\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    reader = BatchReader(tmp_path, {"PATH": str(fake.parent)}, timeout=0.25)
    for _ in range(2):  # the stuck reader is killed; the next read starts another
        started = time.monotonic()
        with pytest.raises(GitFailed, match=r"no answer within 0\.25s"):
            reader.read("HEAD")
        assert time.monotonic() - started < 5
    reader.close()
