"""The charts of the desk's figures (issue 24, items 3 and 5), drawn from the engine's views
and nothing else: each chart shows figures of the table the page puts beside it.

- ``workload_charts``: the due spread per member (stacked bars, items) and the working hours
  the department's work waited on each other department and they on it (bars, hours);
- ``dashboard_charts``: KPI actuals as a share of their targets (the target is 100%) and
  budget lines allocated against spent (money).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from mktflow.engine.views import CampaignDashboard, DepartmentWorkload, PeriodDashboard
from mktflow.i18n import N_
from mktflow.web.charts import bar_chart

__all__ = ["BANDS", "STAGE_WORDS", "Say", "dashboard_charts", "english", "waits_by_department",
           "workload_charts"]

#: The due spread's bands: field of ``MemberWorkload`` and its words.
BANDS = (("overdue", N_("Overdue")), ("due_within_day", N_("Due within 24 h")),
         ("due_within_week", N_("Due within 7 days")), ("due_later", N_("Due later")),
         ("no_due", N_("No due time")))

#: The stages of the handoff ledger a wait is of, in words.
STAGE_WORDS = {"accept": N_("offered → accepted"), "deliver": N_("accepted → delivered"),
               "rework": N_("returned → delivered again"),
               "confirm": N_("delivered → confirmed")}

#: How a chart's words are said: a message and its ``%(name)s`` filled (the page's
#: ``Visit.t``; by default English, the message itself).
Say = Callable[..., str]


def english(message: str, **fill: object) -> str:
    """``message`` in English (the source), its ``%(name)s`` filled."""
    return message % fill if fill else message


def _hours(value: float) -> str:
    return f"{value:g}"


def _amount(value: float) -> str:
    return f"{value:,.2f}"


def _target(target: float, unit: str | None) -> str:
    return f"{target:g}{unit and ' ' + unit}"


def _actual(actual: float, share: float) -> str:
    return f"{actual:g} ({share:g}%)"


def waits_by_department(figures: DepartmentWorkload) -> list[dict[str, Any]]:
    """Per other department: hours the department's work waited on it (``ours``) and its
    work on the department (``theirs``), summed over the stages; by department."""
    rows: dict[str, dict[str, float]] = defaultdict(lambda: {"ours": 0.0, "theirs": 0.0})
    for w in figures.waits:
        if w.waiting == figures.department:
            rows[w.on]["ours"] += w.hours
        else:
            rows[w.waiting]["theirs"] += w.hours
    return [{"department": d, "ours": round(v["ours"], 2), "theirs": round(v["theirs"], 2)}
            for d, v in sorted(rows.items())]


def workload_charts(figures: DepartmentWorkload, t: Say = english,
                    name: Callable[[str], str] = str) -> dict[str, Markup]:
    """The load page's charts: ``due`` (members holding open work) and ``waits`` (departments
    it shares handoffs with); a chart with nothing to show is left out. Their words are
    ``t``'s (the page's language) and departments ``name``'s (English: the code)."""
    charts: dict[str, Markup] = {}
    holders = [m for m in figures.members if m.open]
    if holders:
        charts["due"] = bar_chart(
            chart_id="chart-due",
            title=t("%(department)s: open work by member and due time",
                      department=name(figures.department)),
            desc="; ".join(t("%(member)s: %(open)s open, %(overdue)s overdue",
                               member=m.name, open=m.open, overdue=m.overdue)
                           for m in holders),
            labels=[m.name for m in holders], stacked=True,
            series=[(t(words), [getattr(m, band) or None for m in holders])
                    for band, words in BANDS])
    pairs = waits_by_department(figures)
    if pairs:
        charts["waits"] = bar_chart(
            chart_id="chart-waits", value_suffix=t("%(hours)s h", hours=""),
            title=t("%(department)s: working hours waited, by department",
                      department=name(figures.department)),
            desc="; ".join(t("%(department)s: our work waited %(ours)s h on it, its work "
                               "%(theirs)s h on us", department=name(p["department"]),
                               ours=_hours(p["ours"]), theirs=_hours(p["theirs"]))
                           for p in pairs),
            labels=[name(p["department"]) for p in pairs],
            series=[(t("Our work waits on them"), [p["ours"] for p in pairs]),
                    (t("Their work waits on us"), [p["theirs"] for p in pairs])])
    return charts


def dashboard_charts(board: CampaignDashboard | PeriodDashboard, t: Say = english,
                     amount: Callable[[float], str] = _amount) -> dict[str, Markup]:
    """A dashboard's charts: ``kpis`` (actual as a percentage of target, the target 100) and
    ``budget`` (allocated and spent per line); a chart with nothing to show is left out. Their
    words are ``t``'s (the page's language), its amounts ``amount``'s; KPI names and line
    codes as typed."""
    what = (t("campaign %(campaign)s", campaign=board.code)
            if isinstance(board, CampaignDashboard)
            else t("period %(period)s", period=board.period))
    charts: dict[str, Markup] = {}
    if board.kpis:
        shares = [round(k.achievement * 100, 1) if k.achievement is not None else None
                  for k in board.kpis]
        charts["kpis"] = bar_chart(
            chart_id="chart-kpis", value_suffix="%",
            title=t("KPIs of %(what)s: actual as a share of target", what=what),
            desc="; ".join(t("%(kpi)s: target %(target)s, actual %(actual)s", kpi=k.name,
                               target=_target(k.target, k.unit), actual=_actual(k.actual, s)
                               if k.actual is not None and s is not None
                               else t("not recorded"))
                           for k, s in zip(board.kpis, shares, strict=True)),
            labels=[k.name for k in board.kpis],
            series=[(t("Target"), [100.0] * len(board.kpis)), (t("Actual"), shares)])
    if board.lines:
        charts["budget"] = bar_chart(
            chart_id="chart-budget",
            title=t("Budget of %(what)s: allocated against spent", what=what),
            desc="; ".join(t("%(line)s: allocated %(allocated)s, spent %(spent)s",
                               line=b.code, allocated=amount(b.allocated),
                               spent=amount(b.spent))
                           for b in board.lines),
            labels=[b.code for b in board.lines],
            series=[(t("Allocated"), [b.allocated for b in board.lines]),
                    (t("Spent"), [b.spent for b in board.lines])])
    return charts
