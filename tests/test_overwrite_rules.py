"""Who may overwrite what: the task file's list bounds everyone; the keys that decide where, as whom
or how often a task runs stay a super user's, whatever the file lists."""

from __future__ import annotations

from typing import Any

import pytest

from launchpad.errors import SpecErrors
from launchpad.spec.document import TaskDocument
from launchpad.spec.task import TaskSpec

FILE = "deployments/tasks/job.yaml"
TASK = """
name: job
runner: WorkflowRunner
overwritable: {overwritable}
workflow:
  task_queue: q
  workflow_id: job
  workflow: BatchTask
  execution_timeout: 1h
  workflow_kwargs:
    args: [1]
    at_end: {{renew: false}}
    batch:
      - {{activity: one, args: [1]}}
"""
EVERYTHING = "[runner, server, namespace, workflow]"


def doc(overwritable: str) -> TaskDocument:
    return TaskDocument.parse(TASK.format(overwritable=overwritable), FILE, env={})


def refused(overwritable: str, overwrite: dict[str, Any], super_user: bool = False) -> list[str]:
    with pytest.raises(SpecErrors) as caught:
        doc(overwritable).render(overwrite=overwrite, super_user=super_user)
    return [str(e) for e in caught.value.errors]


def test_true_means_the_arguments_only() -> None:
    spec = doc("true").render(
        overwrite={"workflow.workflow_kwargs.args": [2], "workflow.workflow_kwargs.batch.0.args": [3]}
    )
    assert spec.workflow.workflow_kwargs.args == [2]
    assert spec.workflow.workflow_kwargs.batch is not None and spec.workflow.workflow_kwargs.batch[0].args == [3]
    assert refused("true", {"workflow.execution_timeout": "2h"}) == [
        f"{FILE}: workflow.execution_timeout: not overwritable: this task allows workflow.workflow_kwargs"
    ]
    assert doc("true").overwrite_paths == ["workflow.workflow_kwargs"]


def test_a_list_names_what_may_be_overwritten() -> None:
    listed = "[workflow.workflow_kwargs, workflow.execution_timeout]"
    spec = doc(listed).render(overwrite={"workflow.execution_timeout": "2h", "workflow.workflow_kwargs.args.0": 5})
    assert spec.workflow.execution_timeout is not None and spec.workflow.execution_timeout.total_seconds() == 7200
    assert spec.workflow.workflow_kwargs.args == [5]
    assert refused(listed, {"workflow.run_timeout": "1m"}) == [
        f"{FILE}: workflow.run_timeout: not overwritable: "
        "this task allows workflow.workflow_kwargs, workflow.execution_timeout"
    ]
    assert refused("false", {"workflow.workflow_kwargs.args": []}) == [
        f"{FILE}: overwritable: this task is not overwritable (overwritable: false): overwrite is refused"
    ]


@pytest.mark.parametrize(
    ("overwrite", "path", "why"),
    [
        ({"runner": "WorkflowRunnerWithTempWorker"}, "runner", "decides what starts the task"),
        ({"server": "other"}, "server", "decides where the task runs"),
        ({"namespace": "other"}, "namespace", "decides where the task runs"),
        ({"workflow.task_queue": "other"}, "workflow.task_queue", "decides where the task runs"),
        ({"workflow.workflow_id": "someone-elses"}, "workflow.workflow_id", "names the workflow it starts"),
        ({"workflow.id_conflict_policy": "TERMINATE_EXISTING"}, "workflow.id_conflict_policy", "running workflow"),
        ({"workflow.id_reuse_policy": "ALLOW_DUPLICATE"}, "workflow.id_reuse_policy", "earlier workflow"),
        ({"workflow.scheduler_id": "s"}, "workflow.scheduler_id", "decides how often the task runs"),
        ({"workflow.intervals": [{"every": 1}]}, "workflow.intervals", "decides how often the task runs"),
        ({"workflow.cron_schedule": "* * * * *"}, "workflow.cron_schedule", "decides how often the task runs"),
        ({"workflow.paused": False}, "workflow.paused", "decides how often the task runs"),
        ({"workflow.workflow_kwargs.task_queue": "x"}, "workflow.workflow_kwargs.task_queue", "where the task runs"),
        (
            {"workflow.workflow_kwargs.batch.0.task_queue": "x"},
            "workflow.workflow_kwargs.batch.0.task_queue",
            "decides where the task runs",
        ),
        ({"workflow.workflow_kwargs.at_end.renew": True}, "workflow.workflow_kwargs.at_end.renew", "how often"),
    ],
)
def test_keys_that_decide_where_or_how_often_stay_a_super_users(overwrite: dict[str, Any], path: str, why: str) -> None:
    (error,) = refused(EVERYTHING, overwrite)
    assert error.startswith(f"{FILE}: {path}: {path} ")
    assert why in error and error.endswith("only a super user may overwrite it")
    doc(EVERYTHING).render(overwrite=overwrite, super_user=True)  # listed: a super user may


def test_replacing_a_mapping_above_a_guarded_key_cannot_change_it() -> None:
    attempts: list[tuple[dict[str, Any], str]] = [
        (
            {"workflow.workflow_kwargs": {"batch": [{"activity": "one"}], "task_queue": "elsewhere"}},
            "workflow.workflow_kwargs.task_queue",
        ),
        (
            {"workflow.workflow_kwargs.batch": [{"activity": "one", "task_queue": "x"}]},
            "workflow.workflow_kwargs.batch.0.task_queue",
        ),
        ({"workflow.workflow_kwargs.at_end": {"renew": True}}, "workflow.workflow_kwargs.at_end.renew"),
    ]
    for overwrite, path in attempts:
        (error,) = refused("true", overwrite)
        assert error.startswith(f"{FILE}: {path}: {path} decides"), error
    # the same mapping with the guarded values unchanged is an ordinary overwrite
    spec = doc("true").render(overwrite={"workflow.workflow_kwargs": {"args": [9], "batch": [{"activity": "two"}]}})
    assert spec.workflow.workflow_kwargs.args == [9]


def test_a_super_user_is_still_bounded_by_the_file() -> None:
    assert refused("true", {"workflow.workflow_id": "x"}, super_user=True) == [
        f"{FILE}: workflow.workflow_id: not overwritable: this task allows workflow.workflow_kwargs"
    ]
    assert refused("true", {"name": "x"}, super_user=True) == [f"{FILE}: name: 'name' cannot be overwritten"]


def test_the_list_is_validated() -> None:
    for bad in ("[name]", "[overwritable]", '["workflow..x"]', '[""]', "[1]", '"yes"'):
        with pytest.raises(SpecErrors) as caught:
            doc(bad)
        assert [e.path for e in caught.value.errors] == ["overwritable"], (bad, caught.value.errors)
    assert TaskSpec.model_json_schema()["properties"]["overwritable"]["description"].startswith("what an API deploy")
