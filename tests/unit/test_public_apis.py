"""Product code uses the public API of its dependencies: no private module, class or function of
these packages is imported or reached by attribute (a `_name`; dunder names are public protocol)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("launchpad", "reconciler", "functions")
CHECKED = (
    "argon2", "boto3", "botocore", "fastapi", "git", "jinja2", "jwt", "mangum", "markupsafe", "prometheus_client",
    "pydantic", "pydantic_core", "rich", "starlette", "temporalio", "typer", "uvicorn", "yaml",
)  # fmt: skip


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def third_party(module: str) -> bool:
    return module.split(".")[0] in CHECKED


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    aliases: set[str] = set()  # names bound to a checked module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if third_party(alias.name):
                    aliases.add((alias.asname or alias.name).split(".")[0])
                    if any(private(part) for part in alias.name.split(".")):
                        found.append(f"{path}:{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and third_party(node.module):
            if any(private(part) for part in node.module.split(".")):
                found.append(f"{path}:{node.lineno}: from {node.module} import ...")
            for alias in node.names:
                if private(alias.name):
                    found.append(f"{path}:{node.lineno}: from {node.module} import {alias.name}")
                else:
                    aliases.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in aliases:
                found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("package", PRODUCT)
def test_no_private_names_of_dependencies(package: str) -> None:
    found = [v for file in sorted((ROOT / package).rglob("*.py")) for v in violations(file)]
    assert found == []


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import temporalio.activity\nfrom starlette._utils import get_route_path\nfrom fastapi import _compat\n"
        "from launchpad import _mine\nx = temporalio.activity._Definition\ny = temporalio.activity.__name__\n"
    )
    assert [v.split(": ", 1)[1] for v in violations(sample)] == [
        "from starlette._utils import ...",
        "from fastapi import _compat",
        "temporalio.activity._Definition",
    ]
