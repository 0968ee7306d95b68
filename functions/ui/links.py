"""Where the dashboard links to: the Temporal UI per server, commits on the forge, object pages."""

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
