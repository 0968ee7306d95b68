"""`launchpad api`, `launchpad start` and `launchpad dev`: the commands that serve HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from launchpad.cli import ConfigOption, config_or_exit, console, err_console, exit_now
from launchpad.config import Config
from launchpad.errors import LaunchpadError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


DEV_DEFAULTS = ("insecure-dev-secret", "change-me")


def _refuse_open_api(cfg: Config, host: str) -> None:
    """Without an authenticator the API is open: say so, and never expose it beyond loopback.
    Nor with the scaffold's dev defaults (a known secret, a known password)."""
    if host not in LOOPBACK and cfg.authenticator is not None:
        secret = cfg.secret.get_secret_value() if cfg.secret else ""
        passwords = [u.password.get_secret_value() for u in cfg.authenticator.base_users if u.password]
        if secret.startswith(DEV_DEFAULTS[0]) or DEV_DEFAULTS[1] in passwords:
            err_console.print(
                "[red]refusing to serve beyond loopback with the dev defaults: set LAUNCHPAD_SECRET "
                "and LAUNCHPAD_ADMIN_PASSWORD[/red]"
            )
            raise typer.Exit(1)
    if cfg.authenticator is None:
        err_console.print("[bold red]WARNING:[/bold red] no authenticator configured: the API is open to anyone")
        if host not in LOOPBACK:
            err_console.print("[red]refusing to bind an open API beyond loopback; configure an authenticator[/red]")
            raise typer.Exit(1)


def server_options(cfg: Config) -> dict[str, Any]:
    """uvicorn's settings from the configuration. X-Forwarded-For / -Proto are believed only from
    the proxies `api.forwarded_allow_ips` names (uvicorn's own default trusts loopback, so that any
    local client could claim any address, and dodge or aim the login throttle)."""
    trusted = cfg.api.forwarded_allow_ips
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


def api(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind")] = 8000,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="a log line per request (off when a proxy logs them)")
    ] = True,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, Swagger at /docs)."""
    import uvicorn

    from functions.app import create_app

    cfg = config_or_exit(config)
    _refuse_open_api(cfg, host)
    app: Any = create_app(cfg)
    logging: dict[str, Any] = {}
    if access_log:  # our access line, written after the answer (uvicorn's own is switched off)
        from functions.access_log import AccessLog, log_config

        app, logging = AccessLog(app), {"log_config": log_config()}
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, **logging, **server_options(cfg))


def start(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="API address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    interval: Annotated[float | None, typer.Option(help="seconds between syncs (default: polling_interval)")] = None,
) -> None:
    """API + reconciler + workers against the configured Temporal servers (single-host production mode)."""
    from functions.stack import Stack, run_until_signal
    from reconciler.cli import print_sync

    cfg = config_or_exit(config)
    _refuse_open_api(cfg, host)
    every = interval or cfg.watcher.polling.polling_interval.total_seconds()
    console.print(f"launchpad: API on http://{host}:{port} (docs: /docs); syncing every {every:g}s; Ctrl-C to stop")
    try:
        run_until_signal(Stack(cfg, host, port, every, on_sync=print_sync))
    except LaunchpadError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    console.print("stopped")
    exit_now()


def dev(
    config: ConfigOption = None,
    port: Annotated[int, typer.Option(help="Temporal gRPC port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal UI port")] = 8233,
    api_port: Annotated[int, typer.Option(help="API port")] = 8000,
    interval: Annotated[float, typer.Option(help="seconds between syncs")] = 1.0,
    worktree: Annotated[bool, typer.Option(help="also sync saved files that are not committed yet")] = False,
) -> None:
    """Everything on the embedded defaults: a local Temporal dev server (data in .launchpad/),
    workers, the reconciler watching this repository, and the API on 127.0.0.1."""
    from functions.stack import WORKTREE_BRANCH, Stack, run_until_signal
    from launchpad.devserver import DevServer, port_in_use
    from reconciler.cli import print_sync

    cfg = config_or_exit(config)
    if port_in_use(api_port):
        err_console.print(f"[red]port {api_port} is already in use: choose another with --api-port[/red]")
        raise typer.Exit(1)
    server = DevServer(port=port, ui_port=ui_port, db_file=cfg.path(".launchpad/temporal.db"))
    try:
        server.start()
    except LaunchpadError as exc:
        err_console.print(f"[red]cannot start Temporal:[/red] {escape(str(exc))} (use --port / --ui-port)")
        raise typer.Exit(1) from None
    local = cfg.temporalio.server()
    local.ip, local.port, local.gui_port = server.host, server.port, server.ui_port
    repo = cfg.path(cfg.repository.url) if "://" not in cfg.repository.url else None
    if worktree and repo is not None:
        cfg.repository.branch = WORKTREE_BRANCH
    console.print(f"Temporal   [bold]{server.address}[/bold]   UI [link]{server.ui_url}[/link]")
    console.print(f"API        [link]http://127.0.0.1:{api_port}/docs[/link]")
    console.print(
        f"repository {escape(str(repo or cfg.repository.url))} ({cfg.repository.branch}), synced every {interval:g}s"
    )
    console.print("Ctrl-C to stop", highlight=False)
    try:
        stack = Stack(
            cfg, "127.0.0.1", api_port, interval, worktree=Path(repo) if worktree and repo else None, on_sync=print_sync
        )
        run_until_signal(stack)
    except LaunchpadError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    finally:
        server.stop()
    console.print("stopped")
    exit_now()


def register(app: typer.Typer) -> None:
    app.command()(api)
    app.command()(start)
    app.command()(dev)
