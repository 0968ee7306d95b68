"""The options of a workflow start, from a rendered task: what `Client.start_workflow` receives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from launchpad.spec.task import TaskSpec
from launchpad.temporal.memo import MARKER, marker
from launchpad.temporal.workflows import retry_policy


def workflow_input(task: TaskSpec) -> dict[str, Any]:
    """The one argument every launchpad-started workflow receives: its `workflow_kwargs`."""
    return task.workflow.workflow_kwargs.model_dump(mode="json", exclude_none=True)


def search_attributes(values: dict[str, Any]) -> TypedSearchAttributes:
    """Typed search attributes, the key type taken from the value's Python type."""
    pairs: list[SearchAttributePair[Any]] = []
    for name, value in values.items():
        if isinstance(value, bool):
            pairs.append(SearchAttributePair(SearchAttributeKey.for_bool(name), value))
        elif isinstance(value, int):
            pairs.append(SearchAttributePair(SearchAttributeKey.for_int(name), value))
        elif isinstance(value, float):
            pairs.append(SearchAttributePair(SearchAttributeKey.for_float(name), value))
        elif isinstance(value, datetime):
            pairs.append(SearchAttributePair(SearchAttributeKey.for_datetime(name), value))
        elif isinstance(value, list):
            pairs.append(SearchAttributePair(SearchAttributeKey.for_keyword_list(name), [str(v) for v in value]))
        else:
            pairs.append(SearchAttributePair(SearchAttributeKey.for_keyword(name), str(value)))
    return TypedSearchAttributes(pairs)


def id_policies(task: TaskSpec) -> dict[str, Any]:
    """`TERMINATE_IF_RUNNING` is deprecated: it becomes ALLOW_DUPLICATE + TERMINATE_EXISTING."""
    wf = task.workflow
    options: dict[str, Any] = {}
    if wf.id_reuse_policy == "TERMINATE_IF_RUNNING":
        options["id_reuse_policy"] = WorkflowIDReusePolicy.ALLOW_DUPLICATE
        options["id_conflict_policy"] = WorkflowIDConflictPolicy.TERMINATE_EXISTING
    elif wf.id_reuse_policy:
        options["id_reuse_policy"] = WorkflowIDReusePolicy[wf.id_reuse_policy]
    if wf.id_conflict_policy:
        options["id_conflict_policy"] = WorkflowIDConflictPolicy[wf.id_conflict_policy]
    return options


def start_options(task: TaskSpec, version: str | None = None, instance: str = "") -> dict[str, Any]:
    """Every `Client.start_workflow` keyword a task file can set (and the marker of `instance`)."""
    wf = task.workflow
    options: dict[str, Any] = {
        "id": wf.workflow_id,
        "task_queue": wf.task_queue,
        "execution_timeout": wf.execution_timeout,
        "run_timeout": wf.run_timeout,
        "task_timeout": wf.task_timeout,
        "retry_policy": retry_policy(wf.retry_policy),
        "cron_schedule": wf.cron_schedule or "",
        "memo": {**wf.memo, MARKER: marker(task, version, instance)},
        "request_eager_start": wf.request_eager_start,
        "rpc_metadata": wf.rpc_metadata,
        "rpc_timeout": wf.rpc_timeout,
        "start_delay": wf.start_delay,
        **id_policies(task),
    }
    if wf.search_attributes:
        options["search_attributes"] = search_attributes(wf.search_attributes)
    if wf.start_signal:
        options["start_signal"] = wf.start_signal
        options["start_signal_args"] = wf.start_signal_args
    return options
