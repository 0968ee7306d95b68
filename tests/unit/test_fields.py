"""A task's fields as Temporal receives them, and their diff: what `plan --ref` shows per update."""

from __future__ import annotations

from datetime import timedelta

import pytest

from launchpad.spec.document import TaskDocument
from launchpad.spec.task import TaskSpec
from launchpad.temporal.fields import FieldChange, compact, diff

BASE = """
name: job
runner: ScheduledWorkflowRunner
workflow:
  task_queue: q
  workflow_id: job-wf
  workflow: Task
  scheduler_id: job
  intervals: [{every: 1h}]
  workflow_kwargs: {activity: act, args: [a]}
"""


def spec(text: str = BASE, more: str = "") -> TaskSpec:
    return TaskDocument.parse(text + more, "deployments/tasks/job.yaml", env={}).spec()


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (45, "45s"), (5400, "1h30m"), (172800, "2d"), (0.5, "500ms"), (90061, "1d1h1m1s")],
)
def test_durations_are_shown_as_task_files_write_them(seconds: float, shown: str) -> None:
    assert compact(timedelta(seconds=seconds)) == shown


def test_an_interval_and_an_argument() -> None:
    changed = spec(BASE.replace("every: 1h", "every: 2h").replace("args: [a]", "args: [b]"))
    assert [str(c) for c in diff(spec(), changed)] == [
        "spec.intervals[0].every: 1h → 2h",
        'action.args[0].args[0]: "a" → "b"',
    ]


def test_policies_state_and_launchpads_own_keys() -> None:
    more = "  overlap: buffer_one\n  paused: true\nsync: {prune: false}\ndepends_on: [other]\n"
    assert [str(c) for c in diff(spec(), spec(BASE, more))] == [
        "policies.overlap: SKIP → BUFFER_ONE",
        "state.paused: (unset) → true",
        "sync.prune: (unset) → false",
        'depends_on[0]: (unset) → "other"',
    ]


def test_ignored_fields_are_flagged() -> None:
    ignoring = "ignore_differences: [spec.jitter]\n"
    changes = diff(
        spec(BASE, ignoring), spec(BASE.replace("  intervals", "  jitter: 5m\n  intervals"), ignoring), ["spec.jitter"]
    )
    assert changes == [FieldChange("spec.jitter", "(unset)", "5m", ignored=True)]


def test_the_same_task_has_no_diff_and_a_new_one_lists_its_fields() -> None:
    assert diff(spec(), spec()) == []
    created = {c.path: c.new for c in diff(None, spec())}
    assert created["spec.intervals[0].every"] == "1h" and created["action.workflow"] == '"Task"'
    assert all(c.old == "(unset)" for c in diff(None, spec()))
