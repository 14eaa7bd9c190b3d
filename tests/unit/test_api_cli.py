"""``mktflow api``: registered on the CLI without loading FastAPI or uvicorn."""

from __future__ import annotations

import subprocess
import sys


def test_cli_import_does_not_load_the_web_stack() -> None:
    code = ("import sys, mktflow.cli; "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'prefect', 'starlette') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_api_serve_is_a_command() -> None:
    from typer.testing import CliRunner

    from mktflow.cli import app

    result = CliRunner().invoke(app, ["api", "serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.stdout and "--port" in result.stdout
