"""campaign and new-product-development as served deployments: each human step suspends the
run (no process held); completing it re-runs the flow from the top, which replays the steps
already answered from the database and creates nothing twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from tests.dates import days_ahead
from tests.flows.support import Departments, wait_paused

pytestmark = pytest.mark.flows

ROOT = Path(__file__).resolve().parents[2]
HEAD = "ana.torres@example.com"
DEPUTY = "li.na@example.com"
OLGA = "olga.petrova@example.com"
CEO = "maria.garcia@example.com"


@pytest.fixture
def served(flow_db: Any, tmp_path: Path) -> Iterator[None]:
    """A runner serving both deployments in a subprocess, on the test's Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()),
           "PREFECT_RUNNER_POLL_FREQUENCY": "1", "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/flows/serve_processes.py"), "campaign",
             "new-product-development"], env=env, cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT)
    try:
        with get_client(sync_client=True) as client:
            deadline = time.monotonic() + 180
            for name in ("campaign/campaign",
                         "new-product-development/new-product-development"):
                while True:
                    try:
                        client.read_deployment_by_name(name)
                        break
                    except ObjectNotFound:  # not served yet
                        assert proc.poll() is None, log_path.read_text()
                        assert time.monotonic() < deadline, f"{name} never appeared"
                        time.sleep(0.3)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:  # never left running beside the later tests
            proc.kill()
            proc.wait(30)


def _count(db: Any, model: Any, **where: Any) -> int:
    with db.uow() as u:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(col(getattr(model, name)) == value)
        return int(u.session.exec(query).one())


def _suspended_on(flow_run_id: str, key: str) -> None:
    state = wait_paused(flow_run_id, key, timeout=240)
    assert state.name == "Suspended", state  # the flow process has exited; nothing is held


def test_campaign_reruns_from_the_top_after_each_step(flow_db: Any, served: None) -> None:
    from prefect.deployments import run_deployment

    from mktflow.store.tables import Campaign, WorkItem

    code = f"CMP-{uuid.uuid4().hex[:8]}"
    plan = {"name": "Autumn", "goal": "50 new grocers", "target_customers": "grocers",
            "channels": ["social"], "start": days_ahead(270), "end": days_ahead(299),
            "kpis": [{"name": "new customers", "target": 50}],
            "activities": [{"title": "Social ads", "owner": DEPUTY, "channel": "social",
                            "budget_line": "ads"}],
            "budget_lines": [{"code": "ads", "title": "Ads", "amount": 3000}]}
    flow_run = run_deployment("campaign/campaign", timeout=0,
                              parameters={"request": {"code": code, "owner": DEPUTY,
                                                      "plan": plan}})
    run_id = str(flow_run.id)
    d = Departments(flow_db, code)
    _suspended_on(run_id, "plan-1")
    d.answer("plan-1", DEPUTY, plan)
    _suspended_on(run_id, "approval-1-marketing-1")  # re-run 1: the plan came from the DB
    d.answer("approval-1-marketing-1", HEAD, {"decision": "approve"})
    activity = next(s for s in _wait_steps(d, "activity-") if s.assignee_email == DEPUTY)
    assert activity.state in ("open", "claimed")
    _suspended_on(run_id, "activity-")  # re-run 2: plan and approval replayed
    pid = activity.process_id
    for key in ("plan-1", "approval-1-marketing-1"):
        assert _count(flow_db, WorkItem, process_id=pid, step_key=key) == 1, key
    assert _count(flow_db, Campaign, code=code) == 1


def test_new_product_development_reruns_from_the_top_after_each_step(
        flow_db: Any, served: None) -> None:
    from prefect.deployments import run_deployment

    from mktflow.store.tables import Product, WorkItem

    code = f"NPD-{uuid.uuid4().hex[:8]}"
    project = {"code": code, "product_name": "Cold tea", "owner": OLGA,
               "gate_approvers": [HEAD, CEO],
               "budget_lines": [{"code": "launch", "title": "Launch",
                                 "department": "marketing", "amount": 40000}]}
    proposal = {"market_need": "tea without sugar", "target_customers": "office workers",
                "positioning": "premium natural", "forecast_units": 250000,
                "forecast_revenue": 750000}
    flow_run = run_deployment("new-product-development/new-product-development", timeout=0,
                              parameters={"project": project})
    run_id = str(flow_run.id)
    d = Departments(flow_db, code)
    _suspended_on(run_id, "proposal-1")
    d.answer("proposal-1", OLGA, proposal)
    _suspended_on(run_id, "project-approval-1-management-1")
    d.answer("project-approval-1-management-1", CEO,
             {"decision": "rework", "reason": "forecast too optimistic"})
    second = d.step("proposal-2", timeout=90)  # re-run 2 replays proposal 1 and the rework
    assert "forecast too optimistic" in second.description
    _suspended_on(run_id, "proposal-2")
    pid = second.process_id
    for key in ("proposal-1", "project-approval-1-management-1", "proposal-2"):
        assert _count(flow_db, WorkItem, process_id=pid, step_key=key) == 1, key
    assert _count(flow_db, Product, code=code) == 1


def _wait_steps(d: Departments, prefix: str, timeout: float = 90) -> list[Any]:
    from tests.flows.support import steps_like

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = steps_like(d.db, d.key, prefix)
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{d.key}: no {prefix} step")
