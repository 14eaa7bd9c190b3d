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

Seed 000 also names the other balance: "la guinda del pastel" (the icing on the cake) is
*important but not urgent* work for future planning, "dar ayuda cuando sea oportuno" (timely
help) *urgent but not important* work to be solved at once. Work items and plan items carry
``important`` and ``urgent``; ``quadrant_balance`` counts a department's work in the four
quadrants and flags a department whose important-not-urgent share falls below the floor
management sets. A plan item that does not say takes them from its horizon (future work is
important and not urgent, present work urgent and not important: seed 000's own pairing); a
work item that does not say is *unclassified* and left out of the shares.

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
    "Quadrant",
    "QuadrantBalance",
    "balance",
    "horizon_of",
    "normalise_category",
    "parse_flag",
    "parse_plan_items",
    "quadrant_balance",
    "quadrant_of",
    "work_quadrant",
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
               "notes", "important", "urgent")


class Quadrant(StrEnum):
    """Where work falls by importance and urgency (seed 000)."""

    IMPORTANT_URGENT = "important-urgent"
    IMPORTANT_NOT_URGENT = "important-not-urgent"  # the icing on the cake: future planning
    URGENT_NOT_IMPORTANT = "urgent-not-important"  # timely help: today's fires
    NEITHER = "neither"


def quadrant_of(important: bool, urgent: bool) -> Quadrant:
    """The quadrant of work that is (or is not) important and urgent."""
    if important:
        return Quadrant.IMPORTANT_URGENT if urgent else Quadrant.IMPORTANT_NOT_URGENT
    return Quadrant.URGENT_NOT_IMPORTANT if urgent else Quadrant.NEITHER


def work_quadrant(important: bool | None, urgent: bool | None) -> Quadrant | None:
    """A work item's quadrant: None when it says neither (unclassified); one of the two
    unsaid counts as no (as ``quadrant_balance`` counts it)."""
    if important is None and urgent is None:
        return None
    return quadrant_of(bool(important), bool(urgent))


_YES, _NO = {"yes", "y", "true", "1", "x"}, {"no", "n", "false", "0"}


def parse_flag(raw: Any, *, field: str) -> bool | None:
    """``important`` or ``urgent`` as a file or form gives it: yes/no, true/false, 1/0, x
    (any case); empty: None (not said). ValueError naming the field otherwise."""
    if raw is None or isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if not text:
        return None
    if text in _YES | _NO:
        return text in _YES
    raise ValueError(f"field {field!r}: {raw!r} is not yes or no")


@dataclass(frozen=True)
class QuadrantBalance:
    """A department's work in the four quadrants: counts, and the floor of the
    important-not-urgent share management sets."""

    counts: dict[str, int]  # quadrant -> items
    unclassified: int  # items that say neither importance nor urgency
    floor: float

    @property
    def classified(self) -> int:
        """Items in a quadrant."""
        return sum(self.counts.values())

    def share(self, quadrant: Quadrant) -> float:
        """The quadrant's share of the classified items, 0 to 1 (0 with none)."""
        return self.counts[quadrant] / self.classified if self.classified else 0.0

    @property
    def below_floor(self) -> bool:
        """Whether important-not-urgent work falls below the floor (never with no items)."""
        return bool(self.classified) and self.share(Quadrant.IMPORTANT_NOT_URGENT) < self.floor

    @property
    def finding(self) -> str | None:
        """The sentence a review reports when the department is below the floor."""
        if not self.below_floor:
            return None
        share = self.share(Quadrant.IMPORTANT_NOT_URGENT)
        return (f"important-not-urgent work is {share:.1%} of the department's classified "
                f"work ({self.counts[Quadrant.IMPORTANT_NOT_URGENT]} of {self.classified} "
                f"items), below the floor of {self.floor:.0%}: it is busy with today's fires "
                "and neglects the future (seed 000)")


def quadrant_balance(rows: Iterable[tuple[bool | None, bool | None]], *,
                     floor: float) -> QuadrantBalance:
    """Count ``(important, urgent)`` rows into the quadrants; a row with both None is
    unclassified, one None counts as False. ``floor``: the least important-not-urgent share
    (0-1)."""
    counts = {str(q): 0 for q in Quadrant}
    unclassified = 0
    for important, urgent in rows:
        if important is None and urgent is None:
            unclassified += 1
            continue
        counts[quadrant_of(bool(important), bool(urgent))] += 1
    return QuadrantBalance(counts=counts, unclassified=unclassified, floor=floor)


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
    important: bool | None = None  # None: from the horizon (future: important)
    urgent: bool | None = None  # None: from the horizon (present: urgent)

    @property
    def quadrant(self) -> Quadrant:
        """Where the item falls: as it says, else as its horizon pairs them (seed 000)."""
        future = self.horizon == Horizon.FUTURE
        return quadrant_of(future if self.important is None else self.important,
                           not future if self.urgent is None else self.urgent)

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
        flags: dict[str, bool | None] = {}
        for name in ("important", "urgent"):
            try:
                flags[name] = parse_flag(values.get(name, ""), field=name)
            except ValueError as exc:
                problems.append(f"{source} {where}: {exc}")
        if unknown or not values.get("title") or not values.get("category") or len(flags) < 2:
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
            where=where, important=flags["important"], urgent=flags["urgent"],
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
            "quadrants": {q: sum(1 for i in self.items if i["quadrant"] == q)
                          for q in Quadrant},
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
                     "quadrant": str(i.quadrant), "owner": i.owner, "parent": i.parent}
                    for i in items]
    result.missing = [{"item": i.title, "where": i.where, "lacks": lacks}
                      for i in items if (lacks := _missing_fields(i))]
    result.chain_checked = any(i.parent for i in items)
    if result.chain_checked:
        result.chain_issues = _chain_issues(items)
    return result
