"""Users' components: discovery by name, duplicates, import failures, reference checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchpad.registry import ComponentError, Registry
from launchpad.spec.catalog import load_catalog
from tests.conftest import CODE
from tests.helpers import write

ACTIVITY = """
from temporalio import activity

@activity.defn(name="{name}")
async def fn() -> str:
    return "{value}"
"""


def test_discovers_activities_workflows_and_runners() -> None:
    registry = Registry.builtin()
    registry.load_paths([CODE])
    assert {"zero", "one", "three", "sync_add", "record"} <= registry.names("activity")
    assert {
        "Task",
        "AwaitedTask",
        "BatchTask",
        "AwaitedBatchTask",
        "TaskDispatcher",
        "Twice",
    } <= registry.names("workflow")
    assert {
        "WorkflowRunner",
        "ScheduledWorkflowRunner",
        "WorkflowRunnerWithTempWorker",
        "TaggingRunner",
    } <= registry.names("runner")
    assert "DeployResult" not in registry.names("runner"), "imported names are not the module's own components"


def test_same_name_in_two_files_names_both(tmp_path: Path) -> None:
    first = write(tmp_path / "a.py", ACTIVITY.format(name="dup", value="a"))
    second = write(tmp_path / "b.py", ACTIVITY.format(name="dup", value="b"))
    registry = Registry()
    registry.load_paths([tmp_path])
    assert str(first) in str(registry.components[("activity", "dup")].source)
    assert str(second) in registry.module_errors
    assert str(first) in registry.module_errors[str(second)] and "defined twice" in registry.module_errors[str(second)]


def test_failing_module_is_reported_and_the_last_good_version_keeps_working(tmp_path: Path) -> None:
    module = write(tmp_path / "acts.py", ACTIVITY.format(name="stable", value="v1"))
    registry = Registry()
    registry.load_paths([tmp_path])
    good = registry.get("activity", "stable")
    module.write_text(ACTIVITY.format(name="stable", value="v2") + "\nraise RuntimeError('broken on purpose')\n")
    registry.load_paths([tmp_path])
    assert "RuntimeError: broken on purpose (at " in registry.module_errors[str(module)]
    assert "acts.py:" in registry.module_errors[str(module)]
    assert registry.get("activity", "stable") is good


def test_reload_picks_up_new_code(tmp_path: Path) -> None:
    module = write(tmp_path / "acts.py", ACTIVITY.format(name="old_name", value="v1"))
    registry = Registry()
    registry.load_paths([tmp_path])
    module.write_text(ACTIVITY.format(name="new_name", value="v2"))
    registry.load_paths([tmp_path])
    assert "new_name" in registry.names("activity") and "old_name" not in registry.names("activity")


def test_unknown_component_error_lists_known_ones() -> None:
    with pytest.raises(ComponentError, match="unknown workflow 'Nope'; known: AwaitedBatchTask, AwaitedTask"):
        Registry.builtin().get("workflow", "Nope")


def test_references_to_missing_components_are_reported(tmp_path: Path) -> None:
    write(
        tmp_path / "tasks/t.yaml",
        """
        name: t
        runner: MyRunner
        workflow:
          task_queue: q
          workflow_id: t
          workflow: Taks
          workflow_kwargs: {activity: zero}
        """,
    )
    write(
        tmp_path / "workers/w.yaml",
        "worker:\n  task_queue: q\n  workflows: [Task]\n  activities: [zero, missing]\n",
    )
    registry = Registry.builtin()
    registry.load_paths([CODE])
    catalog = load_catalog([tmp_path / "tasks", tmp_path / "workers"], env={}, base=tmp_path)
    assert not catalog.errors
    assert sorted(str(e) for e in catalog.check_components(registry.names)) == [
        "tasks/t.yaml: runner: unknown runner 'MyRunner'",
        "tasks/t.yaml: workflow.workflow: unknown workflow 'Taks'",
        "workers/w.yaml: worker.activities.1: unknown activity 'missing'",
    ]
