"""Reconciler commands: plan, reconcile, status, history, deploy, worker, hooks."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from launchpad.cli import ConfigOption, config_or_exit, console, err_console, exit_now, print_errors, registry_for
from launchpad.config import Config
from launchpad.errors import LaunchpadError, SpecErrors
from launchpad.spec.catalog import load_catalog
from launchpad.state import open_store
from launchpad.state.sqlite import SqliteStateStore
from reconciler.deploy import deploy_task
from reconciler.plan import Action, Plan
from reconciler.sync import Reconciler, Scope, SyncResult

if TYPE_CHECKING:
    from launchpad.temporal.workers import WorkerSet

STYLE = {"Synced": "green", "OutOfSync": "yellow", "Degraded": "red"}


def reconciler_for(cfg: Config) -> Reconciler:
    return Reconciler(cfg.resolve_secrets(), open_store(cfg))


def run(coro: Any) -> Any:
    """Run a coroutine; launchpad's own errors become a red line and exit code 1."""
    try:
        return asyncio.run(coro)
    except SpecErrors as exc:
        for error in exc.errors:
            err_console.print(f"[red]{escape(str(error))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    except LaunchpadError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


def print_plan(plan: Plan) -> None:
    table = Table("kind", "name", "action", "reason", title=f"plan at {plan.revision[:12]}")
    for item in plan.items:
        style = "dim" if item.action == Action.NOOP else "bold"
        table.add_row(item.kind, item.name, f"[{style}]{item.action}[/{style}]", escape(item.reason))
    console.print(table)
    for error in plan.errors:
        err_console.print(
            f"[red]{escape(error.file)}[/red]: {escape(error.path)}: {escape(error.message)}", soft_wrap=True
        )
    if plan.refused:
        err_console.print(f"[red]refused:[/red] {escape(plan.refused)}")


def plan(config: ConfigOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show what a sync would do, and why (a dry run)."""
    computed, _ = run(reconciler_for(config_or_exit(config)).plan())
    if as_json:
        print(json.dumps(computed.as_dict(), indent=2))
    else:
        print_plan(computed)


def print_sync(result: SyncResult) -> None:
    color = {"succeeded": "green", "already_running": "yellow"}.get(result.status, "red")
    revision = (result.revision or "?")[:12]
    console.print(
        f"sync {result.id or '-'}: [{color}]{result.status}[/{color}] at {revision} ({result.writes} write(s))"
    )
    for outcome in result.outcomes:
        if outcome["action"] != "noop" or not outcome["ok"]:
            mark = "[green]ok[/green]" if outcome["ok"] else "[red]failed[/red]"
            console.print(
                f"  {outcome['kind']} {outcome['name']}: {outcome['action']} {mark} {escape(outcome['message'])}"
            )
    for error in result.errors:
        err_console.print(f"  [red]{escape(error['file'])}[/red]: {escape(error['path'])}: {escape(error['message'])}")
    if result.message and result.status != "succeeded":
        err_console.print(f"  {escape(result.message)}")


def reconcile(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="one sync, then exit (the default)")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="sync in a loop until Ctrl-C")] = False,
    interval: Annotated[float | None, typer.Option(help="seconds between syncs (default: polling_interval)")] = None,
) -> None:
    """Make Temporal match the repository; exit 1 when any object failed."""
    cfg = config_or_exit(config)
    reconciler = reconciler_for(cfg)
    if not watch:
        result = run(reconciler.sync("cli"))
        print_sync(result)
        if result.status not in ("succeeded", "already_running"):
            raise typer.Exit(1)
        return
    every = interval or cfg.watcher.polling.polling_interval.total_seconds()

    async def loop() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        console.print(f"watching {escape(cfg.repository.url)} ({cfg.repository.branch}) every {every:g}s")
        await reconciler.watch(every, stop, on_result=print_sync)

    run(loop())


def status(config: ConfigOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Per object: Synced / OutOfSync / Degraded, with the reason and the revision."""
    store = open_store(config_or_exit(config))
    objects = store.objects()
    last = store.last_sync()
    if as_json:
        rows = [{k: str(v) if v is not None else None for k, v in vars(o).items()} for o in objects]
        print(json.dumps({"objects": rows, "last_sync": last.id if last else None}, indent=2))
        return
    table = Table("kind", "name", "status", "reason", "revision")
    for obj in objects:
        color = STYLE.get(obj.status, "white")
        table.add_row(obj.kind, obj.name, f"[{color}]{obj.status}[/{color}]", escape(obj.reason), obj.revision[:12])
    console.print(table)
    if last:
        console.print(f"last sync {last.id}: {last.status} at {(last.revision or '?')[:12]} ({last.trigger})")
        for error in last.errors:
            if "file" in error:
                err_console.print(
                    f"  [red]{escape(error['file'])}[/red]: {escape(error['path'])}: {escape(error['message'])}"
                )


def history(task: str, config: ConfigOption = None) -> None:
    """The versions of a task file, from git (newest first)."""
    from reconciler.deploy import find_task

    reconciler = reconciler_for(config_or_exit(config))

    def versions() -> list[Any]:
        head = reconciler.source.fetch()
        found = find_task(reconciler.source, head, reconciler.config.tasks_dir, task)
        return reconciler.source.history(found.path)

    async def load() -> list[Any]:
        return await asyncio.to_thread(versions)

    table = Table("revision", "date", "author", "message", title=task)
    for rev in run(load()):
        table.add_row(rev.sha[:12], rev.date.isoformat(), escape(rev.author), escape(rev.message.splitlines()[0]))
    console.print(table)


def _assignments(values: list[str] | None, option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for value in values or []:
        key, sep, raw = value.partition("=")
        if not sep or not key:
            err_console.print(f"[red]{option} expects key=value, got {escape(value)!r}[/red]")
            raise typer.Exit(2)
        out[key] = yaml.safe_load(raw) if raw else ""
    return out


def deploy(
    task: str,
    config: ConfigOption = None,
    ref: Annotated[
        str | None, typer.Option(help="a revision of the branch's history: commit, tag, HEAD~N (default: the head)")
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="overwrite path=value (YAML value)")] = None,
    arg: Annotated[list[str] | None, typer.Option("--arg", help="template argument key=value (YAML value)")] = None,
) -> None:
    """Deploy one task now, at a revision, with overwrite and template arguments."""
    reconciler = reconciler_for(config_or_exit(config))
    overwrite = _assignments(set_, "--set")
    # whoever runs this holds the configuration and reaches Temporal directly: a super user
    result = run(
        deploy_task(
            reconciler, task, ref=ref, template_args=_assignments(arg, "--arg"), overwrite=overwrite, super_user=True
        )
    )
    console.print_json(json.dumps({k: v for k, v in vars(result).items() if v is not None}, default=str))


HOOK = """#!/bin/sh
# Installed by `launchpad hooks install`: a push to the configured branch triggers a sync.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
exec {python} -m launchpad hooks run --config {config}
"""


def hooks_install(
    repo: Annotated[Path, typer.Option("--repo", help="the bare repository (PATH.git)")],
    config: ConfigOption = None,
) -> None:
    """Install a post-receive hook in a bare repository so that `git push` deploys."""
    cfg = config_or_exit(config)
    hooks = repo / "hooks"
    if not hooks.is_dir():
        err_console.print(f"[red]{escape(str(repo))} is not a bare git repository[/red]")
        raise typer.Exit(1)
    config_file = (cfg.base_dir / "launchpad_configs.yaml") if config is None else config.resolve()
    hook = hooks / "post-receive"
    hook.write_text(HOOK.format(python=sys.executable, config=config_file))
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    console.print(f"installed {hook}")


def hooks_run(config: ConfigOption = None) -> None:
    """Called by the post-receive hook: sync when the configured branch was pushed."""
    cfg = config_or_exit(config)
    wanted = f"refs/heads/{cfg.repository.branch}"
    pushed = [line.split()[2] for line in sys.stdin.read().splitlines() if len(line.split()) == 3]
    if wanted not in pushed:
        return
    result = run(reconciler_for(cfg).sync("git push"))
    print_sync(result)


def worker(
    names: Annotated[list[str] | None, typer.Argument(help="worker files to run (default: all)")] = None,
    config: ConfigOption = None,
    follow: Annotated[
        bool | None,
        typer.Option(
            "--follow/--no-follow",
            help="run the worker files of the repository's branch and start, reload or stop workers as they"
            " or the code change (default: watcher.polling.automatic_refresh)",
        ),
    ] = None,
    interval: Annotated[
        float | None, typer.Option(help="seconds between fetches when following (default: polling_interval)")
    ] = None,
) -> None:
    """Run workers until SIGINT/SIGTERM, then shut them down gracefully.

    The worker files on disk, or with --follow those of the repository's branch, kept in step with it.
    """
    cfg = config_or_exit(config).resolve_secrets()
    polling = cfg.watcher.polling
    if follow if follow is not None else polling.automatic_refresh:
        every = interval or polling.polling_interval.total_seconds()
        run(_follow(cfg, names or [], every))
        return
    catalog = load_catalog([cfg.path(cfg.workers_dir)], base=cfg.base_dir)
    if catalog.errors:
        print_errors(catalog.errors)
        raise typer.Exit(1)
    chosen = {n: w for n, w in catalog.workers.items() if not names or n in names}
    missing = set(names or []) - set(chosen)
    if missing or not chosen:
        err_console.print(f"[red]no such worker(s):[/red] {', '.join(sorted(missing)) or 'none defined'}")
        raise typer.Exit(1)

    async def start(workers: WorkerSet) -> None:
        for name, spec in chosen.items():
            await workers.start(name, spec)
            console.print(f"worker [bold]{name}[/bold] serving task queue {spec.worker.task_queue}")

    async def serve() -> None:
        from launchpad.temporal.connections import Connections
        from launchpad.temporal.workers import WorkerSet

        await _serve(WorkerSet(Connections(cfg.temporalio), registry_for(cfg)), start)

    run(serve())


async def _follow(cfg: Config, names: list[str], every: float) -> None:
    """A reconciler that manages this process's workers and nothing else (tasks and schedules
    are the reconciler's), with an in-memory state store: what this process runs."""
    from launchpad.temporal.workers import WorkerSet

    reconciler = Reconciler(cfg, SqliteStateStore(), scope=Scope(frozenset({"worker"}), frozenset(names)))
    reconciler.workers = WorkerSet(reconciler.connections, reconciler.registry)

    reported: set[str] = set()  # revisions whose broken files were reported

    async def keep_in_step(workers: WorkerSet) -> None:
        result = await reconciler.sync("worker")
        for outcome in result.outcomes:
            if outcome["action"] != "noop" or not outcome["ok"]:
                style = "bold" if outcome["ok"] else "red"
                line = f"worker [{style}]{escape(outcome['name'])}[/{style}]: {escape(outcome['message'])}"
                console.print(f"{line} at {(result.revision or '?')[:12]}")
        for error in result.errors:  # broken worker files (only those are read): the running version stays
            if error["revision"] not in reported:
                where = f"[red]{escape(error['file'])}[/red]: {escape(error['path'])}"
                err_console.print(f"{where}: {escape(error['message'])} (kept the running version)", soft_wrap=True)
        reported.add(result.revision or "")
        if result.message:
            err_console.print(f"[red]{escape(result.message)}[/red]")

    console.print(f"following {escape(cfg.repository.url)} ({cfg.repository.branch}) every {every:g}s")
    await _serve(reconciler.workers, keep_in_step, every)


async def _serve(workers: WorkerSet, tend: Callable[[WorkerSet], Awaitable[None]], every: float | None = None) -> None:
    """Start the workers (`tend`), then, every `every` seconds if given, tend them again, until a
    signal or a worker fails; then stop them all, giving in-flight activities their grace period."""
    await workers.connections.register_namespaces()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await tend(workers)
    console.print("workers running; Ctrl-C to stop")
    while not (failed := await workers.wait_until(stop, every)) and every is not None and not stop.is_set():
        await tend(workers)
    for name, exc in failed.items():
        err_console.print(f"[red]worker {name} failed:[/red] {escape(str(exc))}")
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)  # a second signal stops at once
    console.print("shutting down (in-flight activities get their grace period)")
    try:
        await asyncio.wait_for(workers.stop_all(), workers.grace_period() + 5)
    except TimeoutError:
        # threads running sync activities cannot be interrupted; a normal exit would wait for them
        err_console.print("[red]activities still running after the grace period; exiting[/red]")
        os._exit(1)
    console.print("stopped")
    exit_now(1 if failed else 0)


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.command()(plan)
    app.command()(reconcile)
    app.command()(status)
    app.command()(history)
    app.command()(deploy)
    hooks = typer.Typer(help="Git hooks that trigger syncs on push.", no_args_is_help=True)
    hooks.command("install")(hooks_install)
    hooks.command("run")(hooks_run)
    app.add_typer(hooks, name="hooks")


__all__ = ["register"]
