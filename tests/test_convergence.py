"""The six ways a sync once failed to converge (issue #15), each replayed against the real dev
server, git and the `launchpad` command, as an operator would meet them."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from launchpad.state import RunStatus
from tests.conftest import ENGINE_QUEUE, Engine
from tests.helpers import eventually_now, temporal_json
from tests.test_reconciler import SCHEDULE
from tests.test_reconciler_cli import Project

pytestmark = pytest.mark.temporal


@pytest.fixture
def project(tmp_path: Path, engine: Engine) -> Project:
    return Project(tmp_path, engine)


def describe(project: Project, name: str) -> dict:  # type: ignore[type-arg]
    return temporal_json(project.engine.server, "schedule", "describe", "--schedule-id", project.sid(name))


def intervals(project: Project, name: str) -> list[str]:
    return [i["interval"] for i in describe(project, name)["schedule"]["spec"]["interval"]]


def reconcile(project: Project, *more: str) -> subprocess.CompletedProcess[str]:
    return project.launchpad("reconcile", "--once", *more)


def writes(done: subprocess.CompletedProcess[str]) -> int:
    """The writes the summary line reports (`… (N write(s)`), summed over the syncs it ran."""
    return sum(int(line.split("(")[1].split(" ")[0]) for line in done.stdout.splitlines() if "write(s)" in line)


def cli_update(project: Project, name: str, *flags: str) -> None:
    """`temporal schedule update` as an operator types it."""
    temporal_json(
        project.engine.server,
        "schedule",
        "update",
        "--schedule-id",
        project.sid(name),
        "--workflow-id",
        f"{project.sid(name)}-wf",
        "--task-queue",
        ENGINE_QUEUE,
        "--type",
        "Task",
        *flags,
    )


def test_a_hand_edit_right_after_the_write_is_healed(project: Project) -> None:
    """1. The fingerprint of what launchpad wrote is recorded at the write: an edit made before
    any other sync lists the schedule is still seen as drift."""
    project.schedule("edited")
    project.repo.commit()
    assert writes(reconcile(project)) == 1
    action = describe(project, "edited")["schedule"]["action"]["startWorkflow"]
    memo = {key: json.loads(base64.b64decode(value["data"])) for key, value in action["memo"]["fields"].items()}
    args = [json.loads(base64.b64decode(arg["data"])) for arg in action["input"]["payloads"]]
    cli_update(
        project,
        "edited",
        "--interval",
        "47m",
        "--memo",
        f"launchpad={json.dumps(memo['launchpad'])}",
        "--input",
        json.dumps(args[0]),
    )
    assert intervals(project, "edited") == ["2820s"]
    planned = project.launchpad("plan", "--json")
    [item] = json.loads(planned.stdout)["items"]
    assert (item["action"], item["drift"]) == ("update", True), item
    healed = reconcile(project, "--hard")
    assert healed.returncode == 0 and writes(healed) == 1, healed.stdout
    assert intervals(project, "edited") == ["3600s"]
    assert writes(reconcile(project, "--hard")) == 0, "and the next drift scan finds nothing"


def hand_edit_keeping_the_marker(project: Project, name: str, *flags: str) -> None:
    """`temporal schedule update` that re-specifies the action's memo and input as they were:
    the schedule still carries launchpad's marker of the file's version."""
    action = describe(project, name)["schedule"]["action"]["startWorkflow"]
    memo = {key: json.loads(base64.b64decode(value["data"])) for key, value in action["memo"]["fields"].items()}
    args = [json.loads(base64.b64decode(arg["data"])) for arg in action["input"]["payloads"]]
    cli_update(
        project, name, *flags, "--memo", f"launchpad={json.dumps(memo['launchpad'])}", "--input", json.dumps(args[0])
    )


def test_a_hand_edit_of_a_schedule_with_no_record_is_healed(project: Project) -> None:
    """1. (without a record) A sync killed before it recorded its write, or a lost state database,
    then a hand edit that keeps launchpad's marker: the drift scan adopts the schedule and writes
    it from the file (the marker alone said it was up to date, and the edit stayed)."""
    project.schedule("adopted")
    project.repo.commit()
    assert writes(reconcile(project)) == 1
    for suffix in ("", "-wal", "-shm"):
        (project.root / f"state.db{suffix}").unlink(missing_ok=True)
    hand_edit_keeping_the_marker(project, "adopted", "--interval", "47m")
    assert intervals(project, "adopted") == ["2820s"]
    healed = reconcile(project, "--hard")
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert intervals(project, "adopted") == ["3600s"]
    assert writes(reconcile(project, "--hard")) == 0, "and the next drift scan finds nothing"


@pytest.mark.parametrize("sync", [(), ("--hard",)], ids=["refresh", "drift scan"])
def test_a_file_renamed_with_its_schedule_id_kept_converges_in_one_sync(project: Project, sync: tuple[str]) -> None:
    """The new task takes the schedule over in the same sync: the old task's schedule is deleted,
    then the new one created. The create used to fail on an id held by the old task while the
    prune ran after it: a sync with no schedule, then one more to create it."""
    project.schedule("before")
    project.repo.commit()
    assert reconcile(project).returncode == 0
    text = SCHEDULE.format(name="after", sid=project.sid("before"), queue=ENGINE_QUEUE, every="2h")
    project.repo.delete("deployments/tasks/before.yaml")
    project.repo.write("deployments/tasks/after.yaml", text)
    project.repo.commit("rename before to after, same schedule id")
    moved = reconcile(project, *sync)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    described = describe(project, "before")  # the id is the old task's, its owner the new one
    memo = json.loads(base64.b64decode(described["memo"]["fields"]["launchpad"]["data"]))
    assert memo["task"] == "after" and intervals(project, "before") == ["7200s"], memo
    assert writes(reconcile(project, "--hard")) == 0


async def test_a_scan_right_after_a_write_writes_nothing(project: Project) -> None:
    """1. (the other half) A drift scan that lists schedules a few ms after a write sees the old
    spec in the listing; a describe confirms there is no drift, and nothing is written."""
    from reconciler.sync import Reconciler

    project.schedule("lag", every="1h")
    project.repo.commit()
    from launchpad.config import load_config
    from launchpad.state import open_store

    config = load_config(project.config)
    reconciler = Reconciler(config, open_store(config), connections=project.engine.connections)
    assert (await reconciler.sync("test")).writes == 1
    for every in ("2h", "3h", "4h"):
        project.schedule("lag", every=every)
        project.repo.commit(f"every {every}")
        assert (await reconciler.sync("test")).writes == 1
        right_after = await reconciler.sync("test", hard=True)
        assert right_after.writes == 0, right_after.outcomes


def test_a_bare_cli_update_is_healed_not_foreign(project: Project) -> None:
    """2. `temporal schedule update` with only the required flags replaces the action's memo; the
    schedule's own memo names the owner, so the schedule is restored, and later changes apply."""
    project.schedule("bare")
    project.repo.commit()
    assert reconcile(project).returncode == 0
    cli_update(project, "bare", "--interval", "71m")
    healed = reconcile(project, "--hard")
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert "not managed" not in healed.stdout + healed.stderr
    assert intervals(project, "bare") == ["3600s"]
    action = describe(project, "bare")["schedule"]["action"]["startWorkflow"]
    assert "launchpad" in action["memo"]["fields"] and action["input"]["payloads"], "args and marker restored"
    project.schedule("bare", every="2h")
    project.repo.commit("every 2h")
    assert reconcile(project).returncode == 0 and intervals(project, "bare") == ["7200s"]


def test_objects_made_by_a_sync_that_died_are_pruned(project: Project) -> None:
    """4. Schedules a sync created and never recorded (it died; or the state database is lost)
    are found by the drift scan through their marker, and pruned once their files are gone."""
    for name in ("kept", "lost-a", "lost-b"):
        project.schedule(name)
    project.repo.commit()
    assert reconcile(project).returncode == 0
    (project.root / "state.db").unlink()  # what a sync killed before recording leaves: no records
    for suffix in ("-wal", "-shm"):
        (project.root / f"state.db{suffix}").unlink(missing_ok=True)
    project.repo.delete("deployments/tasks/lost-a.yaml")
    project.repo.delete("deployments/tasks/lost-b.yaml")
    project.repo.commit("remove two")
    planned = json.loads(project.launchpad("plan", "--json").stdout)
    assert {(i["name"], i["action"]) for i in planned["items"]} == {
        ("kept", "update"),  # adopted: it exists and is this launchpad's
        ("lost-a", "delete"),
        ("lost-b", "delete"),
    }
    done = reconcile(project)
    assert done.returncode == 0, done.stdout
    listed = {s["scheduleId"] for s in temporal_json(project.engine.server, "schedule", "list") or []}
    assert project.sid("kept") in listed and not {project.sid("lost-a"), project.sid("lost-b")} & listed
    assert writes(reconcile(project, "--hard")) == 0


def many(project: Project, count: int) -> None:
    for i in range(count):
        name = f"m{i:03d}"
        text = SCHEDULE.format(name=name, sid=project.sid(name), queue=ENGINE_QUEUE, every="1h")
        project.repo.write(f"deployments/tasks/{name}.yaml", text)


def listed_with(project: Project, prefix: str) -> int:
    return sum(
        1 for s in temporal_json(project.engine.server, "schedule", "list") or [] if s["scheduleId"].startswith(prefix)
    )


def start_reconcile(project: Project) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "launchpad", "reconcile", "--once", "--config", str(project.config)],
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill_when(process: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 60) -> None:
    def there() -> bool:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        return ready()

    eventually_now(there, timeout, "the sync getting there", interval=0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def test_a_sync_killed_inside_the_lease_is_taken_over_at_once(project: Project) -> None:
    """5. A holder killed with SIGKILL: the next `reconcile --once` on this host sees its process
    is gone, takes the lease over at once, closes the dead sync's record as abandoned, and
    finishes the work; it reports the writes of the sync it ran."""
    (project.config).write_text(project.config.read_text() + "reconciler: {concurrency: 1}\n")
    many(project, 40)
    project.repo.commit("forty")
    first = start_reconcile(project)
    kill_when(first, lambda: listed_with(project, project.sid("m")) >= 5)
    done = reconcile(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already_running" not in done.stdout
    assert writes(done) > 0, "the taker-over wrote what the dead sync had not"
    assert listed_with(project, project.sid("m")) == 40
    with sqlite3.connect(project.root / "state.db") as db:
        records = [json.loads(d) for (d,) in db.execute("SELECT data FROM syncs ORDER BY started_at")]
    assert [r["status"] for r in records] == ["abandoned", "succeeded"]
    assert "died" in records[0]["message"]
    status = json.loads(project.launchpad("status", "--json").stdout)
    assert status["last_sync"]["status"] == "succeeded"


async def test_a_live_holder_makes_reconcile_exit_75(project: Project) -> None:
    """5. When another sync really runs, `reconcile --once` exits with a code of its own (a cron
    sees it did not run), and that sync runs one follow-up."""
    from launchpad.config import load_config
    from launchpad.state import open_store
    from reconciler.sync import Reconciler

    project.schedule("solo")
    project.repo.commit()
    config = load_config(project.config)
    reconciler = Reconciler(config, open_store(config), connections=project.engine.connections)
    lease = await reconciler.lease()
    assert lease is not None
    done = await asyncio.to_thread(reconcile, project)
    assert done.returncode == 75 and "already_running" in done.stdout
    result = await reconciler.sync("test", lease=lease)
    assert result.status == RunStatus.SUCCEEDED and len(result.follow_ups) == 1


def test_broken_files_make_the_sync_degraded_in_every_form(project: Project) -> None:
    """6. A sync with file errors is Degraded: exit code, `status`, `status --json`."""
    project.schedule("good")
    broken = SCHEDULE.format(name="bad", sid=project.sid("bad"), queue=ENGINE_QUEUE, every="sometimes")
    project.repo.write("deployments/tasks/bad.yaml", broken)
    project.repo.commit()
    done = reconcile(project)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "degraded" in done.stdout
    status = json.loads(project.launchpad("status", "--json").stdout)
    assert status["last_sync"]["status"] == "degraded"
    assert [(e["file"], e["path"]) for e in status["errors"]] == [
        ("deployments/tasks/bad.yaml", "workflow.intervals.0.every")
    ]
    human = project.launchpad("status")
    assert "degraded" in human.stdout and "deployments/tasks/bad.yaml" in human.stderr
    # the next sync of another change still says so, without reading the broken file again
    project.schedule("other")
    project.repo.commit("another file")
    again = reconcile(project)
    assert again.returncode == 3 and "bad.yaml" in again.stderr
    project.repo.write(
        "deployments/tasks/bad.yaml",
        SCHEDULE.format(name="bad", sid=project.sid("bad"), queue=ENGINE_QUEUE, every="1h"),
    )
    project.repo.commit("fixed")
    assert reconcile(project).returncode == 0
    assert json.loads(project.launchpad("status", "--json").stdout)["errors"] == []
