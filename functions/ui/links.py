"""Where the dashboard links to: the Temporal UI per server, commits on the forge, object pages.

The overview's rows link to both through the dashboard (`/ui/commit/{abbreviation}`,
`/ui/temporal/{kind}/{name}`, which redirect): a forge address with a full sha and a Temporal UI
address are about 170 bytes a row, and a thousand rows stay under 300 KB only without them.
"""

from launchpad.config import Config
from launchpad.links import object_page, segment, temporal_page

__all__ = ["Links", "object_page", "segment"]


class Links:
    """Built once per page: the UI address of every configured server is looked up once."""

    def __init__(self, config: Config) -> None:
        self.repository = config.repository
        self.ui = {server.name: server.ui_url for server in config.temporalio.servers}
        self.default_server = config.temporalio.server().name
        self.key = repr((self.repository.web_url, sorted(self.ui.items()), self.default_server))  # what links depend on

    def temporal(self, kind: str, server: str | None, namespace: str | None, temporal_id: str | None) -> str | None:
        """The object's page in the Temporal UI (`{ui}/namespaces/{ns}/schedules/{id}`, ...)."""
        return temporal_page(self.ui.get(server or self.default_server), kind, namespace, temporal_id)

    def commit(self, sha: str | None) -> str | None:
        return self.repository.commit_url(sha) if sha else None

    def row_commit(self, sha: str) -> str | None:
        """A row's link to its commit: the dashboard's redirect, named by the 12 characters shown."""
        return f"/ui/commit/{segment(sha[:12])}" if sha and self.repository.web_url else None

    def row_temporal(
        self, kind: str, name: str, server: str | None, namespace: str | None, temporal_id: str | None
    ) -> str | None:
        """A row's link into the Temporal UI: the dashboard's redirect, when the UI has a page for it."""
        if self.temporal(kind, server, namespace, temporal_id) is None:
            return None
        return f"/ui/temporal/{segment(kind)}/{segment(name)}"
