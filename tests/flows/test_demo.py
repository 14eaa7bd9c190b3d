"""What ``make demo`` runs, as a person runs it: ``mktflow db upgrade``, ``org load --demo`` and
``mktflow demo`` on a fresh data folder, nothing configured (local Prefect server, SQLite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.flows.support import open_ui_link

pytestmark = pytest.mark.flows


def test_make_demo_runs_every_process_and_cycle_to_the_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MKTFLOW_", "PREFECT_"))}
    env.update(MKTFLOW_DATA_DIR=str(tmp_path / "data"), PREFECT_SERVER_ANALYTICS_ENABLED="false")

    def mktflow(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mktflow.cli", *args], env=env, text=True,
                              capture_output=True, timeout=timeout)

    try:
        for step in (("db", "upgrade"), ("org", "load", "--demo")):
            done = mktflow(*step)
            assert done.returncode == 0, (step, done.stderr)
        demo = mktflow("demo", "--json", timeout=600)
        assert demo.returncode == 0, demo.stderr[-3000:]
        results = json.loads(demo.stdout)
        assert [p["state"] for p in results["processes"]] == ["COMPLETED"] * 3, results
        keys = {p["business_key"] for p in results["processes"]}
        # the campaign's leads: 4 gathered (3 from a stand sheet), 3 qualified and accepted by
        # sales, 2 won with an order, 1 lost, 1 disqualified; its evaluation counts leads_won
        leads = results["leads"]
        funnel = leads["funnel"]
        assert [funnel[k] for k in ("gathered", "qualified", "accepted", "won", "lost",
                                    "disqualified")] == [4, 3, 3, 2, 1, 1], leads
        assert sorted(x["state"] for x in leads["leads"]) == [
            "disqualified", "lost", "won", "won"]
        (evaluated,) = [p for p in results["processes"]
                        if p["business_key"] == leads["campaign"]]
        kpis = {k["name"]: k for k in evaluated["result"]["kpis"]}
        assert (kpis["leads_won"]["actual"], kpis["leads_won"]["met"]) == (2, True)
        # the complaint the order follow-up heard, handed to supply and closed
        assert results["complaints"] == [{"complaint": "C-1", "state": "closed"}]
        assert [c["flow"] for c in results["cycles"]] == [
            "outbox-relay", "sla-sweep", "member-digests", "process-review", "market-research",
            "budget-review", "performance-appraisal", "channel-evaluation", "annual-planning",
            "training", "daily-reports", "report-digest", "weekly-reports", "monthly-reports",
            "quarterly-meeting", "annual-meeting"]
        # the appraisal found Olga below target; her training planned, approved, attended
        assert [(t["status"], t["approved_by"], t["sessions"][0]["attended"])
                for t in results["training"]] == [
            ("approved", "ana.torres@example.com", ["olga.petrova@example.com"])]
        for p in results["processes"]:  # each run's page opens on the local server's UI
            assert open_ui_link(p["ui_url"])["state"]["type"] == "COMPLETED"
        listed = json.loads(mktflow("process", "list", "--json").stdout)
        assert sorted((r["process"], r["status"]) for r in listed if r["business_key"] in keys) == [
            ("campaign", "completed"), ("new-product-development", "completed"),
            ("order-handling", "completed")]
    finally:
        stopped = mktflow("server", "stop")
        assert stopped.returncode == 0, stopped.stderr
