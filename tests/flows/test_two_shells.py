"""Embedded defaults, nothing configured: a paused ``mktflow run`` in one shell is resumed by
``mktflow work complete`` in another, through the local Prefect server of the data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.flows.support import open_ui_link

pytestmark = pytest.mark.flows

SALES = "carlos.mendez@example.com"
PRODUCTION = "pedro.alves@example.com"


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MKTFLOW_", "PREFECT_"))}
    return {**env, "MKTFLOW_DATA_DIR": str(data), "MKTFLOW_STEP_POLL_INTERVAL_S": "0.5",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def _mktflow(env: dict[str, str], *args: str) -> Any:
    r = subprocess.run([sys.executable, "-m", "mktflow.cli", *args], env=env, text=True,
                       capture_output=True, timeout=120)
    assert r.returncode == 0, f"mktflow {' '.join(args)}: {r.stderr}"
    return json.loads(r.stdout) if "--json" in args else r.stdout


def _answer(env: dict[str, str], number: str, key: str, actor: str, data: dict[str, Any],
            timeout: float = 60) -> None:
    """Wait for the step to reach the department, then claim (if open) and complete it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = _mktflow(env, "process", "show", number, "--json")
        for item in view["work_items"]:
            if item["step_key"] == key and item["state"] in ("open", "claimed"):
                if item["state"] == "open":
                    _mktflow(env, "work", "claim", str(item["id"]), "--as", actor)
                _mktflow(env, "work", "complete", str(item["id"]), "--as", actor,
                         "--data", json.dumps(data))
                return
        time.sleep(0.5)
    raise AssertionError(f"step {key} of {number} never came")


def test_work_complete_in_another_shell_resumes_a_paused_run(tmp_path: Path) -> None:
    from mktflow.prefect.registry import example

    env = _env(tmp_path / "data")
    _mktflow(env, "db", "upgrade")
    _mktflow(env, "org", "load", "--demo")
    params = example("order-handling", uuid.uuid4().hex[:6])
    shell_one = subprocess.Popen(
        [sys.executable, "-m", "mktflow.cli", "run", "order-handling", "--params",
         json.dumps(params), "--json"], env=env, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL)
    try:
        assert shell_one.stdout is not None
        started = json.loads(shell_one.stdout.readline())
        assert started["event"] == "started" and started["ui_url"].startswith("http://127.0.0.1:")
        _answer(env, params["number"], "order-entry-1", SALES,
                {k: params[k] for k in ("customer_code", "customer_name", "lines",
                                        "delivery_date")})
        # the production step exists only if the run went on after the other shell's answer
        _answer(env, params["number"], "production", PRODUCTION,
                {"outcome": "cannot_fulfil", "reason": "discontinued"})
        out, _ = shell_one.communicate(timeout=120)
        assert shell_one.returncode == 0
        finished = json.loads(out.strip().splitlines()[-1])
        assert finished["state"] == "COMPLETED"
        assert finished["result"]["outcome"] == "rejected"
        status = _mktflow(env, "server", "status", "--json")
        assert status["running"] is True
        assert open_ui_link(started["ui_url"])["state"]["type"] == "COMPLETED"
    finally:
        shell_one.kill()
        subprocess.run([sys.executable, "-m", "mktflow.cli", "server", "stop"], env=env,
                       capture_output=True, timeout=60)
