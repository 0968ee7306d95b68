"""The Prometheus sink: the catalog as prometheus-client objects in a registry of their own.

One registry per sink (not the library's global one), so two apps in one process (tests, a
worker beside the API) never mix their figures. Imported only where metrics are scraped or
pushed: a Lambda container never loads prometheus-client.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from launchpad.observability.metrics import CATALOG, Metric, MetricType

CONTENT_TYPE = CONTENT_TYPE_LATEST


class PrometheusSink:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._families: dict[str, Any] = {metric.name: self._family(metric) for metric in CATALOG}
        self._recorded: set[str] = set()

    def _family(self, metric: Metric) -> Any:
        if metric.type == MetricType.COUNTER:
            return Counter(metric.name, metric.help, metric.labels, registry=self.registry)
        if metric.type == MetricType.GAUGE:
            return Gauge(metric.name, metric.help, metric.labels, registry=self.registry)
        return Histogram(metric.name, metric.help, metric.labels, registry=self.registry, buckets=metric.buckets)

    def record(self, metric: Metric, value: float, labels: tuple[str, ...]) -> None:
        family = self._families[metric.name]
        series = family.labels(*labels) if labels else family
        if metric.type == MetricType.COUNTER:
            series.inc(value)
        elif metric.type == MetricType.GAUGE:
            series.set(value)
        else:
            series.observe(value)
        self._recorded.add(metric.name)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)

    def recorded(self) -> CollectorRegistry:
        """The families something was recorded into: what a one-shot command pushes (a deploy
        pushes no `launchpad_file_errors 0`, a figure it never measured)."""
        registry = CollectorRegistry(auto_describe=True)
        for metric in CATALOG:
            if metric.name in self._recorded:
                registry.register(self._families[metric.name])
        return registry
