"""A process's signals: its metrics sink and its notification outbox, built from the configuration.

One per process (or Lambda container): `functions.services.Services` holds it for the API and the
stack, the CLI builds one per command. The Prometheus sink is imported only when metrics are
scraped here or pushed to a Pushgateway (one-shot commands); on Lambda (`emf=True`) the EMF sink
replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from launchpad.config import Config
from launchpad.notify.outbox import BACKOFF, Outbox
from launchpad.observability.emf import EmfSink
from launchpad.observability.logs import redact
from launchpad.observability.metrics import Metrics

if TYPE_CHECKING:
    from launchpad.observability.prometheus import PrometheusSink

BUDGET_CAP = 30.0  # seconds a process that is about to end waits for its deliveries, at most


@dataclass
class Signals:
    config: Config
    metrics: Metrics
    outbox: Outbox
    prometheus: PrometheusSink | None = None
    emf: EmfSink | None = None

    @classmethod
    def from_config(cls, config: Config, *, emf: bool = False, serve: bool = True) -> Signals:
        """`emf`: metrics as CloudWatch EMF lines (Lambda); `serve`: for `/metrics` (off for a
        one-shot command, whose figures end with it unless `metrics.pushgateway` takes them). Also
        registers the configuration's secrets with the log redaction."""
        redact(config.secret_values())
        metrics = Metrics()
        signals = cls(config, metrics, Outbox(config.notifications, metrics))
        if config.metrics.enabled and emf:
            signals.emf = EmfSink()
            metrics.sink = signals.emf
        elif config.metrics.enabled and (serve or config.metrics.pushgateway is not None):
            from launchpad.observability.prometheus import PrometheusSink

            signals.prometheus = PrometheusSink()
            metrics.sink = signals.prometheus
        return signals

    @property
    def pushes(self) -> bool:
        """Whether `push` sends anything: a one-shot command with `metrics.pushgateway` set."""
        return self.prometheus is not None and self.config.metrics.pushgateway is not None

    def push(self, command: str) -> None:
        """A one-shot command's end: what it recorded, to `metrics.pushgateway` (when set),
        grouped by `command` and the instance; a failure is logged, never raised."""
        gateway = self.config.metrics.pushgateway
        if self.prometheus is None or gateway is None:
            return
        from launchpad.observability.push import push

        push(
            gateway.get_secret_value(),
            self.prometheus.recorded(),
            {"command": command, "instance": self.config.instance},
        )

    @property
    def budget(self) -> float:
        """How long every delivery may take, retries included (what a process about to end waits)."""
        longest = 0.0
        for target in self.config.notifications:
            waits = BACKOFF * (2**target.retries - 1)
            longest = max(longest, target.timeout.total_seconds() * (target.retries + 1) + waits)
        return min(longest, BUDGET_CAP)
