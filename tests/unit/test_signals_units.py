"""Pure logic of the signals: log masking and context, the EMF document shape, trigger labels,
and which transitions a sync's result makes."""

from __future__ import annotations

import json
import logging

import pytest

from launchpad.observability.emf import EmfSink
from launchpad.observability.logs import (
    FORMAT_ENV,
    LAMBDA_ENV,
    JsonFormatter,
    LogFormat,
    TextFormatter,
    begin,
    bind,
    chosen_format,
    end,
    redact,
)
from launchpad.observability.metrics import APPLIES, FILE_ERRORS, SYNC_SECONDS, trigger_label
from launchpad.state.records import FileError, Kind, Outcome, RunStatus
from reconciler.apply import ApplyResult
from reconciler.observer import SYNC, Notice, assess, transitions
from reconciler.plan import Action, Plan, PlanItem
from reconciler.sync import SyncResult


def record(message: str, *args: object, fields: dict[str, object] | None = None) -> logging.LogRecord:
    made = logging.LogRecord("launchpad.test", logging.WARNING, __file__, 1, message, args, None)
    if fields:
        made.fields = fields
    return made


def test_registered_secrets_are_masked_in_every_string_of_both_formats() -> None:
    redact(["hunter2-topsecret", "abc"])  # too short to be worth masking: "abc" stays
    token = begin()
    try:
        bind(request_id="r-1", user="alice")
        line = record(
            "login with %s failed (abc)", "hunter2-topsecret", fields={"args": "x hunter2-topsecret y", "n": 3}
        )
        doc = json.loads(JsonFormatter().format(line))
        assert doc["message"] == "login with *** failed (abc)" and doc["args"] == "x *** y" and doc["n"] == 3
        assert (doc["request_id"], doc["user"], doc["level"], doc["logger"]) == (
            "r-1",
            "alice",
            "WARNING",
            "launchpad.test",
        )
        text = TextFormatter().format(line)
        assert "hunter2-topsecret" not in text and "request_id=r-1" in text
    finally:
        end(token)
    assert "request_id" not in json.loads(JsonFormatter().format(record("after")))


@pytest.mark.parametrize(
    ("flag", "env", "chosen"),
    [
        (None, {}, LogFormat.TEXT),  # a terminal
        (None, {FORMAT_ENV: "JSON"}, LogFormat.JSON),
        (None, {LAMBDA_ENV: "launchpad-reconcile"}, LogFormat.JSON),  # JSON is Lambda's default
        (None, {LAMBDA_ENV: "launchpad-reconcile", FORMAT_ENV: "text"}, LogFormat.TEXT),  # unless the env says text
        ("text", {FORMAT_ENV: "json", LAMBDA_ENV: "launchpad-api"}, LogFormat.TEXT),  # --log-format wins
        ("json", {}, LogFormat.JSON),
    ],
)
def test_the_log_format_is_the_flag_else_the_environment_else_json_on_lambda(
    flag: str | None, env: dict[str, str], chosen: LogFormat
) -> None:
    assert chosen_format(flag, env) == chosen


def test_an_unknown_log_format_in_the_environment_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown log format 'yaml'"):
        chosen_format(None, {FORMAT_ENV: "yaml", LAMBDA_ENV: "f"})


def test_emf_sums_counters_keeps_the_last_gauge_and_lists_observations() -> None:
    written: list[str] = []
    sink = EmfSink(write=written.append)
    sink.record(APPLIES, 1, ("schedule", "create", "succeeded"))
    sink.record(APPLIES, 1, ("schedule", "create", "succeeded"))
    sink.record(FILE_ERRORS, 3, ())
    sink.record(FILE_ERRORS, 1, ())
    sink.record(SYNC_SECONDS, 0.5, ())
    sink.record(SYNC_SECONDS, 0.25, ())
    assert sink.flush() == 3 and sink.flush() == 0
    docs = {doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]: doc for doc in map(json.loads, written)}
    applies = docs["launchpad_apply_total"]
    assert applies["launchpad_apply_total"] == 2 and applies["action"] == "create"
    assert applies["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["kind", "action", "result"]]
    assert docs["launchpad_file_errors"]["launchpad_file_errors"] == 1
    assert docs["launchpad_sync_duration_seconds"]["launchpad_sync_duration_seconds"] == [0.5, 0.25]


@pytest.mark.parametrize(
    ("trigger", "label"),
    [
        ("api: alice", "api"),
        ("webhook: github", "webhook"),
        ("git push", "hook"),
        ("invoke local", "invoke"),
        ("x", "other"),
    ],
)
def test_trigger_labels_never_carry_who(trigger: str, label: str) -> None:
    assert trigger_label(trigger) == label


def item(name: str, action: Action, *, drift: bool = False) -> PlanItem:
    return PlanItem(Kind.SCHEDULE, name, action, "because", drift=drift)


def test_a_whole_failure_is_one_subject_and_its_end_recovers_it() -> None:
    failed = SyncResult("s1", RunStatus.FAILED, "abc", message="cannot fetch")
    first = transitions(assess(failed), {})
    assert [(kind, subject) for kind, subject, _ in first.events] == [("sync_failed", SYNC)]
    known = {SYNC: Notice.load(first.put[SYNC])}
    assert not transitions(assess(failed), known), "still failing: nothing new"
    ok = SyncResult("", RunStatus.SUCCEEDED, "abc", message="up to date")
    back = transitions(assess(ok), known)
    assert [(kind, subject) for kind, subject, _ in back.events] == [("recovered", SYNC)] and back.drop == {SYNC}


def test_objects_that_fail_recover_or_go_away() -> None:
    plan = Plan("abc", [item("a", Action.UPDATE), item("b", Action.CREATE), item("c", Action.DELETE)])
    outcomes = [
        Outcome(Kind.SCHEDULE, "a", "update", False, "refused"),
        Outcome(Kind.SCHEDULE, "b", "create", True, wrote=True),
        Outcome(Kind.SCHEDULE, "c", "delete", True, wrote=True),
    ]
    for planned, outcome in zip(plan.items, outcomes, strict=True):  # as the apply tells each item
        planned.outcome = outcome
    errors = [FileError("deployments/tasks/d.yaml", "workflow", "bad", "abc")]
    result = SyncResult("s2", RunStatus.FAILED, "abc", plan, outcomes, errors)
    known = {"schedule:c": Notice("degraded", "old"), "file:deployments/tasks/e.yaml": Notice("degraded", "was bad")}
    changes = transitions(assess(result), known)
    events = sorted((kind, subject) for kind, subject, _ in changes.events)
    assert events == [
        ("degraded", "file:deployments/tasks/d.yaml"),
        ("degraded", "schedule:a"),
        ("recovered", "file:deployments/tasks/e.yaml"),  # every broken file is known: e is not one any more
    ]
    assert changes.drop == {"schedule:c", "file:deployments/tasks/e.yaml"}  # c was deleted: forgotten quietly


def test_two_items_of_one_name_keep_their_own_outcomes() -> None:
    """Orphans of one task in two namespaces share kind, name and action: each keeps what
    applying it did (the pairing by those three gave both the last outcome)."""
    left, right = item("a", Action.DELETE), item("a", Action.DELETE)
    applied = ApplyResult()
    applied.told(left, False, "refused")
    applied.told(right, True, "deleted", wrote=True)
    result = SyncResult("s", RunStatus.FAILED, "abc", Plan("abc", [left, right]), applied.outcomes)
    assert [(o.ok, o.message) for _, o in result.applied] == [(False, "refused"), (True, "deleted")]


def test_values_injected_into_a_task_file_never_reach_a_log_line() -> None:
    """A task file's `${VAR}` values may be secrets (the task page shows them as ***): once the file
    is read, no log line shows them, whatever logs them (a workflow id built from one, say)."""
    from launchpad.spec.document import TaskDocument

    secret = "tok-5d41402abc4b2a76"
    text = (
        "name: t\nrunner: WorkflowRunner\nworkflow: {task_queue: q, workflow_id: 'job-${LP_TOKEN}', workflow: Task,"
        " workflow_kwargs: {activity: zero}}\n"
    )
    TaskDocument.parse(text, "deployments/tasks/t.yaml", env={"LP_TOKEN": secret})
    line = record("started %s", f"job-{secret}", fields={"temporal_id": f"job-{secret}"})
    for formatter in (JsonFormatter(), TextFormatter()):
        shown = formatter.format(line)
        assert secret not in shown and "job-***" in shown, shown
