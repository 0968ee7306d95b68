"""Fixtures: one real Temporal dev server for the whole session, on free ports."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from launchpad.config import Config
from launchpad.devserver import DevServer
from launchpad.registry import Registry
from launchpad.spec.document import TaskDocument
from launchpad.spec.worker import WorkerSpec
from launchpad.temporal.connections import Connections
from launchpad.temporal.runners import DeployResult, runner_for
from launchpad.temporal.workers import WorkerSet
from tests.helpers import config_for


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--convergence-long",
        action="store_true",
        help="run the long profile of the model-based convergence test (200 sequences)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs a server process (the dev server, moto) carries the `temporal`
    marker, so that `pytest -m "not temporal"` runs the pure suite; those that use the session's
    servers are marked here, those that start servers of their own say so in their module."""
    for item in items:
        if {"temporal_server", "moto_server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.temporal)


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[DevServer]:
    server = DevServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def client(temporal_server: DevServer) -> AsyncIterator[Client]:
    yield await Client.connect(temporal_server.address)


CODE = Path(__file__).parent / "code"
ENGINE_QUEUE = "lp-engine-tests"
SECOND_NAMESPACE = "lp-second"
ALL_WORKFLOWS = ["Task", "AwaitedTask", "BatchTask", "AwaitedBatchTask", "TaskDispatcher", "Twice"]
ALL_ACTIVITIES = ["zero", "one", "three", "sync_add", "record"]


@dataclass
class Engine:
    """A running launchpad engine for tests: connections, registry, and workers on two namespaces."""

    server: DevServer
    config: Config
    connections: Connections
    registry: Registry
    workers: WorkerSet

    async def deploy(self, text: str, name: str, version: str = "v1", **render: Any) -> DeployResult:
        task = TaskDocument.parse(textwrap.dedent(text), f"deployments/tasks/{name}.yaml", env={}).render(**render)
        return await runner_for(task, self.connections, self.registry).deploy(task, version)

    async def client(self, namespace: str | None = None) -> Client:
        return await self.connections.client(namespace=namespace)


@pytest.fixture(scope="session")
async def engine(temporal_server: DevServer) -> AsyncIterator[Engine]:
    config = config_for(temporal_server, f"namespaces:\n  - name: default\n  - name: {SECOND_NAMESPACE}\n")
    connections = Connections(config.temporalio)
    await connections.register_namespaces()
    registry = Registry.builtin()
    registry.load_paths([CODE])
    assert not registry.module_errors, registry.module_errors
    workers = WorkerSet(connections, registry)
    for namespace in ("default", SECOND_NAMESPACE):
        spec = WorkerSpec.model_validate(
            {
                "namespace": namespace,
                "worker": {
                    "task_queue": ENGINE_QUEUE,
                    "workflows": ALL_WORKFLOWS,
                    "activities": ALL_ACTIVITIES,
                },
            }
        )
        await workers.start(f"engine-{namespace}", spec)
    try:
        yield Engine(temporal_server, config, connections, registry, workers)
    finally:
        await workers.stop_all()
