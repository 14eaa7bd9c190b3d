"""Pure business rules: the authority matrix, four eyes, campaign evaluation, credit, orders,
stage gates and the resource guarantee."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from importlib import resources

import pytest
import yaml

from mktflow.domain.authority_matrix import (
    ApprovalStage,
    MemberInfo,
    eligible_approvers,
    excluded_from_approval,
    parse_matrix,
)
from mktflow.domain.campaign import (
    BudgetFigures,
    KpiFigures,
    evaluate,
    kpi_result,
    over_tolerance,
    plan_problems,
)
from mktflow.domain.errors import BadInput, Refused, TransitionRefused
from mktflow.domain.orders import (
    CreditOutcome,
    OrderLineFigures,
    credit_check,
    next_status,
    order_total,
)
from mktflow.domain.products import GateDecision, ResourceLine, combine, resource_gaps


@pytest.fixture(scope="module")
def matrix():
    text = resources.files("mktflow.demo").joinpath("authority-matrix.yaml").read_text()
    return parse_matrix(yaml.safe_load(text), "demo")


def test_campaign_threshold_marketing_head_then_finance_and_management(matrix) -> None:
    small = matrix.chain("campaign", 20000, branch=None)
    assert [(s.department, s.approvers) for s in small.stages] == [("marketing", 1)]
    big = matrix.chain("campaign", 20000.01, branch=None)
    assert [s.department for s in big.stages] == ["finance", "management"]
    assert big.matrix_version == "2026.1" and "finance (head) x1, then management" in \
        big.describe()


def test_branches_approve_locally_within_limits_else_hq(matrix) -> None:
    local = matrix.chain("campaign", 4000, branch="north", branch_is_hq=False)
    assert local.local and local.stages[0].branch == "north"
    above = matrix.chain("campaign", 6000, branch="north", branch_is_hq=False)
    assert not above.local and above.stages[0].branch is None
    at_hq = matrix.chain("campaign", 4000, branch="hq", branch_is_hq=True)
    assert not at_hq.local


def test_large_credit_needs_two_distinct_approvers(matrix) -> None:
    (stage,) = matrix.chain("order-credit", 60000).stages
    assert stage.approvers == 2


def test_nobody_may_approve_what_no_rule_covers(matrix) -> None:
    with pytest.raises(Refused, match="no rule lets anyone approve unknown-process"):
        matrix.chain("unknown-process", 1)


@pytest.mark.parametrize(("raw", "message"), [
    ({"rules": []}, "needs 'version' and 'rules'"),
    ({"version": 1, "rules": [{"process": "x", "department": "d"}]}, "rule 1: roles is required"),
    ({"version": 1, "rules": [{"process": "x", "department": "d", "roles": ["head"],
                               "scope": "region"}]}, "scope must be one of"),
    ({"version": 1, "rules": [{"process": "x", "department": "d", "roles": ["head"],
                               "above": 10, "up_to": 5}]}, "must be greater than above"),
    ({"version": 1, "rules": [{"process": "x", "department": "d", "roles": ["head"],
                               "up_to": 100},
                              {"process": "x", "department": "e", "roles": ["head"],
                               "above": 50}]}, "rules 1 and 2 overlap"),
    ({"version": 1, "rules": [{"process": "x", "department": "d", "roles": ["head"],
                               "approvers": 0}]}, "approvers must be a whole number"),
])
def test_bad_matrices_are_refused_naming_the_rule(raw, message) -> None:
    with pytest.raises(BadInput, match=message):
        parse_matrix(raw, "m.yaml")


MEMBERS = [MemberInfo("head@x", "finance", "head", "hq"),
           MemberInfo("spec@x", "finance", "specialist", "hq"),
           MemberInfo("deputy@x", "finance", "deputy", "hq"),
           MemberInfo("other@x", "sales", "head", "hq")]


def test_four_eyes_excludes_submitter_earlier_approvers_and_other_roles() -> None:
    stage = ApprovalStage("finance", ("head", "deputy"), 2, None, 1)
    first = excluded_from_approval(stage, MEMBERS, submitter="Deputy@x")
    assert first == ["deputy@x", "spec@x"]
    assert eligible_approvers(stage, MEMBERS, first) == ["head@x"]
    second = excluded_from_approval(stage, MEMBERS, submitter=None,
                                    earlier_approvers=["head@x"])
    assert "head@x" in second and eligible_approvers(stage, MEMBERS, second) == ["deputy@x"]


def test_kpi_results_and_campaign_evaluation() -> None:
    assert kpi_result(KpiFigures("leads", 400, 430)).achievement == 1.075
    lower = kpi_result(KpiFigures("cpl", 20, 25, higher_is_better=False))
    assert (lower.met, lower.achievement) == (False, 0.8)
    assert kpi_result(KpiFigures("x", 10, None)).met is False
    e = evaluate([KpiFigures("leads", 400, 430), KpiFigures("cpl", 20, 18, "", False)],
                 [BudgetFigures("a", 10000, 10500), BudgetFigures("b", 8000, 9500)])
    assert (e.allocated, e.spent, e.variance, e.kpis_met, e.goal_met) == (
        18000, 20000, -2000, 2, True)
    assert e.utilisation == round(20000 / 18000, 4)
    assert e.cost_per_result == Decimal("46.51")  # 20000 / 430 = 46.5116…
    assert evaluate([KpiFigures("leads", 400, 0)], []).cost_per_result is None


def test_overspend_tolerance() -> None:
    assert not over_tolerance(18000, 19800, 10)
    assert over_tolerance(18000, 19800.01, 10)
    assert over_tolerance(0, 1, 50)


def test_plan_problems_name_the_fields() -> None:
    problems = plan_problems(start=date(2027, 3, 2), end=date(2027, 3, 1), kpi_names=[],
                             activity_lines=[("Ads", "nope")], budget_codes=["a", "a"])
    assert problems == ["end: 2027-03-01 is before start 2027-03-02",
                        "kpis: a campaign needs at least one measurable KPI",
                        "budget_lines.1.code: budget line 'a' is named twice",
                        "activities.0.budget_line: 'Ads' charges unknown budget line 'nope' "
                        "(the plan has a)"]
    assert plan_problems(start=date(2027, 3, 1), end=date(2027, 3, 1), kpi_names=["r", "r"],
                         activity_lines=[], budget_codes=[]) == [
        "kpis.1.name: KPI 'r' is named twice"]


def test_credit_check() -> None:
    assert credit_check(total=999, standing="good", auto_limit=1000).outcome == \
        CreditOutcome.AUTO_APPROVED
    assert credit_check(total=1000, standing="good", auto_limit=1000).outcome == \
        CreditOutcome.NEEDS_DECISION
    watched = credit_check(total=10, standing="watch", auto_limit=1000)
    assert watched.outcome == CreditOutcome.NEEDS_DECISION and "watch" in watched.reason


def test_order_states_and_totals() -> None:
    assert order_total([OrderLineFigures(3, 1.1), OrderLineFigures(2, 0.5)]) == Decimal("4.30")
    assert next_status("recorded", "approve_credit") == "credit_approved"
    assert next_status("shipped", "reject") == "rejected"
    with pytest.raises(TransitionRefused, match="cannot ship an order that is recorded"):
        next_status("recorded", "ship")
    with pytest.raises(TransitionRefused, match="cannot reject an order that is closed: allowed "
                       "only when credit_approved or followed_up or invoiced or recorded or "
                       "scheduled or shipped"):
        next_status("closed", "reject")


def test_gate_decisions_combine_and_resources_are_guaranteed() -> None:
    assert combine(["go", "go"]) == GateDecision.GO
    assert combine(["go", "rework"]) == GateDecision.REWORK
    assert combine(["rework", "stop"]) == GateDecision.STOP
    gaps = resource_gaps([ResourceLine("a", "A", 100, 100), ResourceLine("b", "B", 50, 20)])
    assert gaps == ["budget line b (B): 20.00 allocated of 50.00 planned"]
    assert resource_gaps([]) == ["the project has no budget lines: nothing is guaranteed"]
