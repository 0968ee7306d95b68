"""Reconciler commands: plan, reconcile, status, history, deploy, worker, hooks.

Each command imports the reconciler when it runs: registering these commands must not cost
every other command (`launchpad setup`, `--help`) the import of git, Temporal and the plan.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from launchpad.cli import (
    ConfigOption,
    LogFormatOption,
    config_or_exit,
    console,
    err_console,
    exit_now,
    logging_for,
    print_errors,
    registry_for,
)
from launchpad.errors import LaunchpadError, SpecErrors
from launchpad.observability.logs import LogFormat
from launchpad.state import FileError, Kind, RunStatus, open_store

if TYPE_CHECKING:
    from launchpad.config import Config
    from launchpad.observability.signals import Signals
    from launchpad.temporal.workers import WorkerSet
    from reconciler.checkout import CheckoutSource
    from reconciler.plan import Plan
    from reconciler.preview import Preview
    from reconciler.sync import Reconciler, Scope, SyncResult

STYLE = {"Synced": "green", "OutOfSync": "yellow", "Degraded": "red", "Missing": "red", "Suspended": "blue"}


ScopeOption = Annotated[
    str | None, typer.Option("--scope", help="only this scope of reconciler.scopes (its own lease and history)")
]


def scope_or_exit(cfg: Config, scope: str | None) -> Scope | None:
    from reconciler.sync import Scope

    try:
        return Scope.named(cfg, scope) if scope else None
    except LaunchpadError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None


def reconciler_for(cfg: Config, scope: str | None = None) -> Reconciler:
    from reconciler.sync import Reconciler

    return Reconciler(cfg.resolve_secrets(), open_store(cfg), scope=scope_or_exit(cfg, scope))


def signalled(cfg: Config, scope: str | None = None) -> tuple[Reconciler, Signals]:
    """A reconciler whose syncs and deploys log and notify, and record metrics when
    `metrics.pushgateway` will take them (`run(..., command=)` pushes them at the end)."""
    from launchpad.observability.signals import Signals
    from reconciler.observer import attach

    reconciler = reconciler_for(cfg, scope)
    signals = Signals.from_config(reconciler.config, serve=False)
    attach(reconciler, signals)
    return reconciler, signals


async def _delivered(coro: Coroutine[Any, Any, Any], signals: Signals, command: str | None) -> Any:
    """The coroutine's result, once the notifications it caused are delivered (within the budget)
    and, for a one-shot `command`, its metrics pushed (when `metrics.pushgateway` is set)."""
    try:
        return await coro
    finally:
        await signals.outbox.drain(signals.budget)
        if command and signals.pushes:  # no thread for a push that sends nothing
            await asyncio.to_thread(signals.push, command)


def run(coro: Coroutine[Any, Any, Any], signals: Signals | None = None, command: str | None = None) -> Any:
    """Run a coroutine (and deliver its notifications, push the metrics of the one-shot `command`);
    launchpad's own errors become a red line and exit code 1."""
    try:
        return asyncio.run(_delivered(coro, signals, command) if signals else coro)
    except SpecErrors as exc:
        for error in exc.errors:
            err_console.print(f"[red]{escape(str(error))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    except LaunchpadError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


# `launchpad reconcile` exit codes (docs/reconciler.md)
EXIT_CODES = {
    RunStatus.SUCCEEDED: 0,
    RunStatus.FAILED: 1,
    RunStatus.DEGRADED: 3,  # applied, but some files are broken (their last good version runs) or objects wait
    RunStatus.REFUSED: 4,
    RunStatus.ALREADY_RUNNING: 75,  # EX_TEMPFAIL: another sync holds the lease; nothing was done
}


def print_file_errors(errors: list[FileError]) -> None:
    for error in errors:
        where = f"[red]{escape(error.file)}[/red]: {escape(error.path)}"
        err_console.print(f"{where}: {escape(error.message)} (revision {error.revision[:12]})", soft_wrap=True)


def print_plan(plan: Plan) -> None:
    from reconciler.plan import Action

    title = f"plan at {plan.revision[:12]}" + ("" if plan.complete else " (changed files only)")
    table = Table("kind", "name", "action", "reason", title=title)
    for item in plan.items:
        style = "dim" if item.action == Action.NOOP else "bold"
        table.add_row(item.kind, item.name, f"[{style}]{item.action}[/{style}]", escape(item.reason))
    console.print(table)
    print_file_errors(plan.errors)
    if plan.refused:
        err_console.print(f"[red]refused:[/red] {escape(plan.refused)}")


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


def plan(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="the same as --format json")] = False,
    scope: ScopeOption = None,
    ref: Annotated[
        str | None,
        typer.Option(
            help="plan what merging this revision of the local checkout would do (a branch, a sha, HEAD); "
            "exit 0: no change, 2: changes, 1: error"
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(help="with --ref: report the file errors REF has and BASE has not (default: the synced revision)"),
    ] = None,
    output: Annotated[
        PlanFormat, typer.Option("--format", help="markdown (with --ref) fits a pull-request comment")
    ] = PlanFormat.text,
) -> None:
    """Show what a sync would do, and why (a dry run); with --ref, what merging a revision would do."""
    from reconciler.markdown import render as render_markdown
    from reconciler.preview import preview
    from reconciler.sync import Reconciler

    cfg = config_or_exit(config)
    chosen = PlanFormat.json if as_json else output
    if ref is None:
        if base is not None or chosen == PlanFormat.markdown:
            err_console.print("[red]--base and --format markdown plan a proposed change: give --ref[/red]")
            raise typer.Exit(1)
        computed, _ = run(reconciler_for(cfg, scope).plan(verify=True))
        if chosen == PlanFormat.json:
            print(json.dumps(computed.as_dict(), indent=2))
        else:
            print_plan(computed)
        return
    checkout = run(_checkout(cfg))
    reconciler = Reconciler(cfg.resolve_secrets(), open_store(cfg), source=checkout, scope=scope_or_exit(cfg, scope))
    previewed: Preview = run(preview(reconciler, ref, base))
    if chosen == PlanFormat.json:
        print(json.dumps(previewed.as_dict(), indent=2))
    elif chosen == PlanFormat.markdown:
        print(render_markdown(previewed, cfg.repository.branch), end="")
    else:
        print_preview(previewed)
    if previewed.exit_code:
        raise typer.Exit(previewed.exit_code)


async def _checkout(cfg: Config) -> CheckoutSource:
    from reconciler.checkout import CheckoutSource

    return await asyncio.to_thread(CheckoutSource.here, cfg.repository.branch)


def print_preview(previewed: Preview) -> None:
    title = f"merging {previewed.revision[:12]} ({previewed.ref})"
    table = Table("kind", "name", "change", "why", title=title)
    for item in previewed.changes:
        table.add_row(item.kind, item.name, f"[bold]{item.change}[/bold]", escape(item.waiting or item.reason))
    if previewed.changes:
        console.print(table)
    for item in previewed.changes:
        for change in item.diff:
            console.print(f"  {escape(item.name)}: {escape(str(change))}", highlight=False, soft_wrap=True)
        if item.note:
            console.print(f"  {escape(item.name)}: [dim]{escape(item.note)}[/dim]", soft_wrap=True)
    print_file_errors(previewed.errors)
    if previewed.refused:
        err_console.print(f"[red]refused:[/red] {escape(previewed.refused)}")
    unchanged = sum(1 for item in previewed.items if item not in previewed.changes)
    if not previewed.changes and not previewed.errors:
        console.print(f"no changes: Temporal already matches {previewed.revision[:12]} ({unchanged} object(s))")


def suspend(
    name: Annotated[str, typer.Argument(help="the task (schedule or deploy-on-start task) to leave alone")],
    reason: Annotated[str, typer.Option("--reason", help="why, shown in status")] = "",
    config: ConfigOption = None,
    scope: ScopeOption = None,
) -> None:
    """Emergency stop without a commit: syncs leave this object alone until `launchpad resume NAME`."""
    from reconciler import overrides

    console.print(escape(run(overrides.suspend(reconciler_for(config_or_exit(config), scope), name, reason))))


def resume(name: str, config: ConfigOption = None, scope: ScopeOption = None) -> None:
    """Lift `launchpad suspend NAME` and sync at once: the object is rewritten from its file."""
    from reconciler import overrides

    result = run(overrides.resume(reconciler_for(config_or_exit(config), scope), name))
    print_sync(result)
    code = exit_code(result)
    if code:
        raise typer.Exit(code)


COLOR = {RunStatus.SUCCEEDED: "green", RunStatus.ALREADY_RUNNING: "yellow", RunStatus.DEGRADED: "yellow"}


async def sync_once(
    reconciler: Reconciler, signals: Signals, trigger: str, *, hard: bool = False, poll: bool = False
) -> SyncResult:
    """One sync; when its metrics are pushed, with the managed set's gauges (from the state
    store, as `/metrics` and Lambda report them)."""
    from reconciler.observer import measure_state

    result = await reconciler.sync(trigger, hard=hard, poll=poll)
    if signals.pushes and result.id:  # a poll that found nothing new changed no gauge: reading them would cost a scan
        await measure_state(reconciler.store, signals.metrics, reconciler.lease_key)
    return result


def print_sync(result: SyncResult) -> None:
    """Each sync the call ran (its follow-ups included), with what it wrote and what failed."""
    for run in result.runs:
        color = COLOR.get(run.status, "red")
        revision = (run.revision or "?")[:12]
        kind = "drift scan" if run.drift_scan else "sync"
        note = f"; {escape(run.message)}" if run.message else ""
        console.print(
            f"{kind} {run.id or '-'}: [{color}]{run.status}[/{color}] at {revision} ({run.writes} write(s){note})"
        )
        for outcome in run.outcomes:
            if outcome.action != "noop" or not outcome.ok:
                mark = "[green]ok[/green]" if outcome.ok else "[red]failed[/red]"
                console.print(f"  {outcome.kind} {outcome.name}: {outcome.action} {mark} {escape(outcome.message)}")
        print_file_errors(run.errors)


def exit_code(result: SyncResult) -> int:
    """The worst of the syncs the call ran."""
    return max(EXIT_CODES.get(run.status, 1) for run in result.runs)


def reconcile(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="one sync, then exit (the default)")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="sync in a loop until Ctrl-C")] = False,
    hard: Annotated[
        bool, typer.Option("--hard", help="compare every object with Temporal now (a drift scan), not only changes")
    ] = False,
    interval: Annotated[float | None, typer.Option(help="seconds between syncs (default: polling_interval)")] = None,
    scope: ScopeOption = None,
    log_format: LogFormatOption = None,
) -> None:
    """Make Temporal match the repository.

    Exit codes: 0 synced; 1 failed (an object, the repository or Temporal); 3 degraded (some files
    are broken, their last good version kept); 4 refused (it would delete every managed object);
    75 not run (another sync holds the lease)."""
    fmt = logging_for(log_format)
    cfg = config_or_exit(config)
    reconciler, signals = signalled(cfg, scope)
    report = print_sync if fmt == LogFormat.TEXT else None  # JSON: the log lines say it
    if not watch:
        result = run(sync_once(reconciler, signals, "cli", hard=hard, poll=True), signals, "reconcile")
        if report:
            report(result)
        code = exit_code(result)
        if code:
            raise typer.Exit(code)
        return
    every = interval or cfg.watcher.polling.polling_interval.total_seconds()

    async def loop() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        if report:
            console.print(f"watching {escape(cfg.repository.url)} ({cfg.repository.branch}) every {every:g}s")
        await reconciler.watch(every, stop, on_result=report)

    run(loop(), signals)


def status(
    config: ConfigOption = None, as_json: Annotated[bool, typer.Option("--json")] = False, scope: ScopeOption = None
) -> None:
    """Per object: Synced / OutOfSync / Degraded / Missing, with the reason and the revision; the
    last sync, the broken files and when Temporal was last compared in full."""
    from reconciler.status import status_report
    from reconciler.sync import lease_key, scoped_store

    cfg = config_or_exit(config)
    chosen = scope_or_exit(cfg, scope)
    report = status_report(scoped_store(open_store(cfg), chosen), lease_key(chosen))
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    table = Table("kind", "name", "status", "reason", "revision")
    for obj in report["objects"]:
        color = STYLE.get(obj["status"], "white")
        status = f"[{color}]{obj['status']}[/{color}]"
        table.add_row(obj["kind"], obj["name"], status, escape(obj["reason"]), obj["revision"][:12])
    console.print(table)
    last = report["last_sync"]
    if last:
        color = COLOR.get(RunStatus(last["status"]), "red")
        line = f"last sync {last['id']}: [{color}]{last['status']}[/{color}] at {(last['revision'] or '?')[:12]}"
        console.print(f"{line} ({escape(last['trigger'])}){'; ' + escape(last['message']) if last['message'] else ''}")
    console.print(
        f"last drift scan: {report['drift_scan_at'] or 'never'}; last verification: {report['verified_at'] or 'never'}"
    )
    print_file_errors([FileError(**e) for e in report["errors"]])


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
    from reconciler.deploy import deploy_task

    reconciler, signals = signalled(config_or_exit(config))
    overwrite = _assignments(set_, "--set")
    # whoever runs this holds the configuration and reaches Temporal directly: a super user
    result = run(
        deploy_task(
            reconciler, task, ref=ref, template_args=_assignments(arg, "--arg"), overwrite=overwrite, super_user=True
        ),
        signals,
        "deploy",
    )
    console.print_json(json.dumps({k: v for k, v in asdict(result).items() if v is not None}, default=str))


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
    reconciler, signals = signalled(cfg)
    result = run(sync_once(reconciler, signals, "git push"), signals, "hooks")
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
    from launchpad.spec.catalog import load_catalog

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
    from launchpad.state.sqlite import SqliteStateStore
    from launchpad.temporal.workers import WorkerSet
    from reconciler.sync import Reconciler, Scope

    reconciler = Reconciler(cfg, SqliteStateStore(), scope=Scope(frozenset({Kind.WORKER}), frozenset(names)))
    reconciler.workers = WorkerSet(reconciler.connections, reconciler.registry)

    reported: set[str] = set()  # revisions whose broken files were reported

    async def keep_in_step(workers: WorkerSet) -> None:
        result = await reconciler.sync("worker", poll=True)
        for outcome in result.outcomes:
            if outcome.action != "noop" or not outcome.ok:
                style = "bold" if outcome.ok else "red"
                line = f"worker [{style}]{escape(outcome.name)}[/{style}]: {escape(outcome.message)}"
                console.print(f"{line} at {(result.revision or '?')[:12]}")
        for error in result.errors:  # broken worker files (only those are read): the running version stays
            if error.revision not in reported:
                where = f"[red]{escape(error.file)}[/red]: {escape(error.path)}"
                err_console.print(f"{where}: {escape(error.message)} (kept the running version)", soft_wrap=True)
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
    app.command()(suspend)
    app.command()(resume)
    app.command()(status)
    app.command()(history)
    app.command()(deploy)
    hooks = typer.Typer(help="Git hooks that trigger syncs on push.", no_args_is_help=True)
    hooks.command("install")(hooks_install)
    hooks.command("run")(hooks_run)
    app.add_typer(hooks, name="hooks")


__all__ = ["register"]
