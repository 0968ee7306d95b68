"""`launchpad setup --ci`: the generated workflows are valid, and their commands, run as the CI
runs them, validate and plan a real repository's branch against the dev server.

The one step that talks to the forge (finding and posting the comment: `gh`, `curl`) runs against
a stand-in on PATH that records what it was asked and answers a listing of comments with a file:
GitHub and GitLab are not reachable from a test. A GitHub step's `if:` is evaluated as GitHub
does, for the expressions the recipe uses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
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
STAND_IN = """#!{python}
# stands in for gh and curl: records its arguments and the body it would post; a read (no
# --method, no --request) answers $FORGE_LISTING (a JSON file, else []), through --jq's filter;
# GitLab's /user (who the token is) answers the token's account, id 99
import os, sys
from pathlib import Path

import jq

args = sys.argv[1:]
with open(os.environ["FORGE_LOG"], "a") as log:
    log.write(" ".join([Path(sys.argv[0]).name, *args]) + "\\n")
    for arg, after in zip(args, [*args[1:], ""]):
        body = after if arg == "--body-file" else arg.partition("@")[2] if arg.startswith(("body@", "body=@")) else ""
        if body:
            log.write(Path(body).read_text())
if args and args[-1].endswith("/user"):
    sys.stdout.write('{{"id": 99, "username": "launchpad-bot"}}')
elif "--method" not in args and "--request" not in args:
    listing = Path(os.environ["FORGE_LISTING"]).read_text() if "FORGE_LISTING" in os.environ else "[]"
    if "--jq" in args:  # gh's built-in jq, raw output (-r): one value a line
        found = jq.compile(args[args.index("--jq") + 1]).input_text(listing).all()
        listing = "".join(f"{{value}}\\n" for value in found)
    sys.stdout.write(listing)
"""
STATUS = re.compile(r"\b(success|failure|cancelled|always)\(\)")
TOKEN = re.compile(r"\s*(\w+\(\)|'[^']*'|==|!=|&&|\|\||!|\(|\)|[\w.-]+)")
OPERATORS = {"&&": "and", "||": "or", "!": "not", "==": "==", "!=": "!=", "(": "(", ")": ")"}
REPOSITORY = "octo/deployments"


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
        script.write_text(STAND_IN.format(python=sys.executable))
        script.chmod(0o755)
    return folder


def listing(root: Path, comments: list[dict[str, Any]]) -> str:
    """A forge's answer to a listing of comments (GitHub) or notes (GitLab)."""
    file = root / "comments.json"
    file.write_text(json.dumps(comments))
    return str(file)


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


def runs(step: dict[str, Any], outcomes: dict[str, str], known: dict[str, str]) -> bool:
    """Whether GitHub runs a step, from its `if:` (status functions, `steps.<id>.outcome`,
    `github.*` values, ==, !=, !, &&, ||); without a status function `success() &&` is implied."""
    condition = str(step.get("if", "")).strip().removeprefix("${{").removesuffix("}}").strip() or "success()"
    if not STATUS.search(condition):
        condition = f"success() && ({condition})"
    tokens = TOKEN.findall(condition)
    assert "".join(tokens) == condition.replace(" ", ""), f"an expression this test cannot evaluate: {condition}"
    failed = "failure" in outcomes.values()
    status = {"success()": not failed, "failure()": failed, "cancelled()": False, "always()": True}

    def python(token: str) -> str:
        if token in OPERATORS:
            return OPERATORS[token]
        if token in status:
            return str(status[token])
        if token.startswith("'"):
            return repr(token[1:-1])
        if token.startswith("steps."):
            return repr(outcomes.get(token.split(".")[1], ""))
        return repr(known[token])

    return bool(eval(" ".join(map(python, tokens)), {"__builtins__": {}}))


@dataclass
class GithubJob:
    """The generated workflow's job, run on a pull request: each step's result (None: skipped)."""

    steps: dict[str, dict[str, Any]]
    known: dict[str, str]  # the `${{ github.* }}` values
    env: dict[str, str]
    done: dict[str, subprocess.CompletedProcess[str] | None] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return Path(self.env["FORGE_LOG"])

    def step(self, project: Project, name: str, **env: str) -> subprocess.CompletedProcess[str]:
        step = self.steps[name]
        step_env = {k: expressions(str(v), self.known) for k, v in step.get("env", {}).items()}
        return run_step(project, step["run"], {**self.env, **step_env, **env})

    def run(self, project: Project) -> None:
        """The steps after launchpad's install, in order, each as its `if:` says."""
        outcomes: dict[str, str] = {}
        names = list(self.steps)
        for name in names[names.index("Install launchpad") + 1 :]:
            step = self.steps[name]
            assert "continue-on-error" not in step  # a failed step fails the job
            result = self.step(project, name) if runs(step, outcomes, self.known) else None
            outcomes[step.get("id", name)] = (
                "skipped" if result is None else "success" if result.returncode == 0 else "failure"
            )
            self.done[name] = result


def github_job(project: Project, *, breaking: bool) -> GithubJob:
    """The generated workflow's job on a pull request that changes `report` (and breaks it)."""
    workflow = setup_ci(project, "github")
    steps = {step.get("name"): step for step in yaml.safe_load(workflow.read_text())["jobs"]["plan"]["steps"]}
    workflow.unlink()  # the recipe is not part of the change under review
    main = pull_request(project, breaking=breaking)
    known = {
        "github.event.pull_request.base.sha": main,
        "github.event.pull_request.number": "7",
        "github.event.pull_request.head.repo.full_name": REPOSITORY,
        "github.repository": REPOSITORY,
        "github.token": "a-token",
    }
    env = {
        "GITHUB_STEP_SUMMARY": str(project.root / "summary.md"),
        "GITHUB_REPOSITORY": REPOSITORY,
        "FORGE_LOG": str(project.root / "forge.log"),
        "STAND_INS": str(forge_stand_ins(project.root)),
    }
    job = GithubJob(steps, known, env)
    job.run(project)
    return job


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


def test_the_github_workflow_is_valid_and_its_steps_validate_plan_and_edit_their_comment(project: Project) -> None:
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

    job = github_job(project, breaking=False)
    for name, result in job.done.items():
        assert result is not None and result.returncode == 0, f"{name}: {result}"
    plan = (project.repo.work / "launchpad-plan.md").read_text()
    assert "schedule `report` | update | spec changed |" in plan and "- `spec.intervals[0].every`: 1h → 2h" in plan
    assert plan in (project.root / "summary.md").read_text()
    assert job.log.read_text() == (  # no earlier plan comment: one is added
        f"gh api --paginate repos/{REPOSITORY}/issues/7/comments --jq "
        '.[] | select(.user.login == "github-actions[bot]" and (.body | startswith("<!-- launchpad-plan -->"))) | .id\n'
        f"gh api --method POST repos/{REPOSITORY}/issues/7/comments -F body=@launchpad-plan.md --silent\n{plan}"
    )

    job.log.unlink()  # the next push: the comment that starts with the plan's marker is edited
    bot, alice = {"login": "github-actions[bot]"}, {"login": "alice"}
    earlier = [
        {"id": 11, "body": "LGTM", "user": alice},
        {"id": 12, "body": f"{plan}(an earlier push)", "user": bot},
        {"id": 13, "body": "> <!-- launchpad-plan -->\n> a reply quoting the plan", "user": alice},
        {"id": 14, "body": f"{plan}(pasted by a reviewer)", "user": alice},
    ]
    again = job.step(project, "Comment", FORGE_LISTING=listing(project.root, earlier))
    assert again.returncode == 0, again.stderr
    assert job.log.read_text().splitlines()[1] == (
        f"gh api --method PATCH repos/{REPOSITORY}/issues/comments/12 -F body=@launchpad-plan.md --silent"
    )


def test_a_change_that_breaks_a_file_fails_the_github_job_with_annotations_and_still_gets_its_plan_comment(
    project: Project,
) -> None:
    job = github_job(project, breaking=True)
    validate, plan, comment = job.done["Validate"], job.done["Plan"], job.done["Comment"]
    assert validate is not None and validate.returncode == 1  # the job fails
    assert validate.stdout.startswith("::error file=deployments/tasks/report.yaml,line=8,col=16,")
    assert plan is not None and comment is not None  # both run, although Validate failed
    assert plan.returncode == 0, plan.stderr
    assert comment.returncode == 0, comment.stderr
    body = (project.repo.work / "launchpad-plan.md").read_text()
    assert "| :x: | file `deployments/tasks/report.yaml:8:16` | error |" in body
    assert (
        f"gh api --method POST repos/{REPOSITORY}/issues/7/comments -F body=@launchpad-plan.md --silent\n{body}"
        in job.log.read_text()
    )


def test_the_gitlab_pipeline_plans_and_posts_its_note_even_when_validation_fails(project: Project) -> None:
    pipeline = setup_ci(project, "gitlab")
    parsed: dict[str, Any] = yaml.safe_load(pipeline.read_text())
    assert parsed["stages"] == ["validate", "plan"]
    assert {k: v["stage"] for k, v in parsed.items() if k.startswith("launchpad-")} == {
        "launchpad-validate": "validate",
        "launchpad-plan": "plan",
    }
    assert parsed["launchpad-plan"]["needs"] == []  # runs whatever launchpad-validate's outcome
    assert parsed[".launchpad"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert parsed["variables"]["GIT_DEPTH"] == "0"
    pipeline.unlink()

    main = pull_request(project, breaking=True)
    log = project.root / "forge.log"
    stand_ins = str(forge_stand_ins(project.root))
    env = {
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": main,
        "LAUNCHPAD_GITLAB_TOKEN": "a-token",
        "CI_API_V4_URL": "https://gitlab.example.test/api/v4",
        "CI_PROJECT_ID": "12",
        "CI_MERGE_REQUEST_IID": "7",
        "FORGE_LOG": str(log),
    }
    validate = run_step(project, "\n".join(parsed["launchpad-validate"]["script"]), {**env, "STAND_INS": stand_ins})
    assert validate.returncode == 1 and "report.yaml: workflow.intervals.0.every" in validate.stderr
    plan_job = run_step(project, "\n".join(parsed["launchpad-plan"]["script"]), {**env, "STAND_INS": stand_ins})
    assert plan_job.returncode == 0, plan_job.stdout + plan_job.stderr
    plan = (project.repo.work / "launchpad-plan.md").read_text()
    assert "| :x: | file `deployments/tasks/report.yaml:8:16` | error |" in plan
    notes = "https://gitlab.example.test/api/v4/projects/12/merge_requests/7/notes"
    posted = log.read_text().splitlines(keepends=True)
    assert (
        posted[0]
        == "curl --fail --silent --show-error --header PRIVATE-TOKEN: a-token https://gitlab.example.test/api/v4/user\n"
    )
    assert (
        posted[1]
        == f"curl --fail --silent --show-error --header PRIVATE-TOKEN: a-token {notes}?order_by=updated_at&sort=desc&per_page=100\n"
    )
    assert posted[2].startswith(
        "curl --fail --silent --show-error --output /dev/null --request POST --header PRIVATE-TOKEN: a-token"
    )
    assert posted[2].endswith(f" {notes}\n") and "".join(posted[3:]) == plan

    log.unlink()  # the next push: the note that starts with the marker is edited
    earlier = [
        {"id": 42, "body": f"{plan}(pasted by a reviewer)", "author": {"id": 7}},
        {"id": 41, "body": "added 1 commit", "author": {"id": 99}},
        {"id": 40, "body": f"{plan}(an earlier push)", "author": {"id": 99}},
    ]
    post = run_step(
        project,
        parsed["launchpad-plan"]["script"][-1],
        {**env, "FORGE_LISTING": listing(project.root, earlier), "STAND_INS": stand_ins},
    )
    assert post.returncode == 0, post.stderr
    assert (
        f"--request PUT --header PRIVATE-TOKEN: a-token --data-urlencode body@launchpad-plan.md {notes}/40\n"
        in log.read_text()
    )


def test_setup_with_a_name_and_ci_commits_the_workflow_with_the_scaffold(tmp_path: Path) -> None:
    from tests.test_setup import clean_env, git, launchpad

    env = clean_env(tmp_path / "home", "[user]\n  name = Dev\n  email = dev@example.test\n")
    done = launchpad("setup", "--name", "demo", "--ci", "github", "--path", str(tmp_path / "p"), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    committed = git(tmp_path / "p", "ls-files", env=env).splitlines()
    assert ".github/workflows/launchpad.yml" in committed and "launchpad_configs.yaml" in committed
    neither = launchpad("setup", cwd=tmp_path, env=env)
    assert neither.returncode == 2 and "--ci github|gitlab" in neither.stderr
