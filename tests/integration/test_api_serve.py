"""``mktflow api serve`` as an operator starts it: a process answering on its port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from mktflow.notify.testing import free_port


def _env(data: Path, database_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MKTFLOW_")}
    return {**clean, "MKTFLOW_DATA_DIR": str(data), "MKTFLOW_DATABASE_URL": database_url}


def test_api_serve_answers_health_and_acts_until_interrupted(db: Any, tmp_path: Path) -> None:
    from mktflow.engine.credentials import issue_token

    token = issue_token(db.uow(), "ana.torres@example.com").token
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "mktflow.cli", "api", "serve", "--port", str(port)],
        env=_env(tmp_path / "data", db.url), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert serve.poll() is None, serve.communicate()
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "mktflow api serve never answered"
                time.sleep(0.2)
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        ana = {"Authorization": f"Bearer {token}"}
        created = httpx.post(f"{base}/work", headers=ana,
                             json={"department": "marketing", "title": "Served brief"})
        assert created.status_code == 201, created.text
        inbox = httpx.get(f"{base}/inbox/marketing", headers=ana, timeout=10).json()["rows"]
        assert f"W-{created.json()['id']}" in [e["ref"] for e in inbox]
    finally:
        serve.send_signal(signal.SIGINT)
        _out, err = serve.communicate(timeout=30)
    assert serve.returncode == 0, err
    assert db.count("workitem") == 1  # written to the configured database


def test_api_serve_on_an_unmigrated_database_says_what_to_run(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mktflow.cli", "api", "serve", "--port", str(free_port())],
        env=_env(tmp_path / "data", f"sqlite:///{tmp_path / 'empty.db'}"), text=True,
        capture_output=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "run `mktflow db upgrade`" in done.stderr
