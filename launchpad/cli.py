"""The `launchpad` command line.

Commands that need git or the HTTP stack live in the `reconciler` and `functions`
packages and join this app through the `launchpad.commands` entry points, so the
core never imports them.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from launchpad.config import Config, load_config
from launchpad.errors import SpecError, SpecErrors
from launchpad.observability.logs import LogFormat, chosen_format, setup_logging
from launchpad.registry import Registry
from launchpad.spec.catalog import load_catalog

app = typer.Typer(help="Declarative, GitOps front end for Temporal.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

LogFormatOption = Annotated[
    LogFormat | None,
    typer.Option(
        "--log-format", help="log lines as json or text (else LAUNCHPAD_LOG_FORMAT, else text; JSON on Lambda)"
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="configuration file (else LAUNCHPAD_CONFIG, else ./launchpad_configs.yaml)"),
]


def logging_for(fmt: LogFormat | None, *, server: bool = False) -> LogFormat:
    """Configure the log lines of this process. JSON lines go to stdout at INFO; text goes to
    stderr, at INFO for a server (`launchpad api`) and at WARNING for commands that print their
    own report to the console."""
    chosen = chosen_format(fmt)
    setup_logging(chosen, logging.INFO if server or chosen == LogFormat.JSON else logging.WARNING)
    return chosen


@app.callback()
def main(log_format: LogFormatOption = None) -> None:
    """Declarative, GitOps front end for Temporal."""
    logging_for(log_format)


def config_or_exit(path: Path | None) -> Config:
    try:
        return load_config(path)
    except SpecErrors as exc:
        print_errors(exc.errors)
        raise typer.Exit(1) from None


def exit_now(code: int = 0) -> None:
    """Leave once everything is stopped, without interpreter finalization: the Temporal SDK's
    native threads can call into Python while it finalizes and abort the process (seen in CI as
    `PyGILState_Release ... finalizing`), turning a clean shutdown into a crash."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def print_errors(errors: list[SpecError]) -> None:
    for error in errors:
        err_console.print(
            f"[red]{escape(error.file)}[/red]: [bold]{escape(error.path)}[/bold]: {escape(error.message)}",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="files or folders (default: the configured ones)")] = None,
    config: ConfigOption = None,
) -> None:
    """Validate the configuration and every task and worker file; exit 1 on any error."""
    validate_or_exit(config_or_exit(config), paths)


def registry_for(cfg: Config) -> Registry:
    """Built-in components plus the user's code; import failures are printed, not fatal."""
    registry = Registry.builtin()
    registry.load_paths([cfg.path(p) for p in cfg.code_paths], [cfg.path(p) for p in cfg.code_skips])
    for file, error in registry.module_errors.items():
        err_console.print(f"[red]{escape(file)}[/red]: cannot import: {escape(error)}", soft_wrap=True)
    return registry


def validate_or_exit(cfg: Config, paths: list[Path] | None = None) -> None:
    roots = paths or [cfg.path(cfg.tasks_dir), cfg.path(cfg.workers_dir)]
    catalog = load_catalog(roots, base=None if paths else cfg.base_dir)
    registry = registry_for(cfg)
    catalog.errors += catalog.check_components(registry.names)
    catalog.errors += [SpecError(file, "<module>", f"cannot import: {e}") for file, e in registry.module_errors.items()]
    if catalog.errors:
        print_errors(catalog.errors)
        err_console.print(f"[red]{len(catalog.errors)} error(s)[/red]")
        raise typer.Exit(1)
    console.print(f"[green]ok[/green]: {len(catalog.tasks)} task(s), {len(catalog.workers)} worker(s)")


@app.command()
def schema(
    out: Annotated[Path, typer.Option(help="folder to write the schemas to")] = Path("schemas"),
    reference: Annotated[Path | None, typer.Option(help="also write the Markdown reference to this file")] = None,
) -> None:
    """Write JSON Schemas of the task, worker and config formats (and, optionally, the reference)."""
    from launchpad.reference import reference as render_reference
    from launchpad.schema import write_schemas

    for path in write_schemas(out):
        console.print(f"wrote {path}")
    if reference is not None:
        reference.write_text(render_reference())
        console.print(f"wrote {reference}")


@app.command()
def setup(
    name: Annotated[str, typer.Option("--name", help="project name: the code folder NAME/temporal (a Python name)")],
    path: Annotated[Path, typer.Option("--path", help="folder to set up (created when missing)")] = Path("."),
) -> None:
    """Scaffold a project: deployments/, NAME/temporal/, launchpad_configs.yaml, .gitignore and git."""
    from launchpad.scaffold import ScaffoldError, scaffold

    try:
        result = scaffold(name, path)
    except ScaffoldError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    for line in result.summary():
        console.print(escape(line), highlight=False, soft_wrap=True)
    if result.error:
        err_console.print(f"[red]{escape(result.error)}[/red]", soft_wrap=True)
        raise typer.Exit(1)


def _notify_commands() -> None:
    from launchpad.notify.cli import notify

    app.add_typer(notify, name="notify")


def _load_plugins() -> None:
    from importlib.metadata import entry_points

    for entry in entry_points(group="launchpad.commands"):
        entry.load()(app)


_notify_commands()
_load_plugins()
