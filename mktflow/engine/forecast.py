"""What next quarter will cost (issue 24, "The department's desk", item 7): the ledger's
measured waits and service times, a plan of campaigns, new products and orders, and a
simulation of each department's load over the coming quarter (``mktflow.engine.simulation``),
with where the plan will jam; checked against history by replaying the last quarter.

Measurement (read-only), over a window ``[since, until)`` (the last complete quarter):

- a work item created in the window is a step of its department: it waited from its creation
  until someone held it (its first audit entry reaching ``claimed``: a claim, an assignment,
  or a creation with an assignee, which waits nothing) and was served from then until it was
  done; a step done without ever being held has a service time but no measured wait;
- a handoff offered in the window is a step of the receiving department: it waited from the
  offer to its first acceptance and was served from then to its first delivery (the audit
  trail, as the handoff ledger reads it: ``mktflow.engine.reports.handoff_facts``); the
  offering department's confirmation is not counted as load (the ledger does not say when
  anyone started checking, so its time is wait and work mixed);
- the people who serve: each department's active members today (the organisation keeps no
  history of who was a member when).

Each process of the window becomes a route (its steps in order of arrival, as ``(department,
step kind)``); a step of no process is a route of one step. Times are calendar hours.

The forecast's arrivals: the plan's starts of each kind, spread at seeded random moments over
their month, each walking its kind's route (the most common one last quarter, else the flow
definition's: ``mktflow.domain.forecast``); and everything else last quarter brought (other
processes, steps of no process) again at the same moment of the quarter.

Read rule ``forecast`` (``mktflow.domain.model.READ_RULES``): heads (and delegates while the
head is away) of any department, and management; the operator (no reader) too.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlmodel import col, select

from mktflow.domain.actors import Target, authorize_read
from mktflow.domain.campaign_calendar import Period, period_of
from mktflow.domain.errors import BadInput
from mktflow.domain.forecast import (
    JAM_UTILISATION,
    PLAN_KINDS,
    THRESHOLD_MAX,
    WAIT_THRESHOLD_HOURS,
    History,
    Leg,
    Model,
    Plan,
    Step,
    Trace,
    fit,
    jam_week,
    mean_absolute_percentage_error,
    parse_plan,
    step_kind,
)
from mktflow.domain.model import Readable, WorkState, read_rule
from mktflow.domain.words import on_field, phrase
from mktflow.engine import visibility
from mktflow.engine.reports import handoff_facts, start_of
from mktflow.engine.simulation import simulate
from mktflow.engine.views import (
    Backtest,
    BacktestDepartment,
    DepartmentForecast,
    ForecastPublic,
    ForecastRoute,
)
from mktflow.store.tables import AuditEntry, Department, Member, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["PLAN_FILE_MAX", "backtest", "forecast", "measure", "plan_from_text", "quarter_of"]


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 3600)


def quarter_of(day: date) -> Period:
    """The calendar quarter ``day`` falls in."""
    return period_of(quarter=f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}", today=day)


def measure(uow: UnitOfWork, *, since: datetime, until: datetime) -> History:
    """The steps of every work item and handoff created in ``[since, until)``, grouped by process
    (``History``; hours from ``since``), and each department's active members. Call inside
    ``with uow``; reads only."""
    s = uow.session
    window = _hours(since, until)
    capacity = {d.code: 0 for d in s.exec(select(Department))}
    for m in s.exec(select(Member).where(col(Member.active))):
        capacity[m.department] = capacity.get(m.department, 0) + 1
    steps: list[tuple[int | None, Step]] = []
    items = list(s.exec(select(WorkItem).where(col(WorkItem.created_at) >= since,
                                               col(WorkItem.created_at) < until)
                        .order_by(col(WorkItem.id))))  # one order: the same seed, the same draws
    held: dict[int, datetime] = {}
    ids = sorted(w.id for w in items if w.id is not None)
    if ids:
        for entry in s.exec(select(AuditEntry).where(
                col(AuditEntry.entity_type) == "work", col(AuditEntry.entity_id).in_(ids),
                col(AuditEntry.to_state) == WorkState.CLAIMED)
                .order_by(col(AuditEntry.at), col(AuditEntry.id))):
            held.setdefault(entry.entity_id, entry.at)
    for w in items:
        assert w.id is not None
        start = held.get(w.id)
        done = w.completed_at if w.state == WorkState.DONE else None
        service = None
        if done is not None:
            service = _hours(start or w.created_at, done)
        steps.append((w.process_id, Step(
            department=w.department, kind=step_kind(w.step_key),
            arrived=_hours(since, w.created_at),
            wait=_hours(w.created_at, start) if start is not None else None,
            service=service)))
    for f in handoff_facts(uow, since=since, until=until):
        steps.append((f.process_id, Step(
            department=f.to_department, kind="handoff", arrived=_hours(since, f.offered_at),
            wait=_hours(f.offered_at, f.accepted_at) if f.accepted_at else None,
            service=(_hours(f.accepted_at, f.first_delivered_at)
                     if f.accepted_at and f.first_delivered_at else None))))
    process_ids = sorted({p for p, _ in steps if p is not None})
    names = {p.id: p.process for p in s.exec(select(ProcessInstance).where(
        col(ProcessInstance.id).in_(process_ids)))} if process_ids else {}
    grouped: dict[int, list[Step]] = defaultdict(list)
    traces: list[Trace] = []
    for process_id, step in steps:
        if process_id is None:
            traces.append(Trace("(no process)", step.arrived, (step,)))
        else:
            grouped[process_id].append(step)
    for process_id, found in sorted(grouped.items()):
        found.sort(key=lambda st: st.arrived)
        traces.append(Trace(names.get(process_id, "(unknown)"), found[0].arrived, tuple(found)))
    traces.sort(key=lambda t: (t.started, t.process))
    return History(hours=window, capacity=capacity, traces=tuple(traces))


def _route(trace: Trace) -> tuple[Leg, ...]:
    return tuple(Leg(st.department, st.kind, counted=st.wait is not None) for st in trace.steps)


def backtest(history: History, *, seed: int = 0, since: datetime | None = None,
             until: datetime | None = None) -> Backtest:
    """Replay ``history``'s own starts (each process on the route it took) through the model
    fitted on it; per department the measured and the simulated mean wait (hours) and their
    mean absolute percentage error (``mape``, a fraction)."""
    model = fit(history)
    runs = simulate(model, [(t.started, _route(t)) for t in history.traces],
                    hours=history.hours, seed=seed)
    measured = history.measured_waits()
    rows = []
    for department in sorted(measured):
        waits = measured[department]
        simulated = runs[department].mean_counted if department in runs else None
        rows.append(BacktestDepartment(
            department=department, measured_steps=len(waits),
            measured_mean_wait_hours=round(sum(waits) / len(waits), 2),
            simulated_mean_wait_hours=None if simulated is None else round(simulated, 2)))
    error = mean_absolute_percentage_error(
        [(r.measured_mean_wait_hours, r.simulated_mean_wait_hours) for r in rows
         if r.simulated_mean_wait_hours is not None])
    return Backtest(history_from=since.date().isoformat() if since else "",
                    history_until=(until - timedelta(days=1)).date().isoformat()
                    if until else "",
                    processes=sum(1 for t in history.traces if t.process != "(no process)"),
                    departments=rows, mape=None if error is None else round(error, 4))


def _arrivals(model: Model, plan: Plan, history: History, *, start: date, hours: float,
              seed: int) -> tuple[list[tuple[float, tuple[Leg, ...]]], int]:
    rng = random.Random(f"{seed}:plan")
    arrivals: list[tuple[float, tuple[Leg, ...]]] = []
    for kind, months in sorted(plan.months.items()):
        route = model.routes[PLAN_KINDS[kind]]
        for m, count in enumerate(months):
            month = start.month + m - 1
            first = date(start.year + month // 12, month % 12 + 1, 1)
            after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            lo, length = (first - start).days * 24.0, (after - first).days * 24.0
            arrivals += [(lo + rng.random() * length, route) for _ in range(count)]
    planned = set(PLAN_KINDS.values())
    background = [(t.started, _route(t)) for t in history.traces
                  if t.process not in planned and t.started < hours]
    return sorted(arrivals + background, key=lambda a: a[0]), len(background)


def forecast(uow: UnitOfWork, *, plan: Plan, quarter: str = "next", seed: int = 0,
             threshold_hours: float = WAIT_THRESHOLD_HOURS,
             reader: str | None = None) -> ForecastPublic:
    """The forecast of ``quarter`` (``next``, or ``YYYY-Qn`` not yet begun) for ``plan``, on
    the model of the last complete quarter's ledger, with the model's back-test. ``seed``: the
    same seed, plan and ledger give the same answer. ``threshold_hours``: a department whose
    95th-percentile wait exceeds it is jammed.

    Raises BadInput for a quarter that is no quarter or has begun, or a threshold not above 0
    (naming the field); NotAuthorized for a reader who leads no department and is not of
    management (read rule ``forecast``)."""
    if not 0 < threshold_hours <= THRESHOLD_MAX:
        raise BadInput(on_field("threshold_hours", phrase(
            "%(given)s is not above 0 and at most %(n)s", given=threshold_hours,
            n=f"{THRESHOLD_MAX:.0f}")))
    with uow:
        actor = visibility.reading_actor(uow, reader)
        if actor is not None:
            authorize_read(actor, read_rule(Readable.FORECAST),
                           Target(ref=phrase("the department forecast"),
                                  department=actor.department))
        today = uow.now().date()
        current = quarter_of(today)
        asked = quarter.strip()
        target = period_of(quarter=current.next if asked.lower() == "next" else asked,
                           today=today)
        if target.start <= today:
            raise BadInput(on_field("quarter", phrase(
                "%(quarter)s has begun; a forecast is of a quarter to come (next, or a later "
                "YYYY-Qn)", quarter=target.label)))
        last = period_of(quarter=current.previous, today=today)
        since, until = start_of(last.start), start_of(last.end)
        history = measure(uow, since=since, until=until)
    model = fit(history)
    hours = (target.end - target.start).days * 24.0
    arrivals, background = _arrivals(model, plan, history, start=target.start, hours=hours,
                                     seed=seed)
    runs = simulate(model, arrivals, hours=hours, seed=seed)
    rows = []
    for name, run in runs.items():
        week = jam_week(run.utilisation_by_week, run.p95_by_week,
                        threshold_hours=threshold_hours)
        reasons = []
        if run.utilisation >= JAM_UTILISATION:
            reasons.append(f"{run.utilisation:.0%} busy over the quarter")
        if run.p95 > threshold_hours:
            reasons.append(f"95% of steps wait up to {run.p95:.0f} h, above {threshold_hours:g} h")
        jammed = bool(reasons)
        rows.append(DepartmentForecast(
            department=name, people=run.people, steps=run.steps,
            utilisation=run.utilisation, wait_p50_hours=round(run.p50, 2),
            wait_p95_hours=round(run.p95, 2), utilisation_by_week=run.utilisation_by_week,
            queue_by_week=run.queue_by_week, jam=jammed,
            jam_week=(week or 1) if jammed else None,
            jam_starts_on=(target.start + timedelta(days=7 * ((week or 1) - 1))).isoformat()
            if jammed else None,
            jam_reason="; ".join(reasons) if jammed else None))
    jams = [r.department for r in sorted(rows, key=lambda r: (r.jam_week or 99, r.department))
            if r.jam]
    routes = [ForecastRoute(process=p, source=model.route_source.get(p, "history"),
                            steps=[f"{leg.department}:{leg.kind}" for leg in route])
              for p, route in sorted(model.routes.items()) if p in PLAN_KINDS.values()]
    return ForecastPublic(
        quarter=target.label, starts_on=target.start.isoformat(),
        ends_on=(target.end - timedelta(days=1)).isoformat(), seed=seed,
        threshold_hours=threshold_hours,
        plan={k: list(plan.months.get(k, (0, 0, 0))) for k in PLAN_KINDS},
        background=background, routes=routes, departments=rows, jams=jams,
        backtest=backtest(history, seed=seed, since=since, until=until))



#: The most a plan file may hold (bytes).
PLAN_FILE_MAX = 64_000


def plan_from_text(text: str, *, source: str = "plan") -> Plan:
    """The plan in a YAML or JSON text (JSON is YAML): a mapping of kinds to counts, as
    ``parse_plan`` takes; BadInput naming ``source`` when it is no such mapping."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInput(f"{source}: not YAML or JSON ({str(exc).splitlines()[0][:80]})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadInput(f"{source}: give a mapping of kinds to counts (campaign, new_product, "
                       "order)")
    return parse_plan(data)
