"""Built-in workflows, run by a real worker on the real dev server."""

from __future__ import annotations

import sys
import uuid
from typing import Any

from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.client import Client, WorkflowHandle

from tests.conftest import ENGINE_QUEUE, SECOND_NAMESPACE, Engine
from tests.helpers import eventually, temporal_json


def recorded_calls(engine: Engine) -> list[str]:
    """CALLS of the activities module as the registry loaded it (the copy the worker runs)."""
    record = engine.registry.get("activity", "record")
    return sys.modules[record.__module__].CALLS


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def start(client: Client, workflow: str, kwargs: dict[str, Any], wid: str | None = None) -> WorkflowHandle:
    return await client.start_workflow(workflow, kwargs, id=wid or uid(workflow.lower()), task_queue=ENGINE_QUEUE)


async def wait_for_state(handle: WorkflowHandle, state: str, timeout: float = 10) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        status: dict[str, Any] = await handle.query("status")
        return status if status["state"] == state else None

    return await eventually(reached, timeout, f"{handle.id} in state {state}")


async def test_task_calls_activities_with_0_1_and_3_arguments(engine: Engine) -> None:
    client = await engine.client()
    assert await (await start(client, "Task", {"activity": "zero"})).result() == "zero"
    assert await (await start(client, "Task", {"activity": "one", "args": [[1, 2]]})).result() == {"one": [1, 2]}
    assert await (await start(client, "Task", {"activity": "three", "args": [1, 2, 3]})).result() == [1, 2, 3]


async def test_sync_and_async_activities(engine: Engine) -> None:
    client = await engine.client()
    assert await (await start(client, "Task", {"activity": "sync_add", "args": [2, 40]})).result() == 42
    handle = await start(client, "Task", {"activity": "one", "args": ["async"]})
    assert await handle.result() == {"one": "async"}
    assert (await handle.query("status")) == {
        "state": "completed",
        "results": [{"one": "async"}],
        "errors": [],
    }


async def test_awaited_task_waits_for_start_and_takes_its_args(engine: Engine) -> None:
    client = await engine.client()
    handle = await start(client, "AwaitedTask", {"activity": "three", "args": [0, 0, 0]})
    await wait_for_state(handle, "waiting")
    await handle.signal("start", args=[7, 8, 9])
    assert await handle.result() == [7, 8, 9]


async def test_awaited_task_exit_ends_without_running(engine: Engine) -> None:
    client = await engine.client()
    key = uid("never")
    handle = await start(client, "AwaitedTask", {"activity": "record", "args": [key]})
    await wait_for_state(handle, "waiting")
    await handle.signal("exit")
    assert await handle.result() is None
    assert (await handle.query("status"))["state"] == "exited"
    assert key not in recorded_calls(engine)


async def test_batch_task_runs_in_order_and_returns_results(engine: Engine) -> None:
    client = await engine.client()
    batch = [
        {"activity": "zero"},
        {"activity": "sync_add", "args": [1, 1]},
        {"activity": "three", "args": [3, 2, 1], "start_to_close_timeout": 5},
    ]
    assert await (await start(client, "BatchTask", {"batch": batch})).result() == ["zero", 2, [3, 2, 1]]


async def test_awaited_batch_task(engine: Engine) -> None:
    client = await engine.client()
    handle = await start(
        client, "AwaitedBatchTask", {"batch": [{"activity": "zero"}, {"activity": "one", "args": [1]}]}
    )
    await wait_for_state(handle, "waiting")
    await handle.signal("start")
    assert await handle.result() == ["zero", {"one": 1}]


async def test_chain_with_at_start_and_at_end(engine: Engine) -> None:
    client = await engine.client()
    first = await start(client, "AwaitedTask", {"activity": "three", "args": [0, 0, 0]})
    second = await start(client, "AwaitedTask", {"activity": "one", "args": ["unchanged"]})
    await wait_for_state(first, "waiting")
    await wait_for_state(second, "waiting")
    chain = {
        "activity": "zero",
        "at_start": {
            "chain_with": [
                {"handle": {"workflow_id": first.id}, "signal": {"signal": "start", "signal_args": [1, 2, 3]}}
            ]
        },
        "at_end": {
            "chain_with": [
                {
                    "handle": {"workflow_id": second.id},
                    "signal": {"signal": "start", "signal_args": ["from-end"]},
                }
            ]
        },
    }
    assert await (await start(client, "Task", chain)).result() == "zero"
    assert await first.result() == [1, 2, 3]
    assert await second.result() == {"one": "from-end"}


async def test_chain_with_a_missing_target_is_recorded_not_fatal(engine: Engine) -> None:
    client = await engine.client()
    kwargs = {
        "activity": "zero",
        "at_end": {"chain_with": [{"handle": {"workflow_id": uid("ghost")}, "signal": {"signal": "start"}}]},
    }
    handle = await start(client, "Task", kwargs)
    assert await handle.result() == "zero"
    status = await handle.query("status")
    assert len(status["errors"]) == 1 and "ghost" in status["errors"][0]


async def test_renew_continues_as_new(engine: Engine) -> None:
    client = await engine.client()
    handle = await start(client, "AwaitedTask", {"activity": "zero", "at_end": {"renew": True}})
    first_run = (await handle.describe()).run_id
    await wait_for_state(handle, "waiting")
    await handle.signal("start")

    async def renewed() -> bool:
        return (await client.get_workflow_handle(handle.id).describe()).run_id != first_run

    await eventually(renewed, 10, "a new run")
    old = await client.get_workflow_handle(handle.id, run_id=first_run).describe()
    assert old.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
    new = client.get_workflow_handle(handle.id)
    assert (await wait_for_state(new, "waiting"))["results"] == []
    await new.terminate("test done")


async def test_dispatcher_runs_queued_tasks_as_children_and_continues_as_new(engine: Engine) -> None:
    client = await engine.client()
    dispatcher = await start(client, "TaskDispatcher", {"items_per_run": 2})
    first_run = (await dispatcher.describe()).run_id
    children = [uid(f"child{i}") for i in range(3)]
    for i, child in enumerate(children):
        task = {"workflow": "Task", "workflow_id": child, "workflow_kwargs": {"activity": "one", "args": [i]}}
        await dispatcher.signal("queue", task)
    await client.get_workflow_handle(dispatcher.id).signal("exit")
    assert await client.get_workflow_handle(dispatcher.id).result() == 3
    for i, child in enumerate(children):
        assert await client.get_workflow_handle(child).result() == {"one": i}
        assert (await client.get_workflow_handle(child).describe()).parent_id == dispatcher.id
    old = await client.get_workflow_handle(dispatcher.id, run_id=first_run).describe()
    assert old.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW


async def test_custom_workflow_on_base_workflow(engine: Engine) -> None:
    client = await engine.client()
    assert await (await start(client, "Twice", {"activity": "sync_add", "args": [1, 2]})).result() == [3, 3]


async def test_two_namespaces_on_one_server(engine: Engine) -> None:
    result = await engine.deploy(
        f"""
        name: second-ns
        runner: WorkflowRunner
        namespace: {SECOND_NAMESPACE}
        workflow:
          task_queue: {ENGINE_QUEUE}
          workflow_id: {uid("second")}
          workflow: Task
          workflow_kwargs: {{activity: one, args: [ns]}}
        """,
        "second-ns",
    )
    assert result.namespace == SECOND_NAMESPACE
    client = await engine.client(SECOND_NAMESPACE)
    assert await client.get_workflow_handle(result.workflow_id).result() == {"one": "ns"}
    described = temporal_json(
        engine.server, "workflow", "describe", "--workflow-id", result.workflow_id, namespace=SECOND_NAMESPACE
    )
    assert described["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"
    listed = temporal_json(engine.server, "workflow", "list", "--query", f"WorkflowId='{result.workflow_id}'")
    assert not listed, "the run must not exist in the default namespace"
