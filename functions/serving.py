"""How uvicorn serves the API: the settings `launchpad api`, `start` and `dev` share."""

from __future__ import annotations

from typing import Any

from launchpad.config import Config


def server_options(cfg: Config) -> dict[str, Any]:
    """uvicorn's settings from the configuration. X-Forwarded-For / -Proto are believed only from
    the proxies `api.forwarded_allow_ips` names (uvicorn's own default trusts loopback, so that any
    local client could claim any address, and dodge or aim the login throttle)."""
    trusted = cfg.api.forwarded_allow_ips
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}
