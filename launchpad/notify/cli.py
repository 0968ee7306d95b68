"""`launchpad notify test TARGET`: a sample message to one target, and the receiver's answer."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.markup import escape

from launchpad.cli import ConfigOption, config_or_exit, console, err_console
from launchpad.observability.logs import redact

notify = typer.Typer(help="Notifications: try a target.", no_args_is_help=True)


@notify.command("test")
def test_target(
    target: Annotated[str, typer.Argument(help="the target's name in `notifications:`")],
    config: ConfigOption = None,
) -> None:
    """Send a sample message to TARGET (whatever its `events`) and print the receiver's answer;
    exit 1 when it was not delivered."""
    from launchpad.notify.events import TEST, Event
    from launchpad.notify.outbox import Outbox
    from launchpad.observability.metrics import Metrics

    cfg = config_or_exit(config).resolve_secrets()
    redact(cfg.secret_values())
    chosen = next((t for t in cfg.notifications if t.name == target), None)
    if chosen is None:
        names = ", ".join(t.name for t in cfg.notifications) or "none"
        err_console.print(f"[red]no notification target {escape(target)!r}[/red] (configured: {escape(names)})")
        raise typer.Exit(1)
    links = {"dashboard": f"{cfg.public_url.rstrip('/')}/ui"} if cfg.public_url else {}
    event = Event(
        TEST,
        TEST,
        "a test message from launchpad: this target receives its notifications",
        instance=cfg.instance,
        links=links,
    )
    answer = asyncio.run(Outbox([chosen], Metrics()).deliver(chosen, event))
    color = "green" if answer.ok else "red"
    console.print(
        f"{escape(target)}: [{color}]{'delivered' if answer.ok else 'failed'}[/{color}]: {escape(str(answer))}"
    )
    if not answer.ok:
        raise typer.Exit(1)
