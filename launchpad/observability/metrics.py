"""The metrics launchpad exports: one catalog, recorded into a sink.

A long-running process (`launchpad api`, `start`, `dev`) records into Prometheus client objects
and serves them at `/metrics` (`launchpad.observability.prometheus`); on Lambda, where nothing
can be scraped, the same names and labels go out as CloudWatch EMF log lines, one flush per
invocation (`launchpad.observability.emf`). Both read this catalog, so the two cannot drift
apart. Label values come from small fixed sets or from names in the repository (kinds, runners,
routes, targets): never argument values, secrets, user names or raw paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class MetricType(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


SYNC_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Metric:
    name: str  # as exported: counters end in `_total`
    type: MetricType
    help: str
    labels: tuple[str, ...] = ()
    unit: str = "Count"  # CloudWatch's unit name
    buckets: tuple[float, ...] = REQUEST_BUCKETS  # histograms only


SYNCS = Metric("launchpad_sync_total", MetricType.COUNTER, "Syncs run, by trigger and outcome", ("trigger", "status"))
SYNC_SECONDS = Metric(
    "launchpad_sync_duration_seconds", MetricType.HISTOGRAM, "How long syncs took", unit="Seconds", buckets=SYNC_BUCKETS
)
LAST_SYNC = Metric(
    "launchpad_last_sync_timestamp_seconds",
    MetricType.GAUGE,
    "When the last sync with each outcome finished (Unix time)",
    ("status",),
    unit="Seconds",
)
OBJECTS = Metric("launchpad_objects", MetricType.GAUGE, "Managed objects, by kind and sync status", ("kind", "status"))
FILE_ERRORS = Metric(
    "launchpad_file_errors", MetricType.GAUGE, "Files that do not parse or validate at the synced revision"
)
APPLIES = Metric(
    "launchpad_apply_total",
    MetricType.COUNTER,
    "Writes syncs made to Temporal (and writes that failed), by kind and action",
    ("kind", "action", "result"),
)
DRIFT_HEALED = Metric(
    "launchpad_drift_healed_total", MetricType.COUNTER, "Out-of-band changes a sync reverted", ("kind",)
)
PRUNED = Metric(
    "launchpad_pruned_total", MetricType.COUNTER, "Schedules deleted by syncs (file deleted, orphan)", ("kind",)
)
DEPLOYS = Metric(
    "launchpad_deploys_total", MetricType.COUNTER, "Deploys (API and CLI), by runner and result", ("runner", "result")
)
DEPLOY_SECONDS = Metric(
    "launchpad_deploy_duration_seconds", MetricType.HISTOGRAM, "How long deploys took", unit="Seconds"
)
WEBHOOKS = Metric(
    "launchpad_webhook_deliveries_total",
    MetricType.COUNTER,
    "Webhook deliveries received, by provider and result",
    ("provider", "result"),
)
NOTIFICATIONS = Metric(
    "launchpad_notifications_total",
    MetricType.COUNTER,
    "Notifications sent, by target, event and result",
    ("target", "event", "result"),
)
HTTP_REQUESTS = Metric(
    "launchpad_http_requests_total",
    MetricType.COUNTER,
    "HTTP requests, by route template, method and status",
    ("route", "method", "status"),
)
HTTP_SECONDS = Metric(
    "launchpad_http_request_duration_seconds",
    MetricType.HISTOGRAM,
    "HTTP request durations, by route template and method",
    ("route", "method"),
    unit="Seconds",
)
CATALOG = (
    SYNCS,
    SYNC_SECONDS,
    LAST_SYNC,
    OBJECTS,
    FILE_ERRORS,
    APPLIES,
    DRIFT_HEALED,
    PRUNED,
    DEPLOYS,
    DEPLOY_SECONDS,
    WEBHOOKS,
    NOTIFICATIONS,
    HTTP_REQUESTS,
    HTTP_SECONDS,
)

# what started a sync (SyncRecord.trigger) as a label: the part before ":" names the source and
# what follows may name a user ("api: alice"), so only known sources pass
_TRIGGERS = {
    "watch": "watch",
    "cli": "cli",
    "api": "api",
    "webhook": "webhook",
    "git push": "hook",
    "follow-up": "follow-up",
    "schedule": "schedule",
    "invoke": "invoke",
    "manual": "manual",
    "worker": "worker",
}


def trigger_label(trigger: str) -> str:
    source = trigger.split(":", 1)[0].strip()
    return _TRIGGERS.get(source) or ("invoke" if source.startswith("invoke") else "other")


class Sink(Protocol):
    """Where recorded values go: a counter is added to, a gauge set, a histogram observed."""

    def record(self, metric: Metric, value: float, labels: tuple[str, ...]) -> None: ...


class NullSink:
    """Metrics off (`metrics.enabled: false`)."""

    def record(self, metric: Metric, value: float, labels: tuple[str, ...]) -> None:
        return None


class Metrics:
    """What code records into; the sink decides where it goes."""

    def __init__(self, sink: Sink | None = None) -> None:
        self.sink: Sink = sink or NullSink()

    def add(self, metric: Metric, *labels: str, value: float = 1.0) -> None:
        """Count (a counter), observe (a histogram) or set (a gauge) `value`."""
        self.sink.record(metric, value, labels)
