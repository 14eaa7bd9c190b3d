"""mktflow as an operator runs it, each command a subprocess on a fresh data folder: the local
Prefect server (its UI, its port), ``mktflow serve`` (API, schedules, links, a clean stop),
``run --detach`` with nothing serving, and ``mktflow deploy --pool`` with a real
``prefect worker`` against a Prefect server on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import new_pg_database

pytestmark = pytest.mark.flows

OWNER = "olga.petrova@example.com"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MKTFLOW_", "PREFECT_"))}
    return {**env, "MKTFLOW_DATA_DIR": str(data), "MKTFLOW_STEP_POLL_INTERVAL_S": "0.5",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


def _mktflow(env: dict[str, str], *args: str, code: int = 0) -> Any:
    r = subprocess.run([sys.executable, "-m", "mktflow.cli", *args], env=env, text=True,
                       capture_output=True, timeout=180)
    assert r.returncode == code, f"mktflow {' '.join(args)}: {r.returncode} {r.stderr}"
    return json.loads(r.stdout) if "--json" in args and code == 0 else r


def _until(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def _prefect(api: str, path: str, body: dict[str, Any] | None = None) -> Any:
    r = (httpx.post(f"{api}{path}", json=body or {}, timeout=10) if body is not None
         else httpx.get(f"{api}{path}", timeout=10))
    r.raise_for_status()
    return r.json()


def _no_tracebacks(log: Path) -> None:
    text = log.read_text(errors="replace") if log.exists() else ""
    assert "Traceback" not in text, text[text.index("Traceback"):][:3000]


def _step(env: dict[str, str], key: str, prefix: str, timeout: float = 120) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        view = _mktflow(env, "process", "show", key, "--json")
        return next((i for i in view["work_items"] if i["step_key"].startswith(prefix)
                     and i["state"] in ("open", "claimed")), None)
    return _until(f"step {prefix} of {key}", found, timeout)


def _setup(data: Path, **extra: str) -> dict[str, str]:
    env = _env(data, **extra)
    _mktflow(env, "db", "upgrade")
    _mktflow(env, "org", "load", "--demo")
    return env


def test_the_local_server_ui_calls_itself_and_its_port_is_kept(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    try:
        first = _mktflow(env, "server", "start", "--json")
        port = int(first["api_url"].rsplit(":", 1)[1].split("/")[0])
        ui = httpx.get(f"{first['ui_url']}/ui-settings", timeout=10).json()
        assert ui["api_url"] == f"http://127.0.0.1:{port}/api"
        _mktflow(env, "server", "stop")
        assert _mktflow(env, "server", "status", "--json")["port"] == port
        again = _mktflow(env, "server", "start", "--json")
        assert again["api_url"] == first["api_url"]  # links already sent keep working
        _mktflow(env, "server", "stop")
        with socket.socket() as squatter:  # someone else took the port meanwhile
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            refused = _mktflow(env, "server", "start", code=2)
        assert f"port {port}" in refused.stderr and "taken by another program" in refused.stderr
    finally:
        subprocess.run([sys.executable, "-m", "mktflow.cli", "server", "stop"], env=env,
                       capture_output=True, timeout=60)
    _no_tracebacks(tmp_path / "data" / "prefect" / "server.log")


def test_serve_answers_links_fires_schedules_and_stops_cleanly(tmp_path: Path) -> None:
    from mktflow.prefect.registry import example

    api_port = _free_port()
    env = _setup(tmp_path / "data", MKTFLOW_API_URL=f"http://127.0.0.1:{api_port}",
                 MKTFLOW_SCHEDULE_CRONS=json.dumps({"process-review": "* * * * *"}))
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "mktflow.cli", "serve", "--only", "campaign",
             "--only", "process-review"], env=env, stdout=out, stderr=subprocess.STDOUT)
    server_state = tmp_path / "data" / "prefect" / "server.json"
    try:
        _until("serve started", lambda: "Ctrl-C stops" in log.read_text() or serve.poll(), 180)
        assert serve.poll() is None, log.read_text()
        printed = log.read_text()
        api = json.loads(server_state.read_text())["api_url"]
        assert f"Prefect UI:   {api.removesuffix('/api')}/deployments" in printed
        assert f"mktflow API:  http://127.0.0.1:{api_port}" in printed
        assert "campaign/campaign" in printed and "* * * * * (UTC)" in printed
        assert "reconciler:   every 2 s" in printed  # its thread; not a served deployment
        assert "process-reconciler" not in printed
        assert httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=10).status_code == 200

        # a process owner's run handed to the served deployment suspends at its first step,
        # and the link in the notice about that step answers
        params = example("campaign", uuid.uuid4().hex[:6])
        _until("campaign served", lambda: _deployment_ready(api, "campaign"), 60)
        _mktflow(env, "run", "campaign", "--params", json.dumps(params), "--detach")
        plan = _step(env, params["code"], "plan-1")
        links = {m["link"] for m in _mktflow(env, "outbox", "list", "--json")
                 if m.get("ref") == plan["ref"] or f"/work/{plan['id']}" in (m.get("link") or "")}
        assert links, "no notice about the first step"
        for link in links:
            page = httpx.get(link, headers={"Accept": "text/html"}, timeout=10,
                             follow_redirects=True)  # as a mail client opens it
            assert page.status_code == 200, link

        # the one-minute cron override makes the scheduler create a run, the runner runs it
        def review_completed() -> bool:
            runs = _prefect(api, "/flow_runs/filter", {"flow_runs": {"state": {"type": {
                "any_": ["COMPLETED"]}}}, "deployments": {"name": {"any_": ["process-review"]}}})
            return any(r["auto_scheduled"] for r in runs)
        _until("a scheduled process-review run completed", review_completed, 150)
        processes = _mktflow(env, "process", "list", "--process", "process-review", "--json")
        assert processes and {p["status"] for p in processes} == {"completed"}
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(90)
    assert "stopped the local Prefect server this command started" in log.read_text()
    assert not server_state.exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=3)
    try:  # the schedules were left as they were: active
        restarted = _mktflow(env, "server", "start", "--json")
        assert restarted["api_url"] == api
        deployments = _prefect(api, "/deployments/filter", {})
        assert {d["name"] for d in deployments} == {"campaign", "process-review"}
        assert not any(d["paused"] for d in deployments)
    finally:
        _mktflow(env, "server", "stop")
    _no_tracebacks(tmp_path / "data" / "prefect" / "server.log")


def _deployment_ready(api: str, name: str) -> bool:
    found = _prefect(api, "/deployments/filter", {"deployments": {"name": {"any_": [name]}}})
    return bool(found) and found[0]["status"] == "READY"


@pytest.mark.postgres
def test_deploy_to_a_pool_and_a_worker_on_a_postgresql_prefect_server(tmp_path: Path) -> None:
    from mktflow.prefect.registry import example

    pool = f"mktflow-{uuid.uuid4().hex[:6]}"
    with new_pg_database() as pg:
        prefect_db = pg.replace("postgresql://", "postgresql+asyncpg://", 1)
        env = _setup(tmp_path / "data", PREFECT_API_DATABASE_CONNECTION_URL=prefect_db)
        worker: subprocess.Popen[bytes] | None = None
        try:
            api = _mktflow(env, "server", "start", "--json")["api_url"]
            deployed = _mktflow(env, "deploy", "--pool", pool, "--only", "campaign", "--json")
            assert deployed["pool_created"] and deployed["pool"] == pool
            [campaign] = deployed["deployments"]
            assert campaign["deployment"] == "campaign/campaign"
            assert campaign["entrypoint"] == "flows.campaign.campaign"
            assert {"MKTFLOW_DATABASE_URL", "MKTFLOW_API_URL"} <= set(deployed["env"])
            [registered] = _prefect(api, "/deployments/filter", {})
            assert registered["work_pool_name"] == pool

            # no worker yet: --detach refuses and leaves nothing behind
            params = example("campaign", uuid.uuid4().hex[:6])
            refused = _mktflow(env, "run", "campaign", "--params", json.dumps(params),
                               "--detach", code=2)
            assert "nothing serves campaign/campaign" in refused.stderr
            assert _mktflow(env, "process", "list", "--json") == []
            assert _prefect(api, "/flow_runs/filter", {}) == []

            # a worker with no MKTFLOW_* of its own: the runs get them from the deployment
            worker_env = {**_env(tmp_path / "worker"), "PREFECT_API_URL": api,
                          "PREFECT_HOME": str(tmp_path / "worker-home"),
                          "PREFECT_WORKER_QUERY_SECONDS": "2"}
            worker_env.pop("MKTFLOW_DATA_DIR")
            with open(tmp_path / "worker.log", "wb") as out:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool],
                    env=worker_env, stdout=out, stderr=subprocess.STDOUT)
            _until("worker polling", lambda: _deployment_ready(api, "campaign"), 120)
            _mktflow(env, "run", "campaign", "--params", json.dumps(params), "--detach")
            plan = _step(env, params["code"], "plan-1", timeout=180)
            [process] = _mktflow(env, "process", "list", "--json")
            run_id = _mktflow(env, "process", "show", process["ref"], "--json")["flow_run_id"]
            _until("run suspended", lambda: _prefect(api, f"/flow_runs/{run_id}")["state"][
                "name"] == "Suspended", 60)
            if plan["state"] == "open":
                _mktflow(env, "work", "claim", plan["ref"], "--as", OWNER)
            _mktflow(env, "work", "complete", plan["ref"], "--as", OWNER,
                     "--data", json.dumps(params["plan"]))
            # the worker picks the resumed run up again and goes on to the approval
            _step(env, params["code"], "approval-1", timeout=180)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(60)
            subprocess.run([sys.executable, "-m", "mktflow.cli", "server", "stop"], env=env,
                           capture_output=True, timeout=60)
        _no_tracebacks(tmp_path / "data" / "prefect" / "server.log")
