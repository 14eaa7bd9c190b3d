"""The rules of the department forecast ("what next quarter will cost", issue 24 item 7): the
shapes of measured history, the fitted model, the plan of starts, the routes each process puts
on the departments, and what counts as a jam. Pure: the simulation itself (simpy) is
``mktflow.engine.simulation``; the measurement from the ledger is ``mktflow.engine.forecast``.

Times are hours (calendar hours, not working time: the simulation's clock runs day and night,
so a wait measured over a weekend counts the weekend, as it did for whoever waited).

A department is a pool of ``capacity`` people (its active members); a step waits until one of
them is free (first come, first served), then holds them for its service time. A process is a
route: its steps one after another, each arriving when the one before it is done.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mktflow.domain.errors import BadInput

__all__ = [
    "DEFAULT_SERVICE_HOURS",
    "DEFINED_ROUTES",
    "JAM_UTILISATION",
    "MAX_STARTS_PER_MONTH",
    "PLAN_KINDS",
    "THRESHOLD_MAX",
    "WAIT_THRESHOLD_HOURS",
    "History",
    "Leg",
    "Model",
    "Plan",
    "Step",
    "Trace",
    "fit",
    "jam_week",
    "mean_absolute_percentage_error",
    "parse_plan",
    "percentile",
    "step_kind",
]

#: A department at or above this share of its people's hours busy is jammed (a queue at 85 %
#: busy grows quickly with any burst of work).
JAM_UTILISATION = 0.85
#: A department whose 95th-percentile wait exceeds this many hours is jammed (five days).
WAIT_THRESHOLD_HOURS = 120.0
#: The most a wait threshold may be (hours): a year.
THRESHOLD_MAX = 8760.0
#: The service time of a step the ledger never saw in its department nor in any step of that
#: department (hours): half a working day.
DEFAULT_SERVICE_HOURS = 4.0
#: At most this many starts of one kind in one month (keeps one simulation well under a second).
MAX_STARTS_PER_MONTH = 200

#: The plan's kinds and the process each starts (the flows' names).
PLAN_KINDS: dict[str, str] = {
    "campaign": "campaign",
    "new_product": "new-product-development",
    "order": "order-handling",
}

#: The route of each planned process when the ledger has none of its kind: the departments'
#: steps in the order the flow definitions (flows/campaign.py, new_product_development.py,
#: order_handling.py) open them, as ``(department, step kind)``.
DEFINED_ROUTES: dict[str, tuple[tuple[str, str], ...]] = {
    "campaign": (("marketing", "plan"), ("finance", "approve-budget"),
                 ("marketing", "tracking"), ("marketing", "evaluation")),
    "new-product-development": (
        ("marketing", "proposal"), ("finance", "project-approval"),
        ("marketing", "concept-brief"), ("tech", "prototype"), ("production", "trial-run"),
        ("supply", "materials"), ("marketing", "launch-plan")),
    "order-handling": (("sales", "order-entry"), ("production", "production"),
                       ("supply", "shipping"), ("finance", "invoice"),
                       ("marketing", "follow-up")),
}

_ATTEMPT = re.compile(r"(?:-\d+)+$")


def step_kind(step_key: str | None, *, handoff: bool = False) -> str:
    """The kind of a step from its key, without the attempt or round numbers the flows append
    (``plan-2`` → ``plan``, ``gate-1-3-2`` → ``gate``); ``(ad hoc)`` for a step of no key,
    ``handoff`` for a handoff of no key."""
    if not step_key:
        return "handoff" if handoff else "(ad hoc)"
    return _ATTEMPT.sub("", step_key.strip()) or step_key.strip()


@dataclass(frozen=True, slots=True)
class Step:
    """One measured step: ``department`` served it; it ``arrived`` (hours since the window's
    start), waited ``wait`` hours for a person (None: the ledger does not say) and held them
    ``service`` hours (None: not finished, or cancelled)."""

    department: str
    kind: str
    arrived: float
    wait: float | None = None
    service: float | None = None


@dataclass(frozen=True, slots=True)
class Trace:
    """One process of the window (or one step of no process): its steps in order of arrival."""

    process: str
    started: float
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class History:
    """What the ledger measured over a window of ``hours``: every process's steps and the people
    who serve (active members per department)."""

    hours: float
    capacity: Mapping[str, int]
    traces: tuple[Trace, ...]

    def measured_waits(self) -> dict[str, list[float]]:
        """Per department, every wait the ledger measured (hours)."""
        out: dict[str, list[float]] = defaultdict(list)
        for trace in self.traces:
            for step in trace.steps:
                if step.wait is not None:
                    out[step.department].append(step.wait)
        return dict(out)


@dataclass(frozen=True, slots=True)
class Leg:
    """One step a simulated process puts on a department; ``counted``: its wait is compared in
    the back-test (the ledger measured the real one)."""

    department: str
    kind: str
    counted: bool = True


@dataclass(frozen=True)
class Model:
    """The fitted model: people per department, the service-time samples per (department,
    step kind) and per department (hours), and the route of each process kind with where it
    came from (``history`` or ``definition``)."""

    capacity: Mapping[str, int]
    service: Mapping[tuple[str, str], tuple[float, ...]]
    by_department: Mapping[str, tuple[float, ...]]
    routes: Mapping[str, tuple[Leg, ...]]
    route_source: Mapping[str, str] = field(default_factory=dict)

    def samples(self, department: str, kind: str) -> tuple[float, ...]:
        """The service times to draw from for a step: its kind's in its department, else the
        department's, else ``DEFAULT_SERVICE_HOURS``."""
        return (self.service.get((department, kind)) or self.by_department.get(department)
                or (DEFAULT_SERVICE_HOURS,))


def fit(history: History) -> Model:
    """The model of a history: the empirical service times (every finished step's), and per
    process kind the route most of its processes took (ties: the longer, then the first in
    order); the flow definitions' route for a planned kind the history has no process of."""
    service: dict[tuple[str, str], list[float]] = defaultdict(list)
    pooled: dict[str, list[float]] = defaultdict(list)
    shapes: dict[str, Counter[tuple[tuple[str, str], ...]]] = defaultdict(Counter)
    for trace in history.traces:
        for step in trace.steps:
            if step.service is not None:
                service[(step.department, step.kind)].append(step.service)
                pooled[step.department].append(step.service)
        shapes[trace.process][tuple((s.department, s.kind) for s in trace.steps)] += 1
    routes: dict[str, tuple[Leg, ...]] = {}
    source: dict[str, str] = {}
    for process, counted in shapes.items():
        best = max(counted.items(), key=lambda kv: (kv[1], len(kv[0])))[0]
        routes[process] = tuple(Leg(d, k) for d, k in best)
        source[process] = "history"
    for process, route in DEFINED_ROUTES.items():
        if process not in routes:
            routes[process] = tuple(Leg(d, k) for d, k in route)
            source[process] = "definition"
    return Model(capacity=dict(history.capacity),
                 service={k: tuple(v) for k, v in service.items()},
                 by_department={k: tuple(v) for k, v in pooled.items()},
                 routes=routes, route_source=source)


@dataclass(frozen=True)
class Plan:
    """Starts per month of the quarter (three counts) for each planned kind (``PLAN_KINDS``)."""

    months: Mapping[str, tuple[int, int, int]]

    def total(self, kind: str) -> int:
        """The quarter's starts of ``kind``."""
        return sum(self.months.get(kind, (0, 0, 0)))


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        else:
            raise BadInput(f"{where}: {str(value)[:20]!r} is not a whole number of starts")
    if not 0 <= value <= 3 * MAX_STARTS_PER_MONTH:
        raise BadInput(f"{where}: {value} starts is outside 0 to {3 * MAX_STARTS_PER_MONTH}")
    return value


def parse_plan(data: Mapping[str, Any] | None) -> Plan:
    """The plan from a mapping (a plan file, the API's body, the page's form):
    ``{"campaign": 12, "new_product": [1, 0, 2], "order": [30, 30, 40]}``: a kind's value is
    the quarter's starts (spread over the three months as evenly as whole starts allow, the
    first months taking the remainder) or three counts, one per month; a kind left out starts
    nothing. Raises BadInput naming the field and its rule (``plan.order: ...``)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise BadInput("plan: give a mapping of kinds to counts (campaign, new_product, order)")
    months: dict[str, tuple[int, int, int]] = {}
    for key, value in data.items():
        where = f"plan.{str(key)[:30]}"
        if key not in PLAN_KINDS:
            raise BadInput(f"{where}: no such kind (the kinds: {', '.join(PLAN_KINDS)})")
        if value is None:
            continue
        if isinstance(value, Sequence) and not isinstance(value, str):
            if len(value) != 3:
                raise BadInput(f"{where}: give three monthly counts or one quarterly count, "
                               f"not {len(value)}")
            counts = tuple(_count(v, f"{where}[{i}]") for i, v in enumerate(value))
            for i, n in enumerate(counts):
                if n > MAX_STARTS_PER_MONTH:
                    raise BadInput(f"{where}[{i}]: {n} starts in a month is more than "
                                   f"{MAX_STARTS_PER_MONTH}")
            months[key] = (counts[0], counts[1], counts[2])
        else:
            total = _count(value, where)
            base, extra = divmod(total, 3)
            months[key] = (base + (extra > 0), base + (extra > 1), base)
    return Plan(months=months)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` percentile (0-100) of ``values`` by the nearest rank; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def jam_week(utilisation_by_week: Sequence[float], p95_by_week: Sequence[float], *,
             threshold_hours: float = WAIT_THRESHOLD_HOURS) -> int | None:
    """The week (1-based) a jam starts: the first in which a department is at or above
    ``JAM_UTILISATION`` busy or the steps arriving in it wait more than ``threshold_hours`` at
    the 95th percentile; None when no week is. A department is jammed when the quarter as a
    whole is over either limit (one busy week is no jam); this says from when."""
    for n, (busy, p95) in enumerate(zip(utilisation_by_week, p95_by_week, strict=False), 1):
        if busy >= JAM_UTILISATION or p95 > threshold_hours:
            return n
    return None


def mean_absolute_percentage_error(pairs: Sequence[tuple[float, float]]) -> float | None:
    """The mean of ``|simulated - measured| / measured`` over ``(measured, simulated)`` pairs
    with a measured value above zero, as a fraction; None when there is none."""
    kept = [(m, s) for m, s in pairs if m > 0]
    if not kept:
        return None
    return sum(abs(s - m) / m for m, s in kept) / len(kept)
