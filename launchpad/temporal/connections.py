"""Temporal clients per (server, namespace), connected lazily and cached.

One gRPC connection per server is shared by the clients of all its namespaces.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from google.protobuf.duration_pb2 import Duration as PbDuration
from temporalio.api.namespace.v1 import NamespaceConfig as PbNamespaceConfig
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import HttpConnectProxyConfig, RPCError, RPCStatusCode, ServiceClient, TLSConfig

from launchpad.config import NamespaceConfig, ServerConfig, TemporalioConfig
from launchpad.errors import TemporalUnavailable

EXTERNALLY_MANAGED = (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED)


@dataclass(frozen=True)
class NamespaceOutcome:
    server: str
    namespace: str
    action: str  # "created" | "updated" | "unchanged"
    retention: timedelta


def tls_config(server: ServerConfig) -> TLSConfig | bool:
    """The SDK TLS settings from the config's file paths; plain TCP when none are set."""
    tls = server.tls
    if tls is None:
        return False

    def read(path: str | None) -> bytes | None:
        return Path(path).read_bytes() if path else None

    return TLSConfig(
        server_root_ca_cert=read(tls.server_root_ca_cert),
        domain=tls.domain,
        client_cert=read(tls.client_cert),
        client_private_key=read(tls.client_key),
    )


def proxy_config(server: ServerConfig) -> HttpConnectProxyConfig | None:
    """The SDK's HTTP CONNECT proxy settings from the config's `proxy`; None connects directly."""
    target = server.proxy_target
    return None if target is None else HttpConnectProxyConfig(target_host=target[0], basic_auth=target[1])


OUTAGE_CODES = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED}


def outage_of(exc: BaseException) -> str | None:
    """An error that means Temporal cannot be reached (by type: the SDK's status codes)."""
    if isinstance(exc, TemporalUnavailable):
        return str(exc)
    if isinstance(exc, RPCError) and exc.status in OUTAGE_CODES:
        return f"Temporal unavailable: {exc.message}"
    return None


class Connections:
    """The gate to every configured Temporal server."""

    def __init__(self, config: TemporalioConfig, *, connect_timeout: float = 10.0) -> None:
        self.config = config
        self.connect_timeout = connect_timeout
        self._services: dict[str, ServiceClient] = {}
        self._clients: dict[tuple[str, str], Client] = {}
        self._lock = asyncio.Lock()

    def resolve(self, server: str | None = None, namespace: str | None = None) -> tuple[ServerConfig, str]:
        return self.config.resolve(server, namespace)

    async def client(self, server: str | None = None, namespace: str | None = None) -> Client:
        target, ns = self.resolve(server, namespace)
        key = (target.name, ns)
        cached = self._clients.get(key)
        if cached is not None:
            return cached
        async with self._lock:
            if key not in self._clients:
                service = self._services.get(target.name) or await self._connect(target)
                self._services[target.name] = service
                self._clients[key] = Client(service, namespace=ns)
            return self._clients[key]

    async def _connect(self, server: ServerConfig) -> ServiceClient:
        api_key = server.api_key.get_secret_value() if server.api_key else None
        tls = tls_config(server)
        try:
            client = await asyncio.wait_for(
                Client.connect(
                    server.address,
                    api_key=api_key,
                    tls=tls if tls or api_key is None else True,
                    connect_timeout=timedelta(seconds=self.connect_timeout),
                    http_connect_proxy_config=proxy_config(server),
                ),
                self.connect_timeout,
            )
        except (TimeoutError, RuntimeError, RPCError, OSError) as exc:
            raise TemporalUnavailable(
                f"Temporal server {server.name!r} at {server.address} is unreachable: {str(exc) or type(exc).__name__}"
            ) from None
        return client.service_client

    def forget_all(self) -> None:
        """Drop the cached connections (after an outage) so the next call reconnects."""
        self._services.clear()
        self._clients.clear()

    async def register_namespaces(self, server: str | None = None) -> list[NamespaceOutcome]:
        """Register every configured namespace (of one server or all) with its retention."""
        servers = [self.config.server(server)] if server else self.config.servers
        outcomes = []
        for target in servers:
            for namespace in target.namespaces:
                outcomes.append(await self.ensure_namespace(target, namespace))
        return outcomes

    async def ensure_namespace(self, server: ServerConfig, namespace: NamespaceConfig) -> NamespaceOutcome:
        """Create the namespace, or update its retention when it differs; wait until usable."""
        service = (await self.client(server.name)).workflow_service
        retention = PbDuration()
        retention.FromTimedelta(namespace.retention)
        action = "created"
        try:
            await service.register_namespace(
                RegisterNamespaceRequest(namespace=namespace.name, workflow_execution_retention_period=retention)
            )
        except RPCError as exc:
            if exc.status in EXTERNALLY_MANAGED:  # Temporal Cloud: namespaces live in its control plane
                await self._wait_usable(server, namespace.name)
                return NamespaceOutcome(server.name, namespace.name, "external", namespace.retention)
            if exc.status != RPCStatusCode.ALREADY_EXISTS:
                raise
            action = await self._update_retention(server, namespace, retention)
        await self._wait_usable(server, namespace.name)
        return NamespaceOutcome(server.name, namespace.name, action, namespace.retention)

    async def _update_retention(self, server: ServerConfig, namespace: NamespaceConfig, retention: PbDuration) -> str:
        service = (await self.client(server.name)).workflow_service
        current = await service.describe_namespace(DescribeNamespaceRequest(namespace=namespace.name))
        if current.config.workflow_execution_retention_ttl.ToTimedelta() == namespace.retention:
            return "unchanged"
        try:
            await service.update_namespace(
                UpdateNamespaceRequest(
                    namespace=namespace.name,
                    config=PbNamespaceConfig(workflow_execution_retention_ttl=retention),
                )
            )
        except RPCError as exc:
            if exc.status in EXTERNALLY_MANAGED:
                return "unchanged"
            raise
        return "updated"

    async def _wait_usable(self, server: ServerConfig, namespace: str, timeout: float = 30.0) -> None:
        """A new namespace can take a moment to reach the frontend's cache: poll it."""
        client = await self.client(server.name, namespace) if namespace in server.namespace_names else None
        if client is None:
            return
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                await client.count_workflows()
                return
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND or asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
