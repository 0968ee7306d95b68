"""What the routes use, built once per process (or Lambda container) and created lazily."""

from __future__ import annotations

from dataclasses import dataclass, field

from launchpad.auth.users import UserStore, open_user_store
from launchpad.config import Config
from launchpad.state import StateStore, open_store
from launchpad.temporal.connections import Connections
from reconciler.sync import Reconciler


@dataclass
class Services:
    config: Config
    store: StateStore
    connections: Connections
    reconciler: Reconciler
    users: UserStore | None
    background: set[object] = field(default_factory=set)  # running background syncs, kept referenced

    @classmethod
    def from_config(
        cls, config: Config, store: StateStore | None = None, connections: Connections | None = None
    ) -> Services:
        config.resolve_secrets()  # `ssm:` / `secretsmanager:` references, fetched once per process
        store = store or open_store(config)
        connections = connections or Connections(config.temporalio)
        users = open_user_store(config)
        reconciler = Reconciler(config, store, connections=connections)
        return cls(config, store, connections, reconciler, users)

    @property
    def secret(self) -> str:
        secret = self.config.secret
        return secret.get_secret_value() if secret else ""
