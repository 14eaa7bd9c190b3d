"""Command handlers for campaigns: the plan (with KPIs, activities and budget lines), status
changes, activity reports, KPI actuals and the evaluation. Each in one unit of work with audit."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import col, delete, select

from mktflow.domain.campaign import BudgetFigures, KpiFigures, plan_problems
from mktflow.domain.errors import BadInput, Conflict, NotFound
from mktflow.domain.inputs import normalise_email
from mktflow.domain.leads import FUNNEL_KPIS
from mktflow.domain.money import money, money_sum
from mktflow.domain.words import phrase
from mktflow.engine import leads
from mktflow.engine.common import actor_for, ref_of
from mktflow.store.tables import BudgetLine, Campaign, CampaignActivity, Kpi, Plan
from mktflow.store.uow import UnitOfWork

__all__ = [
    "campaign_figures",
    "record_activity_report",
    "record_evaluation",
    "record_kpi_actuals",
    "record_plan",
    "set_status",
]


def _campaign(uow: UnitOfWork, campaign_id: int) -> Campaign:
    row = uow.session.get(Campaign, campaign_id, with_for_update=True)
    if row is None:
        raise NotFound(phrase("campaign %(number)s does not exist", number=campaign_id))
    return row


def record_plan(
    uow: UnitOfWork,
    *,
    process_id: int,
    code: str,
    plan: dict[str, Any],
    actor_email: str,
    owner_email: str,
    branch: str | None = None,
) -> Campaign:
    """Record (or revise, before execution) a campaign plan: goal, KPIs, activities, budget.

    ``plan`` has name, goal, target_customers, channels, start, end, kpis [{name, unit, target,
    higher_is_better}], activities [{title, owner, channel, start, end, budget_line}] and
    budget_lines [{code, title, amount}].
    """
    start, end = date.fromisoformat(str(plan["start"])), date.fromisoformat(str(plan["end"]))
    problems = plan_problems(
        start=start, end=end, kpi_names=[k["name"] for k in plan["kpis"]],
        activity_lines=[(a["title"], a["budget_line"]) for a in plan["activities"]],
        budget_codes=[b["code"] for b in plan["budget_lines"]])
    if problems:
        raise BadInput(f"campaign {code}: " + "; ".join(problems))
    with uow:
        actor = actor_for(uow, actor_email)
        for a in plan["activities"]:
            actor_for(uow, a["owner"])  # every activity has an owner who exists
        camp = uow.session.exec(select(Campaign).where(col(Campaign.code) == code)).first()
        if camp is not None and camp.process_id != process_id:
            owner = ref_of("process", camp.process_id)
            raise Conflict(f"campaign {code} belongs to another process ({owner})")
        if camp is not None and camp.status not in ("planned", "rework"):
            raise Conflict(f"campaign {code} is {camp.status}: its plan can no longer change")
        action = "revise" if camp else "plan"
        if camp is None:
            plan_row = Plan(code=f"campaign-{code}", title=plan["name"], kind="campaign",
                            department="marketing", owner_email=owner_email, status="draft",
                            period=f"{start.year}", process_id=process_id,
                            created_at=uow.now(), updated_at=uow.now())
            uow.session.add(plan_row)
            uow.session.flush()
            camp = Campaign(code=code, name=plan["name"], plan_id=plan_row.id,
                            process_id=process_id, owner_email=owner_email, branch=branch,
                            created_at=uow.now())
        camp.name, camp.goal = plan["name"], plan["goal"]
        camp.target_customers, camp.channels = plan["target_customers"], list(plan["channels"])
        camp.start, camp.end, camp.status, camp.updated_at = start, end, "planned", uow.now()
        uow.session.add(camp)
        uow.session.flush()
        assert camp.id is not None and camp.plan_id is not None
        plan_row_ = uow.session.get(Plan, camp.plan_id)
        assert plan_row_ is not None
        plan_row_.goals = [plan["goal"]]
        uow.session.add(plan_row_)
        _replace_details(uow, camp, plan, owner_email)
        uow.audit(actor=actor.email, entity_type="campaign", entity_id=camp.id,
                  process_id=process_id, action=action, to_state=camp.status,
                  data={"budget": money_sum(b["amount"] for b in plan["budget_lines"]),
                        "kpis": [k["name"] for k in plan["kpis"]]})
        uow.commit()
        return camp


def _replace_details(uow: UnitOfWork, camp: Campaign, plan: dict[str, Any], owner: str) -> None:
    """KPIs and activities are replaced; budget lines are upserted by code (none spent yet)."""
    s = uow.session
    s.exec(delete(CampaignActivity).where(col(CampaignActivity.campaign_id) == camp.id))
    s.exec(delete(Kpi).where(col(Kpi.campaign_id) == camp.id))
    lines = {b.code: b for b in s.exec(select(BudgetLine).where(
        col(BudgetLine.plan_id) == camp.plan_id))}
    wanted = {b["code"]: b for b in plan["budget_lines"]}
    for code, line in lines.items():
        if code not in wanted:
            s.delete(line)
    period = str(camp.start.year) if camp.start else ""
    for code, b in wanted.items():
        line = lines.get(code) or BudgetLine(plan_id=camp.plan_id, code=code, title=b["title"],
                                             department="marketing", owner_email=owner,
                                             period=period, created_at=uow.now())
        # An approved campaign plan allocates its own lines; finance approved the total.
        line.title, line.planned, line.updated_at = (b["title"],
                                                     money(b["amount"], "budget_lines: amount"),
                                                     uow.now())
        s.add(line)
        lines[code] = line
    s.flush()
    for k in plan["kpis"]:
        s.add(Kpi(campaign_id=camp.id, plan_id=camp.plan_id, name=k["name"],
                  unit=k.get("unit", ""), higher_is_better=k.get("higher_is_better", True),
                  target=float(k["target"]), owner_email=owner, department="marketing",
                  period=period, created_at=uow.now(), updated_at=uow.now()))
    assert camp.id is not None
    for a in plan["activities"]:
        s.add(CampaignActivity(
            campaign_id=camp.id, title=a["title"], owner_email=normalise_email(a["owner"]),
            channel=a.get("channel", ""),
            start=date.fromisoformat(str(a["start"])) if a.get("start") else None,
            end=date.fromisoformat(str(a["end"])) if a.get("end") else None,
            budget_line_id=lines[a["budget_line"]].id))


def set_status(uow: UnitOfWork, campaign_id: int, *, status: str, actor_email: str,
               reason: str | None = None, approved_amount: Decimal | float | None = None,
               matrix_version: str | None = None) -> Campaign:
    """Move a campaign to a new status (approved: its budget lines are allocated)."""
    with uow:
        actor = actor_for(uow, actor_email)
        camp = _campaign(uow, campaign_id)
        before = camp.status
        camp.status, camp.updated_at = status, uow.now()
        if approved_amount is not None:
            camp.approved_amount = money(approved_amount, "approved_amount")
            camp.matrix_version = matrix_version
            for line in uow.session.exec(select(BudgetLine).where(
                    col(BudgetLine.plan_id) == camp.plan_id)):
                line.allocated = line.planned
                uow.session.add(line)
        uow.session.add(camp)
        assert camp.id is not None
        uow.audit(actor=actor.email, entity_type="campaign", entity_id=camp.id,
                  process_id=camp.process_id, action="status", from_state=before,
                  to_state=status, reason=reason,
                  data={"approved_amount": approved_amount, "matrix_version": matrix_version})
        uow.commit()
        return camp


def record_activity_report(uow: UnitOfWork, activity_id: int, *, report: dict[str, Any],
                           work_item_id: int | None, actor_email: str) -> CampaignActivity:
    """Record what an activity's owner reports; the activity is done."""
    with uow:
        actor = actor_for(uow, actor_email)
        act = uow.session.get(CampaignActivity, activity_id, with_for_update=True)
        if act is None:
            raise NotFound(f"campaign activity {activity_id} does not exist")
        act.report, act.status, act.work_item_id = report, "done", work_item_id
        uow.session.add(act)
        camp = uow.session.get(Campaign, act.campaign_id)
        uow.audit(actor=actor.email, entity_type="campaign", entity_id=act.campaign_id,
                  process_id=camp.process_id if camp else None, action="activity",
                  data={"activity": act.title, **report})
        uow.commit()
        return act


def record_kpi_actuals(uow: UnitOfWork, campaign_id: int, *, actuals: dict[str, float],
                       actor_email: str) -> list[Kpi]:
    """Record each KPI's actual; refuses a KPI the campaign does not have."""
    with uow:
        actor = actor_for(uow, actor_email)
        camp = _campaign(uow, campaign_id)
        kpis = {k.name: k for k in uow.session.exec(select(Kpi).where(
            col(Kpi.campaign_id) == campaign_id))}
        unknown = sorted(set(actuals) - set(kpis))
        if unknown:
            raise BadInput(f"actuals: campaign {camp.code} has no KPI {', '.join(unknown)} "
                           f"(it has {', '.join(sorted(kpis))})")
        for name, value in actuals.items():
            kpis[name].actual, kpis[name].updated_at = float(value), uow.now()
            uow.session.add(kpis[name])
        uow.audit(actor=actor.email, entity_type="campaign", entity_id=campaign_id,
                  process_id=camp.process_id, action="track", data={"actuals": actuals})
        uow.commit()
        return list(kpis.values())


def record_evaluation(uow: UnitOfWork, campaign_id: int, *, evaluation: dict[str, Any],
                      lessons: str, actor_email: str) -> Campaign:
    """Record the evaluation and lessons; the campaign is evaluated."""
    with uow:
        actor = actor_for(uow, actor_email)
        camp = _campaign(uow, campaign_id)
        before = camp.status
        camp.evaluation, camp.lessons, camp.status = evaluation, lessons, "evaluated"
        camp.updated_at = uow.now()
        uow.session.add(camp)
        uow.audit(actor=actor.email, entity_type="campaign", entity_id=campaign_id,
                  process_id=camp.process_id, action="evaluate", from_state=before,
                  to_state=camp.status, data={"lessons": lessons})
        uow.commit()
        return camp


def _with_funnel(uow: UnitOfWork, code: str, kpis: list[KpiFigures]) -> list[KpiFigures]:
    """``kpis`` with the funnel KPIs (``domain.leads.FUNNEL_KPIS``: leads_gathered ...
    leads_won) measured from the campaign's leads, whatever figure was typed for them."""
    if not any(k.name in FUNNEL_KPIS for k in kpis):
        return kpis
    counted = leads.funnel_actuals(uow, code)
    return [replace(k, actual=counted[k.name]) if k.name in counted else k for k in kpis]


def campaign_figures(uow: UnitOfWork, campaign_id: int) -> dict[str, Any]:
    """The campaign's activities, KPIs and budget lines as plain figures (reads only). A KPI
    named after a stage of the lead funnel (``leads_won`` ...) is counted from the campaign's
    leads (seed 001, 市场营销部 工作流程 1.(2); docs/processes/leads.md)."""
    with uow:
        camp = uow.session.get(Campaign, campaign_id)
        if camp is None:
            raise NotFound(phrase("campaign %(number)s does not exist", number=campaign_id))
        s = uow.session
        lines = list(s.exec(select(BudgetLine).where(col(BudgetLine.plan_id) == camp.plan_id)
                            .order_by(col(BudgetLine.code))))
        by_id = {b.id: b.code for b in lines}
        return {
            "code": camp.code, "status": camp.status,
            "activities": [{"id": a.id, "title": a.title, "owner": a.owner_email,
                            "budget_line": by_id.get(a.budget_line_id),
                            "budget_line_id": a.budget_line_id, "status": a.status}
                           for a in s.exec(select(CampaignActivity).where(
                               col(CampaignActivity.campaign_id) == campaign_id)
                               .order_by(col(CampaignActivity.id)))],
            "kpis": _with_funnel(uow, camp.code, [
                KpiFigures(k.name, k.target, k.actual, k.unit, k.higher_is_better)
                for k in s.exec(select(Kpi).where(col(Kpi.campaign_id) == campaign_id)
                                .order_by(col(Kpi.id)))]),
            "lines": [BudgetFigures(b.code, b.allocated, b.spent) for b in lines],
        }
