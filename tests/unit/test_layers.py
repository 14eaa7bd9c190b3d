"""Layers point one way: read from the imports of every module (its AST), nothing imported.

    domain   the standard library, pydantic and itself only
    store    never the engine, notify, the bridge (prefect), the API, the CLI or the demo
    cli      imported by nobody outside it (it is a door, not a library)
    demo     imported only by the CLI and itself (it sits on top, beside its YAML)
    flows    only orchestrate: Prefect, pydantic, the domain, the settings and the bridge
             (its tasks), never the store or the engine; nor do the bridge's tasks use the store
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mktflow"


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, as a dotted name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(part: str) -> list[Path]:
    return sorted((PACKAGE / part).rglob("*.py"))


def _under(name: str, *parts: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in parts)


def _offenders(part: str, allowed: Callable[[str], bool]) -> list[str]:
    found = []
    for path in _modules(part):
        for name in sorted(_imports(path)):
            if not allowed(name):
                found.append(f"{path.relative_to(PACKAGE.parent)}: {name}")
    return found


def test_domain_imports_only_the_standard_library_pydantic_and_itself() -> None:
    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        return (top in sys.stdlib_module_names or top in {"__future__", "pydantic"}
                or _under(name, "mktflow.domain"))

    assert _offenders("domain", allowed) == []


def test_store_imports_no_layer_above_it() -> None:
    above = ("mktflow.engine", "mktflow.notify", "mktflow.prefect", "mktflow.api", "mktflow.cli",
             "mktflow.demo", "flows", "deployments")
    assert _offenders("store", lambda name: not _under(name, *above)) == []


@pytest.mark.parametrize("part", ["domain", "store", "engine", "notify", "prefect", "api", "demo"])
def test_nothing_outside_the_cli_imports_it(part: str) -> None:
    assert _offenders(part, lambda name: not _under(name, "mktflow.cli")) == []


@pytest.mark.parametrize("part", ["domain", "store", "engine", "notify", "prefect", "api"])
def test_only_the_cli_imports_the_demo(part: str) -> None:
    assert _offenders(part, lambda name: not _under(name, "mktflow.demo")) == []


def test_the_old_feature_folders_are_gone() -> None:
    assert not list((PACKAGE / "business").glob("*.py"))
    assert not list((PACKAGE / "cycles").glob("*.py"))
    assert not (PACKAGE / "cli.py").exists()
    assert not (PACKAGE / "clikit.py").exists()


def test_flows_only_orchestrate() -> None:
    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        return (top in sys.stdlib_module_names or top in {"__future__", "pydantic", "prefect"}
                or _under(name, "mktflow.domain", "mktflow.config", "mktflow.prefect"))

    found = [f"{path.name}: {name}" for path in sorted((PACKAGE.parent / "flows").glob("*.py"))
             for name in sorted(_imports(path)) if not allowed(name)]
    assert found == []


def test_the_bridge_tasks_use_no_store() -> None:
    paths = [*_modules("prefect/tasks"), PACKAGE / "prefect" / "cycles.py"]
    found = [f"{path.name}: {name}" for path in paths for name in sorted(_imports(path))
             if _under(name, "mktflow.store")]
    assert found == []
