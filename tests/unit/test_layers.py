"""Layers point one way: read from the imports of every module (its AST), nothing imported.

    domain   the standard library, pydantic and itself only
    store    never the engine, notify, the bridge (prefect), the API, the CLI or the demo
    engine   never notify, the bridge, the API, the CLI, the demo or the wiring (bootstrap)
    notify   never the bridge, the API or the CLI (it reads what the engine wrote)
    doors    the CLI, the API, the web pages, the bridge and the flows never import the store:
             they take units of work from ``mktflow.bootstrap`` and call ``mktflow.engine``
    web      the pages never import the API (the API's routes hand a browser to the pages)
    cli      imported by nobody outside it (it is a door, not a library)
    demo     imported only by the CLI and itself (it sits on top, beside its YAML)
    parts    no loop between the top-level parts (domain, store, engine, notify, prefect,
             api, cli, demo, bootstrap, config), imports inside functions included
    modules  no import cycle at all between modules (mktflow, flows, deployments), imports
             inside functions included: a module never reaches itself again
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
            names.add(node.module)  # and each name, so `from mktflow import store` counts
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules(part: str) -> list[Path]:
    folder = PACKAGE / part if (PACKAGE / part).is_dir() else PACKAGE.parent / part
    return sorted(folder.rglob("*.py"))


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


@pytest.mark.parametrize("part", ["domain", "store", "engine", "notify", "prefect", "api", "demo",
                                  "web"])
def test_nothing_outside_the_cli_imports_it(part: str) -> None:
    assert _offenders(part, lambda name: not _under(name, "mktflow.cli")) == []


@pytest.mark.parametrize("part", ["domain", "store", "engine", "notify", "prefect", "api", "web"])
def test_only_the_cli_imports_the_demo(part: str) -> None:
    assert _offenders(part, lambda name: not _under(name, "mktflow.demo")) == []


def test_the_old_feature_folders_are_gone() -> None:
    assert not list((PACKAGE / "business").glob("*.py"))
    assert not list((PACKAGE / "cycles").glob("*.py"))
    assert not (PACKAGE / "cli.py").exists()
    assert not (PACKAGE / "clikit.py").exists()


@pytest.mark.parametrize("part", ["cli", "api", "prefect", "flows", "web"])
def test_doors_never_import_the_store(part: str) -> None:
    assert _offenders(part, lambda name: not _under(name, "mktflow.store")) == []


def test_the_engine_never_imports_notify_the_doors_or_the_wiring() -> None:
    above = ("mktflow.notify", "mktflow.prefect", "mktflow.api", "mktflow.cli", "mktflow.demo",
             "mktflow.web", "mktflow.bootstrap", "flows", "deployments")
    assert _offenders("engine", lambda name: not _under(name, *above)) == []


def test_the_pages_never_import_the_api() -> None:
    assert _offenders("web", lambda name: not _under(name, "mktflow.api")) == []


def test_notify_never_imports_the_doors() -> None:
    doors = ("mktflow.prefect", "mktflow.api", "mktflow.cli", "mktflow.demo", "flows")
    assert _offenders("notify", lambda name: not _under(name, *doors)) == []


PARTS = ("domain", "store", "engine", "notify", "prefect", "api", "web", "cli", "demo",
         "bootstrap", "config")

#: The one edge the wiring needs: bootstrap hands every unit of work the bridge's HTTP
#: hand-back (an adapter, like a sender), while the bridge's doors take units of work from
#: bootstrap. Only that module may be reached, and it must not reach back (checked below).
_WIRING = {("bootstrap", "mktflow.prefect.handback")}


def _part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {part: set() for part in PARTS}
    for path in PACKAGE.rglob("*.py"):
        part = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if part not in graph:
            continue
        for name in _imports(path):
            bits = name.split(".")
            if (bits[0] == "mktflow" and len(bits) > 1 and bits[1] in graph and bits[1] != part
                    and not any(part == src and _under(name, to) for src, to in _WIRING)):
                graph[part].add(bits[1])
    return graph


def _loop(graph: dict[str, set[str]]) -> list[str]:
    """One loop in ``graph`` (a list of parts, first one repeated at the end), or []."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return []
        for nxt in sorted(graph[node]):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return []

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return []


def test_no_loop_between_the_top_level_parts() -> None:
    assert _loop(_part_graph()) == []


def test_the_loop_finder_finds_a_loop() -> None:
    assert _loop({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_hand_back_bootstrap_wires_does_not_reach_back() -> None:
    assert not any(_under(name, "mktflow.bootstrap", "mktflow.api", "mktflow.cli")
                   for name in _imports(PACKAGE / "prefect" / "handback.py"))
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


# --- no import cycle between modules ------------------------------------------------------

ROOTS = ("mktflow", "flows", "deployments")


def _module_files() -> dict[str, Path]:
    """Every module of ``ROOTS`` by dotted name (a package by its ``__init__``)."""
    found: dict[str, Path] = {}
    for root in ROOTS:
        for path in (PACKAGE.parent / root).rglob("*.py"):
            parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _module_edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules ``name`` imports (at the top or inside a function; relative imports
    resolved): ``from a.b import c`` reaches ``a.b.c`` when it is a module, else ``a.b``.
    Importing ``a.b.c`` also runs package ``a.b``'s ``__init__``; that implicit step is not an
    edge (a package importing its own submodules would otherwise always be a loop)."""
    edges: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            edges.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if path.name == "__init__.py" else \
                    name.split(".")[:-1]
                package = package[:len(package) - (node.level - 1)]
                base = ".".join([*package, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in modules:
                    edges.add(full)
                elif base in modules:
                    edges.add(base)
    edges.discard(name)
    return edges


def _module_graph() -> dict[str, set[str]]:
    modules = _module_files()
    return {name: _module_edges(name, path, modules) for name, path in modules.items()}


def test_no_import_cycle_between_modules() -> None:
    """Issue 21: ``bootstrap → prefect.handback → prefect.resume → bootstrap`` was one; any
    such circle, however long and wherever its imports sit, fails here."""
    assert _loop(_module_graph()) == []


def test_the_module_graph_sees_imports_inside_functions_and_relative_ones(
        tmp_path: Path) -> None:
    modules = {"pkg": tmp_path / "pkg" / "__init__.py", "pkg.a": tmp_path / "pkg" / "a.py",
               "pkg.b": tmp_path / "pkg" / "b.py"}
    for path in modules.values():
        path.parent.mkdir(exist_ok=True)
    modules["pkg"].write_text("")
    modules["pkg.a"].write_text("def f():\n    from pkg import b\n")
    modules["pkg.b"].write_text("from . import a\n")
    graph = {n: _module_edges(n, p, modules) for n, p in modules.items()}
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
    assert _loop(graph) == ["pkg.a", "pkg.b", "pkg.a"]
