"""Plan balance: how much of a plan serves today's sales and how much tomorrow's profit.

Seed 000 splits a marketing department's plan items into *present* work (sales support: it
keeps the company alive today) and *future* work (the 3-5 year plan, the annual business plan,
strategy selection, product-line planning, the annual new-product plan). A department whose
plan is nearly all present work is failing; the share of future work is the number to watch,
and it is computed here from the items, never copied from a document.

Plans also form a chain, each level derived from the one above (seed 002): company strategy →
marketing strategy → marketing plan → promotion plans. Items keep the chain as ``parent``
links, and ``balance`` reports links that lead nowhere and items that do not trace to a
strategy.

Pure: no I/O. ``parse_plan_items`` turns rows already read from a file into items and refuses
the file whole, naming the source, the row or entry and the field of every problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mktflow.domain.errors import PlanFileInvalid  # re-exported: its old home

__all__ = [
    "CHAIN_LEVELS",
    "FUTURE_CATEGORIES",
    "PLAN_FIELDS",
    "ChainIssue",
    "Horizon",
    "PlanBalance",
    "PlanFileInvalid",
    "PlanItem",
    "balance",
    "horizon_of",
    "normalise_category",
    "parse_plan_items",
]


class Horizon(StrEnum):
    """Whom a plan item serves: today's sales, or tomorrow's profit."""

    PRESENT = "present"
    FUTURE = "future"


#: The future work seed 000 names, with the spellings people use for it.
FUTURE_CATEGORIES: dict[str, str] = {
    "long-term-plan": "3-5 year development plan",
    "3-5-year-plan": "3-5 year development plan",
    "annual-business-plan": "annual business plan",
    "business-plan": "annual business plan",
    "strategy-selection": "strategy selection",
    "strategy": "strategy selection",
    "marketing-strategy": "strategy selection",
    "product-line-planning": "product-line planning",
    "product-line-plan": "product-line planning",
    "new-product-plan": "annual new-product plan",
    "annual-new-product-plan": "annual new-product plan",
}

#: The plan chain of seed 002, top down; a lower level is derived from a higher one.
CHAIN_LEVELS: dict[str, int] = {
    "strategy": 0,
    "strategy-selection": 0,
    "marketing-strategy": 1,
    "marketing-plan": 2,
    "promotion-plan": 3,
}

#: Columns / keys a plan file may have; ``title`` and ``category`` are required.
PLAN_FIELDS = ("id", "title", "category", "owner", "goal", "horizon", "resources", "parent",
               "notes")


def normalise_category(raw: str) -> str:
    """``Product line planning`` and ``product_line-planning`` become ``product-line-planning``."""
    return re.sub(r"[^a-z0-9]+", "-", raw.strip().lower()).strip("-")


def horizon_of(category: str) -> Horizon:
    """Future if the category is one of seed 000's future kinds of work, else present."""
    return Horizon.FUTURE if normalise_category(category) in FUTURE_CATEGORIES else Horizon.PRESENT


@dataclass(frozen=True)
class PlanItem:
    """One line of a plan: what, of which kind, whose, for which goal, with what resources."""

    key: str  # the item's ``id``, or its title; ``parent`` refers to it
    title: str
    category: str
    horizon: Horizon
    owner: str = ""
    goal: str = ""
    resources: str = ""
    parent: str = ""
    where: str = ""  # "row 4", "entry 3": for messages

    @property
    def level(self) -> int | None:
        """The item's level in the plan chain (0 = strategy), if its category is a chain level."""
        return CHAIN_LEVELS.get(normalise_category(self.category))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # YAML lists of resources
        return ", ".join(str(v).strip() for v in value if str(v).strip())
    return str(value).strip()


def parse_plan_items(rows: Iterable[tuple[int, Any]], source: str, *,
                     unit: str = "row") -> list[PlanItem]:
    """Turn a file's numbered rows into plan items; refuse the file whole, naming every problem.

    ``rows`` pairs each row (or entry) with its number in the file, so messages point at it.
    """
    items: list[PlanItem] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for number, raw in rows:
        where = f"{unit} {number}"
        if not isinstance(raw, Mapping):
            problems.append(f"{source} {where}: expected a mapping of fields, "
                            f"got {type(raw).__name__}")
            continue
        unknown = sorted(str(k) for k in raw if str(k).strip().lower() not in PLAN_FIELDS)
        for name in unknown:
            problems.append(f"{source} {where}: field {name!r}: unknown field "
                            f"(allowed: {', '.join(PLAN_FIELDS)})")
        values = {str(k).strip().lower(): _text(v) for k, v in raw.items()}
        for required in ("title", "category"):
            if not values.get(required):
                problems.append(f"{source} {where}: field {required!r}: missing or empty")
        raw_horizon = values.get("horizon", "").lower()
        if raw_horizon and raw_horizon not in {h.value for h in Horizon}:
            problems.append(f"{source} {where}: field 'horizon': {values['horizon']!r} is not "
                            "'present' or 'future'")
        if unknown or not values.get("title") or not values.get("category"):
            continue
        key = values.get("id") or values["title"]
        if key in seen:
            name = "id" if values.get("id") else "title"
            problems.append(f"{source} {where}: field {name!r}: {key!r} is already used by "
                            f"{seen[key]}; parent links need each item named once")
            continue
        seen[key] = where
        horizon = (Horizon(raw_horizon) if raw_horizon in {h.value for h in Horizon}
                   else horizon_of(values["category"]))
        items.append(PlanItem(
            key=key, title=values["title"], category=values["category"], horizon=horizon,
            owner=values.get("owner", ""), goal=values.get("goal", ""),
            resources=values.get("resources", ""), parent=values.get("parent", ""),
            where=where,
        ))
    if not problems and not items:
        problems.append(f"{source}: no plan items found")
    if problems:
        raise PlanFileInvalid(problems)
    return items


@dataclass(frozen=True)
class ChainIssue:
    """An item whose link to the plan above it is broken, circular, upside down or missing."""

    item: str
    kind: str  # broken-link | cycle | out-of-order | no-strategy
    detail: str


@dataclass
class PlanBalance:
    """The present/future balance of a plan, its gaps, and the state of its plan chain."""

    total: int
    present: int
    future: int
    floor: float
    items: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    chain_checked: bool = False
    chain_issues: list[ChainIssue] = field(default_factory=list)

    @property
    def future_share(self) -> float:
        """Future items over all items, 0 to 1."""
        return self.future / self.total if self.total else 0.0

    @property
    def present_share(self) -> float:
        """Present items over all items, 0 to 1."""
        return self.present / self.total if self.total else 0.0

    @property
    def warnings(self) -> list[str]:
        """What a head should act on, one sentence each."""
        out: list[str] = []
        if self.total and self.future_share < self.floor:
            out.append(
                f"future work is {self.future_share:.1%} of the plan ({self.future} of "
                f"{self.total} items), below the floor of {self.floor:.0%}: the department is "
                "stuck in present work"
            )
        if self.missing:
            out.append(f"{len(self.missing)} item(s) lack an owner, a goal or resources")
        if self.chain_issues:
            out.append(f"{len(self.chain_issues)} item(s) do not trace to a strategy")
        return out

    def as_dict(self) -> dict[str, Any]:
        """The balance as JSON-ready data (shares 0 to 1, rounded to 4 places)."""
        return {
            "total": self.total,
            "present": self.present,
            "future": self.future,
            "present_share": round(self.present_share, 4),
            "future_share": round(self.future_share, 4),
            "future_share_floor": self.floor,
            "below_floor": bool(self.total) and self.future_share < self.floor,
            "warnings": self.warnings,
            "missing": self.missing,
            "chain_checked": self.chain_checked,
            "chain_issues": [issue.__dict__ for issue in self.chain_issues],
            "items": self.items,
        }


def _missing_fields(item: PlanItem) -> list[str]:
    return [name for name in ("owner", "goal", "resources") if not getattr(item, name)]


def _chain_issues(items: list[PlanItem]) -> list[ChainIssue]:
    by_key = {i.key: i for i in items}
    by_title: dict[str, list[PlanItem]] = {}
    for i in items:
        by_title.setdefault(i.title, []).append(i)

    def parent_of(item: PlanItem) -> PlanItem | None:
        if item.parent in by_key:
            return by_key[item.parent]
        same = by_title.get(item.parent, [])
        return same[0] if len(same) == 1 else None

    issues: list[ChainIssue] = []
    for item in items:
        name = f"{item.title} ({item.where})"
        if item.parent and parent_of(item) is None:
            issues.append(ChainIssue(name, "broken-link",
                                     f"parent {item.parent!r} is not an item of this plan"))
            continue
        parent = parent_of(item) if item.parent else None
        if parent and item.level is not None and parent.level is not None \
                and parent.level > item.level:
            issues.append(ChainIssue(name, "out-of-order",
                                     f"a {item.category} derives from a {parent.category} "
                                     f"({parent.title}), not the other way round"))
        seen = {item.key}
        node = item
        while node.parent and (up := parent_of(node)) is not None:
            if up.key in seen:
                issues.append(ChainIssue(name, "cycle", f"its chain loops back at {up.title!r}"))
                break
            seen.add(up.key)
            node = up
        else:
            if node.parent:  # the chain above breaks; reported on the item that breaks it
                continue
            if node.level != 0:
                top = "it has no parent" if node is item else f"its chain ends at {node.title!r}"
                issues.append(ChainIssue(name, "no-strategy",
                                         f"{top}, which is a {node.category}, not a strategy"))
    return issues


def balance(items: list[PlanItem], *, floor: float) -> PlanBalance:
    """Count present and future items, list the gaps, and check the plan chain.

    The chain is checked only when the plan uses ``parent`` links at all; a flat list of
    items has no chain to break.
    """
    future = sum(1 for i in items if i.horizon == Horizon.FUTURE)
    result = PlanBalance(total=len(items), present=len(items) - future, future=future,
                         floor=floor)
    result.items = [{"title": i.title, "category": i.category, "horizon": str(i.horizon),
                     "owner": i.owner, "parent": i.parent} for i in items]
    result.missing = [{"item": i.title, "where": i.where, "lacks": lacks}
                      for i in items if (lacks := _missing_fields(i))]
    result.chain_checked = any(i.parent for i in items)
    if result.chain_checked:
        result.chain_issues = _chain_issues(items)
    return result
