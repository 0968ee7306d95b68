"""`launchpad setup --ci`: the generated workflows are valid, and their commands, run as the CI
runs them, validate and plan a real repository's branch against the dev server.

The one step that talks to the forge (posting the comment: `gh`, `curl`) runs against a stand-in
on PATH that records what it was asked to post: GitHub and GitLab are not reachable from a test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ENGINE_QUEUE, Engine
from tests.gitrepo import GIT_ENV
from tests.test_plan_ref import broken
from tests.test_reconciler import WORKER
from tests.test_reconciler_cli import Project

BIN = Path(sys.executable).parent
RECORDER = """#!/bin/sh
# stands in for {name}: records its arguments and the body it would post
echo "{name} $*" >> "$FORGE_LOG"
for arg in "$@"; do case "$arg" in body@*) cat "${{arg#body@}}" >> "$FORGE_LOG";; esac; done
while [ $# -gt 0 ]; do [ "$1" = --body-file ] && cat "$2" >> "$FORGE_LOG"; shift; done
"""


@pytest.fixture
def project(tmp_path: Path, engine: Engine) -> Project:
    return Project(tmp_path, engine)


def setup_ci(project: Project, kind: str) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "launchpad", "setup", "--ci", kind, "--path", str(project.repo.work)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return project.repo.work / (".github/workflows/launchpad.yml" if kind == "github" else ".gitlab-ci.yml")


def forge_stand_ins(root: Path) -> Path:
    folder = root / "forge-bin"
    folder.mkdir()
    for name in ("gh", "curl"):
        script = folder / name
        script.write_text(RECORDER.format(name=name))
        script.chmod(0o755)
    return folder


def run_step(project: Project, script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A step's script in bash -e, in the checkout, launchpad on PATH (as after its install step),
    with the workflow's LAUNCHPAD_CONFIG."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHPAD_", "CONFIGS_FILEPATH", "GIT_"))}
    path = f"{env.pop('STAND_INS')}:{BIN}:{base.get('PATH', os.defpath)}"
    full = {**base, **GIT_ENV, "LAUNCHPAD_CONFIG": "launchpad_configs.yaml", **env, "PATH": path}
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=project.repo.work,
        env=full,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def expressions(value: str, known: dict[str, str]) -> str:
    """`${{ github.x }}` as GitHub would fill it in."""
    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: known[m[1]], value)


def pull_request(project: Project, *, breaking: bool) -> str:
    """main synced, then a branch checked out as CI checks out a pull request; main's sha. The
    configuration is the repository's own (the same state store and Temporal as the reconciler)."""
    config = project.config.read_text().replace("cache_dir: cache", f'cache_dir: "{project.root}/cache"')
    config = config.replace("path: state.db", f'path: "{project.root}/state.db"')
    project.repo.write("launchpad_configs.yaml", config + "watcher: {modules: {activities: {basepaths: [code.py]}}}\n")
    project.repo.write(
        "code.py", "from temporalio import activity\n\n\n@activity.defn\nasync def zero() -> str:\n    return 'zero'\n"
    )
    project.repo.write("deployments/workers/main.yaml", WORKER.format(queue=ENGINE_QUEUE))
    project.schedule("report")
    main = project.repo.commit("main")
    assert project.launchpad("reconcile", "--once").returncode == 0
    project.repo.git("checkout", "-q", "-b", "feature")
    project.schedule("report", every="2h")
    if breaking:
        broken(project, "report")
    project.repo.git("add", "-A")
    project.repo.git("commit", "-q", "-m", "the change under review")
    return main


def test_the_github_workflow_is_valid_and_its_steps_validate_plan_and_comment(project: Project) -> None:
    workflow = setup_ci(project, "github")
    checked = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    parsed: dict[str, Any] = yaml.safe_load(workflow.read_text())
    steps = {step.get("name"): step for step in parsed["jobs"]["plan"]["steps"]}
    assert parsed[True] == {"pull_request": None}  # YAML 1.1 reads the key `on` as true
    assert steps["Check out the pull request's merge commit, with the history the plan compares"]["with"] == {
        "fetch-depth": 0
    }
    workflow.unlink()  # the recipe is not part of the change under review

    main = pull_request(project, breaking=False)
    known = {
        "github.event.pull_request.base.sha": main,
        "github.event.pull_request.number": "7",
        "github.token": "a-token",
    }
    log, summary = project.root / "forge.log", project.root / "summary.md"
    stand_ins = forge_stand_ins(project.root)
    for name in ("Validate", "Plan", "Comment"):
        step = steps[name]
        env = {k: expressions(str(v), known) for k, v in step.get("env", {}).items()}
        env |= {"GITHUB_STEP_SUMMARY": str(summary), "FORGE_LOG": str(log), "STAND_INS": str(stand_ins)}
        done = run_step(project, step["run"], env)
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
    plan = (project.repo.work / "launchpad-plan.md").read_text()
    assert "schedule `report` | update | spec changed |" in plan and "- `spec.intervals[0].every`: 1h → 2h" in plan
    assert plan in summary.read_text()
    posted = log.read_text()
    assert posted.startswith("gh pr comment 7 --edit-last --body-file launchpad-plan.md\n")
    assert plan in posted


def test_the_github_validate_step_fails_a_broken_change_with_annotations(project: Project) -> None:
    workflow = setup_ci(project, "github")
    steps = {step.get("name"): step for step in yaml.safe_load(workflow.read_text())["jobs"]["plan"]["steps"]}
    workflow.unlink()
    pull_request(project, breaking=True)
    stand_ins = forge_stand_ins(project.root)
    done = run_step(project, steps["Validate"]["run"], {"STAND_INS": str(stand_ins)})
    assert done.returncode == 1
    assert done.stdout.startswith("::error file=deployments/tasks/report.yaml,line=8,col=16,")


def test_the_gitlab_pipeline_parses_with_its_jobs_and_its_scripts_plan_and_post_a_note(project: Project) -> None:
    pipeline = setup_ci(project, "gitlab")
    parsed: dict[str, Any] = yaml.safe_load(pipeline.read_text())
    assert parsed["stages"] == ["validate", "plan"]
    assert {k: v["stage"] for k, v in parsed.items() if k.startswith("launchpad-")} == {
        "launchpad-validate": "validate",
        "launchpad-plan": "plan",
    }
    assert parsed[".launchpad"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert parsed["variables"]["GIT_DEPTH"] == "0"
    pipeline.unlink()

    main = pull_request(project, breaking=False)
    log = project.root / "forge.log"
    stand_ins = forge_stand_ins(project.root)
    env = {
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": main,
        "LAUNCHPAD_GITLAB_TOKEN": "a-token",
        "CI_API_V4_URL": "https://gitlab.example.test/api/v4",
        "CI_PROJECT_ID": "12",
        "CI_MERGE_REQUEST_IID": "7",
        "FORGE_LOG": str(log),
    }
    for job in ("launchpad-validate", "launchpad-plan"):
        done = run_step(project, "\n".join(parsed[job]["script"]), {**env, "STAND_INS": str(stand_ins)})
        assert done.returncode == 0, f"{job}: {done.stdout}{done.stderr}"
    plan = (project.repo.work / "launchpad-plan.md").read_text()
    assert "- `spec.intervals[0].every`: 1h → 2h" in plan
    posted = log.read_text()
    assert "curl " in posted and "https://gitlab.example.test/api/v4/projects/12/merge_requests/7/notes" in posted
    assert "PRIVATE-TOKEN: a-token" in posted and plan in posted


def test_setup_with_a_name_and_ci_commits_the_workflow_with_the_scaffold(tmp_path: Path) -> None:
    from tests.test_setup import clean_env, git, launchpad

    env = clean_env(tmp_path / "home", "[user]\n  name = Dev\n  email = dev@example.test\n")
    done = launchpad("setup", "--name", "demo", "--ci", "github", "--path", str(tmp_path / "p"), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    committed = git(tmp_path / "p", "ls-files", env=env).splitlines()
    assert ".github/workflows/launchpad.yml" in committed and "launchpad_configs.yaml" in committed
    neither = launchpad("setup", cwd=tmp_path, env=env)
    assert neither.returncode == 2 and "--ci github|gitlab" in neither.stderr
