"""The package's import graph: no circles, and no arrow up the layers.

Every import counts, lazy and TYPE_CHECKING ones too: a circle that only the type checker walks
is still two modules that cannot be understood apart. The layers, lowest first: the pure domain;
the adapters and the shared plumbing (configuration sections, observability); the destination
plugins; the configuration (which composes the plugins' sections); the composition root
(`wiring`); the Lambda handlers. A module imports its own layer or those below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "run_notifier" / "run_notifier"
LAYERS = {
    "domain": 0,
    "adapters": 1,
    "config_sections": 1,
    "observability": 1,
    "observability_table": 1,
    "snapstart": 1,
    "destinations": 2,
    "config": 3,
    "wiring": 4,
    "sqs_handler": 5,
    "function_url_handler": 5,
    "schedule_handler": 5,
}


def _modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in root.rglob("*.py"):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module → the package's modules it imports (`from pkg import submodule` counts the submodule only)."""
    modules = _modules(root)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join([*base, node.module] if node.module else base)
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    targets.append(sub if sub in modules else module)
            for target in targets:
                resolved = known(target) if target.startswith(root.name) else None
                if resolved and resolved != name:
                    found.add(resolved)
        graph[name] = found
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 else max(LAYERS.values()) + 1


def upward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return [(m, d) for m, deps in sorted(graph.items()) for d in sorted(deps) if _layer(d) > _layer(m)]


GRAPH = import_graph(PACKAGE)


def test_every_module_has_a_layer():
    assert {m.split(".")[1] for m in GRAPH if "." in m} <= set(LAYERS)


def test_no_import_circles():
    assert circles(GRAPH) == []


def test_no_arrow_points_up_the_layers():
    assert upward(GRAPH) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a.py": "from pkg import b", "b.py": "from pkg import a"}, [["pkg.a", "pkg.b"]]),
        (
            {"a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.b", "b.py": "import pkg.a"},
            [["pkg.a", "pkg.b"]],
        ),
        ({"a.py": "from pkg import b", "b.py": "x = 1"}, []),
        ({"__init__.py": "from pkg.a import x", "a.py": "from pkg import b\nx = 1", "b.py": ""}, []),
    ],
)
def test_the_check_finds_a_circle_even_one_only_the_type_checker_walks(tmp_path, files, expected):
    root = tmp_path / "pkg"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    assert circles(import_graph(root)) == expected
