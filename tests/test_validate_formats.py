"""`launchpad validate --format github|json`: errors a CI can point at, at the right line and column
(and the reconciler's own file errors, which `plan --ref` reports, with theirs)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from launchpad.errors import SpecErrors
from launchpad.spec.document import TaskDocument
from launchpad.spec.positions import position
from reconciler.desired import load_desired
from reconciler.source import GitSource
from tests.gitrepo import GitRepo
from tests.helpers import run_launchpad, write

TASK = """
name: {name}
runner: ScheduledWorkflowRunner
workflow:
  task_queue: q
  workflow_id: {name}-wf
  workflow: Task
  scheduler_id: {name}
  intervals: [{{every: 1h}}]
  workflow_kwargs:
    activity: say_hello
    start_to_close_timeout: {timeout}
{more}"""


def task(name: str, timeout: str = "30s", more: str = "") -> str:
    return TASK.format(name=name, timeout=timeout, more=more)


def launchpad(cwd: Path, *args: str, config: str = "") -> subprocess.CompletedProcess[str]:
    """`launchpad validate ARGS` in `cwd`, its configuration the code's folders and then `config`."""
    (cwd / "deployments/workers").mkdir(parents=True, exist_ok=True)
    write(
        cwd / "acts.py",
        "from temporalio import activity\n\n\n@activity.defn\ndef say_hello() -> str:\n    return 'hi'\n",
    )
    write(cwd / "launchpad_configs.yaml", "watcher: {modules: {activities: {basepaths: [acts.py]}}}\n" + config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHPAD_", "CONFIGS_FILEPATH", "GITHUB_"))}
    return run_launchpad("validate", *args, cwd=cwd, env=env)


def test_github_annotations_point_at_a_syntax_error_and_a_schema_error_three_levels_deep(tmp_path: Path) -> None:
    write(tmp_path / "deployments/tasks/deep.yaml", task("deep", timeout="soon"))
    write(tmp_path / "deployments/tasks/syntax.yaml", "name: syntax\nworkflow: [unclosed\nrunner: x\n")
    write(tmp_path / "deployments/tasks/fine.yaml", task("fine"))
    done = launchpad(tmp_path, "--format", "github")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "::error file=deployments/tasks/deep.yaml,line=11,col=5,title=launchpad%3A "
        "workflow.workflow_kwargs.start_to_close_timeout::workflow.workflow_kwargs.start_to_close_timeout: "
        "invalid duration 'soon': use seconds, ISO 8601 (PT1H30M) or 1h30m",
        "::error file=deployments/tasks/syntax.yaml,line=3,col=7,title=launchpad%3A line 3::line 3: "
        "invalid YAML: did not find expected ',' or ']'",
    ]


def test_json_is_a_list_with_positions_and_an_empty_list_when_valid(tmp_path: Path) -> None:
    write(tmp_path / "deployments/tasks/deep.yaml", task("deep", more="sync: {suspend: yes, pruning: false}\n"))
    done = launchpad(tmp_path, "--format", "json")
    assert done.returncode == 1
    assert json.loads(done.stdout) == [
        {
            "file": "deployments/tasks/deep.yaml",
            "line": 12,
            "column": 22,
            "path": "sync.pruning",
            "message": "unknown key (typo?)",
        }
    ]
    write(tmp_path / "deployments/tasks/deep.yaml", task("deep"))
    valid = launchpad(tmp_path, "--format", "json")
    assert valid.returncode == 0 and json.loads(valid.stdout) == []


def test_configuration_errors_come_out_as_annotations_and_a_json_list_at_the_config_file(tmp_path: Path) -> None:
    write(tmp_path / "deployments/tasks/fine.yaml", task("fine"))
    bad = "reconciler:\n  drift_interval: soon\n  pruning: false\n"
    as_json = launchpad(tmp_path, "--format", "json", config=bad)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == [
        {
            "file": "launchpad_configs.yaml",
            "line": 3,
            "column": 3,
            "path": "reconciler.drift_interval",
            "message": "invalid duration 'soon': use seconds, ISO 8601 (PT1H30M) or 1h30m",
        },
        {
            "file": "launchpad_configs.yaml",
            "line": 4,
            "column": 3,
            "path": "reconciler.pruning",
            "message": "unknown key (typo?)",
        },
    ]
    annotations = launchpad(tmp_path, "--format", "github", config=bad)
    assert annotations.returncode == 1
    assert annotations.stdout.splitlines() == [
        "::error file=launchpad_configs.yaml,line=3,col=3,title=launchpad%3A reconciler.drift_interval::"
        "reconciler.drift_interval: invalid duration 'soon': use seconds, ISO 8601 (PT1H30M) or 1h30m",
        "::error file=launchpad_configs.yaml,line=4,col=3,title=launchpad%3A reconciler.pruning::"
        "reconciler.pruning: unknown key (typo?)",
    ]


def test_a_task_defined_twice_is_reported_at_the_second_files_name_key(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path)
    repo.write("deployments/tasks/a.yaml", task("a"))
    repo.write("deployments/tasks/more/a.yaml", "# a copy, in a subfolder\n" + task("a"))
    revision = repo.commit()
    source = GitSource(str(repo.remote), "main", tmp_path / "cache")
    assert source.fetch() == revision
    desired = load_desired(source, revision, source.files(revision, ["deployments/tasks"]), [], "")
    assert [(e.file, e.path, e.message, e.line, e.column) for e in desired.errors] == [
        ("deployments/tasks/more/a.yaml", "name", "schedule 'a' is also defined in deployments/tasks/a.yaml", 3, 1)
    ]


def test_a_dependency_cycle_and_an_unknown_dependency_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "deployments/tasks/a.yaml", task("a", more="depends_on: [b]\n"))
    write(tmp_path / "deployments/tasks/b.yaml", task("b", more="depends_on: [c]\n"))
    write(tmp_path / "deployments/tasks/c.yaml", task("c", more="depends_on: [a]\n"))
    write(tmp_path / "deployments/tasks/d.yaml", task("d", more="depends_on:\n  - a\n  - nobody\n"))
    done = launchpad(tmp_path, "--format", "json")
    assert done.returncode == 1
    found = [(e["file"].rsplit("/", 1)[-1], e["line"], e["path"], e["message"]) for e in json.loads(done.stdout)]
    assert found == [
        ("d.yaml", 14, "depends_on.1", "no task named 'nobody'"),
        ("a.yaml", 12, "depends_on", "dependency cycle: a → b → c → a"),
        ("b.yaml", 12, "depends_on", "dependency cycle: a → b → c → a"),
        ("c.yaml", 12, "depends_on", "dependency cycle: a → b → c → a"),
    ]


def test_depends_on_a_task_the_reconciler_does_not_manage_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "deployments/tasks/a.yaml", task("a", more="depends_on: [manual]\n"))
    manual = task("manual").replace("ScheduledWorkflowRunner", "WorkflowRunner").replace("  scheduler_id: manual\n", "")
    write(tmp_path / "deployments/tasks/manual.yaml", manual.replace("  intervals: [{every: 1h}]\n", ""))
    done = launchpad(tmp_path)
    assert done.returncode == 1
    assert "a.yaml: depends_on.0: 'manual' is not reconciled" in done.stderr and "(line 12, column 14)" in done.stderr


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        ("a:\n  b:\n    c: 1\n", "a.b.c", (3, 5)),
        ("a:\n  - x\n  - {b: 1}\n", "a.1.b", (3, 6)),
        ("x: 0\na:\n  b: 1\n", "a.missing.deeper", (2, 1)),  # a missing key: its deepest existing parent
        ("a: 1\n", "<root>", (1, 1)),
    ],
)
def test_positions(text: str, path: str, expected: tuple[int, int]) -> None:
    assert position(text, path) == expected


def test_sync_keys_are_refused_on_tasks_the_reconciler_does_not_manage() -> None:
    text = task("x", more="sync: {suspend: true}\nignore_differences: [spec.jitter]\n").replace(
        "ScheduledWorkflowRunner", "WorkflowRunner"
    )
    with pytest.raises(SpecErrors) as caught:
        TaskDocument.parse(text, "deployments/tasks/x.yaml", env={})
    assert [(e.path, e.message, e.line) for e in caught.value.errors] == [
        (
            "sync",
            "applies to reconciled tasks only (runner ScheduledWorkflowRunner, or deploy_on_server_start: true)",
            13,
        ),
        ("ignore_differences", "applies to schedules only (runner ScheduledWorkflowRunner)", 14),
    ]


def test_the_task_schema_and_the_reference_have_the_new_keys() -> None:
    from launchpad.reference import reference
    from launchpad.schema import json_schema

    schema = json_schema("task")
    assert {"sync", "ignore_differences", "depends_on"} <= set(schema["properties"])
    assert set(schema["$defs"]["SyncPolicy"]["properties"]) == {"suspend", "self_heal", "prune"}
    assert "spec.jitter" in schema["properties"]["ignore_differences"]["items"]["enum"]
    text = reference()
    assert "| `depends_on` |" in text and "### task: `SyncPolicy`" in text
