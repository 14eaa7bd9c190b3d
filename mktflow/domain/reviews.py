"""The rules of the review cycles: budget overruns, KPI attainment, distributor scores.

Pure: each function takes figures and returns a verdict with the reason a person reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mktflow.domain.money import money
from mktflow.domain.words import phrase

__all__ = [
    "DEFAULT_CHANNEL_WEIGHTS",
    "BudgetVerdict",
    "DistributorScore",
    "KpiVerdict",
    "budget_verdict",
    "kpi_verdict",
    "score_distributor",
]


@dataclass(frozen=True)
class BudgetVerdict:
    """A budget line against its plan to date and its allocation; why it is flagged."""

    over_plan_pct: float | None  # spent over plan to date, in percent (None without a plan)
    flags: tuple[str, ...]
    unguaranteed: bool  # a key project whose allocation does not cover its plan

    @property
    def flagged(self) -> bool:
        """The owner must explain or re-plan."""
        return bool(self.flags)


def budget_verdict(*, planned: Decimal, allocated: Decimal, spent: Decimal,
                   planned_to_date: Decimal, tolerance_pct: float,
                   key_project_min: Decimal | float) -> BudgetVerdict:
    """Flag spend beyond plan to date by more than the tolerance, and spend beyond allocation;
    a key project (planned at least ``key_project_min``) whose allocation falls short of its
    plan has no guaranteed resources (seed 003). Amounts are compared exactly, to the cent."""
    planned, allocated, spent = money(planned), money(allocated), money(spent)
    planned_to_date, key_project_min = money(planned_to_date), money(key_project_min)
    flags: list[str] = []
    over = None
    if planned_to_date > 0:
        over = round(float((spent - planned_to_date) / planned_to_date * 100), 1)
        limit = money(planned_to_date * (1 + Decimal(repr(float(tolerance_pct))) / 100))
        if spent > limit:
            flags.append(phrase("spent %(spent)s is %(over)s%% over the plan to date "
                                "%(planned)s (tolerance %(tolerance)s%%)", spent=spent,
                                over=format(over, ".1f"), planned=planned_to_date,
                                tolerance=format(tolerance_pct, "g")))
    elif spent > 0:
        flags.append(phrase("spent %(spent)s with nothing planned to date", spent=spent))
    if spent > allocated:
        flags.append(phrase("spent %(spent)s exceeds the allocation %(allocated)s",
                            spent=spent, allocated=allocated))
    unguaranteed = planned >= key_project_min > 0 and allocated < planned
    return BudgetVerdict(over_plan_pct=over, flags=tuple(flags), unguaranteed=unguaranteed)


@dataclass(frozen=True)
class KpiVerdict:
    """A KPI's actual against its target."""

    met: bool | None  # None: no actual recorded
    gap_pct: float | None  # how far from target, in percent of target (negative: short)


def kpi_verdict(*, target: float, actual: float | None, higher_is_better: bool) -> KpiVerdict:
    """Met when the actual reaches the target (or stays at/below it when lower is better)."""
    if actual is None:
        return KpiVerdict(met=None, gap_pct=None)
    met = actual >= target if higher_is_better else actual <= target
    gap = None
    if target:
        raw = (actual - target) / abs(target) * 100
        gap = round(raw if higher_is_better else -raw, 1)
    return KpiVerdict(met=met, gap_pct=gap)


#: Criteria and their weights when the settings name none.
DEFAULT_CHANNEL_WEIGHTS: dict[str, float] = {
    "sales_vs_target": 0.4, "payment_discipline": 0.3, "coverage": 0.2, "complaints": 0.1,
}


@dataclass(frozen=True)
class DistributorScore:
    """Per-criterion scores (0-100), the weighted total, and whether it falls short."""

    scores: dict[str, float]
    total: float
    flagged: bool
    reasons: list[str] = field(default_factory=list)


def _criterion(name: str, figures: dict[str, Any]) -> float | None:
    """One criterion's score from the figures, 0-100; None when its figures are missing."""
    try:
        if name == "sales_vs_target":
            return min(100.0, float(figures["sales"]) / float(figures["target"]) * 100)
        if name == "payment_discipline":  # 30 or more days late on average scores 0
            return max(0.0, 100 - float(figures["days_late"]) * 100 / 30)
        if name == "coverage":  # share of the outlets it should serve, 0-1
            return min(100.0, float(figures["coverage"]) * 100)
        if name == "complaints":  # each complaint costs 20 points
            return max(0.0, 100 - float(figures["complaints"]) * 20)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    raise ValueError(f"unknown channel criterion {name!r} (known: "
                     f"{', '.join(DEFAULT_CHANNEL_WEIGHTS)})")


def score_distributor(figures: dict[str, Any], *, weights: dict[str, float],
                      threshold: float) -> DistributorScore:
    """Weighted score of a distributor; below ``threshold`` (or with figures missing) it is
    flagged for the marketing head to adjust or remove."""
    scores: dict[str, float] = {}
    reasons: list[str] = []
    for name in weights:
        value = _criterion(name, figures)
        if value is None:
            reasons.append(phrase("no figures for %(criterion)s", criterion=name))
            value = 0.0
        scores[name] = round(value, 1)
    weight_sum = sum(weights.values()) or 1.0
    total = round(sum(scores[n] * w for n, w in weights.items()) / weight_sum, 1)
    if total < threshold:
        weakest = min(scores, key=lambda n: scores[n])
        reasons.insert(0, phrase("score %(total)s below %(threshold)s (weakest: %(criterion)s "
                                 "%(score)s)", total=format(total, "g"),
                                 threshold=format(threshold, "g"),
                                 criterion=weakest, score=format(scores[weakest], "g")))
    return DistributorScore(scores=scores, total=total, flagged=bool(reasons), reasons=reasons)
