"""The rules of training from appraisal (``mktflow.domain.training``; seed 001, 团队建设规范
5.1 and 绩效评估 3): which appraisal creates a need, what a plan's sessions must be, which
sessions count for the next appraisal, the change of attainment."""

from __future__ import annotations

from datetime import date

from mktflow.domain.training import (
    attainment_change,
    check_sessions,
    counts_since,
    training_need,
)

OLGA, LI = "olga.petrova@example.com", "li.na@example.com"


def test_a_missed_kpi_or_a_signed_training_result_makes_a_need() -> None:
    kpis = [{"kpi": "leads", "met": False}, {"kpi": "ctr", "met": True},
            {"kpi": "visits", "met": None}, {"kpi": "leads", "met": False}]
    assert training_need(kpis, None) == ("leads",)  # each missed KPI once; no actual: no need
    assert training_need([{"kpi": "ctr", "met": True}], "training") == ("signed: training",)
    assert training_need([{"kpi": "ctr", "met": True}], "reward") is None
    assert training_need([], None) is None


def test_a_plans_sessions_name_active_people_and_run_forwards() -> None:
    good = {"topic": "Lead qualification", "participants": [OLGA], "owner": LI,
            "starts_on": "2026-07-13", "ends_on": "2026-07-13"}
    members = {OLGA, LI}
    assert check_sessions([good], members=members) == []
    bad = {"topic": "  ", "participants": [OLGA, "Olga.Petrova@example.com", "x@example.com"],
           "owner": "nobody@example.com", "starts_on": "13/07/2026", "ends_on": "2026-07-01"}
    found = {(p.field, p.message) for p in check_sessions([good, bad], members=members)}
    assert found == {
        ("sessions.1.topic", "must not be empty"),
        ("sessions.1.owner", "nobody@example.com is not an active member"),
        ("sessions.1.participants.1", "olga.petrova@example.com is named twice"),
        ("sessions.1.participants.2", "x@example.com is not an active member"),
        ("sessions.1.starts_on", "'13/07/2026' is not a date (YYYY-MM-DD)"),
    }
    backwards = {**good, "ends_on": "2026-07-12"}
    assert [p.field for p in check_sessions([backwards], members=members)] == \
        ["sessions.0.ends_on"]


def test_a_session_counts_between_the_previous_appraisal_and_this_one() -> None:
    q2_end, q3_end = date(2026, 7, 1), date(2026, 10, 1)  # each period's end, exclusive
    assert counts_since(date(2026, 7, 1), previous_end=q2_end, end=q3_end)
    assert counts_since(date(2026, 9, 30), previous_end=q2_end, end=q3_end)
    assert not counts_since(date(2026, 6, 30), previous_end=q2_end, end=q3_end)  # before
    assert not counts_since(date(2026, 10, 1), previous_end=q2_end, end=q3_end)  # after
    assert counts_since(date(2020, 1, 1), previous_end=None, end=q3_end)  # no earlier one


def test_the_change_of_attainment_is_in_percentage_points() -> None:
    assert attainment_change(0.5, 1.0) == 50.0
    assert attainment_change(0.75, 0.6667) == -8.3
    assert attainment_change(None, 1.0) is None and attainment_change(0.5, None) is None
