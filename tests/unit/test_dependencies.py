"""The dependency graph: levels (the apply's order) and cycles (validate's refusal), without I/O."""

from __future__ import annotations

from launchpad.spec.dependencies import check_files, cycles, describe, levels


def test_levels_follow_dependencies_and_leave_out_cycles() -> None:
    graph = {"a": [], "b": ["a"], "c": ["a", "b"], "d": ["e"], "e": ["d"], "f": ["d"], "g": ["outside"]}
    assert levels(graph) == {"a": 0, "b": 1, "c": 2, "g": 0}


def test_each_cycle_once_from_its_smallest_name() -> None:
    graph = {"c": ["a"], "a": ["b"], "b": ["c"], "s": ["s"], "x": ["y"], "y": []}
    assert cycles(graph) == [["a", "b", "c"], ["s"]]
    assert describe(["a", "b", "c"]) == "dependency cycle: a → b → c → a"


def test_a_long_chain_needs_no_recursion() -> None:
    graph = {f"t{i}": [f"t{i + 1}"] for i in range(5000)} | {"t5000": ["t0"]}
    [cycle] = cycles(graph)
    assert len(cycle) == 5001 and cycle[0] == "t0"


def test_validate_names_unknown_and_unreconciled_dependencies() -> None:
    schedule = {"runner": "ScheduledWorkflowRunner", "workflow": {"scheduler_id": "s"}}
    tasks = {
        "a": ("a.yaml", {**schedule, "depends_on": ["manual", "ghost"]}),
        "manual": ("manual.yaml", {"runner": "WorkflowRunner"}),
        "tpl": ("tpl.yaml", {**schedule, "template": True}),
        "b": ("b.yaml", {**schedule, "depends_on": ["tpl"]}),
    }
    assert [(e.file, e.path, e.message.split(":")[0]) for e in check_files(tasks)] == [
        ("a.yaml", "depends_on.0", "'manual' is not reconciled (neither a schedule nor deploy_on_server_start)"),
        ("a.yaml", "depends_on.1", "no task named 'ghost'"),
        ("b.yaml", "depends_on.0", "'tpl' is not reconciled (neither a schedule nor deploy_on_server_start)"),
    ]
