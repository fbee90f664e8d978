"""The apps' imports point one way: the simulator is a leaf, providers knows no service."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("maskednumbers", "providers", "rides", "conversations", "simulator")


def imported_apps(app: str) -> set[str]:
    """The project apps that any module of `app` imports (relative imports stay inside)."""
    found: set[str] = set()
    for path in (ROOT / app).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            found.update(name.split(".")[0] for name in names)
    return (found & set(APPS)) - {app}


@pytest.mark.parametrize(
    ("app", "forbidden"),
    [
        ("providers", {"rides", "conversations", "simulator"}),
        ("rides", {"conversations", "simulator"}),
        ("conversations", {"rides", "simulator"}),
        ("maskednumbers", {"simulator"}),
    ],
)
def test_apps_import_only_in_the_allowed_direction(app, forbidden):
    assert imported_apps(app) & forbidden == set()


def test_the_simulator_may_use_the_services_it_demonstrates():
    assert imported_apps("simulator") <= {"providers", "rides", "maskednumbers"}
