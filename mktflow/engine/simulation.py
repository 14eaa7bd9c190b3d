"""The department forecast's discrete-event simulation, on simpy (a well-kept library; no
queueing code of our own): each department a ``simpy.Resource`` of as many people as it has
active members, each process a route of steps (``mktflow.domain.forecast.Leg``) walked one
after another, each step waiting for a free person (first come, first served) and holding them
for a service time drawn from the ledger's measured ones (``Model.samples``).

Pure and seeded: the same model, arrivals and seed give the same answer (``random.Random``
seeded by ``"{seed}:{replication}"``; nothing reads a clock). Times are hours from the
quarter's start. ``REPLICATIONS`` runs are pooled, so one unlucky draw does not decide a jam.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy

from mktflow.domain.forecast import Leg, Model, percentile

__all__ = ["QUEUE_SAMPLE_HOURS", "REPLICATIONS", "WEEK_HOURS", "DepartmentRun", "simulate"]

#: Runs pooled per forecast (each with its own seed derived from the forecast's).
REPLICATIONS = 5
#: Hours in a week (the weekly figures' bucket).
WEEK_HOURS = 168.0
#: How often the queue's length is sampled (hours).
QUEUE_SAMPLE_HOURS = 4.0
#: A run stops this many times the window's length after its start; a step still waiting then
#: counts its wait up to that moment.
HORIZON = 4.0


@dataclass
class DepartmentRun:
    """What the runs saw of one department, pooled: its people, the steps that arrived in the
    window, their waits (hours; ``counted``: those the back-test compares), its busy share over
    the window and per week, the mean queue per week and the 95th-percentile wait of the steps
    arriving in each week."""

    department: str
    people: int
    steps: int = 0
    waits: list[float] = field(default_factory=list)
    counted: list[float] = field(default_factory=list)
    utilisation: float = 0.0
    utilisation_by_week: list[float] = field(default_factory=list)
    queue_by_week: list[float] = field(default_factory=list)
    p95_by_week: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        """The median wait (hours)."""
        return percentile(self.waits, 50)

    @property
    def p95(self) -> float:
        """The 95th-percentile wait (hours)."""
        return percentile(self.waits, 95)

    @property
    def mean_counted(self) -> float | None:
        """The mean wait of the compared steps (hours); None for none."""
        return sum(self.counted) / len(self.counted) if self.counted else None


def _weeks(hours: float) -> int:
    return max(1, math.ceil(hours / WEEK_HOURS - 1e-9))


def _spread(busy: list[float], start: float, end: float, hours: float) -> None:
    """Add the busy interval ``[start, end)`` clipped to the window to the weekly buckets."""
    end = min(end, hours)
    while start < end:
        week = min(int(start // WEEK_HOURS), len(busy) - 1)
        stop = min(end, (week + 1) * WEEK_HOURS)
        busy[week] += stop - start
        start = stop


def simulate(model: Model, arrivals: Sequence[tuple[float, Sequence[Leg]]], *, hours: float,
             seed: int = 0, replications: int = REPLICATIONS) -> dict[str, DepartmentRun]:
    """Run the ``arrivals`` (``(start hour, route)``) through the model's departments for a
    window of ``hours``; per department the pooled figures (``DepartmentRun``), sorted by name.
    Every department of the model's capacity is listed, busy or not; one with no members
    counts as one person (someone must serve what arrives)."""
    weeks = _weeks(hours)
    names = sorted({*model.capacity, *(leg.department for _, route in arrivals for leg in route)})
    people = {d: max(1, int(model.capacity.get(d, 0))) for d in names}
    runs = {d: DepartmentRun(d, people[d]) for d in names}
    week_len = [min(WEEK_HOURS, hours - w * WEEK_HOURS) for w in range(weeks)]
    weekly_waits: dict[str, list[list[float]]] = {d: [[] for _ in range(weeks)] for d in names}
    busy_total: dict[str, list[float]] = {d: [0.0] * weeks for d in names}
    queue_total: dict[str, list[float]] = {d: [0.0] * weeks for d in names}
    steps: dict[str, int] = defaultdict(int)
    for replication in range(replications):
        rng = random.Random(f"{seed}:{replication}")
        env = simpy.Environment()
        pools = {d: simpy.Resource(env, capacity=people[d]) for d in names}
        #: steps waiting, by a number of their own: those left at the horizon were never served
        pending: dict[int, tuple[str, float, bool]] = {}

        def walk(start: float, route: Sequence[Leg], number: int, rng: random.Random = rng,
                 env: simpy.Environment = env, pools: dict[str, Any] = pools,
                 pending: dict[int, tuple[str, float, bool]] = pending
                 ) -> Generator[Any, Any, None]:
            yield env.timeout(start)
            for leg in route:
                arrived = env.now
                pending[number] = (leg.department, arrived, leg.counted)
                with pools[leg.department].request() as asked:
                    yield asked
                    del pending[number]
                    _record(leg.department, arrived, env.now - arrived, leg.counted)
                    service = rng.choice(model.samples(leg.department, leg.kind))
                    _spread(busy_total[leg.department], env.now, env.now + service, hours)
                    yield env.timeout(service)

        def _record(department: str, arrived: float, waited: float, counted: bool) -> None:
            if arrived >= hours:
                return
            run = runs[department]
            run.waits.append(waited)
            if counted:
                run.counted.append(waited)
            weekly_waits[department][min(int(arrived // WEEK_HOURS), weeks - 1)].append(waited)
            steps[department] += 1

        def watch(env: simpy.Environment = env, pools: dict[str, Any] = pools
                  ) -> Generator[Any, Any, None]:
            while env.now < hours:
                week = min(int(env.now // WEEK_HOURS), weeks - 1)
                for d in names:
                    queue_total[d][week] += len(pools[d].queue) * QUEUE_SAMPLE_HOURS
                yield env.timeout(QUEUE_SAMPLE_HOURS)

        for number, (start, route) in enumerate(arrivals):
            if route:
                env.process(walk(start, route, number))
        env.process(watch())
        env.run(until=HORIZON * hours)
        for department, arrived, counted in pending.values():
            _record(department, arrived, HORIZON * hours - arrived, counted)
    for d, run in runs.items():
        capacity_hours = people[d] * replications
        run.steps = round(steps[d] / replications)
        run.utilisation = round(sum(busy_total[d]) / (capacity_hours * hours), 4)
        run.utilisation_by_week = [round(b / (capacity_hours * length), 4)
                                   for b, length in zip(busy_total[d], week_len, strict=True)]
        run.queue_by_week = [round(q / (replications * length), 2)
                             for q, length in zip(queue_total[d], week_len, strict=True)]
        run.p95_by_week = [round(percentile(w, 95), 2) for w in weekly_waits[d]]
    return runs
