"""Training from appraisal on a real Prefect server (seed 001, 团队建设规范 5.1 and 绩效评估 3):
the appraisal's missed KPI becomes a need, the training cycle opens marketing's plan step, the
plan is approved and attended, and the next appraisal's report shows the training and the
change of attainment; the next training run reports the attendance."""

from __future__ import annotations

from typing import Any

import pytest

from tests.flows.test_cycles import run_flow
from tests.integration.test_training import ANA, LI, OLGA, add_kpis, answer, session_of

pytestmark = pytest.mark.flows


def test_a_missed_kpi_is_planned_attended_and_shown_at_the_next_appraisal(
        cycle_db: Any) -> None:
    from flows.performance_appraisal import performance_appraisal
    from flows.training import training
    from mktflow.engine import training as engine_training

    add_kpis(cycle_db, "2026-Q2", olga_actual=50)
    run_flow(performance_appraisal, period="2026-Q2")
    result, artifacts = run_flow(training, period="2026-Q2")
    assert (result["needs"], result["plans"], result["approved"]) == (1, 1, 0)
    [need] = artifacts["training-needs"]
    assert (need["member"], need["topics"]) == (OLGA, "leads")
    [plan] = engine_training.list_plans(cycle_db.uow(), period="2026-Q2")
    assert f"| marketing | preparing | 0 | 0 | {plan.prepare_step} |" in \
        artifacts["training-report"]
    answer(cycle_db, plan.prepare_step, LI, {"sessions": [session_of()]})
    [plan] = engine_training.list_plans(cycle_db.uow(), period="2026-Q2")
    answer(cycle_db, plan.approval_step, ANA, {"decision": "approve"})
    [plan] = engine_training.list_plans(cycle_db.uow(), period="2026-Q2")
    answer(cycle_db, plan.sessions[0].attendance_step, LI, {"attended": [OLGA]})

    add_kpis(cycle_db, "2026-Q3", olga_actual=120)
    _, artifacts = run_flow(performance_appraisal, period="2026-Q3")
    assert f"| {OLGA} | Lead qualification | +50.0 pts |" in \
        artifacts["performance-appraisal-report"]
    result, artifacts = run_flow(training, period="2026-Q3")
    assert result["needs"] == 0  # every KPI met
    assert "| marketing | Lead qualification | li.na@example.com | 2026-07-13..2026-07-14 | 1 " \
           "| 1 |" in artifacts["training-report"]
