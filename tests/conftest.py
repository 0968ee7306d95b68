"""Fixtures: one real Temporal dev server for the whole session, on free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.client import Client

from launchpad.devserver import DevServer


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
