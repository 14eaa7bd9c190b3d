"""``mktflow run`` runs the flow in this process until it ends, printing ids and link first."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.flows.support import Departments, open_ui_link, start_flow

pytestmark = pytest.mark.flows


def test_run_prints_ids_first_and_exits_with_the_final_state(flow_db: Any) -> None:
    from typer.testing import CliRunner

    from mktflow.cli import app
    from mktflow.prefect.registry import example

    params = example("order-handling", uuid.uuid4().hex[:6])
    runner = CliRunner()
    run = start_flow(runner.invoke, app=app, args=["run", "order-handling", "--params",
                                                   json.dumps(params), "--json"])
    d = Departments(flow_db, params["number"])
    d.answer("order-entry-1", params["sales"],
             {k: params[k] for k in ("customer_code", "customer_name", "lines",
                                     "delivery_date")})
    d.answer("production", "pedro.alves@example.com",
             {"outcome": "cannot_fulfil", "reason": "discontinued"})
    result = run.result()
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    started, finished = events[0], events[-1]
    assert started["event"] == "started" and started["process"].startswith("P-")
    assert started["ui_url"].endswith(f"/runs/flow-run/{started['flow_run_id']}")
    assert open_ui_link(started["ui_url"], page=False)["state"]["type"] == "COMPLETED"
    assert finished["state"] == "COMPLETED" and finished["result"]["outcome"] == "rejected"
    # the steps of a run started with plain `mktflow run` link to mktflow's pages (issue 21)
    from sqlalchemy import text

    from mktflow.config import get_settings

    api = get_settings().api_url.rstrip("/")
    pid = d.process_id()
    with flow_db.engine.connect() as conn:  # a plain read, beside the relay's writes
        steps = conn.execute(text("SELECT id FROM workitem WHERE process_id = :p"),
                             {"p": pid}).scalars().all()
        links = {link for link, payload in conn.execute(text(
            "SELECT link, payload FROM outboxmessage WHERE link IS NOT NULL")).all()
            if (payload if isinstance(payload, dict) else json.loads(payload)).get(
                "process_id") == pid}
    assert links and links <= {f"{api}/work/{s}" for s in steps}, links
