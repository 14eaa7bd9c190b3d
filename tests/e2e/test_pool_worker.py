"""Past one machine on Prefect's own engine: ``mktflow deploy --pool NAME`` registers the
deployments on a work pool of a Prefect server on PostgreSQL, a real ``prefect worker`` runs
them, and a campaign suspended at its first step goes on when ``mktflow work complete`` answers
it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import new_pg_database
from tests.e2e.conftest import PREFECT, ROOT, clean_env, eventually, free_port, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(900)]

OWNER = "olga.petrova@example.com"


@dataclass
class Team:
    """A Prefect server on PostgreSQL, mktflow's tables on PostgreSQL, a work pool, a worker."""

    env: dict[str, str]
    api: str
    pool: str
    worker_log: Path
    deployed: dict[str, Any]  # what `mktflow deploy --pool --json` printed
    refused_without_worker: subprocess.CompletedProcess[str] | None = None

    def cli(self, *args: str) -> str:
        """``mktflow ARGS``; its standard output."""
        return run_cli(list(args), self.env).stdout

    def prefect(self, method: str, path: str, body: Any = None) -> Any:
        """One call to the Prefect API."""
        response = httpx.request(method, f"{self.api}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _asyncpg(url: str) -> str:
    return "postgresql+asyncpg://" + url.split("://", 1)[1]


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """What the docs' "Running for a team" sets up, on this machine."""
    folder = tmp_path_factory.mktemp("e2e-team")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    with ExitStack() as stack:
        prefect_db = stack.enter_context(new_pg_database())
        mktflow_db = stack.enter_context(new_pg_database())
        server_env = clean_env(PREFECT_HOME=str(folder / "server-home"),
                               PREFECT_API_DATABASE_CONNECTION_URL=_asyncpg(prefect_db),
                               PREFECT_UI_API_URL=api)
        server = _start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                        server_env, folder / "prefect-server.log")
        stack.callback(_stop, server, signal.SIGTERM)
        eventually(lambda: httpx.get(f"{api}/health", timeout=5).status_code == 200,
                   timeout=180, interval=1, what=f"the Prefect server on PostgreSQL at {api}")
        env = clean_env(PREFECT_API_URL=api, PREFECT_HOME=str(folder / "client-home"),
                        MKTFLOW_DATA_DIR=str(folder / "data"), MKTFLOW_DATABASE_URL=mktflow_db,
                        PREFECT_WORKER_QUERY_SECONDS="2")
        run_cli(["db", "upgrade"], env)
        run_cli(["org", "load", "--demo"], env)
        pool = f"mktflow-e2e-{uuid.uuid4().hex[:6]}"
        deployed = run_cli(["deploy", "--pool", pool, "--json"], env, check=False, timeout=300)
        if deployed.returncode != 0:
            pytest.fail(f"`mktflow deploy --pool {pool}` exited {deployed.returncode}: it must "
                        "create the work pool and register every deployment on it\n"
                        f"{deployed.stdout}\n{deployed.stderr}")
        team = Team(env=env, api=api, pool=pool, worker_log=folder / "worker.log",
                    deployed=json.loads(deployed.stdout))
        team.refused_without_worker = _run_with_no_worker(team, folder)
        # a worker with no MKTFLOW_* of its own: the runs get them from the deployment
        worker_env = {k: v for k, v in env.items() if not k.startswith("MKTFLOW_")}
        worker = _start([PREFECT, "worker", "start", "--pool", pool],
                        {**worker_env, "PREFECT_HOME": str(folder / "worker-home")},
                        team.worker_log)
        stack.callback(_stop, worker)
        eventually(lambda: team.prefect("POST", f"/work_pools/{pool}/workers/filter", {}),
                   timeout=90, what=f"a worker of pool {pool} to check in")
        yield team


def _run_with_no_worker(team: Team, folder: Path) -> subprocess.CompletedProcess[str]:
    """``mktflow run campaign --detach`` before any worker polls the pool (what it printed)."""
    params = folder / "no-worker.json"
    params.write_text(team.cli("run", "campaign", "--example"), "utf-8")
    return run_cli(["run", "campaign", "--params", f"@{params}", "--detach"], team.env,
                   check=False)


def test_deploy_registers_every_deployment_on_the_pool_and_nothing_runs_without_a_worker(
        team: Team) -> None:
    deployed = team.deployed
    assert deployed["pool_created"] and deployed["pool"] == team.pool, deployed
    campaign = next(d for d in deployed["deployments"] if d["deployment"] == "campaign/campaign")
    assert campaign["entrypoint"] == "flows.campaign.campaign"
    assert {"MKTFLOW_DATABASE_URL", "MKTFLOW_API_URL"} <= set(deployed["env"])
    registered = team.prefect("POST", "/deployments/filter", {})
    assert {d["work_pool_name"] for d in registered} == {team.pool}
    assert len(registered) == len(deployed["deployments"])
    # before the worker polled, --detach refused and left nothing behind
    refused = team.refused_without_worker
    assert refused is not None and refused.returncode == 2, refused
    assert "nothing serves campaign/campaign" in refused.stderr
    assert json.loads(team.cli("process", "list", "--json")) == []


def _wait_suspended(team: Team, flow_run_id: str, prefix: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        run = team.prefect("GET", f"/flow_runs/{flow_run_id}")
        if run["state"]["type"] in ("FAILED", "CRASHED", "CANCELLED", "COMPLETED"):
            pytest.fail(f"flow run {flow_run_id} ended {run['state']['name']}: "
                        f"{run['state'].get('message')}")
        keys = run["empirical_policy"]["pause_keys"]
        waiting = run["state"]["name"] == "Suspended" and any(k.startswith(prefix) for k in keys)
        return run if waiting else None

    return eventually(probe, timeout=240, interval=2,
                      what=f"flow run {flow_run_id} to suspend at a step {prefix}…")


def _step(team: Team, key: str, prefix: str) -> dict[str, Any] | None:
    items = json.loads(team.cli("inbox", "marketing", "--limit", "200", "--json"))["rows"]
    return next((i for i in items if i.get("process") == key
                 and str(i.get("step_key", "")).startswith(prefix)), None)


def test_a_worker_runs_a_campaign_that_work_complete_resumes(team: Team, tmp_path: Path) -> None:
    example_text = team.cli("run", "campaign", "--example")
    example = json.loads(example_text)
    request = example.get("request", example)
    code = request["code"]
    params = tmp_path / "campaign.json"
    params.write_text(example_text, "utf-8")
    started = team.cli("run", "campaign", "--params", f"@{params}", "--detach", "--json")
    flow_run_id = json.loads(started.splitlines()[0])["flow_run_id"]
    run = team.prefect("GET", f"/flow_runs/{flow_run_id}")
    assert run["work_pool_name"] == team.pool, run

    _wait_suspended(team, flow_run_id, "plan-1")
    plan = eventually(lambda: _step(team, code, "plan-1"), timeout=120,
                      what=f"the plan step of {code} in marketing's queue")
    answer = tmp_path / "plan.json"
    answer.write_text(json.dumps(request["plan"]), "utf-8")
    team.cli("work", "complete", plan["ref"], "--as", OWNER, "--data", f"@{answer}")

    # the resumed run is scheduled again, the worker picks it up, and it goes on to approval
    approval = eventually(lambda: _step(team, code, "approval-1"), timeout=240, interval=2,
                          what=f"the worker to continue {code} to its approval step")
    _wait_suspended(team, flow_run_id, approval["step_key"])
    submitted = team.worker_log.read_text("utf-8", "replace").count(flow_run_id)
    assert submitted >= 2, ("the worker should have run the flow twice (start, resume)",
                            team.worker_log.read_text("utf-8", "replace")[-3000:])


@pytest.fixture(autouse=True)
def _worker_log_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keep the worker's log in the failure artifacts."""
    yield
    report = getattr(request.node, "rep_call", None)
    team = request.node.funcargs.get("team") if hasattr(request.node, "funcargs") else None
    if report is not None and report.failed and team is not None:
        from tests.e2e.conftest import ARTIFACTS

        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "worker.log").write_text(team.worker_log.read_text("utf-8", "replace"))

