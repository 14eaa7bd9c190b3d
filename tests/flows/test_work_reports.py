"""The work reports upward on a real Prefect server (seed 001, 市场部管理制度 4): the morning's
report steps, a report written, the evening's digest, the next morning's missing, the week
gathered for management; the artifacts show names and counts, never a report's texts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from tests.flows.test_cycles import run_flow
from tests.integration.test_work_reports import MARCO, OLGA, SOFIA

pytestmark = pytest.mark.flows


def test_a_day_of_reports_and_the_week_gathered(cycle_db: Any, clock: Any) -> None:
    from flows.work_reports import daily_reports, report_digest, weekly_reports, write_report
    from mktflow.engine import work_reports

    today = clock.now().date()
    monday = today + timedelta(days=7 - today.weekday())
    clock.set(datetime.combine(monday, time(8), tzinfo=UTC))
    result, artifacts = run_flow(daily_reports, day=monday)
    assert result["opened"] >= 4 and result["missing"] == 0
    opened = {r["member"] for r in artifacts["daily-reports-opened"]}
    assert {OLGA, MARCO, SOFIA} <= opened

    clock.set(datetime.combine(monday, time(17), tzinfo=UTC))
    work_reports.submit(cycle_db.uow(), actor_email=OLGA, done="Secret plan drafted")
    # the Prefect UI's door: the deployment's Run form, the member's e-mail typed
    written, _ = run_flow(write_report, member=MARCO, done="Called the north depot")
    assert (written["member"], written["period"], written["late"]) == (MARCO, str(monday),
                                                                       False)
    refused = write_report(member=SOFIA, done=" ", return_state=True)
    assert refused.is_failed() and "done: must not be empty" in refused.message
    clock.set(datetime.combine(monday, time(18, 30), tzinfo=UTC))
    result, artifacts = run_flow(report_digest, day=monday)
    assert result["in"] == 2 and result["missing"] >= 2
    digest = artifacts["report-digest-digest"]
    assert SOFIA in digest and "Secret plan" not in digest

    tuesday = monday + timedelta(days=1)
    clock.set(datetime.combine(tuesday, time(8), tzinfo=UTC))
    result, artifacts = run_flow(daily_reports, day=tuesday)
    missing = artifacts["daily-reports-missing"]
    assert result["missing"] == result["opened"] - 2  # all but Olga and Marco, to the heads
    assert SOFIA in missing and OLGA not in missing and MARCO not in missing

    clock.set(datetime.combine(monday + timedelta(days=7), time(7), tzinfo=UTC))
    result, artifacts = run_flow(weekly_reports)
    year, week, _ = monday.isocalendar()
    assert (result["period"], result["reports"]) == (f"{year}-W{week:02d}", 2)
    rows = artifacts["weekly-reports-members"]
    assert {(r["member"], r["submitted_by"]) for r in rows} == {(OLGA, "mktflow"),
                                                               (MARCO, "mktflow")}
