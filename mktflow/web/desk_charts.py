"""The charts of the desk's figures (issue 24, items 3 and 5), drawn from the engine's views
and nothing else: each chart shows figures of the table the page puts beside it.

- ``workload_charts``: the due spread per member (stacked bars, items) and the working hours
  the department's work waited on each other department and they on it (bars, hours);
- ``dashboard_charts``: KPI actuals as a share of their targets (the target is 100%) and
  budget lines allocated against spent (money).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from markupsafe import Markup

from mktflow.engine.views import CampaignDashboard, DepartmentWorkload, PeriodDashboard
from mktflow.web.charts import bar_chart

__all__ = ["BANDS", "STAGE_WORDS", "dashboard_charts", "waits_by_department",
           "workload_charts"]

#: The due spread's bands: field of ``MemberWorkload`` and its words.
BANDS = (("overdue", "Overdue"), ("due_within_day", "Due within 24 h"),
         ("due_within_week", "Due within 7 days"), ("due_later", "Due later"),
         ("no_due", "No due time"))

#: The stages of the handoff ledger a wait is of, in words.
STAGE_WORDS = {"accept": "offered → accepted", "deliver": "accepted → delivered",
               "rework": "returned → delivered again", "confirm": "delivered → confirmed"}


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


def workload_charts(figures: DepartmentWorkload) -> dict[str, Markup]:
    """The load page's charts: ``due`` (members holding open work) and ``waits`` (departments
    it shares handoffs with); a chart with nothing to show is left out."""
    charts: dict[str, Markup] = {}
    holders = [m for m in figures.members if m.open]
    if holders:
        charts["due"] = bar_chart(
            chart_id="chart-due", title=f"{figures.department}: open work by member and due time",
            desc="; ".join(f"{m.name}: {m.open} open, {m.overdue} overdue" for m in holders),
            labels=[m.name for m in holders], stacked=True,
            series=[(words, [getattr(m, band) or None for m in holders])
                    for band, words in BANDS])
    pairs = waits_by_department(figures)
    if pairs:
        charts["waits"] = bar_chart(
            chart_id="chart-waits", value_suffix=" h",
            title=f"{figures.department}: working hours waited, by department",
            desc="; ".join(f"{p['department']}: our work waited {p['ours']:g} h on it, its "
                           f"work {p['theirs']:g} h on us" for p in pairs),
            labels=[p["department"] for p in pairs],
            series=[("Our work waits on them", [p["ours"] for p in pairs]),
                     ("Their work waits on us", [p["theirs"] for p in pairs])])
    return charts


def dashboard_charts(board: CampaignDashboard | PeriodDashboard) -> dict[str, Markup]:
    """A dashboard's charts: ``kpis`` (actual as a percentage of target, the target 100) and
    ``budget`` (allocated and spent per line); a chart with nothing to show is left out."""
    what = f"campaign {board.code}" if isinstance(board, CampaignDashboard) \
        else f"period {board.period}"
    charts: dict[str, Markup] = {}
    if board.kpis:
        shares = [round(k.achievement * 100, 1) if k.achievement is not None else None
                  for k in board.kpis]
        charts["kpis"] = bar_chart(
            chart_id="chart-kpis", value_suffix="%",
            title=f"KPIs of {what}: actual as a share of target",
            desc="; ".join(f"{k.name}: target {k.target:g}{k.unit and ' ' + k.unit}, actual "
                           + (f"{k.actual:g} ({s:g}%)" if k.actual is not None and s is not None
                              else "not recorded")
                           for k, s in zip(board.kpis, shares, strict=True)),
            labels=[k.name for k in board.kpis],
            series=[("Target", [100.0] * len(board.kpis)), ("Actual", shares)])
    if board.lines:
        charts["budget"] = bar_chart(
            chart_id="chart-budget",
            title=f"Budget of {what}: allocated against spent",
            desc="; ".join(f"{b.code}: allocated {b.allocated:,.2f}, spent {b.spent:,.2f}"
                           for b in board.lines),
            labels=[b.code for b in board.lines],
            series=[("Allocated", [b.allocated for b in board.lines]),
                    ("Spent", [b.spent for b in board.lines])])
    return charts
