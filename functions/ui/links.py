"""Where the dashboard links to: the Temporal UI per server, commits on the forge, object pages."""

import re
from urllib.parse import quote

from launchpad.config import Config

# the Temporal UI's page of each kind of managed object (a worker is its task queue)
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]+")  # what quote() leaves as it is


def segment(value: str) -> str:
    """One URL path segment; task names and ids are nearly always plain, so skip quote() then."""
    return value if _PLAIN.fullmatch(value) else quote(value, safe="")


TEMPORAL_PAGES = {"schedule": "schedules", "task": "workflows", "workflow": "workflows", "worker": "task-queues"}


class Links:
    """Built once per page: the UI address of every configured server is looked up once."""

    def __init__(self, config: Config) -> None:
        self.repository = config.repository
        self.ui = {server.name: server.ui_url for server in config.temporalio.servers}
        self.default_server = config.temporalio.server().name
        self.key = repr((self.repository.web_url, sorted(self.ui.items()), self.default_server))  # what links depend on

    def temporal(self, kind: str, server: str | None, namespace: str | None, temporal_id: str | None) -> str | None:
        """The object's page in the Temporal UI (`{ui}/namespaces/{ns}/schedules/{id}`, ...)."""
        ui = self.ui.get(server or self.default_server)
        page = TEMPORAL_PAGES.get(kind)
        if not ui or not page or not namespace or not temporal_id:
            return None
        return f"{ui}/namespaces/{segment(namespace)}/{page}/{segment(temporal_id)}"

    def commit(self, sha: str | None) -> str | None:
        return self.repository.commit_url(sha) if sha else None


def object_page(kind: str, name: str) -> str | None:
    """The dashboard's page of a managed object (a task file's; a worker's page is its task queue
    in the Temporal UI)."""
    return None if kind == "worker" else f"/ui/tasks/{segment(name)}"
