"""``mktflow run --example``, parameter refusals, ``process list`` and ``process show``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from mktflow.engine import processes, work


def test_examples_are_valid_parameters(cli: Any) -> None:
    from mktflow.prefect.registry import PROCESSES
    from mktflow.prefect.runner import check_params

    for name, spec in PROCESSES.items():
        result = cli("run", name, "--example")
        assert result.exit_code == 0, result.stderr
        _flow, model = spec.load()
        check_params(model, json.loads(result.stdout)[spec.param], name)


def test_bad_parameters_are_refused_naming_the_field(cli: Any) -> None:
    result = cli("run", "order-handling", "--params", '{"number": "O-1"}', "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert "field 'sales'" in error and "field 'lines'" in error
    unknown = cli("run", "payroll", "--example")
    assert unknown.exit_code == 2 and "unknown process 'payroll'" in unknown.stderr


def test_process_list_and_show_include_status_items_and_handoffs(db: Any, cli: Any) -> None:
    p = processes.start_process(db.uow(), process="campaign", business_key="CMP-CLI-1",
                                owner_email="ana.torres@example.com")
    work.create_work_item(db.engine_uow(), actor_email="mktflow", department="finance",
                          title="Approve", process_id=p.id, step_key="approve",
                          form_schema={"type": "object"})
    listed = cli("process", "list", "--json").json()
    assert [r["business_key"] for r in listed] == ["CMP-CLI-1"]
    shown = cli("process", "show", f"P-{p.id}", "--json").json()
    assert shown["status"] == "running"
    assert [w["step_key"] for w in shown["work_items"]] == ["approve"]
    assert shown["handoffs"] == []
    by_key = cli("process", "show", "CMP-CLI-1")
    assert by_key.exit_code == 0 and "CMP-CLI-1: running" in by_key.stdout


def test_process_commands_do_not_import_prefect(sqlite_db: Any) -> None:
    import os

    code = ("import sys; from typer.testing import CliRunner; from mktflow.cli import app; "
            "listed = CliRunner().invoke(app, ['process', 'list', '--json']); "
            "helped = CliRunner().invoke(app, ['run', 'campaign', '--help']); "
            "print(listed.exit_code, helped.exit_code, listed.stdout.strip()); "
            "print([m for m in ('prefect', 'fastapi') if m in sys.modules])")
    env = {**os.environ, "MKTFLOW_DATABASE_URL": sqlite_db.url}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    *_, codes, modules = out.stdout.strip().splitlines()
    assert codes == "0 0 []", out.stdout + out.stderr  # both ran, on a migrated database
    assert modules == "[]"
