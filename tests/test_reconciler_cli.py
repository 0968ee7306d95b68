"""The reconciler's command line, run as a user runs it, plus push-triggered syncs."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ENGINE_QUEUE, Engine
from tests.gitrepo import GIT_ENV, GitRepo
from tests.helpers import gitops_config_file, temporal_json
from tests.test_api_served import SIDE_EFFECT
from tests.test_reconciler import SCHEDULE, SERVICE


class Project:
    def __init__(self, root: Path, engine: Engine) -> None:
        self.root = root
        self.repo = GitRepo(root)
        self.engine = engine
        self.prefix = f"cli{uuid.uuid4().hex[:6]}"
        self.config = gitops_config_file(engine.server, self.repo.remote, root)

    def sid(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def schedule(self, name: str, every: str = "1h") -> None:
        text = SCHEDULE.format(name=name, sid=self.sid(name), queue=ENGINE_QUEUE, every=every)
        self.repo.write(f"deployments/tasks/{name}.yaml", text)

    def launchpad(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "launchpad", *args, "--config", str(self.config)],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            input=stdin,
            check=False,
        )

    def interval(self, name: str) -> str:
        described = temporal_json(self.engine.server, "schedule", "describe", "--schedule-id", self.sid(name))
        return described["schedule"]["spec"]["interval"][0]["interval"]


def git_push(project: Project, refspec: str) -> subprocess.CompletedProcess[str]:
    """A developer's `git push`: its stderr carries what the remote's hook printed."""
    return subprocess.run(
        ["git", "push", "origin", refspec],
        cwd=project.repo.work,
        capture_output=True,
        text=True,
        env=GIT_ENV,
        check=False,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path, engine: Engine) -> Project:
    return Project(tmp_path, engine)


def test_plan_reconcile_status_history(project: Project) -> None:
    project.schedule("report")
    project.repo.commit("add report")
    planned = project.launchpad("plan", "--json")
    assert planned.returncode == 0, planned.stderr
    items = json.loads(planned.stdout)["items"]
    assert [(i["kind"], i["name"], i["action"], i["reason"]) for i in items] == [
        ("schedule", "report", "create", "new schedule")
    ]
    done = project.launchpad("reconcile", "--once")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout and "report: create ok" in done.stdout
    assert project.interval("report") == "3600s"
    status = project.launchpad("status")
    assert status.returncode == 0 and "report" in status.stdout and "Synced" in status.stdout
    project.schedule("report", every="2h")
    project.repo.commit("report every 2h")
    history = project.launchpad("history", "report")
    assert history.returncode == 0, history.stderr
    assert "report every 2h" in history.stdout and "add report" in history.stdout


def test_reconcile_exits_1_when_an_object_fails(project: Project) -> None:
    temporal_json(
        project.engine.server,
        "schedule",
        "create",
        "--schedule-id",
        project.sid("taken"),
        "--interval",
        "1h",
        "--workflow-id",
        "x",
        "--task-queue",
        ENGINE_QUEUE,
        "--type",
        "Task",
    )
    project.schedule("taken")
    project.schedule("fine")
    project.repo.commit()
    done = project.launchpad("reconcile", "--once")
    assert done.returncode == 1
    assert "taken: create failed" in done.stdout or "taken: update failed" in done.stdout
    assert project.interval("fine") == "3600s"


async def test_deploy_at_an_old_revision_with_overwrite_and_template(project: Project, engine: Engine) -> None:
    wid = project.sid("adhoc")
    text = SERVICE.format(name="adhoc", wid=wid, queue=ENGINE_QUEUE, arg="'{{ who }}'", on_change="keep")
    text = text.replace(
        "deploy_on_server_start: true\n",
        "template: true\noverwritable: [workflow.workflow_kwargs, workflow.workflow_id]\n",
    )
    text = text.replace("workflow: AwaitedTask", "workflow: Task")
    project.repo.write("deployments/tasks/adhoc.yaml", text)
    old = project.repo.commit("v1")
    project.repo.write("deployments/tasks/adhoc.yaml", text.replace("activity: one", "activity: zero"))
    project.repo.commit("v2")
    done = project.launchpad(
        "deploy", "adhoc", "--ref", old, "--arg", "who=old", "--set", "workflow.workflow_id=" + wid + "-1"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["workflow_id"] == wid + "-1"
    client = await engine.client()
    assert await client.get_workflow_handle(wid + "-1").result() == {"one": "old"}, "v1's activity, the template value"
    refused = project.launchpad("deploy", "adhoc", "--arg", "nobody=1")
    assert refused.returncode == 1 and "template variable 'who' is missing" in refused.stderr
    missing = project.launchpad("deploy", "../../etc/passwd")
    assert missing.returncode == 1 and "invalid task name" in missing.stderr


def test_deploy_refuses_a_ref_off_the_branch(project: Project) -> None:
    """`--ref` names the branch's history only, as the API's `ref` does."""
    text = SERVICE.format(name="adhoc", wid=project.sid("adhoc"), queue=ENGINE_QUEUE, arg="1", on_change="keep")
    project.repo.write("deployments/tasks/adhoc.yaml", text.replace("deploy_on_server_start: true\n", ""))
    project.repo.commit("adhoc")
    project.repo.git("checkout", "-q", "-b", "feature-x")
    project.repo.write("deployments/tasks/adhoc.yaml", text.replace("arg", "unreviewed"))
    unmerged = project.repo.commit("unmerged", push=False)
    project.repo.git("push", "-q", "origin", "feature-x")
    for ref in ("origin/feature-x", unmerged, "HEAD@{0}"):
        refused = project.launchpad("deploy", "adhoc", "--ref", ref)
        assert refused.returncode == 1 and "revision" in refused.stderr, (ref, refused.stdout, refused.stderr)


async def test_deploy_at_an_old_ref_imports_the_heads_code_only(project: Project, engine: Engine) -> None:
    """`launchpad deploy --ref OLD` runs OLD's task file with the code the workers run, the branch
    head's: OLD's `code_paths` module, which leaves a mark when imported, is never imported by
    the CLI's process (as the API's process does not: tests/test_api_served.py)."""
    marks = project.root / "marks"
    marks.mkdir()
    config = project.config.read_text()
    project.config.write_text(config.replace("branch: main,", "branch: main, code_paths: [code],"))
    wid = project.sid("rollback")
    text = SERVICE.replace("deploy_on_server_start: true\n", "").replace("workflow: AwaitedTask", "workflow: Task")

    def commit(version: str) -> str:
        task = text.format(name="rollback", wid=wid, queue=ENGINE_QUEUE, arg=version, on_change="keep")
        project.repo.write("deployments/tasks/rollback.yaml", task)
        project.repo.write("code/side_effect.py", SIDE_EFFECT.format(marks=str(marks), version=version))
        return project.repo.commit(version)

    old = commit("v1")
    old_file = project.repo.git("rev-parse", f"{old}:deployments/tasks/rollback.yaml")
    commit("v2")
    done = await asyncio.to_thread(project.launchpad, "deploy", "rollback", "--ref", old)
    assert done.returncode == 0, done.stdout + done.stderr
    deployed = json.loads(done.stdout)
    assert deployed["version"] == old_file
    client = await engine.client()
    assert await client.get_workflow_handle(wid, run_id=deployed["run_id"]).result() == {"one": "v1"}
    imported = [mark.name.split("-") for mark in marks.iterdir()]
    assert [version for version, _ in imported] == ["v2"], "the head's code, once; never the ref's"
    assert imported[0][1] != str(os.getpid()), "by the CLI's process"


def test_a_push_with_the_installed_hook_deploys(project: Project) -> None:
    installed = project.launchpad("hooks", "install", "--repo", str(project.repo.remote))
    assert installed.returncode == 0, installed.stderr
    project.schedule("pushed")
    project.repo.git("add", "-A")
    project.repo.git("commit", "-q", "-m", "pushed by a developer")
    push = git_push(project, "HEAD:main")
    assert push.returncode == 0, push.stderr
    assert "succeeded" in push.stderr  # the hook's output reaches the pusher as "remote: ..." lines
    assert project.interval("pushed") == "3600s"
    project.repo.git("checkout", "-q", "-b", "feature")
    project.schedule("pushed", every="5m")
    project.repo.git("commit", "-q", "-am", "on a branch")
    other = git_push(project, "feature")
    assert other.returncode == 0 and "sync" not in other.stderr
    assert project.interval("pushed") == "3600s"
