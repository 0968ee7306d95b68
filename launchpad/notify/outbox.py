"""Deliveries in the background: a sync or a deploy hands its events over and goes on.

Each delivery retries with backoff (`retries`, each attempt bounded by `timeout`), then is
counted (`launchpad_notifications_total{target,event,result}`) and logged, never raised. A
process that is about to end (a CLI command, a Lambda invocation) calls `drain(budget)`: what is
not delivered within the budget is abandoned and counted as failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from launchpad.config import NotificationTarget
from launchpad.notify.events import Event
from launchpad.observability.metrics import NOTIFICATIONS, Metrics

if TYPE_CHECKING:  # the HTTP client and its thread pool load with the first delivery (not on a cold start)
    from launchpad.notify.delivery import Answer

log = logging.getLogger(__name__)
BACKOFF = 0.5  # seconds before the first retry, doubled for each next one


class Outbox:
    def __init__(self, targets: Sequence[NotificationTarget], metrics: Metrics) -> None:
        self.targets = list(targets)
        self.metrics = metrics
        self._pending: set[asyncio.Task[Answer]] = set()

    def wants(self, kind: str) -> bool:
        return any(kind in target.events for target in self.targets)

    def post(self, events: Sequence[Event]) -> None:
        """Start delivering each event to the targets that take its kind."""
        for event in events:
            for target in self.targets:
                if event.kind in target.events:
                    task = asyncio.get_running_loop().create_task(self.deliver(target, event))
                    self._pending.add(task)
                    task.add_done_callback(self._pending.discard)

    async def deliver(self, target: NotificationTarget, event: Event) -> Answer:
        from launchpad.notify.delivery import Answer, attempt

        answer = Answer(False, error="not attempted")
        try:
            for number in range(target.retries + 1):
                if number:
                    await asyncio.sleep(BACKOFF * 2 ** (number - 1))
                answer = await attempt(target, event)
                if answer.ok or not answer.retryable:
                    break
        except asyncio.CancelledError:
            answer = Answer(False, error="abandoned: the process ended first")
            self._record(target, event, answer)
            raise
        self._record(target, event, answer)
        return answer

    def _record(self, target: NotificationTarget, event: Event, answer: Answer) -> None:
        result = "delivered" if answer.ok else "failed"
        self.metrics.add(NOTIFICATIONS, target.name, event.kind, result)
        fields = {"target": target.name, "event": event.kind, "subject": event.subject, "result": result}
        if answer.ok:
            log.info("notification %s sent to %s", event.kind, target.name, extra={"fields": fields})
        else:
            log.warning("notification %s to %s failed: %s", event.kind, target.name, answer, extra={"fields": fields})

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def drain(self, budget: float) -> None:
        """Wait up to `budget` seconds for the deliveries under way; abandon the rest."""
        if not self._pending:
            return
        _, late = await asyncio.wait(set(self._pending), timeout=budget)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
