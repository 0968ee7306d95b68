"""What the routes use, built once per process (or Lambda container) and created lazily."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from launchpad.auth.store import UserStore, open_user_store
from launchpad.config import Config
from launchpad.observability.signals import Signals
from launchpad.state import StateStore, open_store
from launchpad.temporal.connections import Connections

if TYPE_CHECKING:
    from reconciler.sync import Reconciler


@dataclass
class Services:
    config: Config
    store: StateStore
    connections: Connections
    users: UserStore | None
    signals: Signals  # metrics and notifications
    background: set[object] = field(default_factory=set)  # running background syncs, kept referenced
    planning: asyncio.Task[dict[str, Any]] | None = None  # the plan being made: requests meanwhile share it
    _reconciler: Reconciler | None = None

    @property
    def reconciler(self) -> Reconciler:
        """Built on first use: the reconciler brings git, the task models and the runners, which
        routes like login, users, workflows and schedules never need (a Lambda cold start is
        shorter by their import)."""
        if self._reconciler is None:
            from reconciler.observer import attach
            from reconciler.sync import Reconciler

            self._reconciler = Reconciler(self.config, self.store, connections=self.connections)
            attach(self._reconciler, self.signals)
        return self._reconciler

    @classmethod
    def from_config(
        cls,
        config: Config,
        store: StateStore | None = None,
        connections: Connections | None = None,
        *,
        emf: bool = False,
    ) -> Services:
        """`emf`: metrics go out as CloudWatch EMF lines (Lambda) instead of being served at /metrics."""
        config.resolve_secrets()  # `ssm:` / `secretsmanager:` references, fetched once per process
        store = store or open_store(config)
        connections = connections or Connections(config.temporalio)
        return cls(config, store, connections, open_user_store(config), Signals.from_config(config, emf=emf))

    @property
    def secret(self) -> str:
        secret = self.config.secret
        return secret.get_secret_value() if secret else ""
