"""A command's start-up pays only for what it uses: cheap checks of what importing loads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

TABLES = Path(__file__).resolve().parents[2] / "mktflow" / "store" / "tables"


def _loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint(*sys.modules)"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_the_cli_loads_no_prefect_and_no_handler() -> None:
    loaded = _loaded_after("import mktflow.cli")
    assert not {m for m in loaded if m == "prefect" or m.startswith("prefect.")}
    assert "mktflow.engine.approvals" not in loaded and "alembic" not in loaded
    assert "httpx" not in loaded and "jsonschema" not in loaded


def test_reading_the_inbox_loads_only_the_work_tables() -> None:
    loaded = _loaded_after("import mktflow.cli, mktflow.engine.queries, mktflow.bootstrap")
    assert "mktflow.store.tables.work" in loaded
    assert not {"mktflow.store.tables.business", "mktflow.store.tables.cycles",
                "alembic", "httpx", "prefect", "jsonschema"} & loaded


def test_every_table_is_registered_lazily_and_by_register_all() -> None:
    from sqlmodel import SQLModel

    from mktflow.store import tables

    exported, table_classes = {}, set()
    for path in TABLES.glob("*.py"):
        if path.stem == "__init__":
            continue
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.ClassDef) and any(k.arg == "table" for k in node.keywords):
                table_classes.add(node.name)
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__all__":
                exported.update({ast.literal_eval(e): path.stem
                                 for e in node.value.elts})  # type: ignore[attr-defined]
    assert exported == tables._AREA_OF  # a new table module or class is listed
    assert set(tables.__all__) == set(exported) >= table_classes
    assert set(tables._AREAS) == set(exported.values())
    tables.register_all()
    names = {getattr(tables, c).__tablename__ for c in table_classes}
    assert names <= set(SQLModel.metadata.tables)
