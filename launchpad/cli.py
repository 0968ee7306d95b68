"""The `launchpad` command line.

Commands that need git or the HTTP stack live in the `reconciler` and `functions`
packages and join this app through the `launchpad.commands` entry points, so the
core never imports them. A command imports what it needs when it runs: the configuration
and spec models, the Temporal SDK and the reconciler take most of a second to import, which
`launchpad --help`, `setup` and `schema` never need (CONTRIBUTING.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from launchpad.errors import SpecError, SpecErrors
from launchpad.observability.logs import LogFormat, chosen_format, setup_logging

if TYPE_CHECKING:
    from launchpad.config import Config
    from launchpad.registry import Registry

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
def options(log_format: LogFormatOption = None) -> None:
    """Declarative, GitOps front end for Temporal."""
    logging_for(log_format)


class ErrorFormat(StrEnum):
    text = "text"
    github = "github"
    json = "json"


def config_or_exit(path: Path | None, output: ErrorFormat = ErrorFormat.text) -> Config:
    """The configuration; its errors in `output`'s form (a CI points at the config file too),
    then exit 1."""
    from launchpad.config import load_config

    try:
        return load_config(path)
    except SpecErrors as exc:
        report_errors(exc.errors, output, Path)
        raise typer.Exit(1) from None


def exit_now(code: int = 0) -> None:
    """Leave once everything is stopped, without interpreter finalization: the Temporal SDK's
    native threads can call into Python while it finalizes and abort the process (seen in CI as
    `PyGILState_Release ... finalizing`, exit -6), turning a clean shutdown into a crash
    (https://github.com/temporalio/sdk-python/issues/300, open; the SDK offers no way to stop
    its threads)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone (`| head`), or a stream closed
            stream.flush()
    os._exit(code)


def print_errors(errors: list[SpecError]) -> None:
    for error in errors:
        where = f" [dim](line {error.line}, column {error.column})[/dim]" if error.line is not None else ""
        err_console.print(
            f"[red]{escape(error.file)}[/red]: [bold]{escape(error.path)}[/bold]: {escape(error.message)}{where}",
            highlight=False,
            soft_wrap=True,
        )


def report_errors(errors: list[SpecError], output: ErrorFormat, path_of: Callable[[str], Path]) -> None:
    """Errors as text (stderr), GitHub annotations or a JSON list (stdout); `path_of` finds an
    error's file, for the path a CI shows relative to the current folder."""
    from launchpad.error_report import as_json, github

    if output == ErrorFormat.json:
        print(as_json(errors, path_of))
    elif output == ErrorFormat.github:
        print(github(errors, path_of))
    else:
        print_errors(errors)


@app.command()
def validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="files or folders (default: the configured ones)")] = None,
    config: ConfigOption = None,
    output: Annotated[
        ErrorFormat,
        typer.Option("--format", help="github: GitHub Actions annotations; json: a list of {file, line, column, ...}"),
    ] = ErrorFormat.text,
) -> None:
    """Validate the configuration and every task and worker file; exit 1 on any error."""
    validate_or_exit(config_or_exit(config, output), paths, output)


def registry_for(cfg: Config) -> Registry:
    """Built-in components plus the user's code; import failures are printed, not fatal."""
    from launchpad.registry import Registry

    registry = Registry.builtin()
    registry.load_paths([cfg.path(p) for p in cfg.code_paths], [cfg.path(p) for p in cfg.code_skips])
    for file, error in registry.module_errors.items():
        err_console.print(f"[red]{escape(file)}[/red]: cannot import: {escape(error)}", soft_wrap=True)
    return registry


def validate_or_exit(cfg: Config, paths: list[Path] | None = None, output: ErrorFormat = ErrorFormat.text) -> None:
    """Every file, its components and the dependencies between tasks; the errors with their
    line and column, as text (stderr), GitHub annotations or JSON (stdout)."""
    from launchpad.error_report import locate_files
    from launchpad.spec.catalog import load_catalog
    from launchpad.spec.dependencies import check_files

    roots = paths or [cfg.path(cfg.tasks_dir), cfg.path(cfg.workers_dir)]
    base = None if paths else cfg.base_dir
    catalog = load_catalog(roots, base=base)
    registry = registry_for(cfg)
    catalog.errors += catalog.check_components(registry.names)
    catalog.errors += check_files({name: (doc.file, doc.doc) for name, doc in catalog.tasks.items()})
    catalog.errors += [SpecError(file, "<module>", f"cannot import: {e}") for file, e in registry.module_errors.items()]

    def path_of(file: str) -> Path:
        return base / file if base is not None else Path(file)

    locate_files(catalog.errors, path_of)
    if output == ErrorFormat.json or catalog.errors:
        report_errors(catalog.errors, output, path_of)
    if catalog.errors:
        err_console.print(f"[red]{len(catalog.errors)} error(s)[/red]")
        raise typer.Exit(1)
    summary = f"{len(catalog.tasks)} task(s), {len(catalog.workers)} worker(s)"
    (err_console if output == ErrorFormat.json else console).print(f"[green]ok[/green]: {summary}")


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


class CiChoice(StrEnum):
    github = "github"
    gitlab = "gitlab"


@app.command()
def setup(
    name: Annotated[
        str | None, typer.Option("--name", help="project name: the code folder NAME/temporal (a Python name)")
    ] = None,
    path: Annotated[Path, typer.Option("--path", help="folder to set up (created when missing)")] = Path("."),
    ci: Annotated[
        CiChoice | None,
        typer.Option("--ci", help="also write the CI recipe that validates and plans every pull request"),
    ] = None,
) -> None:
    """Scaffold a project: deployments/, NAME/temporal/, launchpad_configs.yaml, .gitignore and git;
    with --ci (alone, or with --name), the CI workflow that validates and plans pull requests."""
    from launchpad.ci import ci_files, write_ci
    from launchpad.scaffold import ScaffoldError, scaffold

    if name is None and ci is None:
        err_console.print("[red]give --name NAME (a new project), --ci github|gitlab (a CI recipe), or both[/red]")
        raise typer.Exit(2)
    try:
        if name is None:
            assert ci is not None
            lines = write_ci(ci.value, path).summary(ci.value)
            error = None
        else:
            result = scaffold(name, path, extra=ci_files(ci.value) if ci else None)
            lines, error = result.summary(), result.error
    except ScaffoldError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    for line in lines:
        console.print(escape(line), highlight=False, soft_wrap=True)
    if error:
        err_console.print(f"[red]{escape(error)}[/red]", soft_wrap=True)
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


def main() -> None:
    """The `launchpad` command: the app, then `exit_now` with its exit code. Every command that
    talked to Temporal (a deploy, a sync) could otherwise abort after it succeeded."""
    try:
        app(prog_name="launchpad")
        code = 0
    except SystemExit as done:
        code = _exit_code(done.code)
    exit_now(code)


def _exit_code(code: object) -> int:
    """What `sys.exit(code)` would have made of it: None is 0, a message is printed and is 1."""
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1
