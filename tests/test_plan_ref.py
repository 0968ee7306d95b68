"""`launchpad plan --ref`: what merging a branch would do, run as a CI runs it (in the checkout),
against the real dev server and a real repository with a branch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ENGINE_QUEUE, Engine
from tests.test_reconciler import SCHEDULE
from tests.test_reconciler_cli import Project


def in_checkout(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """`launchpad ARGS` run inside the developer's clone, as a CI job runs in its checkout."""
    return subprocess.run(
        [sys.executable, "-m", "launchpad", *args, "--config", str(project.config)],
        cwd=project.repo.work,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path, engine: Engine) -> Project:
    return Project(tmp_path, engine)


def broken(project: Project, name: str) -> None:
    text = SCHEDULE.format(name=name, sid=project.sid(name), queue=ENGINE_QUEUE, every="sometimes")
    project.repo.write(f"deployments/tasks/{name}.yaml", text)


def test_a_branch_is_planned_exactly_then_merged_and_synced_plans_nothing(project: Project) -> None:
    for name in ("hourly", "fragile", "steady"):
        project.schedule(name)
    project.repo.commit("three schedules")
    assert project.launchpad("reconcile", "--once").returncode == 0

    project.repo.git("checkout", "-q", "-b", "feature")
    project.schedule("hourly", every="2h")
    project.schedule("added")
    broken(project, "fragile")
    project.repo.git("add", "-A")
    project.repo.git("commit", "-q", "-m", "hourly every 2h, add one, break one")
    project.repo.git("checkout", "-q", "main")  # the checkout may be anywhere: --ref names the revision

    as_json = in_checkout(project, "plan", "--ref", "feature", "--format", "json")
    assert as_json.returncode == 2, as_json.stderr
    planned = json.loads(as_json.stdout)
    changes = [(i["kind"], i["name"], i["change"]) for i in planned["items"] if i["change"] != "no change"]
    assert changes == [("schedule", "added", "create"), ("schedule", "hourly", "update")]
    [hourly] = [i for i in planned["items"] if i["name"] == "hourly"]
    assert hourly["diff"] == [{"path": "spec.intervals[0].every", "old": "1h", "new": "2h", "ignored": False}]
    [error] = planned["errors"]
    assert (error["file"], error["path"], error["line"], error["column"]) == (
        "deployments/tasks/fragile.yaml",
        "workflow.intervals.0.every",
        8,
        16,
    )
    [fragile] = [i for i in planned["items"] if i["name"] == "fragile"]
    assert (fragile["change"], fragile["status"]) == ("no change", "Degraded")  # its last good version runs

    markdown = in_checkout(project, "plan", "--ref", "feature", "--format", "markdown")
    assert markdown.returncode == 2, markdown.stderr
    text = markdown.stdout
    assert text.startswith("<!-- launchpad-plan -->")
    assert "**1 to create · 1 to update · 0 to prune · 2 unchanged · 1 file error(s) introduced**" in text
    rows = [line for line in text.splitlines() if line.startswith("| :")]
    assert len(rows) == 3, rows
    assert "schedule `added` | create | new schedule |" in rows[0]
    assert "schedule `hourly` | update | spec changed |" in rows[1]
    assert "`deployments/tasks/fragile.yaml:8:16`" in rows[2] and "invalid duration 'sometimes'" in rows[2]
    assert "- `spec.intervals[0].every`: 1h → 2h" in text
    assert "<details><summary>added (schedule): create" in text  # a new object's fields, collapsed

    as_text = in_checkout(project, "plan", "--ref", "feature")
    assert as_text.returncode == 2 and "hourly: spec.intervals[0].every: 1h → 2h" in as_text.stdout

    project.repo.git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    project.repo.push()
    merged = project.launchpad("reconcile", "--once")
    assert merged.returncode == 3, merged.stdout + merged.stderr  # degraded: fragile.yaml stays broken
    assert project.interval("hourly") == "7200s" and project.interval("added") == "3600s"
    after = in_checkout(project, "plan", "--ref", "HEAD", "--format", "markdown")
    assert after.returncode == 0, after.stdout + after.stderr
    assert "**No changes.**" in after.stdout
    summary = json.loads(in_checkout(project, "plan", "--ref", "HEAD", "--format", "json").stdout)["summary"]
    assert (summary["errors"], summary["errors_before"]) == (0, 1), "fragile.yaml was broken before: not blamed"


def test_plan_ref_errors_exit_1(project: Project) -> None:
    project.schedule("one")
    project.repo.commit()
    unknown = in_checkout(project, "plan", "--ref", "no-such-branch")
    assert unknown.returncode == 1 and "unknown revision 'no-such-branch'" in unknown.stderr
    option = in_checkout(project, "plan", "--ref", "--upload-pack=x")
    assert option.returncode == 1
    outside = subprocess.run(
        [sys.executable, "-m", "launchpad", "plan", "--ref", "HEAD", "--config", str(project.config)],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert outside.returncode == 1 and "not in a git checkout" in outside.stderr
