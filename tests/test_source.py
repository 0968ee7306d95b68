"""GitSource against real repositories: fetch, changes, read at revisions, history."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.source import Change, GitSource, SourceError
from tests.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path)


def test_fetch_changes_read_and_history(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("deployments/tasks/a.yaml", "name: a\n")
    repo.write("deployments/tasks/b.yaml", "name: b\n")
    repo.write("README.md", "not watched\n")
    first = repo.commit("first")
    source = GitSource(f"file://{repo.remote}", "main", tmp_path / "cache")
    assert source.fetch() == first
    assert set(source.files(first, ["deployments/tasks"])) == {"deployments/tasks/a.yaml", "deployments/tasks/b.yaml"}

    repo.write("deployments/tasks/a.yaml", "name: a\nchanged: true\n")
    repo.git("mv", "deployments/tasks/b.yaml", "deployments/tasks/c.yaml")
    repo.write("deployments/tasks/d.yaml", "name: d\n")
    repo.write("README.md", "still not watched\n")
    second = repo.commit("second")
    repo.delete("deployments/tasks/d.yaml")
    third = repo.commit("third")
    assert source.fetch() == third
    blob = source.files(second, ["deployments/tasks"])  # each change carries its blob at the new revision
    assert sorted(source.changes(first, second, ["deployments/tasks"]), key=lambda c: c.path) == [
        Change("modified", "deployments/tasks/a.yaml", blob=blob["deployments/tasks/a.yaml"]),
        Change("renamed", "deployments/tasks/c.yaml", "deployments/tasks/b.yaml", blob["deployments/tasks/c.yaml"]),
        Change("added", "deployments/tasks/d.yaml", blob=blob["deployments/tasks/d.yaml"]),
    ]
    assert source.changes(second, third, ["deployments"]) == [Change("deleted", "deployments/tasks/d.yaml")]
    assert source.read("deployments/tasks/a.yaml", first) == "name: a\n"
    assert source.read("deployments/tasks/a.yaml", third) == "name: a\nchanged: true\n"
    assert source.read("deployments/tasks/d.yaml", third) is None
    history = source.history("deployments/tasks/a.yaml")
    assert [h.sha for h in history] == [second, first]
    assert history[0].message == "second" and history[0].author == "Test Author <author@example.test>"


def test_local_path_and_branch(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("x.yaml", "a: 1\n")
    repo.commit()
    repo.git("checkout", "-q", "-b", "prod")
    repo.write("x.yaml", "a: 2\n")
    prod = repo.commit("prod change", push=False)
    repo.git("push", "-q", "origin", "prod")
    source = GitSource(str(repo.remote), "prod", tmp_path / "cache")
    assert source.fetch() == prod
    assert source.read("x.yaml", prod) == "a: 2\n"


def test_unreachable_repository_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot fetch"):
        GitSource(str(tmp_path / "nope.git"), "main", tmp_path / "cache").fetch()


def test_token_is_sent_as_a_header_not_stored(repo: GitRepo, tmp_path: Path) -> None:
    source = GitSource("https://git.invalid/x.git", "main", tmp_path / "cache", env={"LAUNCHPAD_GIT_TOKEN": "s3cr3t"})
    with source._git_env() as env:
        assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
        assert "s3cr3t" not in env["GIT_CONFIG_VALUE_0"]  # base64 in a Basic header
    with pytest.raises(SourceError):
        source.fetch()
    assert not (tmp_path / "cache").exists() or "s3cr3t" not in "".join(
        p.read_text(errors="ignore") for p in (tmp_path / "cache").rglob("config")
    )


def test_head_follows_the_ref_whoever_moves_it(repo: GitRepo, tmp_path: Path) -> None:
    """head() is remembered between calls; a fetch by another process, or refs packed by `git gc`, still show."""
    repo.write("a.yaml", "a: 1\n")
    first = repo.commit("first")
    source = GitSource(str(repo.remote), "main", tmp_path / "cache")
    assert source.fetch() == first
    assert source.head() == first
    repo.write("a.yaml", "a: 2\n")
    second = repo.commit("second")
    other = GitSource(str(repo.remote), "main", tmp_path / "cache")  # same cache folder, as a second process
    assert other.fetch() == second
    assert source.head() == second
    checkout = tmp_path / "cache" / source.path.name
    assert (checkout / ".git" / "refs" / "remotes" / "origin" / "main").exists()
    repo.git("-C", str(checkout), "pack-refs", "--all", "--prune")  # the loose ref goes into packed-refs
    assert source.head() == second
    repo.write("a.yaml", "a: 3\n")
    third = repo.commit("third")
    assert other.fetch() == third
    assert source.head() == third
