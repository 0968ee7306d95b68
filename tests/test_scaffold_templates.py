"""The scaffold's files (package data, launchpad/templates/) are the repository's own examples:
each template with a counterpart in deployments/ or the configuration is that file, placeholders
filled as the repository fills them. One source, not two copies that drift apart."""

from __future__ import annotations

from pathlib import Path

from launchpad.scaffold import fill, project_files, project_path, templates

ROOT = Path(__file__).resolve().parents[1]
# what the placeholders are in this repository: its task queue and its code folder
REPOSITORY = {"@@queue@@": "launchpad-examples", "@@code@@": "deployments/temporal"}
# templates without a counterpart here: a project's own .gitignore and package files, and the
# schedule that `launchpad dev` shows running at once
SCAFFOLD_ONLY = {
    "gitignore",
    "deployments/tasks/hello-schedule.yaml",
    "package/__init__.py",
    "package/temporal/__init__.py",
}


def counterpart(template: str) -> Path:
    """The repository's file for a template (its code folder is deployments/temporal)."""
    return ROOT / project_path(template, "deployments")


def test_templates_equal_the_repository_files() -> None:
    compared = []
    for template, text in templates():
        if template in SCAFFOLD_ONLY:
            continue
        mine = counterpart(template)
        assert mine.is_file(), f"{template}: no {mine.relative_to(ROOT)}; add it, or list it in SCAFFOLD_ONLY"
        assert fill(text, REPOSITORY) == mine.read_text(), f"{template} differs from {mine.relative_to(ROOT)}"
        compared.append(template)
    assert {"launchpad_configs.yaml", "deployments/workers/main-worker.yaml"} <= set(compared)
    assert len(compared) == 7, compared


def test_scaffold_only_templates_exist() -> None:
    assert {template for template, _ in templates()} >= SCAFFOLD_ONLY


def test_a_project_has_every_template_filled_and_api_users() -> None:
    files = project_files("demo")
    assert set(files) == {project_path(template, "demo") for template, _ in templates()}
    assert not [path for path, text in files.items() if "@@" in text], "every placeholder is filled"
    assert files["deployments/workers/main-worker.yaml"].count("task_queue: demo-tasks") == 1
    config = files["launchpad_configs.yaml"]
    assert config.startswith(
        (ROOT / "launchpad_configs.yaml").read_text().replace("deployments/temporal", "demo/temporal")
    )
    assert "authenticator:" in config, "a project's API is not open"
