"""What a refresh costs and when a drift scan runs (issue #19), observed from outside the reconciler:
the Temporal calls its client makes (an interceptor, temporalio's public API), the git commands it
runs (`GIT_TRACE`), the DynamoDB requests its state store sends (botocore's `before-send`, against
a moto server)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, Interceptor, OutboundInterceptor

from launchpad.config import parse_config
from launchpad.state.dynamodb import DynamoStateStore, client, create_tables
from launchpad.state.records import AppliedObject, Kind
from launchpad.temporal.connections import Connections
from reconciler.status import status_report
from reconciler.sync import LEASE, Reconciler
from tests.aws import moto_server  # noqa: F401
from tests.conftest import ENGINE_QUEUE, Engine
from tests.gitrepo import GitRepo
from tests.helpers import SCHEDULE_TASK, gitops_yaml

pytestmark = pytest.mark.usefixtures("moto_server")


class CountingInterceptor(Interceptor):
    """Counts every call a client makes, by name."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        calls = self.calls

        class Counted(OutboundInterceptor):
            def __getattribute__(self, name: str) -> Any:
                found = super().__getattribute__(name)
                if not name.startswith("_") and callable(found) and name != "next":
                    calls[name] += 1
                return found

        return Counted(next)


class CountedConnections(Connections):
    """The reconciler's clients, each with the counting interceptor."""

    def __init__(self, base: Connections, counting: CountingInterceptor) -> None:
        super().__init__(base.config)
        self.base, self.counting = base, counting

    async def client(self, server: str | None = None, namespace: str | None = None) -> Client:
        made = await self.base.client(server, namespace)
        return Client(made.service_client, namespace=made.namespace, interceptors=[self.counting])


def counted_store(table: str) -> tuple[DynamoStateStore, Counter[str]]:
    """A DynamoDB state store on a new table, and the requests its client sends, by operation."""
    create_tables(table)
    db, counted = client(), Counter[str]()

    def count(request: Any, **_: Any) -> None:
        counted[str(request.headers.get("X-Amz-Target", b"?"), "ascii").rpartition(".")[2]] += 1

    db.meta.events.register("before-send", count)
    return DynamoStateStore(table, db=db), counted


def reconciler_for(
    tmp_path: Path, engine: Engine, repo: GitRepo, more: str, table: str
) -> tuple[Reconciler, Counter[str], Counter[str]]:
    """A reconciler with its state on DynamoDB; the Temporal calls and DynamoDB requests it makes."""
    config = parse_config(gitops_yaml(engine.server, repo.remote, tmp_path, more), "refresh.yaml", env={})
    store, requests = counted_store(table)
    counting = CountingInterceptor()
    connections = CountedConnections(engine.connections, counting)
    return Reconciler(config, store, connections=connections), counting.calls, requests


def write_tasks(repo: GitRepo, prefix: str, names: list[str], every: str = "1h") -> None:
    for name in names:
        text = SCHEDULE_TASK.format(name=name, sid=f"{prefix}-{name}", queue=ENGINE_QUEUE, every=every)
        repo.write(f"deployments/tasks/{name}.yaml", text)


def git_commands(trace: Path) -> list[str]:
    """The git subcommands a `GIT_TRACE` file shows, in order."""
    found = []
    for line in trace.read_text().splitlines() if trace.exists() else []:
        _, marker, rest = line.partition("trace: built-in: git ")
        if marker:
            found.append(rest.split()[0])
    return found


async def test_a_poll_that_finds_nothing_new_costs_a_fetch_and_one_state_read(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo(tmp_path)
    names = [f"quiet-{i:02d}" for i in range(30)]
    write_tasks(repo, tmp_path.name[-8:], names)
    repo.commit("30 tasks")
    reconciler, calls, requests = reconciler_for(tmp_path, engine, repo, "", "refresh-noop")
    first = await reconciler.sync("test", poll=True)
    assert first.writes == 30
    calls.clear()
    requests.clear()
    trace = tmp_path / "git-trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    for _ in range(3):
        polled = await reconciler.sync("test", poll=True)
        assert polled.message == "up to date" and polled.id == "", "a poll that finds nothing leaves no record"
    assert not calls, f"no Temporal call: {dict(calls)}"
    fetching = {"fetch", "maintenance", "rev-list", "index-pack", "unpack-objects", "upload-pack", "pack-objects"}
    assert set(git_commands(trace)) <= fetching, "no tree walk, no diff: the fetch only (and the local remote's side)"
    assert sum(requests.values()) <= 3 * 2, f"per poll: the lease taken (with the meta) and given back: {requests}"
    assert not {"Scan", "Query", "BatchGetItem"} & set(requests), "no read of the records"


async def test_records_are_read_in_batches_not_one_request_per_object(moto_server: str) -> None:
    store, requests = counted_store("refresh-batches")
    names = [f"batched-{i:03d}" for i in range(250)]
    store.put_objects([AppliedObject(Kind.SCHEDULE, name, f"t/{name}.yaml", "r" * 40, "h") for name in names])
    requests.clear()
    found = store.objects_named(names)
    assert [o.name for o in found] == sorted(names)
    assert requests["BatchGetItem"] <= 8 and set(requests) == {"BatchGetItem"}, dict(requests)


async def test_a_drift_scan_runs_once_its_interval_has_passed_and_status_says_when(
    tmp_path: Path, engine: Engine
) -> None:
    repo = GitRepo(tmp_path)
    prefix = tmp_path.name[-8:]
    write_tasks(repo, prefix, ["scanned"])
    repo.commit("one task")
    more = "reconciler: {drift_interval: 2s}"
    reconciler, calls, _ = reconciler_for(tmp_path, engine, repo, more, "refresh-interval")
    first = await reconciler.sync("test")
    assert first.drift_scan, "the first sync compares everything"
    scanned_at = status_report(reconciler.store, LEASE)["drift_scan_at"]
    assert scanned_at is not None
    calls.clear()
    refresh = await reconciler.sync("test")
    assert not refresh.drift_scan and calls["list_schedules"] == 0, "within the interval: a refresh"
    await asyncio.sleep(2.1)
    scan = await reconciler.sync("test")
    assert scan.drift_scan and calls["list_schedules"] == 1, "the interval has passed: a drift scan"
    later = status_report(reconciler.store, LEASE)["drift_scan_at"]
    assert later is not None and later > scanned_at
