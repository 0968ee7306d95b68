"""How the API is served: uvicorn's settings (`launchpad api`, `start` and `dev` share them), and
when serving it where anyone can reach it is refused (beyond loopback, or on Lambda)."""

from __future__ import annotations

from typing import Any

from launchpad.config import Config


def server_options(cfg: Config) -> dict[str, Any]:
    """uvicorn's settings from the configuration. X-Forwarded-For / -Proto are believed only from
    the proxies `api.forwarded_allow_ips` names (uvicorn's own default trusts loopback, so that any
    local client could claim any address, and dodge or aim the login throttle)."""
    trusted = cfg.api.forwarded_allow_ips
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


DEV_DEFAULTS = ("insecure-dev-secret", "change-me")  # the scaffold's JWT secret prefix and admin password


def public_refusal(cfg: Config) -> str | None:
    """Why the API must not be served to anyone who can reach it, or None: without an
    authenticator every caller is a super user; with the scaffold's dev defaults anyone can
    forge a token or log in."""
    if cfg.authenticator is None:
        return "no authenticator is configured: it would be an open API; configure an authenticator"
    secret = cfg.secret.get_secret_value() if cfg.secret else ""
    passwords = [u.password.get_secret_value() for u in cfg.authenticator.base_users if u.password]
    if secret.startswith(DEV_DEFAULTS[0]) or DEV_DEFAULTS[1] in passwords:
        return "the scaffold's dev defaults are configured: set LAUNCHPAD_SECRET and LAUNCHPAD_ADMIN_PASSWORD"
    return None
