"""A served deployment suspends at a human step (no process held) and is resumed by the engine."""

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

from tests.dates import days_ahead
from tests.flows.support import Departments, wait_paused

pytestmark = pytest.mark.flows

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(flow_db: Any, tmp_path: Path) -> Iterator[None]:
    """A runner serving order-handling in a subprocess, on the test's Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()),
           "PREFECT_RUNNER_POLL_FREQUENCY": "1", "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests/flows/serve_order_handling.py")],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        with get_client(sync_client=True) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.read_deployment_by_name("order-handling/order-handling")
                    break
                except ObjectNotFound:  # not served yet; any other error fails the test
                    assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                    assert time.monotonic() < deadline, "the deployment never appeared"
                    time.sleep(0.3)
        yield
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def test_a_suspended_deployment_run_is_resumed_by_completing_its_step(
        flow_db: Any, served: None) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    number = f"O-{uuid.uuid4().hex[:8]}"
    order = {"number": number, "sales": "carlos.mendez@example.com", "customer_code": "C-DEP",
             "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": 10}],
             "delivery_date": days_ahead(40)}
    flow_run = run_deployment("order-handling/order-handling", parameters={"order": order},
                              timeout=0)
    d = Departments(flow_db, number)
    state = wait_paused(str(flow_run.id), "order-entry-1", timeout=60)
    assert state.name == "Suspended"  # the flow process has exited; nothing is held
    d.answer("order-entry-1", "carlos.mendez@example.com",
             {k: order[k] for k in ("customer_code", "lines", "delivery_date")})
    # the runner re-runs the flow from the top: the step's data comes back, the flow goes on
    production = d.step("production", timeout=60)
    state = wait_paused(str(flow_run.id), "production", timeout=60)
    assert state.name == "Suspended"
    assert production.state == "open"
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run.id)
        assert run.empirical_policy.pause_keys >= {"order-entry-1", "production"}
    with flow_db.uow() as u:  # the re-run did not create the first step or the order twice
        from sqlmodel import func, select

        from mktflow.store.tables import SalesOrder, WorkItem

        assert u.session.exec(select(func.count()).select_from(WorkItem).where(
            WorkItem.step_key == "order-entry-1", WorkItem.process_id == production.process_id)
        ).one() == 1
        assert u.session.exec(select(func.count()).select_from(SalesOrder).where(
            SalesOrder.number == number)).one() == 1
