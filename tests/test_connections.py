"""Connections and namespace registration against the real dev server."""

from __future__ import annotations

import time

import pytest

from launchpad.config import parse_config
from launchpad.devserver import DevServer
from launchpad.errors import TemporalUnavailable
from launchpad.temporal.connections import Connections
from tests.helpers import config_for, temporal_json

NAMESPACES = """
namespaces:
  - name: lp-billing
    retention: 2d
  - name: lp-ops
    retention: 86400
default_namespace: lp-ops
"""


def retention_of(server: DevServer, namespace: str) -> str:
    described = temporal_json(server, "operator", "namespace", "describe", namespace=namespace)
    return described["config"]["workflowExecutionRetentionTtl"]


async def test_namespaces_are_registered_with_retention(temporal_server: DevServer) -> None:
    connections = Connections(config_for(temporal_server, NAMESPACES).temporalio)
    outcomes = await connections.register_namespaces()
    assert {(o.namespace, o.action) for o in outcomes} >= {("lp-billing", "created"), ("lp-ops", "created")}
    assert retention_of(temporal_server, "lp-billing") == "172800s"
    assert retention_of(temporal_server, "lp-ops") == "86400s"

    again = await Connections(config_for(temporal_server, NAMESPACES).temporalio).register_namespaces()
    assert {o.action for o in again} == {"unchanged"}

    changed = NAMESPACES.replace("retention: 2d", "retention: 5d")
    outcomes = await Connections(config_for(temporal_server, changed).temporalio).register_namespaces()
    assert ("lp-billing", "updated") in {(o.namespace, o.action) for o in outcomes}
    assert retention_of(temporal_server, "lp-billing") == "432000s"


async def test_clients_are_cached_and_use_the_default_namespace(temporal_server: DevServer) -> None:
    connections = Connections(config_for(temporal_server, NAMESPACES).temporalio)
    client = await connections.client()
    assert client.namespace == "lp-ops"
    assert await connections.client("local", "lp-ops") is client
    other = await connections.client(namespace="lp-billing")
    assert other.namespace == "lp-billing" and other.service_client is client.service_client


async def test_unreachable_server_gives_a_clear_error_quickly() -> None:
    config = parse_config(
        "temporalio:\n  servers:\n    - name: down\n      ip: 127.0.0.1\n      port: 1\n", "c", env={}
    )
    started = time.monotonic()
    with pytest.raises(TemporalUnavailable, match=r"'down' at 127\.0\.0\.1:1 is unreachable"):
        await Connections(config.temporalio, connect_timeout=2).client()
    assert time.monotonic() - started < 5
