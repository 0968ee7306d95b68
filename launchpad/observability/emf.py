"""The CloudWatch Embedded Metric Format sink: what Lambda gets instead of a `/metrics` page.

Values are gathered during an invocation and `flush`ed once at its end, one JSON line per series
(a metric and its label values), in the documented EMF shape: the label names are the metric's
dimensions, their values top-level keys. Within one flush a counter's line carries its sum, a
gauge's its last value, a histogram's the observed values (at most 100 a line, as EMF allows).
No dependency: the shape is plain JSON written to stdout, which CloudWatch Logs parses.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from launchpad.observability.metrics import Metric, MetricType

NAMESPACE = "launchpad"
MAX_VALUES = 100  # EMF's limit of values in one metric's array


class EmfSink:
    def __init__(self, namespace: str = NAMESPACE, write: Callable[[str], object] | None = None) -> None:
        self.namespace = namespace
        self.write = write or _stdout
        self._series: dict[tuple[Metric, tuple[str, ...]], list[float]] = {}

    def record(self, metric: Metric, value: float, labels: tuple[str, ...]) -> None:
        values = self._series.setdefault((metric, labels), [])
        if metric.type == MetricType.COUNTER:
            values[:] = [(values[0] if values else 0.0) + value]
        elif metric.type == MetricType.GAUGE:
            values[:] = [value]
        else:
            values.append(value)

    def lines(self) -> list[str]:
        """The EMF documents of what was recorded since the last flush, and forget it."""
        stamp = int(time.time() * 1000)
        out = []
        for (metric, labels), values in self._series.items():
            for start in range(0, len(values), MAX_VALUES):
                chunk = values[start : start + MAX_VALUES]
                doc: dict[str, object] = {
                    "_aws": {
                        "Timestamp": stamp,
                        "CloudWatchMetrics": [
                            {
                                "Namespace": self.namespace,
                                "Dimensions": [list(metric.labels)],
                                "Metrics": [{"Name": metric.name, "Unit": metric.unit}],
                            }
                        ],
                    },
                    **dict(zip(metric.labels, labels, strict=True)),
                    metric.name: chunk if metric.type == MetricType.HISTOGRAM else chunk[0],
                }
                out.append(json.dumps(doc, separators=(",", ":")))
        self._series.clear()
        return out

    def flush(self) -> int:
        """Write the pending documents (once per invocation); how many lines were written."""
        lines = self.lines()
        for line in lines:
            self.write(line)
        return len(lines)


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
