"""`launchpad api`, `launchpad start` and `launchpad dev`: the commands that serve HTTP."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from launchpad.cli import ConfigOption, LogFormatOption, config_or_exit, console, err_console, exit_now, logging_for
from launchpad.errors import LaunchpadError
from launchpad.observability.logs import LogFormat

if TYPE_CHECKING:
    from launchpad.config import Config

log = logging.getLogger("launchpad")

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _refuse_open_api(cfg: Config, host: str) -> None:
    """Without an authenticator the API is open: say so, and never expose it beyond loopback.
    Nor with the scaffold's dev defaults (a known secret, a known password)."""
    from functions.serving import public_refusal

    if cfg.authenticator is None:
        err_console.print("[bold red]WARNING:[/bold red] no authenticator configured: the API is open to anyone")
    why = public_refusal(cfg)
    if why and host not in LOOPBACK:
        err_console.print(f"[red]refusing to serve beyond loopback: {escape(why)}[/red]", soft_wrap=True)
        raise typer.Exit(1)


def api(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind")] = 8000,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="a log line per request (off when a proxy logs them)")
    ] = True,
    log_format: LogFormatOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, Swagger at /docs, metrics at /metrics)."""
    import uvicorn

    from functions.app import create_app
    from functions.serving import server_options

    logging_for(log_format, server=True)
    cfg = config_or_exit(config)
    _refuse_open_api(cfg, host)
    app: Any = create_app(cfg, access_log=access_log)  # our access line, written after the answer
    # uvicorn's loggers go through launchpad's handler (log_config=None); its access line is off
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, log_config=None, **server_options(cfg))


def say(fmt: LogFormat, text: str) -> None:
    """A line for the person at the terminal, or a log line when the output is JSON."""
    if fmt == LogFormat.JSON:
        log.info(text)
    else:
        console.print(escape(text), highlight=False)


def start(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="API address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    interval: Annotated[float | None, typer.Option(help="seconds between syncs (default: polling_interval)")] = None,
    log_format: LogFormatOption = None,
) -> None:
    """API + reconciler + workers against the configured Temporal servers (single-host production mode)."""
    from functions.stack import Stack, run_until_signal
    from reconciler.cli import print_sync

    fmt = logging_for(log_format)
    cfg = config_or_exit(config)
    _refuse_open_api(cfg, host)
    every = interval or cfg.watcher.polling.polling_interval.total_seconds()
    say(fmt, f"launchpad: API on http://{host}:{port} (docs: /docs); syncing every {every:g}s; Ctrl-C to stop")
    try:
        run_until_signal(Stack(cfg, host, port, every, on_sync=print_sync if fmt == LogFormat.TEXT else None))
    except LaunchpadError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    say(fmt, "stopped")
    exit_now()


def dev(
    config: ConfigOption = None,
    port: Annotated[int, typer.Option(help="Temporal gRPC port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal UI port")] = 8233,
    api_port: Annotated[int, typer.Option(help="API port")] = 8000,
    interval: Annotated[float, typer.Option(help="seconds between syncs")] = 1.0,
    worktree: Annotated[bool, typer.Option(help="also sync saved files that are not committed yet")] = False,
    log_format: LogFormatOption = None,
) -> None:
    """Everything on the embedded defaults: a local Temporal dev server (data in .launchpad/),
    workers, the reconciler watching this repository, and the API on 127.0.0.1."""
    from functions.stack import WORKTREE_BRANCH, Stack, run_until_signal
    from launchpad.devserver import DevServer, port_in_use
    from reconciler.cli import print_sync

    fmt = logging_for(log_format)
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
    say(fmt, f"Temporal   {server.address}   UI {server.ui_url}")
    say(fmt, f"API        http://127.0.0.1:{api_port}/docs")
    say(fmt, f"repository {repo or cfg.repository.url} ({cfg.repository.branch}), synced every {interval:g}s")
    say(fmt, "Ctrl-C to stop")
    try:
        stack = Stack(
            cfg,
            "127.0.0.1",
            api_port,
            interval,
            worktree=Path(repo) if worktree and repo else None,
            on_sync=print_sync if fmt == LogFormat.TEXT else None,
        )
        run_until_signal(stack)
    except LaunchpadError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    finally:
        server.stop()
    say(fmt, "stopped")
    exit_now()


def register(app: typer.Typer) -> None:
    app.command()(api)
    app.command()(start)
    app.command()(dev)
