"""Bad input gets a precise error naming the file and the key path."""

from __future__ import annotations

import pytest

from launchpad.errors import SpecErrors
from launchpad.spec.document import TaskDocument, parse_worker

FILE = "deployments/tasks/job.yaml"
GOOD = """
name: job
runner: WorkflowRunner
workflow:
  task_queue: q
  workflow_id: job-wf
  workflow: Task
  workflow_kwargs:
    activity: act
    args: [1]
"""


def errors_of(text: str, file: str = FILE, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SpecErrors) as caught:
        TaskDocument.parse(text, file, env=env or {})
    return [str(error) for error in caught.value.errors]


def test_unknown_key_is_named() -> None:
    assert errors_of(GOOD.replace("workflow_id:", "workflw_id: x\n  workflow_id:")) == [
        f"{FILE}: workflow.workflw_id: unknown key (typo?)"
    ]


def test_unknown_root_key() -> None:
    assert errors_of(GOOD + "deploy_on_start: true\n") == [f"{FILE}: deploy_on_start: unknown key (typo?)"]


def test_wrong_enum_lists_allowed_values() -> None:
    [error] = errors_of(GOOD.replace("workflow: Task", "workflow: Task\n  id_reuse_policy: SOMETIMES"))
    assert error.startswith(f"{FILE}: workflow.id_reuse_policy: invalid value 'SOMETIMES'; allowed: ")
    for allowed in (
        "ALLOW_DUPLICATE",
        "ALLOW_DUPLICATE_FAILED_ONLY",
        "REJECT_DUPLICATE",
        "TERMINATE_IF_RUNNING",
    ):
        assert allowed in error


def test_wrong_cancellation_type() -> None:
    [error] = errors_of(GOOD.replace("args: [1]", "args: [1]\n    cancellation_type: NEVER"))
    assert "workflow.workflow_kwargs.cancellation_type: invalid value 'NEVER'" in error
    assert "TRY_CANCEL" in error and "ABANDON" in error


def test_bad_duration() -> None:
    [error] = errors_of(GOOD.replace("args: [1]", "args: [1]\n    start_to_close_timeout: soon"))
    assert error == (
        f"{FILE}: workflow.workflow_kwargs.start_to_close_timeout: "
        "invalid duration 'soon': use seconds, ISO 8601 (PT1H30M) or 1h30m"
    )


def test_bad_time_zone() -> None:
    text = GOOD.replace("WorkflowRunner", "ScheduledWorkflowRunner").replace(
        "workflow: Task", "workflow: Task\n  scheduler_id: s\n  tz: Mars/Olympus"
    )
    [error] = errors_of(text)
    assert "workflow.tz: unknown time zone 'Mars/Olympus'" in error


def test_name_must_equal_file_name() -> None:
    assert errors_of(GOOD, file="deployments/tasks/other.yaml") == [
        "deployments/tasks/other.yaml: name: name 'job' must equal the file name 'other'"
    ]


def test_missing_env_var() -> None:
    [error] = errors_of(GOOD.replace("args: [1]", 'args: ["${API_TOKEN}"]'))
    assert error == f"{FILE}: workflow.workflow_kwargs.args.0: environment variable API_TOKEN is not set"


def test_env_var_and_default() -> None:
    text = GOOD.replace("args: [1]", 'args: ["${A}", "${B:-fallback}", "$${LITERAL}"]')
    doc = TaskDocument.parse(text, FILE, env={"A": "from-env"})
    assert doc.spec().workflow.workflow_kwargs.args == ["from-env", "fallback", "${LITERAL}"]
    assert doc.injected == {("workflow", "workflow_kwargs", "args", 0)}


def test_missing_required_field() -> None:
    [error] = errors_of(GOOD.replace("  workflow_id: job-wf\n", ""))
    assert error == f"{FILE}: workflow.workflow_id: Field required"


def test_scheduled_runner_needs_scheduler_id() -> None:
    [error] = errors_of(GOOD.replace("runner: WorkflowRunner", "runner: ScheduledWorkflowRunner"))
    assert "scheduler_id is required by ScheduledWorkflowRunner" in error


def test_invalid_yaml_names_the_line() -> None:
    [error] = errors_of("name: job\nworkflow: [unclosed\n")
    assert error.startswith(f"{FILE}: line ") and "invalid YAML" in error


def test_errors_are_all_reported_together() -> None:
    text = GOOD.replace("workflow: Task", "workflow: Task\n  overlap: X\n  jitter: bad")
    assert len(errors_of(text)) == 2


def test_worker_unknown_key() -> None:
    with pytest.raises(SpecErrors) as caught:
        parse_worker("worker:\n  task_queue: q\n  max_worker: 3\n", "deployments/workers/w.yaml", env={})
    assert [str(e) for e in caught.value.errors] == [
        "deployments/workers/w.yaml: worker.max_worker: unknown key (typo?)"
    ]


def test_worker_name_defaults_to_file_stem() -> None:
    name, spec = parse_worker(
        "worker:\n  task_queue: q\n  workflows: [Task]\n  activities: [a]\n  max_workers: 4\n",
        "deployments/workers/main.yaml",
        env={},
    )
    assert name == "main" and spec.worker.max_workers == 4 and spec.worker.workflows == ["Task"]
