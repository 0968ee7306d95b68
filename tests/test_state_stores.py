"""The state and user stores as their callers see them, one suite run against every backend.

SQLite is a file; DynamoDB is a moto server reached over HTTP as boto3 reaches AWS (tests/aws.py).
Each store is opened the way the services open it (`open_store` / `open_user_store` on a config),
and "another container" is a second store opened on the same storage.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from launchpad.auth.dynamodb import DynamoUserStore
from launchpad.auth.passwords import hash_password
from launchpad.auth.sqlite import SqliteUserStore
from launchpad.auth.store import UserStore, open_user_store
from launchpad.config import Config, parse_config
from launchpad.state import (
    AppliedObject,
    FileError,
    Kind,
    Outcome,
    RunStatus,
    StateStore,
    SyncMeta,
    SyncRecord,
    SyncStatus,
    open_store,
)
from launchpad.state.records import FollowUp
from launchpad.state.sqlite import SqliteStateStore
from reconciler.sync import Reconciler
from tests.aws import moto_server  # noqa: F401
from tests.conftest import Engine
from tests.gitrepo import GitRepo
from tests.helpers import SCHEDULE_TASK, gitops_yaml, temporal_json

BACKENDS = ["sqlite", pytest.param("dynamodb", marks=pytest.mark.temporal)]  # moto is a server process


@dataclass
class Backend:
    name: str
    config: Config

    def open(self) -> StateStore:
        """A new store on the same storage: what another process (or Lambda container) would open."""
        return open_store(self.config)


def state_section(name: str, root: Path, request: pytest.FixtureRequest) -> str:
    if name == "sqlite":
        return f'state: {{backend: sqlite, path: "{root}/state.db"}}'
    request.getfixturevalue("moto_server")
    from launchpad.state.dynamodb import create_tables

    table = f"state-{uuid.uuid4().hex[:8]}"
    create_tables(table)
    return f"state: {{backend: dynamodb, table: {table}}}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    config = parse_config(state_section(request.param, tmp_path, request), "stores.yaml", env={})
    return Backend(request.param, config)


@pytest.fixture
def store(backend: Backend) -> StateStore:
    return backend.open()


def test_the_configured_backend_is_opened(backend: Backend, store: StateStore) -> None:
    assert type(store).__name__ == {"sqlite": "SqliteStateStore", "dynamodb": "DynamoStateStore"}[backend.name]


def test_launchpad_imports_boto3_only_when_a_store_needs_it() -> None:
    code = (
        "import sys, launchpad.state, launchpad.auth.store, launchpad.auth.sqlite, launchpad.secrets, functions.services\n"
        "assert 'boto3' not in sys.modules, 'boto3 was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# --- objects -------------------------------------------------------------------------------------------------------


def applied(kind: str, name: str, revision: str = "r1", **more: object) -> AppliedObject:
    return AppliedObject(Kind(kind), name, f"deployments/{name}.yaml", revision, f"hash-{name}-{revision}", **more)  # type: ignore[arg-type]


def test_objects_round_trip(backend: Backend, store: StateStore) -> None:
    assert store.objects() == []
    written = [
        applied("task", "b", server="local", namespace="default", temporal_id="wf-b"),
        applied(
            "schedule", "a", fingerprint="fp", status=SyncStatus.OUT_OF_SYNC, reason="drift", error="boom", blob="abc"
        ),
        applied("worker", "w"),
        applied("schedule", "c"),
    ]
    store.put_objects(written)
    other = backend.open()
    got = other.objects()
    assert [(o.kind, o.name) for o in got] == [("schedule", "a"), ("schedule", "c"), ("task", "b"), ("worker", "w")]
    assert {(o.kind, o.name): o for o in got}[(Kind.SCHEDULE, "a")] == written[1]
    assert all(o.updated_at is not None and o.updated_at.tzinfo is not None for o in got)
    assert isinstance(got[0].kind, Kind) and isinstance(got[0].status, SyncStatus)

    store.put_objects([applied("schedule", "a", revision="r2")])  # replaces, never duplicates
    by_key = {(o.kind, o.name): o for o in other.objects()}
    assert len(by_key) == 4 and by_key[(Kind.SCHEDULE, "a")].revision == "r2"
    assert by_key[(Kind.SCHEDULE, "a")].fingerprint is None

    store.delete_objects([(Kind.SCHEDULE, "a"), (Kind.SCHEDULE, "never-there")])
    assert [(o.kind, o.name) for o in other.objects()] == [("schedule", "c"), ("task", "b"), ("worker", "w")]


def test_objects_by_name_in_one_read_and_counted_by_kind_and_status(store: StateStore) -> None:
    store.put_objects(
        [applied("schedule", f"s{i:03d}") for i in range(120)] + [applied("task", "s007"), applied("worker", "w")]
    )
    found = store.objects_named(["s007", "s119", "w", "absent"])
    assert [(o.kind, o.name) for o in found] == [
        ("schedule", "s007"),
        ("schedule", "s119"),
        ("task", "s007"),
        ("worker", "w"),
    ]
    assert store.objects_named([]) == []
    assert store.count_objects([Kind.SCHEDULE, Kind.TASK]) == 121
    assert store.count_objects([Kind.WORKER]) == 1
    store.put_objects([applied("schedule", "s001", status=SyncStatus.DEGRADED), applied("task", "t", status="Missing")])
    assert store.tally_objects() == {
        ("schedule", "Synced"): 119,
        ("schedule", "Degraded"): 1,
        ("task", "Synced"): 1,
        ("task", "Missing"): 1,
        ("worker", "Synced"): 1,
    }
    assert store.scoped("elsewhere").tally_objects() == {}


def test_many_objects_in_one_write(store: StateStore) -> None:
    many = [applied("schedule", f"s{i:03d}") for i in range(60)]  # more than one DynamoDB batch (25)
    store.put_objects(many)
    assert [o.name for o in store.objects()] == [o.name for o in many]


# --- syncs ---------------------------------------------------------------------------------------------------------


def test_syncs_newest_first_and_last_sync(backend: Backend, store: StateStore) -> None:
    assert store.syncs() == [] and store.last_sync() is None
    start = datetime.now(UTC) - timedelta(minutes=10)
    records = [SyncRecord(f"s{i}", f"rev{i}", "test", start + timedelta(minutes=i)) for i in range(4)]
    for record in records:
        store.put_sync(record)
    for record, status in zip(records, ["succeeded", "failed", "degraded", "running"], strict=True):
        if status != "running":
            record.status, record.finished_at = RunStatus(status), record.started_at + timedelta(seconds=5)
            record.outcomes = [Outcome(Kind.SCHEDULE, record.id, "create", True, "created", True)]
            record.errors = [FileError("f.yaml", "workflow.x", "bad", record.revision or "")]
            record.message = "Temporal unavailable" if status == "failed" else ""
            store.put_sync(record)  # the same sync, finished: updated, not added

    other = backend.open()
    listed = other.syncs()
    assert [s.id for s in listed] == ["s3", "s2", "s1", "s0"]
    assert listed[1] == records[2] and listed[1].status == RunStatus.DEGRADED
    assert listed[2].message == "Temporal unavailable" and listed[2].status == RunStatus.FAILED
    assert isinstance(listed[2].outcomes[0], Outcome) and isinstance(listed[2].errors[0], FileError)
    assert [s.id for s in other.syncs(limit=2)] == ["s3", "s2"]
    last = other.last_sync()
    assert last is not None and last.id == "s3" and last.status == "running" and last.finished_at is None
    done = other.last_sync(RunStatus.DEGRADED)
    assert done is not None and done.id == "s2" and done.finished_at == records[2].finished_at
    assert other.last_sync(RunStatus.REFUSED) is None


def test_a_large_sync_record_is_kept(backend: Backend, store: StateStore) -> None:
    """Thousands of outcomes (a first sync of a big repository) exceed a DynamoDB item uncompressed."""
    record = SyncRecord("big", "rev", "test", datetime.now(UTC), status=RunStatus.SUCCEEDED)
    record.outcomes = [Outcome(Kind.SCHEDULE, f"schedule-{i:05d}", "create", True) for i in range(8000)]
    store.put_sync(record)
    assert backend.open().syncs() == [record]

    noise = SyncRecord("noise", "rev", "test", datetime.now(UTC), status=RunStatus.FAILED)
    noise.outcomes = [Outcome(Kind.SCHEDULE, "x", "update", False, os.urandom(400).hex()) for _ in range(1000)]
    store.put_sync(noise)
    [got, _] = backend.open().syncs()
    assert (got.id, got.status) == ("noise", "failed"), "an incompressible record is still recorded"
    if backend.name == "sqlite":
        assert got == noise
    else:  # 400 KB at most per item: trimmed to fit, and says so
        assert 0 < len(got.outcomes) < 1000 and got.outcomes == noise.outcomes[: len(got.outcomes)]
        assert got.message == f" ({1000 - len(got.outcomes)} of 1000 outcomes not recorded (DynamoDB item size))"


def test_a_dead_holders_running_syncs_are_abandoned(store: StateStore) -> None:
    now = datetime.now(UTC)
    mine = SyncRecord("mine", "r", "test", now, holder="host:1:a")
    theirs = SyncRecord("theirs", "r", "test", now + timedelta(seconds=1), holder="host:2:b")
    done = SyncRecord("done", "r", "test", now - timedelta(seconds=1), status=RunStatus.SUCCEEDED, holder="host:1:a")
    for record in (mine, theirs, done):
        store.put_sync(record)
    store.abandon_syncs("host:1:a", "its process died")
    by_id = {s.id: s for s in store.syncs()}
    assert by_id["mine"].status == RunStatus.ABANDONED and by_id["mine"].message == "its process died"
    assert by_id["theirs"].status == RunStatus.RUNNING and by_id["done"].status == RunStatus.SUCCEEDED


# --- the sync lease ------------------------------------------------------------------------------------------------


def test_the_lease_has_one_holder_until_released(backend: Backend, store: StateStore) -> None:
    other = backend.open()
    grant = store.acquire_lease("sync", "a", 30)
    assert grant is not None and grant.meta == SyncMeta() and grant.taken_from is None
    assert other.acquire_lease("sync", "b", 30) is None, "a second holder is refused"
    assert other.lease_holder("sync") == "a"
    assert store.renew_lease("sync", "a", 30) and not other.renew_lease("sync", "b", 30)
    assert other.acquire_lease("another", "b", 30) is not None, "leases are independent by scope"
    assert not other.finish_lease("sync", "b", SyncMeta(revision="wrong")), "not the holder: no effect"
    assert other.acquire_lease("sync", "b", 30) is None
    meta = SyncMeta(revision="r1", code="c", retry=["x.yaml"], errors=[FileError("f", "p", "m", "r1")])
    assert not store.finish_lease("sync", "a", meta), "released: no follow-up was asked for"
    assert other.lease_holder("sync") is None and other.meta("sync") == meta
    taken = other.acquire_lease("sync", "b", 30)
    assert taken is not None and taken.meta == meta and taken.taken_from is None, "the meta comes with the lease"


def test_an_expired_or_dead_holders_lease_is_taken_over(backend: Backend, store: StateStore) -> None:
    other = backend.open()
    assert store.acquire_lease("sync", "dead", 0.5) is not None
    assert other.acquire_lease("sync", "alive", 30) is None
    time.sleep(0.6)
    grant = other.acquire_lease("sync", "alive", 30)
    assert grant is not None and grant.taken_from == "dead", "the holder died: its lease expired"
    assert not store.renew_lease("sync", "dead", 30), "and the old holder cannot renew it back"
    assert store.acquire_lease("sync", "third", 30) is None
    grant = store.acquire_lease("sync", "third", 30, take_from="alive")
    assert grant is not None and grant.taken_from == "alive", "a holder known dead is taken over at once"
    assert store.acquire_lease("sync", "fourth", 30, take_from="alive") is None, "only from that holder"


def test_a_follow_up_keeps_the_lease_once(backend: Backend, store: StateStore) -> None:
    other = backend.open()
    assert not other.request_followup("sync"), "nobody holds it: the caller should run itself"
    assert store.acquire_lease("sync", "a", 30) is not None
    assert other.request_followup("sync") and other.request_followup("sync"), "two triggers while running"
    assert store.finish_lease("sync", "a", SyncMeta(revision="r1")) == FollowUp.SYNC, "kept for one follow-up"
    assert other.request_followup("sync", hard=True) and other.request_followup("sync"), "a hard one, then not"
    assert store.finish_lease("sync", "a", SyncMeta(revision="r1")) == FollowUp.HARD, "the hard request stands"
    assert other.lease_holder("sync") == "a" and other.meta("sync").revision == "r1"
    assert not store.finish_lease("sync", "a", SyncMeta(revision="r2")), "then released"
    assert other.lease_holder("sync") is None
    assert store.acquire_lease("sync", "a", 30) is not None
    other.request_followup("sync")
    assert store.acquire_lease("sync", "a", 30) is not None, "renewing by acquiring again"
    grant = other.acquire_lease("sync", "b", 30, take_from="a")
    assert grant is not None
    assert not other.finish_lease("sync", "b", SyncMeta()), "a new holder's sync covers the earlier request"


# --- webhook deliveries --------------------------------------------------------------------------------------------


def test_a_delivery_is_remembered_once_and_can_be_forgotten(backend: Backend, store: StateStore) -> None:
    other = backend.open()
    assert store.remember_delivery("d-1")
    assert not store.remember_delivery("d-1")
    assert not other.remember_delivery("d-1"), "another container sees it too"
    assert other.remember_delivery("d-2")
    store.forget_delivery("d-1")  # e.g. the sync could not be dispatched: let the forge's retry through
    assert other.remember_delivery("d-1")
    assert not store.remember_delivery("d-2")


# --- notifications: the subjects last reported broken ----------------------------------------------------------


def test_notices_are_kept_until_dropped_and_seen_by_another_process(backend: Backend, store: StateStore) -> None:
    assert store.notices() == {}
    store.put_notices({"file:deployments/tasks/a.yaml": '{"kind":"degraded"}', "sync": '{"kind":"sync_failed"}'}, [])
    other = backend.open()
    assert other.notices() == {"file:deployments/tasks/a.yaml": '{"kind":"degraded"}', "sync": '{"kind":"sync_failed"}'}
    other.put_notices({"schedule:b": '{"kind":"degraded"}'}, ["sync"])
    assert store.notices() == {
        "file:deployments/tasks/a.yaml": '{"kind":"degraded"}',
        "schedule:b": '{"kind":"degraded"}',
    }
    store.put_notices({}, ["file:deployments/tasks/a.yaml", "schedule:b", "never-there"])
    assert other.notices() == {}


# --- two reconciles at once ----------------------------------------------------------------------------------------


async def test_two_reconciles_at_once_the_lease_lets_exactly_one_run(
    backend: Backend, tmp_path: Path, engine: Engine
) -> None:
    repo = GitRepo(tmp_path)
    prefix = f"st{uuid.uuid4().hex[:6]}"
    for name in ("p", "q"):
        repo.write(
            f"deployments/tasks/{name}.yaml",
            SCHEDULE_TASK.format(name=name, sid=f"{prefix}-{name}", queue="q", every="1h"),
        )
    head = repo.commit()
    section = backend.config.state.model_dump_json()
    config = parse_config(gitops_yaml(engine.server, repo.remote, tmp_path, state=section), "reconcile.yaml", env={})
    # two containers: each its own store on the same table (file) and its own git cache
    first = Reconciler(config, open_store(config), connections=engine.connections)
    second_config = config.model_copy(deep=True)
    second_config.repository.cache_dir = f"{tmp_path}/cache-2"
    second = Reconciler(second_config, open_store(second_config), connections=engine.connections)

    lease = await first.lease()  # the first container's sync has begun: it holds the lease
    assert lease is not None
    refused = await asyncio.gather(second.sync("second"), second.sync("second again"))
    assert [r.status for r in refused] == ["already_running", "already_running"], "the lease lets exactly one run"
    ran = await first.sync("first", lease=lease)
    assert ran.status == "succeeded"
    assert [run.status for run in ran.follow_ups] == ["succeeded"], "two triggers meanwhile: exactly one follow-up"
    assert ran.follow_ups[0].id == "" and ran.follow_ups[0].message == "up to date", "it found nothing new"
    assert [s.trigger for s in open_store(config).syncs()] == ["first"]
    objects = {(o.kind, o.name): o for o in open_store(config).objects()}
    assert set(objects) == {("schedule", "p"), ("schedule", "q")} and objects[("schedule", "p")].revision == head
    listed = {s["scheduleId"] for s in temporal_json(engine.server, "schedule", "list") or []}
    assert {f"{prefix}-p", f"{prefix}-q"} <= listed
    assert first.store.acquire_lease("sync", "after", 30) is not None, "the lease was released"


# --- user stores ---------------------------------------------------------------------------------------------------


@functools.cache
def carol_hash() -> str:
    return hash_password("carol-password")  # argon2 is slow by design: hash once for the module


@dataclass
class Users:
    config: Config

    def open(self) -> UserStore:
        """The user store as the services open it: seeded from the config."""
        store = open_user_store(self.config)
        assert store is not None
        return store

    def another(self) -> UserStore:
        """The same storage, as another process (or container) sees it (unseeded: argon2 is slow)."""
        auth = self.config.authenticator
        assert auth is not None
        return SqliteUserStore(auth.db) if auth.backend == "sqlite" else DynamoUserStore(auth.table)


@pytest.fixture(params=BACKENDS)
def users(request: pytest.FixtureRequest, tmp_path: Path) -> Users:
    if request.param == "sqlite":
        section = f'backend: sqlite\n  db: "{tmp_path}/users.db"'
    else:
        request.getfixturevalue("moto_server")
        from launchpad.state.dynamodb import create_tables

        table = f"users-{uuid.uuid4().hex[:8]}"
        create_tables(table)
        section = f"backend: dynamodb\n  table: {table}"
    config = parse_config(
        f"""
app: {{secret: a-test-secret-of-at-least-32-bytes}}
authenticator:
  {section}
  base_users:
    - {{username: bob, password: bob-password, auth_level: [user, super user], max_age: 60}}
    - {{username: carol, password_hash: "{carol_hash()}"}}
""",
        "users.yaml",
        env={},
    )
    return Users(config)


def stored_hashes(store: UserStore) -> dict[str, str]:
    """What the backend holds for each user's password, read past the interface."""
    if isinstance(store, SqliteUserStore):
        return {str(u): str(h) for u, h in store._db.execute("SELECT username, password_hash FROM users")}
    assert isinstance(store, DynamoUserStore)
    items = store._db.scan(TableName=store.table)["Items"]
    return {i["sk"]["S"]: i["password_hash"]["S"] for i in items if i["pk"]["S"] == "users"}


async def test_a_login_with_a_name_no_user_can_have_is_refused_not_a_500(users: Users) -> None:
    """An empty or huge username is a wrong login (401), on every store: DynamoDB refused to key
    it and the API answered 500 with a stack trace in its log."""
    from functions.errors import ApiError
    from functions.login import login
    from functions.services import Services

    services = Services.from_config(users.config, SqliteStateStore())
    for name in ("", "x" * 2000):
        with pytest.raises(ApiError) as refused:
            await login(services, name, "bob-password", "203.0.113.9")
        assert (refused.value.status, refused.value.code) == (401, "invalid_credentials")
    token, _ = await login(services, "bob", "bob-password", "203.0.113.9")
    assert token


def test_users_are_seeded_with_hashes_and_authenticate(users: Users) -> None:
    store = users.open()
    assert [(u.username, u.levels, u.max_age) for u in store.users()] == [
        ("bob", ("user", "super user"), 60),
        ("carol", ("user",), 600),
    ]
    hashes = stored_hashes(store)
    assert set(hashes) == {"bob", "carol"} and all(h.startswith("$argon2id$") for h in hashes.values())
    assert hashes["carol"] == carol_hash() and "bob-password" not in hashes["bob"]
    bob = store.authenticate("bob", "bob-password")
    assert bob is not None and bob.levels == ("user", "super user")
    assert store.authenticate("bob", "carol-password") is None
    assert store.authenticate("nobody", "bob-password") is None
    assert store.get("carol") is not None and store.get("nobody") is None
    with pytest.raises(ValueError, match="argon2"):
        store.put("dave", "clear-text", ["user"], 60)


def test_add_refuses_an_existing_name_and_delete_removes(users: Users) -> None:
    store = users.open()
    added = store.add("dave", "dave-password", ["user"], 120)
    assert (added.username, added.levels, added.max_age) == ("dave", ("user",), 120)
    other = users.another()
    got = other.get("dave")
    assert got is not None and got.max_age == 120
    with pytest.raises(ValueError, match="exists"):
        other.add("dave", "another-password", ["user", "super user"], 60)
    assert stored_hashes(store)["dave"].startswith("$argon2id$")
    assert store.authenticate("dave", "dave-password") is not None, "the refused add changed nothing"

    assert other.delete("dave")
    assert not store.delete("dave")
    assert store.get("dave") is None and store.authenticate("dave", "dave-password") is None
    assert [u.username for u in store.users()] == ["bob", "carol"]


def test_an_in_memory_user_store_sees_every_change_at_once() -> None:
    """`:memory:` answers `get` from memory; each write (add, demote, delete) is seen by the next `get`."""
    store = SqliteUserStore(":memory:")
    assert store.get("erin") is None
    store.add("erin", "erin-password", ["user", "super user"], 60)
    erin = store.get("erin")
    assert erin is not None and erin.levels == ("user", "super user")
    store.put("erin", carol_hash(), ["user"], 30)
    demoted = store.get("erin")
    assert demoted is not None and (demoted.levels, demoted.max_age) == (("user",), 30)
    assert store.delete("erin") and store.get("erin") is None


def test_login_attempts_are_counted_per_key_within_the_window(users: Users) -> None:
    store, other = users.open(), users.another()
    recorded = [store.attempt("user:bob", 300, 5) for _ in range(3)]
    assert [before for _, before in recorded] == [0, 1, 2]
    assert other.attempt("ip:10.0.0.1", 300, 5)[1] == 0
    assert other.attempts("user:bob", 300) == 3
    assert store.attempts("ip:10.0.0.1", 300) == 1 and store.attempts("user:carol", 300) == 0
    first = recorded[0][0]
    assert first is not None
    other.forget_attempt("user:bob", first)
    assert store.attempts("user:bob", 300) == 2
    assert [store.attempt("user:bob", 300, 5)[1] for _ in range(3)] == [2, 3, 4]
    assert store.attempt("user:bob", 300, 5) == (None, 5), "at the limit nothing more is recorded"
    time.sleep(0.3)
    assert other.attempt("user:bob", 0.2, 5)[1] == 0, "older attempts fall out of the window"
    other.clear_attempts("user:bob")
    assert store.attempts("user:bob", 300) == 0
    assert store.attempts("ip:10.0.0.1", 300) == 1


def test_concurrent_attempts_never_pass_the_limit_together(users: Users) -> None:
    """Counting and recording are one step: 40 attempts at once from two stores, 5 recorded."""
    stores = [users.open(), users.another()]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: stores[i % 2].attempt("user:mallory", 300, 5), range(40)))
    assert sum(1 for attempt, _ in answers if attempt is not None) == 5
    assert sorted(before for attempt, before in answers if attempt is not None) == [0, 1, 2, 3, 4]
    assert stores[0].attempts("user:mallory", 300) == 5


def test_users_created_again_are_a_new_generation(users: Users) -> None:
    store = users.open()
    seeded = store.get("bob")
    assert seeded is not None and seeded.generation == "config"
    first = store.add("dave", "dave-password", ["user"], 60)
    assert store.delete("dave")
    second = store.add("dave", "dave-password", ["user"], 60)
    assert first.generation != second.generation
    got = users.another().get("dave")
    assert got is not None and got.generation == second.generation
    checked = store.authenticate("dave", "dave-password")
    assert checked is not None and checked.generation == second.generation


def _open_when_told(store: type[SqliteStateStore] | type[SqliteUserStore], path: str, start: Any) -> None:
    start.wait()
    store(path)


OLDER_FILES = {  # a table as an older launchpad wrote it, before a column was added
    SqliteStateStore: "CREATE TABLE locks (name TEXT PRIMARY KEY, holder TEXT, expires_at REAL NOT NULL DEFAULT 0, "
    "followup INTEGER NOT NULL DEFAULT 0)",
    SqliteUserStore: "CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, "
    "levels TEXT NOT NULL, max_age INTEGER NOT NULL)",
}


@pytest.mark.parametrize("older", [False, True], ids=["new file", "older file"])
@pytest.mark.parametrize("store", [SqliteStateStore, SqliteUserStore])
def test_processes_opening_one_file_at_once_all_open_it(store: type[Any], older: bool, tmp_path: Path) -> None:
    """`launchpad start` and `launchpad reconcile` started together on a new or an older file:
    each creates or upgrades the tables, and none fails because another did it first."""
    context = multiprocessing.get_context("fork")
    for round_ in range(5):
        path, start = str(tmp_path / f"{round_}.db"), context.Event()
        if older:
            with sqlite3.connect(path) as db:
                db.execute(OLDER_FILES[store])
        processes = [context.Process(target=_open_when_told, args=(store, path, start)) for _ in range(6)]
        for process in processes:
            process.start()
        start.set()
        for process in processes:
            process.join(60)
        assert [p.exitcode for p in processes] == [0] * 6, f"round {round_}: a process failed to open {path}"
