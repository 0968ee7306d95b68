"""What a notification says: one event, whatever the target's format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

TEST = "test"  # `launchpad notify test`: a sample, sent to one target whatever its events
TITLES = {
    "sync_failed": "sync failed",
    "degraded": "degraded",
    "recovered": "recovered",
    "drift_healed": "drift healed",
    "pruned": "pruned",
    "deploy_failed": "deploy failed",
    TEST: "test notification",
}
COLORS = {"sync_failed": "danger", "degraded": "danger", "deploy_failed": "danger", "recovered": "good"}


@dataclass
class Event:
    """`kind`: one of launchpad.config.NOTIFICATION_EVENTS (or `test`). `subject`: what the
    event is about, stable across syncs (`file:deployments/tasks/x.yaml`, `sync`,
    `schedule:nightly`): transitions are tracked per subject."""

    kind: str
    subject: str
    message: str
    object_kind: str | None = None
    name: str | None = None
    file: str | None = None
    key_path: str | None = None
    revision: str | None = None
    commit_message: str | None = None
    sync_id: str | None = None
    instance: str = ""
    links: dict[str, str] = field(default_factory=dict)  # dashboard, temporal, commit: those configured
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def title(self) -> str:
        return TITLES.get(self.kind, self.kind)

    @property
    def what(self) -> str:
        """The object the event names, as a person reads it."""
        if self.object_kind and self.name:
            return f"{self.object_kind} {self.name}"
        if self.file:
            return f"file {self.file}"
        return "the sync" if self.subject == "sync" else self.subject

    @property
    def summary(self) -> str:
        """One line: what, what happened, where (revision)."""
        if self.kind == TEST:
            return f"launchpad: {self.title}"
        at = f" at {self.revision[:12]}" if self.revision else ""
        return f"launchpad: {self.what} {self.title}{at}"
