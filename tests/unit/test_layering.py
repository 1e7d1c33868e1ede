"""The package's import graph flows one way: commands and enforcement -> decision -> document, with no cycle.

Every import of the package counts, including those inside functions and under ``TYPE_CHECKING``: a
deferred import hides a circle from Python, not from the reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import airflow_policies

PACKAGE = Path(airflow_policies.__file__).parent

#: Each part of the package and the layer it sits in: a part may import its own modules and lower layers only.
LAYERS = {
    "exceptions": 0,
    "_files": 1,
    "_paths": 1,
    "document": 2,
    "_config": 3,
    "decision": 4,
    "posture": 5,
    "policy": 6,
    "enforcement": 6,
    "local": 7,
    "ui": 7,
    "commands": 8,
    "cli": 9,
    "provider_info": 9,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative imports: resolve against this module's package
                package = module.split(".")[: -node.level] if path.name != "__init__.py" else module.split(".")
                base = ".".join([*package, node.module])
            found.add(base)
            # ``from airflow_policies.decision import metrics`` imports a module, not a name.
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "airflow_policies"}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {i for i in _imports(path, name) if i in modules and i != name} for name, path in modules.items()}


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(m) for m in _graph()} - {None}
    assert parts == set(LAYERS), f"give these parts a layer, or drop stale ones: {parts ^ set(LAYERS)}"


@pytest.mark.parametrize("module", sorted(_graph()))
def test_imports_flow_down_the_layers(module):
    part = _part(module)
    if part is None:  # the package's __init__
        return
    upward = sorted(
        target
        for target in _graph()[module]
        if (other := _part(target)) is not None and other != part and LAYERS[other] >= LAYERS[part]
    )
    assert not upward, f"{module} (layer {LAYERS[part]}, {part}) imports {upward}"


def test_nothing_imports_in_a_circle():
    graph = _graph()
    state: dict[str, int] = {}  # 1 visiting, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, " -> ".join(cycle)


@pytest.fixture
def toy_package(tmp_path, monkeypatch):
    """A package of two parts whose files the test writes; the checks above then read it instead."""
    package = tmp_path / "airflow_policies"
    for part in ("decision", "document"):
        (package / part).mkdir(parents=True)
        (package / part / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    monkeypatch.setitem(globals(), "PACKAGE", package)
    return package


def test_the_circle_check_reports_a_circle(toy_package):
    (toy_package / "decision" / "a.py").write_text("from airflow_policies.decision import b\n")
    (toy_package / "decision" / "b.py").write_text("def f():\n    from airflow_policies.decision.a import x\n")
    with pytest.raises(AssertionError, match=r"decision\.a -> airflow_policies\.decision\.b -> airflow_policies\.deci"):
        test_nothing_imports_in_a_circle()


def test_the_layer_check_reports_an_upward_import(toy_package):
    (toy_package / "decision" / "a.py").write_text("")
    (toy_package / "document" / "b.py").write_text("from airflow_policies.decision import a\n")
    with pytest.raises(AssertionError, match=r"airflow_policies\.document\.b \(layer 2, document\) imports"):
        test_imports_flow_down_the_layers("airflow_policies.document.b")
