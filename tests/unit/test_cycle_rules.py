"""Cycle periods, skipped runs, and the review rules (budget, KPI, distributor score)."""

from __future__ import annotations

from datetime import date

import pytest

from mktflow.domain.cycles import (
    CYCLES,
    Frequency,
    next_period,
    period_bounds,
    period_of,
    previous_period,
    skipped_between,
)
from mktflow.domain.errors import BadInput
from mktflow.domain.reviews import (
    DEFAULT_CHANNEL_WEIGHTS,
    budget_verdict,
    kpi_verdict,
    score_distributor,
)

M, Q, H, Y = Frequency.MONTHLY, Frequency.QUARTERLY, Frequency.HALF_YEARLY, Frequency.YEARLY


@pytest.mark.parametrize(("day", "freq", "period"), [
    (date(2026, 11, 23), M, "2026-11"), (date(2026, 11, 23), Q, "2026-Q4"),
    (date(2026, 3, 31), Q, "2026-Q1"), (date(2026, 7, 1), H, "2026-H2"),
    (date(2026, 6, 30), H, "2026-H1"), (date(2026, 1, 1), Y, "2026"),
])
def test_period_of(day: date, freq: Frequency, period: str) -> None:
    assert period_of(day, freq) == period


def test_neighbours_cross_the_year() -> None:
    assert previous_period("2026-01", M) == "2025-12"
    assert next_period("2026-12", M) == "2027-01"
    assert previous_period("2026-Q1", Q) == "2025-Q4"
    assert next_period("2026-H2", H) == "2027-H1"
    assert previous_period("2027", Y) == "2026"


def test_bounds() -> None:
    assert period_bounds("2026-12", M) == (date(2026, 12, 1), date(2027, 1, 1))
    assert period_bounds("2026-Q3", Q) == (date(2026, 7, 1), date(2026, 10, 1))
    assert period_bounds("2026-H2", H) == (date(2026, 7, 1), date(2027, 1, 1))


def test_skipped_periods() -> None:
    assert skipped_between(None, "2026-11", M) == []
    assert skipped_between("2026-10", "2026-11", M) == []
    assert skipped_between("2026-08", "2026-11", M) == ["2026-09", "2026-10"]
    assert skipped_between("2025-Q4", "2026-Q3", Q) == ["2026-Q1", "2026-Q2"]


@pytest.mark.parametrize(("period", "freq"), [("2026-13", M), ("2026-11", Q), ("26-Q1", Q),
                                               ("2026-H3", H), ("2026-1", M)])
def test_malformed_periods_are_refused(period: str, freq: Frequency) -> None:
    with pytest.raises(BadInput, match="period"):
        previous_period(period, freq)


@pytest.mark.parametrize("name", sorted(CYCLES))
def test_every_cycle_fires_in_each_of_its_periods_on_a_morning(name: str) -> None:
    from datetime import datetime

    from cronsim import CronSim  # what Prefect's scheduler computes the next runs with

    cycle = CYCLES[name]
    fires = []
    for fire in CronSim(cycle.cron, datetime(2026, 12, 31, 23, 59)):
        if fire.year > 2027:
            break
        fires.append(fire)
    periods = {period_of(fire.date(), cycle.frequency) for fire in fires}
    every = {M: [f"2027-{m:02d}" for m in range(1, 13)], Q: [f"2027-Q{q}" for q in range(1, 5)],
             H: ["2027-H1", "2027-H2"], Y: ["2027"]}[cycle.frequency]
    assert sorted(periods) == every, (cycle.cron, fires)
    assert len(fires) <= 3 * len(every)  # not every minute or every day
    assert all(5 <= fire.hour <= 9 and fire.minute == 0 for fire in fires), cycle.cron


def test_budget_verdicts() -> None:
    ok = budget_verdict(planned=12000, allocated=12000, spent=5400, planned_to_date=5000,
                        tolerance_pct=10, key_project_min=10000)
    assert (ok.over_plan_pct, ok.flagged, ok.unguaranteed) == (8.0, False, False)
    over = budget_verdict(planned=6000, allocated=6000, spent=3600, planned_to_date=3000,
                          tolerance_pct=10, key_project_min=10000)
    assert over.over_plan_pct == 20.0 and len(over.flags) == 1
    both = budget_verdict(planned=5000, allocated=2000, spent=2500, planned_to_date=2000,
                          tolerance_pct=10, key_project_min=0)
    assert len(both.flags) == 2 and not both.unguaranteed  # key check turned off
    key = budget_verdict(planned=20000, allocated=19999, spent=0, planned_to_date=0,
                         tolerance_pct=10, key_project_min=10000)
    assert key.unguaranteed and not key.flagged


def test_kpi_verdicts() -> None:
    assert kpi_verdict(target=100, actual=80, higher_is_better=True).gap_pct == -20.0
    assert kpi_verdict(target=100, actual=100, higher_is_better=True).met is True
    lower = kpi_verdict(target=10, actual=8, higher_is_better=False)
    assert (lower.met, lower.gap_pct) == (True, 20.0)
    assert kpi_verdict(target=10, actual=None, higher_is_better=True).met is None


def test_distributor_scores() -> None:
    good = score_distributor({"sales": 120, "target": 100, "days_late": 0, "coverage": 0.9,
                              "complaints": 0}, weights=DEFAULT_CHANNEL_WEIGHTS, threshold=60)
    assert (good.total, good.flagged) == (98.0, False)
    only_sales = score_distributor({"sales": 50, "target": 100},
                                   weights={"sales_vs_target": 1}, threshold=60)
    assert (only_sales.total, only_sales.flagged) == (50.0, True)
    blank = score_distributor({}, weights=DEFAULT_CHANNEL_WEIGHTS, threshold=0)
    assert blank.flagged and "no figures for sales_vs_target" in blank.reasons
    with pytest.raises(ValueError, match="unknown channel criterion"):
        score_distributor({}, weights={"charm": 1}, threshold=0)
