"""`.pre-commit-config.yaml` runs the checks of scripts/test (ruff, ruff format, mypy) with the
project's own tools, so a commit meets the same bar as CI and pre-commit downloads nothing."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_hooks_run_the_test_commands_with_the_venv_tools() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert [repo["repo"] for repo in config["repos"]] == ["local"], "nothing to download"
    assert set(hooks) == {"ruff", "ruff-format", "mypy"}
    commands = {hook_id: hook["entry"].split()[:3] for hook_id, hook in hooks.items()}
    assert commands == {
        "ruff": [".venv/bin/ruff", "check", "--fix"],
        "ruff-format": [".venv/bin/ruff", "format"],
        "mypy": [".venv/bin/mypy"],
    }
    assert hooks["mypy"]["pass_filenames"] is False, "mypy checks the configured packages whole, as scripts/test"
    test_script = (ROOT / "scripts/test").read_text()
    for tool in ("ruff check", "ruff format", "mypy"):
        assert f".venv/bin/{tool}" in test_script
    for hook in hooks.values():
        tool = ROOT / hook["entry"].split()[0]
        assert tool.is_file() and os.access(tool, os.X_OK), f"{tool} is installed by scripts/bootstrap"
