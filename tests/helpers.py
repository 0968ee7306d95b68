"""Helpers shared by the test modules: config for a dev server, the temporal CLI, YAML files."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from launchpad.config import Config, parse_config
from launchpad.devserver import DevServer, temporal_cli


def config_for(server: DevServer, extra_namespaces: str = "", more: str = "") -> Config:
    """A configuration with one server `local` pointing at the given dev server."""
    host, port = server.address.split(":")
    text = f"""
temporalio:
  servers:
    - name: local
      ip: {host}
      port: {port}
      gui_port: {server.ui_port}
{textwrap.indent(extra_namespaces, "      ")}
{more}
"""
    return parse_config(text, "test-config.yaml")


def temporal_json(server: DevServer, *args: str, namespace: str = "default") -> Any:
    """Run the `temporal` CLI (an independent client) and parse its JSON output."""
    done = subprocess.run(
        [temporal_cli(), *args, "--address", server.address, "--namespace", namespace, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"temporal {' '.join(args)} failed: {done.stderr}")
    out = done.stdout.strip()
    if not out:
        return None
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        return [json.loads(line) for line in out.splitlines() if line.strip()]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


SCHEDULE_TASK = """
name: {name}
runner: ScheduledWorkflowRunner
workflow:
  task_queue: {queue}
  workflow_id: {name}-wf
  workflow: Task
  scheduler_id: {sid}
  intervals: [{{every: {every}}}]
  workflow_kwargs: {{activity: zero}}
"""
