"""The bodies targets receive: launchpad's own JSON (`generic`, signed when the target has a
secret) or a Slack incoming-webhook message (`slack`: `text` and `attachments`, the shape Slack,
Mattermost and Rocket.Chat accept)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from launchpad import __version__
from launchpad.notify.events import COLORS, Event

SIGNATURE_HEADER = "X-Launchpad-Signature"
EVENT_HEADER = "X-Launchpad-Event"
LINK_LABELS = {"dashboard": "dashboard", "temporal": "Temporal UI", "commit": "commit"}


def generic(event: Event) -> dict[str, Any]:
    return {
        "event": event.kind,
        "summary": event.summary,
        "subject": event.subject,
        "message": event.message,
        "object": {"kind": event.object_kind, "name": event.name, "file": event.file, "key_path": event.key_path},
        "revision": event.revision,
        "commit_message": event.commit_message,
        "sync_id": event.sync_id,
        "instance": event.instance,
        "links": event.links,
        "time": event.time.isoformat(),
    }


def _escape(text: str) -> str:
    """Slack's mrkdwn control characters, as its docs ask them escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(event: Event) -> dict[str, Any]:
    fields = []
    if event.file:
        where = f"{event.file}: {event.key_path}" if event.key_path else event.file
        fields.append({"title": "File", "value": _escape(where), "short": False})
    if event.revision:
        commit = f" {event.commit_message.splitlines()[0]}" if event.commit_message else ""
        fields.append({"title": "Revision", "value": _escape(f"{event.revision[:12]}{commit}"), "short": False})
    links = " · ".join(f"<{url}|{LINK_LABELS.get(name, name)}>" for name, url in event.links.items())
    text = _escape(event.message) + (f"\n{links}" if links else "")
    attachment = {
        "fallback": _escape(event.summary),
        "color": COLORS.get(event.kind, "warning"),
        "title": _escape(f"{event.what}: {event.title}"),
        "text": text,
        "fields": fields,
        "footer": _escape(f"launchpad {event.instance}".strip()),
        "ts": int(event.time.timestamp()),
    }
    return {"text": _escape(event.summary), "attachments": [attachment]}


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the HMAC-SHA256 of the body, in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def render(fmt: str, event: Event, secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery."""
    body = json.dumps(slack(event) if fmt == "slack" else generic(event), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"launchpad/{__version__}",
        EVENT_HEADER: event.kind,
    }
    if secret and fmt != "slack":
        headers[SIGNATURE_HEADER] = sign(secret, body)
    return body, headers
