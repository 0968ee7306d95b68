"""Task names are file stems: what `check_name` lets through is a path inside the tasks folder."""

from __future__ import annotations

import pytest

from reconciler.deploy import TaskNotFound, check_name


def test_a_task_name_is_one_line_of_safe_characters() -> None:
    assert check_name("hello-1.2_x") == "hello-1.2_x"
    # "hello\n" passed: the pattern's `$` matches before a final newline, and a PUT committed
    # deployments/tasks/hello\n.yaml
    for name in ("hello\n", "hello\r", "hello\n\n", "../x", ".x", "x/y", "-x", "", "a" * 129):
        with pytest.raises(TaskNotFound):
            check_name(name)
