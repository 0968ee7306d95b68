"""`launchpad validate` and `launchpad schema`, run as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import run_launchpad, write

ROOT = Path(__file__).resolve().parents[1]


def launchpad(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return run_launchpad(*args, cwd=cwd)


def test_validate_examples_pass() -> None:
    done = launchpad("validate")
    assert done.returncode == 0, done.stderr
    assert "ok:" in done.stdout


def test_validate_broken_file_names_file_and_key(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "deployments", tmp_path / "deployments")
    shutil.copy(ROOT / "launchpad_configs.yaml", tmp_path)
    write(
        tmp_path / "deployments/tasks/broken.yaml",
        """
        name: broken
        runner: WorkflowRunner
        workflow:
          task_queue: q
          workflow_id: b
          workflow: Task
          execution_timeout: forever
          workflow_kwargs: {activity: say_hello}
        """,
    )
    done = launchpad("validate", cwd=tmp_path)
    assert done.returncode == 1
    assert "deployments/tasks/broken.yaml: workflow.execution_timeout: invalid duration 'forever'" in done.stderr


def test_validate_given_paths(tmp_path: Path) -> None:
    bad = write(tmp_path / "w.yaml", "worker:\n  task_queue: q\n  bogus: 1\n")
    done = launchpad("validate", str(bad))
    assert done.returncode == 1 and "w.yaml: worker.bogus: unknown key" in done.stderr


def test_schema_writes_json_schemas(tmp_path: Path) -> None:
    done = launchpad("schema", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    task = json.loads((tmp_path / "task.schema.json").read_text())
    assert task["additionalProperties"] is False
    assert {"name", "runner", "workflow"} <= set(task["properties"])
    assert set(json.loads((tmp_path / "worker.schema.json").read_text())["properties"]) >= {"worker"}


def test_validate_reports_unknown_components(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "deployments", tmp_path / "deployments")
    shutil.copy(ROOT / "launchpad_configs.yaml", tmp_path)
    worker = tmp_path / "deployments/workers/main-worker.yaml"
    worker.write_text(worker.read_text().replace("say_hello, add", "say_hello, add, subtract"))
    done = launchpad("validate", cwd=tmp_path)
    assert done.returncode == 1
    assert "deployments/workers/main-worker.yaml: worker.activities.2: unknown activity 'subtract'" in done.stderr


def test_the_reference_is_generated_from_the_schemas() -> None:
    from launchpad.reference import reference

    assert (ROOT / "docs/reference.md").read_text() == reference(), (
        "run: launchpad schema --reference docs/reference.md"
    )


def test_the_command_leaves_without_interpreter_finalization() -> None:
    """After a command, the process exits at once (exit code kept, output flushed): the Temporal
    SDK's native threads can abort a finalizing interpreter, which made a `launchpad deploy` that
    had succeeded exit -6 in CI (temporalio/sdk-python#300)."""
    script = (
        "import atexit, sys; atexit.register(lambda: print('finalized')); "
        "sys.argv = ['launchpad', 'setup']; "
        "from launchpad.cli import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "finalized" not in done.stdout and "give --name" in done.stderr
