"""The department forecast's rules and simulation (issue 24 item 7): the plan's checks, the
model fitted on history, seeded determinism, a department with too few people jams, and the
back-test on generated history lands near the history's waits.

The history is generated here by a queue of our own (first come, first served, each
department a pool of people, exponential service times): independent of simpy and of the
model, so the back-test compares two different things.
"""

from __future__ import annotations

import heapq
import random

import pytest

from mktflow.domain.errors import BadInput
from mktflow.domain.forecast import (
    History,
    Leg,
    Step,
    Trace,
    fit,
    jam_week,
    parse_plan,
    percentile,
    step_kind,
)
from mktflow.engine.forecast import backtest
from mktflow.engine.simulation import simulate

QUARTER = 91 * 24.0
#: The back-test's bound: over eight generated quarters the departments' mean waits replayed
#: land within 45 % of the measured on average (measured: 0.23 to 0.58, mean 0.38).
MAPE_BOUND = 0.45
PEOPLE = {"marketing": 3, "sales": 2, "finance": 1, "production": 2}
MEAN_SERVICE = {"marketing": 35.0, "sales": 26.0, "finance": 8.0, "production": 26.0}
ROUTES = {
    "campaign": ("marketing", "finance", "marketing"),
    "order-handling": ("sales", "production", "finance"),
}


def generated_history(seed: int = 7, campaigns: int = 60, orders: int = 110) -> History:
    """A quarter of processes through a first-come-first-served queue per department."""
    rng = random.Random(seed)
    starts = sorted([(rng.uniform(0, QUARTER), "campaign") for _ in range(campaigns)]
                    + [(rng.uniform(0, QUARTER), "order-handling") for _ in range(orders)])
    free = {d: [0.0] * n for d, n in PEOPLE.items()}  # when each person is next free
    steps: dict[int, list[Step]] = {i: [] for i in range(len(starts))}
    events = [(t, i, 0) for i, (t, _) in enumerate(starts)]
    heapq.heapify(events)
    while events:
        arrived, i, n = heapq.heappop(events)
        department = ROUTES[starts[i][1]][n]
        people = free[department]
        k = min(range(len(people)), key=people.__getitem__)
        begin = max(arrived, people[k])
        service = rng.expovariate(1 / MEAN_SERVICE[department])
        people[k] = begin + service
        steps[i].append(Step(department, f"{department}-step", arrived, begin - arrived,
                             service))
        if n + 1 < len(ROUTES[starts[i][1]]):
            heapq.heappush(events, (begin + service, i, n + 1))
    traces = tuple(Trace(kind, t, tuple(steps[i])) for i, (t, kind) in enumerate(starts))
    return History(hours=QUARTER, capacity=PEOPLE, traces=traces)


def test_the_plan_takes_quarterly_or_monthly_counts_and_names_a_wrong_field() -> None:
    plan = parse_plan({"campaign": 10, "order": [30, "20", 40]})
    assert plan.months == {"campaign": (4, 3, 3), "order": (30, 20, 40)}
    assert plan.total("campaign") == 10 and plan.total("new_product") == 0
    for bad, words in (({"webinar": 3}, "plan.webinar: no such kind"),
                       ({"order": [1, 2]}, "plan.order: give three monthly counts"),
                       ({"order": -1}, "plan.order: -1 starts is outside"),
                       ({"order": [1, 201, 0]}, "plan.order[1]: 201 starts in a month"),
                       ({"campaign": "many"}, "plan.campaign: 'many' is not a whole number"),
                       ({"campaign": True}, "plan.campaign: 'True' is not a whole number")):
        with pytest.raises(BadInput, match=words.replace("[", r"\[").replace("]", r"\]")):
            parse_plan(bad)


def test_step_kinds_drop_the_attempt_numbers() -> None:
    assert step_kind("plan-2") == "plan"
    assert step_kind("gate-1-3-2") == "gate"
    assert step_kind(None) == "(ad hoc)" and step_kind(None, handoff=True) == "handoff"
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0 and percentile([], 95) == 0.0
    assert jam_week([0.5, 0.9, 0.95], [1.0, 1.0, 1.0]) == 2
    assert jam_week([0.5, 0.5], [1.0, 200.0], threshold_hours=120) == 2
    assert jam_week([0.5, 0.5], [1.0, 1.0]) is None


def test_the_model_takes_the_common_route_and_falls_back_to_the_definitions() -> None:
    model = fit(generated_history())
    assert [leg.department for leg in model.routes["campaign"]] == list(ROUTES["campaign"])
    assert model.route_source["campaign"] == "history"
    assert model.route_source["new-product-development"] == "definition"
    assert model.routes["new-product-development"][0] == Leg("marketing", "proposal")
    # a step kind never seen draws from its department's, then from the default
    assert model.samples("sales", "never") == model.by_department["sales"]
    assert model.samples("nobody", "never") == (4.0,)


def test_the_same_seed_gives_the_same_answer_and_another_seed_another() -> None:
    history = generated_history()
    model = fit(history)
    arrivals = [(t.started, tuple(Leg(s.department, s.kind) for s in t.steps))
                for t in history.traces]
    first = simulate(model, arrivals, hours=QUARTER, seed=3)
    again = simulate(model, arrivals, hours=QUARTER, seed=3)
    other = simulate(model, arrivals, hours=QUARTER, seed=4)
    assert {d: (r.waits, r.utilisation, r.queue_by_week) for d, r in first.items()} == \
        {d: (r.waits, r.utilisation, r.queue_by_week) for d, r in again.items()}
    assert first["marketing"].waits != other["marketing"].waits
    assert len(first["marketing"].utilisation_by_week) == 13


def test_a_department_with_too_few_people_jams_and_says_when() -> None:
    history = generated_history()
    model = fit(history)
    arrivals = [(t.started, tuple(Leg(s.department, s.kind) for s in t.steps))
                for t in history.traces]
    fine = simulate(model, arrivals, hours=QUARTER, seed=1)
    assert fine["marketing"].utilisation < 0.85 and fine["marketing"].p95 < 120
    short = fit(History(hours=QUARTER, capacity={**PEOPLE, "marketing": 1},
                        traces=history.traces))
    jammed = simulate(short, arrivals, hours=QUARTER, seed=1)["marketing"]
    assert jammed.utilisation >= 0.85, jammed.utilisation
    week = jam_week(jammed.utilisation_by_week, jammed.p95_by_week)
    assert week is not None and week <= 4
    assert jammed.p95 > 10 * fine["marketing"].p95
    assert jammed.queue_by_week[-1] > jammed.queue_by_week[0]  # the queue grows


def test_replaying_the_quarter_lands_near_its_measured_waits() -> None:
    """Departments 60 to 70 % busy: a quarter's waits are one noisy draw, so the bound is on
    the mean error over eight generated quarters."""
    errors = []
    for seed in range(8):
        checked = backtest(generated_history(seed=seed), seed=0)
        assert {r.department for r in checked.departments} == set(PEOPLE)
        assert all(r.simulated_mean_wait_hours is not None and r.measured_steps > 50
                   for r in checked.departments)
        assert checked.mape is not None
        errors.append(checked.mape)
    assert sum(errors) / len(errors) < MAPE_BOUND, errors
    assert max(errors) < 0.7, errors


if __name__ == "__main__":  # the back-test error as the docs state it
    found = [backtest(generated_history(seed=seed), seed=0).mape or 0.0 for seed in range(8)]
    print("MAPE per generated quarter:", ", ".join(f"{e:.2f}" for e in found))
    print(f"mean {sum(found) / len(found):.2f}, worst {max(found):.2f}")
