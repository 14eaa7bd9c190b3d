"""Campaign rules and arithmetic: plan checks, overspend, KPI results, the evaluation.

Pure: numbers in, numbers out. The campaign flow records plans, spend and actuals through the
engine and asks this module what they mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mktflow.domain.money import ZERO, money, money_sum
from mktflow.domain.words import Phrase, phrase, word

__all__ = [
    "BudgetFigures",
    "CampaignEvaluation",
    "KpiFigures",
    "KpiResult",
    "cost_per_result",
    "evaluate",
    "kpi_result",
    "over_tolerance",
    "plan_field_problems",
    "plan_problems",
]


@dataclass(frozen=True)
class KpiFigures:
    """A KPI's target and actual; ``higher`` says whether more is better."""

    name: str
    target: float
    actual: float | None
    unit: str = ""
    higher_is_better: bool = True


@dataclass(frozen=True)
class KpiResult:
    """How one KPI came out: achievement is actual / target (inverted when lower is better)."""

    name: str
    unit: str
    target: float
    actual: float | None
    achievement: float | None
    met: bool


@dataclass(frozen=True)
class BudgetFigures:
    """One budget line's money: what was allocated, what was spent."""

    code: str
    allocated: Decimal
    spent: Decimal


@dataclass(frozen=True)
class CampaignEvaluation:
    """The campaign measured against its goal and its budget."""

    kpis: tuple[KpiResult, ...]
    allocated: Decimal
    spent: Decimal
    variance: Decimal  # allocated - spent; negative means overspent
    utilisation: float | None  # spent / allocated (a ratio, not money)
    cost_per_result: Decimal | None  # spent per unit of the first KPI's actual
    kpis_met: int

    @property
    def goal_met(self) -> bool:
        """Every KPI reached its target."""
        return bool(self.kpis) and self.kpis_met == len(self.kpis)


def kpi_result(k: KpiFigures) -> KpiResult:
    """Compare one KPI's actual with its target."""
    if k.actual is None:
        return KpiResult(k.name, k.unit, k.target, None, None, False)
    if k.higher_is_better:
        achievement = k.actual / k.target if k.target else None
        met = k.actual >= k.target
    else:
        achievement = k.target / k.actual if k.actual else None
        met = k.actual <= k.target
    return KpiResult(k.name, k.unit, k.target, k.actual,
                     round(achievement, 4) if achievement is not None else None, met)


def cost_per_result(spent: Decimal, results: float | None) -> Decimal | None:
    """Money spent per result (per lead, per unit sold ...); None when there is no result."""
    if not results:
        return None
    return money(money(spent) / Decimal(repr(float(results))))


def over_tolerance(allocated: Decimal | float, spent: Decimal | float,
                   tolerance_pct: float) -> bool:
    """Whether spend exceeds the allocation by more than the tolerance (a percentage), compared
    exactly: the limit is allocated x (1 + tolerance / 100), to the cent (half up)."""
    limit = money(money(allocated) * (1 + Decimal(repr(float(tolerance_pct))) / 100))
    return money(spent) > limit


def evaluate(kpis: Sequence[KpiFigures], lines: Iterable[BudgetFigures]) -> CampaignEvaluation:
    """KPI actual vs target, spend vs budget, and the cost per result of the first KPI."""
    results = tuple(kpi_result(k) for k in kpis)
    lines = list(lines)
    allocated = money_sum(b.allocated for b in lines)
    spent = money_sum(b.spent for b in lines)
    first = results[0].actual if results else None
    return CampaignEvaluation(
        kpis=results, allocated=allocated, spent=spent, variance=money(allocated - spent),
        utilisation=round(float(spent / allocated), 4) if allocated != ZERO else None,
        cost_per_result=cost_per_result(spent, first),
        kpis_met=sum(1 for r in results if r.met),
    )


def plan_problems(
    *,
    start: date,
    end: date,
    kpi_names: Sequence[str],
    activity_lines: Sequence[tuple[str, str]],
    budget_codes: Sequence[str],
) -> list[str]:
    """What makes a campaign plan unworkable, each as ``field path: problem`` (empty when sound):
    ``plan_field_problems`` in one line each, in English."""
    return [f"{field}: {problem}" for field, problem in plan_field_problems(
        start=start, end=end, kpi_names=kpi_names, activity_lines=activity_lines,
        budget_codes=budget_codes)]


def plan_field_problems(
    *,
    start: date,
    end: date,
    kpi_names: Sequence[str],
    activity_lines: Sequence[tuple[str, str]],
    budget_codes: Sequence[str],
) -> list[tuple[str, Phrase]]:
    """What makes a campaign plan unworkable, each as (field path, problem), the problem a
    message worded where shown (``domain.words``); empty when the plan is sound.

    ``activity_lines`` lists (activity title, budget line code) for each activity, in the plan's
    order; paths count from 0 as the answer's JSON does (``activities.1.budget_line``).
    The rules: the timetable runs forwards and the goal is measured (seed 001, promotion:
    "推广活动的执行应有明确的时间表和责任人"; seed 002, goals with measurable results); every
    activity charges one of the plan's own budget lines, each named once (seed 001 §3.2, spend
    kept within the budget).
    """
    problems: list[tuple[str, Phrase]] = []
    if end < start:
        problems.append(("end", phrase("%(end)s is before start %(start)s", end=end,
                                       start=start)))
    if not kpi_names:
        problems.append(("kpis", phrase("a campaign needs at least one measurable KPI")))
    problems += [(f"kpis.{i}.name", phrase("KPI %(name)s is named twice", name=repr(name)))
                 for i, name in enumerate(kpi_names) if name in kpi_names[:i]]
    problems += [(f"budget_lines.{i}.code", phrase("budget line %(code)s is named twice",
                                                   code=repr(code)))
                 for i, code in enumerate(budget_codes) if code in budget_codes[:i]]
    known = ", ".join(dict.fromkeys(budget_codes)) or word("none")
    for i, (title, line) in enumerate(activity_lines):
        if line not in budget_codes:
            problems.append((f"activities.{i}.budget_line", phrase(
                "%(title)s charges unknown budget line %(line)s (the plan has %(known)s)",
                title=repr(title), line=repr(line), known=known)))
    return problems
