"""`launchpad api`: serve the HTTP API with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from launchpad.cli import ConfigOption, config_or_exit, err_console


def api(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind")] = 8000,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, Swagger at /docs)."""
    import uvicorn

    from functions.app import create_app

    cfg = config_or_exit(config)
    if cfg.authenticator is None:
        err_console.print("[bold red]WARNING:[/bold red] no authenticator configured: the API is open to anyone")
        if host not in ("127.0.0.1", "localhost", "::1"):
            err_console.print("[red]refusing to bind an open API beyond loopback; configure an authenticator[/red]")
            raise typer.Exit(1)
    uvicorn.run(create_app(cfg), host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    app.command()(api)
