"""Dashboards (issue 24, item 5): per campaign and per period, KPI targets against actuals and
budget allocated against spent, the same figures the cycles' artifacts show.

Nothing is computed a second way:

- a campaign's figures are its evaluation: ``campaigns.campaign_figures`` (the funnel KPIs
  counted from its leads) measured by ``domain.campaign.evaluate``, as the campaign flow's
  evaluation step and report compute them;
- a period's KPIs are those the performance appraisal reads (``reviews.period_kpis``),
  each judged by ``domain.reviews.kpi_verdict``; its budget lines those the budget review
  reads (``reviews.period_budget_lines``), each judged by ``domain.reviews.budget_verdict``
  with the budget review's settings (``MKTFLOW_BUDGET_TOLERANCE_PCT``,
  ``MKTFLOW_BUDGET_KEY_PROJECT_MIN``).

Who may read them: budgets and KPIs are plan and budget data, the read table's
``parameters`` row. A campaign's dashboard is shown to whoever may see its process's
parameters (the owner's department and management), else NotAuthorized; a period's lists
only the KPIs and budget lines of the reader's own departments (management: all).
"""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import col, select

from mktflow.domain.actors import Actor, Target, authorize_read, may_read
from mktflow.domain.campaign import KpiFigures, evaluate, kpi_result
from mktflow.domain.cycles import PERIOD_PATTERN, Frequency, period_bounds
from mktflow.domain.errors import BadInput, NotFound
from mktflow.domain.model import Readable, WorkState, read_rule
from mktflow.domain.money import money_json, money_sum
from mktflow.domain.planning import Quadrant, quadrant_balance
from mktflow.domain.reviews import budget_verdict, kpi_verdict
from mktflow.domain.words import joined, on_field, phrase, stored
from mktflow.engine import campaigns, reviews, visibility
from mktflow.engine.common import ref_of
from mktflow.engine.reports import start_of
from mktflow.engine.views import (
    BudgetDashboardRow,
    CampaignDashboard,
    DepartmentBalance,
    KpiDashboardRow,
    PeriodDashboard,
    WorkBalance,
)
from mktflow.store.tables import (
    BudgetLine,
    Campaign,
    Department,
    Member,
    ProcessInstance,
    WorkItem,
)
from mktflow.store.uow import UnitOfWork

__all__ = ["campaign_dashboard", "period_dashboard", "work_balance"]

_PERIOD = re.compile(f"^{PERIOD_PATTERN}$")
_CODE_MAX = 100


def _money(value: object) -> float:
    amount = money_json(value)  # type: ignore[arg-type]
    assert amount is not None
    return amount


def _campaign_target(uow: UnitOfWork, camp: Campaign) -> Target:
    """What the read table needs of a campaign: its process (the owner's department)."""
    process = uow.session.get(ProcessInstance, camp.process_id) if camp.process_id else None
    if process is not None:
        target = visibility.process_target(uow.session, process)
        return Target(ref=phrase("campaign %(code)s", code=camp.code), department=target.department,
                      branch=target.branch, process_owner=target.process_owner,
                      owner_department=target.owner_department, involved=target.involved)
    owner = uow.session.get(Member, camp.owner_email)
    department = owner.department if owner is not None else ""
    return Target(ref=phrase("campaign %(code)s", code=camp.code), department=department,
                  process_owner=camp.owner_email, owner_department=department or None)


def campaign_dashboard(uow: UnitOfWork, code: str, *, reader: str | None) -> CampaignDashboard:
    """Campaign ``code``'s KPIs (target, actual, achievement, met) and budget lines
    (allocated, spent, remaining), with its evaluation's totals: the figures of
    ``domain.campaign.evaluate`` over ``campaigns.campaign_figures``. NotFound for an unknown
    code; NotAuthorized unless ``reader`` may see the campaign's parameters."""
    code = (code or "").strip()
    if not code or len(code) > _CODE_MAX:
        raise BadInput(on_field("code", phrase(
            "a campaign code of 1 to %(n)s characters (got %(got)s)", n=_CODE_MAX,
            got=repr(code))))
    with uow:
        camp = uow.session.exec(select(Campaign).where(col(Campaign.code) == code)).first()
        if camp is None or camp.id is None:
            raise NotFound(on_field("code", phrase("no campaign %(code)s", code=repr(code))))
        actor = visibility.reading_actor(uow, reader)
        if actor is not None:
            authorize_read(actor, read_rule(Readable.PARAMETERS), _campaign_target(uow, camp))
        titles = {b.code: b.title for b in uow.session.exec(
            select(BudgetLine).where(col(BudgetLine.plan_id) == camp.plan_id))}
        campaign_id, name, process_id = camp.id, camp.name, camp.process_id
    figures = campaigns.campaign_figures(uow, campaign_id)
    result = evaluate(figures["kpis"], figures["lines"])
    verdicts = [kpi_verdict(target=k.target, actual=k.actual, higher_is_better=k.higher_is_better)
                for k in figures["kpis"]]
    kpis = [KpiDashboardRow(name=r.name, unit=r.unit, department=None, owner=None,
                            target=r.target, actual=r.actual, achievement=r.achievement,
                            gap_pct=v.gap_pct, met=r.met if r.actual is not None else None)
            for r, v in zip(result.kpis, verdicts, strict=True)]
    lines = [BudgetDashboardRow(code=b.code, title=titles.get(b.code, ""), department=None,
                                allocated=_money(b.allocated), spent=_money(b.spent),
                                remaining=_money(b.allocated - b.spent), planned=None,
                                planned_to_date=None, over_plan_pct=None, flags="")
             for b in figures["lines"]]
    return CampaignDashboard(
        code=code, name=name, status=figures["status"],
        process=ref_of("process", process_id) if process_id else None, kpis=kpis, lines=lines,
        allocated=_money(result.allocated), spent=_money(result.spent),
        variance=_money(result.variance), utilisation=result.utilisation,
        cost_per_result=money_json(result.cost_per_result), kpis_met=result.kpis_met,
        goal_met=result.goal_met)


def _sees(actor: Actor | None, what: str, department: str) -> bool:
    return actor is None or may_read(actor, read_rule(Readable.PARAMETERS), Target(
        ref=what, department=department, owner_department=department))


def _period(period: str) -> str:
    period = (period or "").strip()
    if not _PERIOD.match(period):
        raise BadInput(on_field("period", phrase(
            "%(given)s is no period: a year (2026), a half (2026-H2), a quarter (2026-Q4) or a "
            "month (2026-11)", given=repr(period[:40]))))
    return period


def _bounds(period: str) -> tuple[date, date]:
    """First day of ``period`` (any form ``_PERIOD`` takes) and first day after it; BadInput
    for a period the calendar cannot hold (year 0, or 9999's last)."""
    for frequency in Frequency:
        try:
            return period_bounds(period, frequency)
        except BadInput:
            continue  # not this frequency's form
        except ValueError:
            raise BadInput(on_field("period", phrase(
                "%(given)s is out of the calendar's range (0001-01-01 to 9999-12-31)",
                given=repr(period)))) from None
    raise BadInput(f"period: {period!r} is no period")  # _period let it through: unreachable


def work_balance(uow: UnitOfWork, period: str, *, reader: str | None) -> WorkBalance:
    """The work items created in ``period`` (not cancelled) of each department ``reader``
    may see (the ``queue`` row: its members, management), counted in seed 000's four
    quadrants; a department whose important-not-urgent share of its classified items is
    below ``MKTFLOW_IMPORTANT_NOT_URGENT_FLOOR`` is flagged with a finding. BadInput naming
    ``period`` for a period no cycle names."""
    period = _period(period)
    start, end = _bounds(period)
    floor = uow.settings.important_not_urgent_floor
    with uow:
        actor = visibility.reading_actor(uow, reader)
        rows = uow.session.exec(select(WorkItem.department, WorkItem.important,
                                       WorkItem.urgent).where(
            col(WorkItem.created_at) >= start_of(start), col(WorkItem.created_at) < start_of(end),
            col(WorkItem.state) != WorkState.CANCELLED)).all()
        departments = sorted(d for d in uow.session.exec(select(Department.code))
                             if actor is None or may_read(actor, read_rule(Readable.QUEUE),
                                                          Target(ref=phrase(
                                                              "the %(department)s queue",
                                                              department=d), department=d)))
    shown = []
    for d in departments:
        b = quadrant_balance(((i, u) for dept, i, u in rows if dept == d), floor=floor)
        if not b.classified and not b.unclassified:
            continue
        shown.append(DepartmentBalance(
            department=d, important_urgent=b.counts[Quadrant.IMPORTANT_URGENT],
            important_not_urgent=b.counts[Quadrant.IMPORTANT_NOT_URGENT],
            urgent_not_important=b.counts[Quadrant.URGENT_NOT_IMPORTANT],
            neither=b.counts[Quadrant.NEITHER], unclassified=b.unclassified,
            important_not_urgent_share=round(b.share(Quadrant.IMPORTANT_NOT_URGENT), 4),
            below_floor=b.below_floor, finding=b.finding))
    return WorkBalance(period=period, start=start.isoformat(), end=end.isoformat(),
                       floor=floor, departments=shown)


def period_dashboard(uow: UnitOfWork, period: str, *, reader: str | None) -> PeriodDashboard:
    """The KPIs and budget lines of ``period`` (2026, 2026-H2, 2026-Q4, 2026-11) that
    ``reader`` may see: targets against actuals as the performance appraisal judges them,
    allocated against spent as the budget review does. BadInput naming ``period`` for a
    period no cycle names."""
    period = _period(period)
    settings = uow.settings
    with uow:
        actor = visibility.reading_actor(uow, reader)
        kpis = [k for k in reviews.period_kpis(uow, period)
                if _sees(actor, f"KPI {k.name}", k.department)]
        budget = [b for b in reviews.period_budget_lines(uow, period)
                  if _sees(actor, f"budget line {b.code}", b.department)]
    kpi_rows = []
    for k in kpis:
        v = kpi_verdict(target=k.target, actual=k.actual, higher_is_better=k.higher_is_better)
        r = kpi_result(KpiFigures(k.name, k.target, k.actual, k.unit, k.higher_is_better))
        kpi_rows.append(KpiDashboardRow(
            name=k.name, unit=k.unit, department=k.department, owner=k.owner_email,
            target=k.target, actual=k.actual, achievement=r.achievement, gap_pct=v.gap_pct,
            met=v.met))
    line_rows = []
    for b in budget:
        bv = budget_verdict(planned=b.planned, allocated=b.allocated, spent=b.spent,
                           planned_to_date=b.planned_to_date,
                           tolerance_pct=settings.budget_tolerance_pct,
                           key_project_min=settings.budget_key_project_min)
        line_rows.append(BudgetDashboardRow(
            code=b.code, title=b.title, department=b.department, allocated=_money(b.allocated),
            spent=_money(b.spent), remaining=_money(b.allocated - b.spent),
            planned=_money(b.planned), planned_to_date=_money(b.planned_to_date),
            over_plan_pct=bv.over_plan_pct, flags="; ".join(bv.flags),
            words={"flags": stored(joined(bv.flags))} if bv.flags else None))
    return PeriodDashboard(
        period=period, kpis=kpi_rows, lines=line_rows,
        allocated=_money(money_sum(b.allocated for b in budget)),
        spent=_money(money_sum(b.spent for b in budget)),
        kpis_met=sum(1 for r in kpi_rows if r.met), kpis_measured=sum(
            1 for r in kpi_rows if r.met is not None))
