"""A quarterly planning meeting on a real Prefect server (seed 001, 市场营销部 工作流程 1.(1) A):
the agenda answered in the Prefect UI's form (it decides nothing), the minutes sent back once by
the head and approved the second time, then sent: each decision is work, the minutes are the
run's artifact, and a decision still open is carried to the next meeting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.flows.support import Departments, flow_run_id_of, start_flow, ui_resume, wait_paused
from tests.flows.test_cycles import cycle_runs
from tests.integration.test_meetings import ANA, OLGA, TOM, decisions

pytestmark = pytest.mark.flows


def test_a_quarterly_meeting_from_agenda_to_decisions_at_work(
        cycle_db: Any, clock: Any) -> None:
    from flows.meetings import quarterly_meeting
    from mktflow.domain.cycles import Frequency, period_of
    from mktflow.engine import meetings
    from mktflow.prefect.artifacts import read_artifacts

    period = period_of(clock.today(), Frequency.QUARTERLY)
    run = start_flow(quarterly_meeting, period=period)
    d = Departments(cycle_db, f"quarterly-meeting/{period}", run)
    agenda = d.step("agenda")
    assert (agenda.assignee_email, agenda.form_name) == (ANA, "MeetingAgenda")
    assert "Open decisions of earlier meetings" in agenda.draft["agenda"]
    fid = flow_run_id_of(cycle_db, f"quarterly-meeting/{period}")
    wait_paused(fid, "agenda")
    ui_resume(fid, {"agenda": "1. The quarter's plan", "answered_by": ANA})
    minutes = {"held_on": clock.today().isoformat(), "attendees": "Ana, Olga, Tom",
               "summary": "Fix the quarter", "decisions": decisions(clock)}
    d.answer("minutes-1", OLGA, {**minutes, "summary": "draft"})
    d.answer("approval-1", ANA, {"decision": "revise", "comment": "say what we fixed"})
    assert d.step("minutes-2").draft["summary"] == "draft"  # pre-filled with the first try
    d.answer("minutes-2", OLGA, minutes)
    d.answer("approval-2", ANA, {"decision": "approve"})
    result = run.result()
    assert result["sent_to"] == ["management", "sales", "tech"]
    assert [w[:2] for w in result["work"]] == ["W-", "H-"]  # Olga's step, tech's handoff

    shown = meetings.show_meeting(cycle_db.uow(), result["meeting"], reader=TOM)
    assert (shown.agenda, shown.summary, shown.approved_by, shown.minutes_by) == (
        "1. The quarter's plan", "Fix the quarter", ANA, OLGA)
    arts = read_artifacts(fid)
    assert "Launch the spring trade-fair plan" in arts["quarterly-meeting-minutes"]
    assert [r["owner"] for r in arts["quarterly-meeting-decisions"]] == [OLGA, TOM]
    [done] = cycle_runs(cycle_db, "quarterly-meeting")
    assert done.status == "completed"
    assert [c["work"] for c in done.open_items] == result["work"]  # carried to the next one
    assert shown.decisions[0].due == (clock.today() + timedelta(days=20)).isoformat()
