"""Addresses of what launchpad manages, in the Temporal UI and in launchpad's dashboard (the
dashboard's pages and notifications link to the same places)."""

import re
from urllib.parse import quote

_PLAIN = re.compile(r"[A-Za-z0-9_.~-]+")  # what quote() leaves as it is
# the Temporal UI's page of each kind of managed object (a worker is its task queue)
TEMPORAL_PAGES = {"schedule": "schedules", "task": "workflows", "workflow": "workflows", "worker": "task-queues"}


def segment(value: str) -> str:
    """One URL path segment; task names and ids are nearly always plain, so skip quote() then."""
    return value if _PLAIN.fullmatch(value) else quote(value, safe="")


def temporal_page(ui: str | None, kind: str, namespace: str | None, temporal_id: str | None) -> str | None:
    """The object's page in the Temporal UI at `ui` (`{ui}/namespaces/{ns}/schedules/{id}`, ...)."""
    page = TEMPORAL_PAGES.get(kind)
    if not ui or not page or not namespace or not temporal_id:
        return None
    return f"{ui}/namespaces/{segment(namespace)}/{page}/{segment(temporal_id)}"


def object_page(kind: str, name: str) -> str | None:
    """The dashboard's page of a managed object (a task file's; a worker's page is its task queue
    in the Temporal UI)."""
    return None if kind == "worker" else f"/ui/tasks/{segment(name)}"
