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


def test_the_quick_reads_load_no_orm_and_no_table_model() -> None:
    loaded = _loaded_after("import mktflow.cli, mktflow.engine.inbox, mktflow.engine.views, "
                           "mktflow.bootstrap, mktflow.store.uow")
    assert "mktflow.store.light" in loaded
    assert not {"sqlmodel", "sqlalchemy.orm", "mktflow.store.tables.work", "alembic", "httpx",
                "prefect", "jsonschema", "mktflow.store.checks"} & loaded
    # the settings (pydantic-settings, about 0.15 s) are read only by what needs more than the
    # database: a quick read gets its URL through mktflow.config_env
    assert not {"pydantic", "pydantic_settings", "mktflow.config"} & loaded


def test_a_quick_read_builds_only_its_own_command() -> None:
    loaded = _loaded_after("import sys\nsys.argv = ['mktflow', 'inbox', '--help']\n"
                           "from mktflow.cli import main\ntry:\n    main()\n"
                           "except SystemExit:\n    pass")
    assert "mktflow.cli.inbox" in loaded
    assert not {"mktflow.cli.notify", "mktflow.cli.serve", "mktflow.cli.process",
                "mktflow.cli.work", "pydantic", "sqlalchemy"} & loaded


def test_only_one_shot_commands_run_without_the_garbage_collector() -> None:
    code = ("import gc, sys\nsys.argv = ['mktflow', {!r}, '--help']\nfrom mktflow.cli import main"
            "\ntry:\n    main()\nexcept SystemExit:\n    print('GC', gc.isenabled())")
    assert "False" in _loaded_after(code.format("inbox"))
    for name in ("serve", "outbox", "api", "process", "nope"):
        assert "True" in _loaded_after(code.format(name)), name


def test_each_command_alone_answers_as_in_the_whole_tree() -> None:
    from typer.testing import CliRunner

    from mktflow.cli import app
    from mktflow.cli.commands import TREE, build

    runner = CliRunner()
    for name in TREE:
        for args in ([name, "--help"], [name, "--no-such-option"]):
            whole = runner.invoke(app, args, prog_name="mktflow")
            alone = runner.invoke(build(name), args, prog_name="mktflow")
            assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output), args


def test_the_row_check_is_installed_before_any_orm_write() -> None:
    """The check (mktflow.store.checks) is not loaded by a read, but by every way to write:
    importing a table model, or beginning a unit of work's session."""
    probe = ("\nfrom sqlalchemy import event\nfrom sqlalchemy.orm import Session\n"
             "from mktflow.store import checks\n"
             "print('INSTALLED', event.contains(Session, 'before_flush', checks._before_flush))")
    model = _loaded_after("from mktflow.store.tables.work import WorkItem" + probe)
    assert "INSTALLED" in model and "True" in model
    session = _loaded_after("from sqlalchemy import create_engine\n"
                            "from mktflow.store.uow import UnitOfWork\n"
                            "with UnitOfWork(create_engine('sqlite://')) as u:\n"
                            "    u.session" + probe)
    assert "INSTALLED" in session and "True" in session


def test_the_light_tables_are_the_models_tables() -> None:
    from mktflow.store import light
    from mktflow.store.tables import register_all

    register_all()
    from sqlmodel import SQLModel

    for table in light.metadata.tables.values():  # names, order and types (reads only)
        model = SQLModel.metadata.tables[table.name]
        assert [c.name for c in table.columns] == [c.name for c in model.columns], table.name
        for column in table.columns:
            theirs = model.columns[column.name]
            assert type(column.type).__name__ == type(theirs.type).__name__ or (
                {type(column.type).__name__, type(theirs.type).__name__}
                <= {"String", "AutoString", "Text"}), (table.name, column.name)


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
