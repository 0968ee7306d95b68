"""Runners against the real dev server; options are read back with the `temporal` CLI."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey

from launchpad.temporal.runners import AlreadyRunning
from tests.conftest import ENGINE_QUEUE, Engine
from tests.helpers import temporal_json


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def task_yaml(
    name: str,
    wid: str,
    body: str = "",
    workflow: str = "Task",
    kwargs: str = "{activity: zero}",
    runner: str = "WorkflowRunner",
) -> str:
    return f"""
name: {name}
runner: {runner}
workflow:
  task_queue: {ENGINE_QUEUE}
  workflow_id: {wid}
  workflow: {workflow}
{body}
  workflow_kwargs: {kwargs}
"""


def started_event(engine: Engine, wid: str) -> dict:
    history = temporal_json(engine.server, "workflow", "show", "--workflow-id", wid)
    return history["events"][0]["workflowExecutionStartedEventAttributes"]


async def test_workflow_runner_options_land(engine: Engine) -> None:
    wid = uid("opts")
    body = """
  execution_timeout: 1h
  run_timeout: 30m
  task_timeout: 15s
  retry_policy: {initial_interval: 2s, backoff_coefficient: 3, maximum_interval: 1m, maximum_attempts: 4, non_retryable_error_types: [ValueError]}
  memo: {team: data, level: 3}
  id_reuse_policy: REJECT_DUPLICATE
"""
    result = await engine.deploy(task_yaml("opts", wid, body), "opts", version="abc123")
    assert (result.action, result.workflow_id, result.server, result.namespace) == (
        "started",
        wid,
        "local",
        "default",
    )
    assert result.run_id
    attrs = started_event(engine, wid)
    assert attrs["workflowExecutionTimeout"] == "3600s"
    assert attrs["workflowRunTimeout"] == "1800s"
    assert attrs["workflowTaskTimeout"] == "15s"
    assert attrs["retryPolicy"] == {
        "initialInterval": "2s",
        "backoffCoefficient": 3,
        "maximumInterval": "60s",
        "maximumAttempts": 4,
        "nonRetryableErrorTypes": ["ValueError"],
    }
    client = await engine.client()
    handle = client.get_workflow_handle(wid)
    memo = await (await handle.describe()).memo()
    assert memo == {"team": "data", "level": 3, "launchpad": {"task": "opts", "instance": "", "version": "abc123"}}
    assert await handle.result() == "zero"
    # REJECT_DUPLICATE: the id cannot be reused even after the run completed
    with pytest.raises(AlreadyRunning) as caught:
        await engine.deploy(task_yaml("opts", wid, body), "opts")
    assert caught.value.workflow_id == wid


async def test_a_running_id_is_a_typed_error(engine: Engine) -> None:
    wid = uid("busy")
    text = task_yaml("busy", wid, workflow="AwaitedTask")
    await engine.deploy(text, "busy")
    with pytest.raises(AlreadyRunning, match=wid):
        await engine.deploy(text, "busy")
    await (await engine.client()).get_workflow_handle(wid).terminate()


async def test_terminate_if_running_maps_to_terminate_existing(engine: Engine) -> None:
    wid = uid("term")
    text = task_yaml("term", wid, "  id_reuse_policy: TERMINATE_IF_RUNNING", workflow="AwaitedTask")
    first = await engine.deploy(text, "term")
    second = await engine.deploy(text, "term")
    client = await engine.client()
    old = await client.get_workflow_handle(wid, run_id=first.run_id).describe()
    assert old.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED
    new = await client.get_workflow_handle(wid).describe()
    assert new.run_id == second.run_id and new.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    await client.get_workflow_handle(wid).terminate()


async def test_signal_with_start(engine: Engine) -> None:
    wid = uid("sws")
    body = "  start_signal: start\n  start_signal_args: [4, 5, 6]"
    await engine.deploy(
        task_yaml("sws", wid, body, workflow="AwaitedTask", kwargs="{activity: three, args: [0, 0, 0]}"),
        "sws",
    )
    assert await (await engine.client()).get_workflow_handle(wid).result() == [4, 5, 6]


async def test_start_delay_and_search_attributes(engine: Engine) -> None:
    wid = uid("delay")
    body = "  start_delay: 1h\n  search_attributes: {LaunchpadTask: delay}"
    await engine.deploy(task_yaml("delay", wid, body), "delay")
    attrs = started_event(engine, wid)
    assert attrs["firstWorkflowTaskBackoff"] == "3600s"
    described = await (await engine.client()).get_workflow_handle(wid).describe()
    assert described.typed_search_attributes.get(SearchAttributeKey.for_keyword("LaunchpadTask")) == "delay"
    await (await engine.client()).get_workflow_handle(wid).terminate()


async def test_temp_worker_runner_returns_the_result(engine: Engine) -> None:
    text = f"""
name: temp
runner: WorkflowRunnerWithTempWorker
workflow:
  workflow_id: {uid("temp")}
  workflow: BatchTask
  execution_timeout: 30s
  workflow_kwargs:
    batch:
      - {{activity: sync_add, args: [20, 22]}}
      - {{activity: one, args: [x]}}
"""
    result = await engine.deploy(text, "temp")
    assert result.action == "completed" and result.result == [42, {"one": "x"}]
    queue = started_event(engine, result.workflow_id)["taskQueue"]["name"]
    assert queue.startswith("launchpad-temp-") and queue != ENGINE_QUEUE


async def test_custom_runner_by_name(engine: Engine) -> None:
    wid = uid("custom")
    result = await engine.deploy(task_yaml("custom", wid, runner="TaggingRunner"), "custom")
    assert result.runner == "TaggingRunner"
    memo = await (await (await engine.client()).get_workflow_handle(wid).describe()).memo()
    assert memo["tagged_by"] == "TaggingRunner"
