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
import time
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


def writes_per_sync(output: str) -> list[int]:
    """The writes each summary line reports (`… (N write(s)`), one per sync the command ran."""
    return [int(line.split("(")[1].split(" ")[0]) for line in output.splitlines() if "write(s)" in line]


def writes(done: subprocess.CompletedProcess[str]) -> int:
    return sum(writes_per_sync(done.stdout))


def with_code(project: Project, more: str = "") -> None:
    """Import the repository's `code` folder (as `repository.code_paths`), plus more settings."""
    text = project.config.read_text().replace("branch: main,", "branch: main, code_paths: [code],")
    project.config.write_text(text + more)


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


def test_git_locks_a_killed_sync_left_in_the_cache_are_cleared(project: Project) -> None:
    """3. A reconcile killed in a checkout or a fetch leaves git's lock files in its cache clone:
    the next `reconcile --once` clears them in place (no fresh clone), fetches and checks out the
    new revision, applies it and ends its sync."""
    with_code(project)
    project.repo.write("code/helpers.py", "VERSION = 1\n")
    project.schedule("locked")
    project.repo.commit()
    assert reconcile(project).returncode == 0
    [git_dir] = (project.root / "cache").glob("*/.git")
    clone = git_dir.stat().st_ino
    for lock in ("index.lock", "refs/remotes/origin/main.lock"):  # a checkout's and a fetch's
        (git_dir / lock).parent.mkdir(parents=True, exist_ok=True)
        (git_dir / lock).write_text("")
    project.schedule("locked", every="2h")
    project.repo.write("code/helpers.py", "VERSION = 2\n")  # new code: the sync checks it out
    head = project.repo.commit("every 2h, new code")
    done = reconcile(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert intervals(project, "locked") == ["7200s"]
    status = json.loads(project.launchpad("status", "--json").stdout)
    assert (status["last_sync"]["status"], status["revision"]) == ("succeeded", head), status["last_sync"]
    assert not list(git_dir.rglob("*.lock"))
    assert git_dir.stat().st_ino == clone, "healed in place, not cloned again"


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


def recorded(project: Project) -> set[str]:
    """The schedules the state database holds a record of (read beside a running sync)."""
    try:
        with sqlite3.connect(project.root / "state.db") as db:
            return {name for (name,) in db.execute("SELECT name FROM objects WHERE kind = 'schedule'")}
    except sqlite3.OperationalError:  # not made yet
        return set()


def test_objects_a_killed_sync_made_are_shown_and_pruned(project: Project) -> None:
    """4. A sync killed after it created some schedules, the last few not yet recorded: `status`
    lists those it recorded; once their files are removed, `plan` lists every one it made,
    recorded or not, as a delete; and the next sync prunes them all."""
    project.config.write_text(project.config.read_text() + "reconciler: {concurrency: 1}\n")
    project.schedule("kept")
    many(project, 80)
    project.repo.commit("eighty-one")
    first = start_reconcile(project)

    def some_unrecorded() -> bool:
        written = len(recorded(project) - {"kept"})
        return written >= 3 and listed_with(project, project.sid("m")) > written

    kill_when(first, some_unrecorded)
    made = {s["scheduleId"] for s in temporal_json(project.engine.server, "schedule", "list") or []}
    made = {sid for sid in made if sid.startswith(project.sid("m"))}
    shown = json.loads(project.launchpad("status", "--json").stdout)["objects"]
    listed = {project.sid(o["name"]) for o in shown if o["name"] != "kept"}
    assert len(listed) >= 3 and listed <= made, (listed, made)
    for i in range(80):
        project.repo.delete(f"deployments/tasks/m{i:03d}.yaml")
    project.repo.commit("remove the eighty")
    planned = json.loads(project.launchpad("plan", "--json").stdout)["items"]
    assert {project.sid(i["name"]) for i in planned if i["action"] == "delete"} == made
    done = reconcile(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert listed_with(project, project.sid("m")) == 0
    status = json.loads(project.launchpad("status", "--json").stdout)
    assert [o["name"] for o in status["objects"]] == ["kept"] and status["last_sync"]["status"] == "succeeded"


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


GATE = """
import time
from pathlib import Path

Path({gate!r}, "importing").touch()
for _ in range(2400):  # two minutes at most: the test opens the gate
    if Path({gate!r}, "open").exists():
        break
    time.sleep(0.05)
"""


def lease_expiry(project: Project) -> float:
    """When the sync lease expires unless renewed (epoch seconds), as the state database says."""
    with sqlite3.connect(project.root / "state.db") as db:
        row = db.execute("SELECT expires_at FROM locks WHERE name = 'sync'").fetchone()
    return float(row[0]) if row else 0.0


def test_a_live_holder_renews_its_lease_past_the_ttl_and_reports_its_follow_up(project: Project) -> None:
    """5. A sync longer than `lock_ttl` (its code takes long to import: here until a gate opens)
    keeps its lease by renewing it: a `reconcile --once` after the first expiry is refused with
    75, not let in beside it. The follow-up that refusal asked for applies a commit pushed
    meanwhile, and the holder's summary reports the writes of both syncs."""
    gate = project.root / "gate"
    gate.mkdir()
    with_code(project, "reconciler: {lock_ttl: 2s}\n")
    project.repo.write("code/slow_import.py", GATE.format(gate=str(gate)))
    project.schedule("first")
    project.repo.commit()
    holder = start_reconcile(project)
    try:
        eventually_now(lambda: (gate / "importing").exists(), 60, "the holder importing the code")
        first_expiry = lease_expiry(project)
        eventually_now(
            lambda: time.time() > first_expiry + 0.5 and lease_expiry(project) > time.time(),
            30,
            "the lease renewed past its first expiry",
        )
        refused = reconcile(project)
        assert refused.returncode == 75 and "already_running" in refused.stdout, refused.stdout + refused.stderr
        project.schedule("meanwhile")
        project.repo.commit("pushed while the sync ran")
    finally:
        (gate / "open").touch()
    out, _ = holder.communicate(timeout=120)
    assert holder.returncode == 0, out
    assert writes_per_sync(out) == [1, 1], out
    assert intervals(project, "first") == intervals(project, "meanwhile") == ["3600s"]
    with sqlite3.connect(project.root / "state.db") as db:
        records = [json.loads(d) for (d,) in db.execute("SELECT data FROM syncs ORDER BY started_at")]
    assert [(r["trigger"], r["status"]) for r in records] == [("cli", "succeeded"), ("follow-up", "succeeded")]


def test_an_unexpected_error_mid_sync_fails_that_sync_and_the_next_one_works(project: Project) -> None:
    """#14: an exception launchpad does not foresee, raised after the sync began (here the state
    database refuses to write records, as a full disk would): the sync ends `failed` with the
    error, never `running`; the lease is given back, and the next sync applies what it missed."""
    project.schedule("before")
    project.repo.commit()
    assert reconcile(project).returncode == 0
    with sqlite3.connect(project.root / "state.db") as db:
        db.execute("CREATE TRIGGER full BEFORE INSERT ON objects BEGIN SELECT RAISE(ABORT, 'disk is full'); END")
    project.schedule("during")
    project.repo.commit("one more")
    failed = reconcile(project)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "failed" in failed.stdout and "unexpected error" in failed.stdout, failed.stdout
    last = json.loads(project.launchpad("status", "--json").stdout)["last_sync"]
    assert last["status"] == "failed" and "disk is full" in last["message"], last
    with sqlite3.connect(project.root / "state.db") as db:
        db.execute("DROP TRIGGER full")
    again = reconcile(project)
    assert again.returncode == 0, again.stdout + again.stderr
    status = json.loads(project.launchpad("status", "--json").stdout)
    assert status["last_sync"]["status"] == "succeeded"
    assert {o["name"]: o["status"] for o in status["objects"]} == {"before": "Synced", "during": "Synced"}
    assert intervals(project, "during") == ["3600s"]
    assert writes(reconcile(project, "--hard")) == 0


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
