"""The rule the tree shows: the domain imports only the domain and the standard library.

Everything with I/O (boto3, urllib3, Powertools, the adapters, the configuration) reaches the
domain through the ports in `run_notifier/domain/ports.py`, composed in `wiring.py`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "layers" / "run_notifier" / "run_notifier" / "domain"


def imported_modules(source: str) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import stays inside the package it is written in
                modules.add("run_notifier.domain")
            elif node.module:
                modules.add(node.module)
    return modules


def forbidden(modules: set[str]) -> set[str]:
    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        return (
            name == "run_notifier.domain"
            or name.startswith("run_notifier.domain.")
            or (top in sys.stdlib_module_names and top != "run_notifier")
        )

    return {name for name in modules if not allowed(name)}


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_only_domain_and_standard_library(path: Path):
    assert forbidden(imported_modules(path.read_text())) == set()


@pytest.mark.parametrize(
    "line",
    [
        "import boto3",
        "from urllib3 import PoolManager",
        "from aws_lambda_powertools import Logger",
        "from run_notifier.adapters.http_client import HttpClient",
        "from run_notifier.config import Settings",
        "from run_notifier import wiring",
        "import run_notifier.observability",
    ],
)
def test_the_rule_catches_an_outside_import_added_to_a_domain_module(line: str):
    source = (DOMAIN / "watcher.py").read_text() + "\n" + line + "\n"
    assert forbidden(imported_modules(source)) != set()


def test_the_domain_has_modules_to_check():
    assert {"watcher.py", "notifier.py", "routing.py", "ports.py"} <= {p.name for p in DOMAIN.glob("*.py")}
