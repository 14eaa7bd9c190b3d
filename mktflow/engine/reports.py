"""Read-only reports over the engine's tables: the handoff ledger between departments.

A process owner needs the numbers of the process *between* departments (seed 003, "Garantía
del proceso"): how long each department takes to accept and to deliver what another offers
it, how often it declines or hands work back and why, how often work goes round in loops,
how much arrives late, and which step of each process keeps people waiting longest.

Waits and lateness are working time (issue 25): counted in the handoff's calendar, its
branch's else its offerer's, and a step's in its branch's else its holder's
(``mktflow.engine.calendars``), so a week of public holidays is no wait; calendar hours for
branches without a calendar.

Times come from the audit trail (the first accept, the first delivery, every return with
its reason), so a handoff delivered, returned and delivered again still counts its first
delivery, and every return is counted with its own reason. Nothing here changes anything.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import col, select

from mktflow.domain.calendars import CALENDAR_HOURS, WorkingCalendar
from mktflow.domain.inputs import format_time
from mktflow.domain.model import HandoffState, WorkState
from mktflow.engine.calendars import calendar_for
from mktflow.engine.common import ref_of
from mktflow.store.tables import AuditEntry, Handoff, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = [
    "HandoffFacts",
    "HandoffLedger",
    "handoff_facts",
    "handoff_ledger",
    "handoff_states",
    "ledger_from_facts",
    "start_of",
]

#: Before delivery, a handoff in these states is still the receiving department's to finish.
_WAITING_ON_RECEIVER = frozenset({HandoffState.OFFERED, HandoffState.ACCEPTED})


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def _moment(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return start_of(value)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


@dataclass
class HandoffFacts:
    """What happened to one handoff, from its audit trail."""

    id: int
    process_id: int | None
    from_department: str
    to_department: str
    title: str
    state: str
    offered_at: datetime
    due_at: datetime | None
    accepted_at: datetime | None = None
    first_delivered_at: datetime | None = None
    rejected_reason: str | None = None
    #: who offered it (the process engine's name for a flow's handoff)
    offered_by: str = ""
    return_reasons: list[str] = field(default_factory=list)
    #: every step of its ledger in order: (action, when, who) for accept, reject, deliver,
    #: return, confirm and cancel (the workload's waits read them: ``engine.workload``)
    events: list[tuple[str, datetime, str]] = field(default_factory=list)
    #: the calendar its waits are counted in
    calendar: WorkingCalendar = CALENDAR_HOURS

    def hours(self, start: datetime, end: datetime) -> float:
        """Working hours from ``start`` to ``end`` in the handoff's calendar."""
        return self.calendar.working_time_between(start, end).total_seconds() / 3600

    def late_hours(self, now: datetime) -> float:
        """Hours the first delivery came (or is still coming) after the due date; 0 if on time."""
        if self.due_at is None or self.rejected_reason is not None:
            return 0.0
        if self.first_delivered_at is not None:
            end = self.first_delivered_at
        elif self.state in _WAITING_ON_RECEIVER:
            end = now
        else:  # cancelled before delivery: nobody owes it any more
            return 0.0
        return max(0.0, self.hours(self.due_at, end))


def handoff_facts(uow: UnitOfWork, *, since: datetime | None = None,
                  until: datetime | None = None,
                  departments: Iterable[str] | None = None) -> list[HandoffFacts]:
    """The facts of every handoff offered in ``[since, until)``; call inside ``with uow``."""
    query = select(Handoff).order_by(col(Handoff.id))
    if since is not None:
        query = query.where(col(Handoff.created_at) >= since)
    if until is not None:
        query = query.where(col(Handoff.created_at) < until)
    if departments is not None:
        query = query.where(col(Handoff.to_department).in_(sorted(departments)))
    calendars: dict[tuple[str | None, str], WorkingCalendar] = {}

    def calendar(h: Handoff) -> WorkingCalendar:
        key = (h.branch, h.offered_by)
        if key not in calendars:
            calendars[key] = calendar_for(uow, branch=h.branch, members=(h.offered_by,))
        return calendars[key]

    facts = {
        h.id: HandoffFacts(id=h.id, process_id=h.process_id, from_department=h.from_department,
                           to_department=h.to_department, title=h.title, state=h.state,
                           offered_at=h.created_at, due_at=h.due_at, calendar=calendar(h),
                           offered_by=h.offered_by)
        for h in uow.session.exec(query) if h.id is not None
    }
    if not facts:
        return []
    entries = uow.session.exec(
        select(AuditEntry)
        .where(col(AuditEntry.entity_type) == "handoff",
               col(AuditEntry.entity_id).in_(sorted(facts)),
               col(AuditEntry.action).in_(["accept", "reject", "deliver", "return", "confirm",
                                           "cancel"]))
        .order_by(col(AuditEntry.at), col(AuditEntry.id))
    )
    for entry in entries:
        f = facts[entry.entity_id]
        f.events.append((entry.action, entry.at, entry.actor))
        if entry.action == "accept" and f.accepted_at is None:
            f.accepted_at = entry.at
        elif entry.action == "deliver" and f.first_delivered_at is None:
            f.first_delivered_at = entry.at
        elif entry.action == "reject":
            f.rejected_reason = (entry.reason or "").strip() or "(no reason)"
        elif entry.action == "return":
            f.return_reasons.append((entry.reason or "").strip() or "(no reason)")
    return list(facts.values())


def _by_reason(reasons: list[str], denominator: int) -> list[dict[str, Any]]:
    return [{"reason": reason, "count": n, "rate": round(n / denominator, 4) if denominator else 0}
            for reason, n in sorted(Counter(reasons).items(), key=lambda kv: (-kv[1], kv[0]))]


def _pair_row(source: str, target: str, group: list[HandoffFacts],
              now: datetime) -> dict[str, Any]:
    offered = len(group)
    accepted = [f for f in group if f.accepted_at is not None]
    delivered = [f for f in group if f.first_delivered_at is not None]
    rejected = [f.rejected_reason for f in group if f.rejected_reason is not None]
    returned = [f for f in group if f.return_reasons]
    with_due = [f for f in group if f.due_at is not None and f.rejected_reason is None]
    overdue = [f for f in with_due if f.late_hours(now) > 0]
    return {
        "from": source,
        "to": target,
        "offered": offered,
        "accepted": len(accepted),
        "median_hours_to_accept": _median(
            [f.hours(f.offered_at, f.accepted_at) for f in accepted if f.accepted_at]),
        "delivered": len(delivered),
        "median_hours_to_deliver": _median(
            [f.hours(f.accepted_at or f.offered_at, f.first_delivered_at)
             for f in delivered if f.first_delivered_at]),
        "rejected": len(rejected),
        "rejection_rate": round(len(rejected) / offered, 4) if offered else 0.0,
        "rejections_by_reason": _by_reason(rejected, offered),
        "returned": len(returned),
        "return_rate": round(len(returned) / len(delivered), 4) if delivered else 0.0,
        "returns_by_reason": _by_reason([r for f in group for r in f.return_reasons],
                                        len(delivered)),
        "rework_loops": sum(1 for f in group if len(f.return_reasons) > 1),
        "with_due_date": len(with_due),
        "overdue": len(overdue),
        "overdue_share": round(len(overdue) / len(with_due), 4) if with_due else 0.0,
    }


@dataclass
class HandoffLedger:
    """Per department pair, how handoffs went; per process, the step people wait on longest."""

    since: datetime | None
    until: datetime | None
    generated_at: datetime
    pairs: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    overdue: list[dict[str, Any]] = field(default_factory=list)

    @property
    def slowest_steps(self) -> list[dict[str, Any]]:
        """The step with the longest median wait, one per process."""
        best: dict[str, dict[str, Any]] = {}
        for step in self.steps:
            current = best.get(step["process"])
            if current is None or step["median_hours"] > current["median_hours"]:
                best[step["process"]] = step
        return [best[p] for p in sorted(best)]

    def as_dict(self) -> dict[str, Any]:
        """The ledger as JSON-ready data; durations in hours."""
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "generated_at": format_time(self.generated_at),
            "pairs": self.pairs,
            "slowest_steps": self.slowest_steps,
            "steps": self.steps,
            "overdue": self.overdue,
        }


def ledger_from_facts(facts: list[HandoffFacts], steps: list[dict[str, Any]], *,
                      now: datetime, since: datetime | None = None,
                      until: datetime | None = None) -> HandoffLedger:
    """Group handoff facts per (offering, receiving) department pair."""
    groups: dict[tuple[str, str], list[HandoffFacts]] = defaultdict(list)
    for f in facts:
        groups[(f.from_department, f.to_department)].append(f)
    pairs = [_pair_row(s, t, g, now) for (s, t), g in sorted(groups.items())]
    overdue = [{"ref": ref_of("handoff", f.id), "from": f.from_department, "to": f.to_department,
                "title": f.title, "state": f.state,
                "due": format_time(f.due_at),
                "late_hours": round(f.late_hours(now), 2),
                "open": f.first_delivered_at is None and f.state in _WAITING_ON_RECEIVER}
               for f in facts if f.late_hours(now) > 0]
    return HandoffLedger(since=since, until=until, generated_at=now, pairs=pairs, steps=steps,
                         overdue=overdue)


def _step_waits(uow: UnitOfWork, since: datetime | None,
                until: datetime | None) -> list[dict[str, Any]]:
    query = (select(WorkItem, ProcessInstance)
             .join(ProcessInstance, col(WorkItem.process_id) == col(ProcessInstance.id),
                   isouter=True)
             .where(col(WorkItem.state) == WorkState.DONE,
                    col(WorkItem.completed_at).is_not(None)))
    if since is not None:
        query = query.where(col(WorkItem.created_at) >= since)
    if until is not None:
        query = query.where(col(WorkItem.created_at) < until)
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    calendars: dict[tuple[str | None, str | None], WorkingCalendar] = {}
    for item, process in uow.session.exec(query):
        assert item.completed_at is not None
        name = process.process if process is not None else "(no process)"
        key = (item.branch, item.completed_by)
        if key not in calendars:
            calendars[key] = calendar_for(uow, branch=item.branch, members=(item.completed_by,))
        waited = calendars[key].working_time_between(item.created_at, item.completed_at)
        waits[(name, item.step_key or item.title)].append(waited.total_seconds() / 3600)
    return [{"process": p, "step": s, "done": len(v), "median_hours": _median(v),
             "max_hours": round(max(v), 2)}
            for (p, s), v in sorted(waits.items())]


def handoff_ledger(uow: UnitOfWork, *, since: date | datetime | None = None,
                   until: date | datetime | None = None) -> HandoffLedger:
    """The handoff ledger of everything offered (and every step created) in ``[since, until)``."""
    lo, hi = _moment(since), _moment(until)
    with uow:
        now = uow.now()
        facts = handoff_facts(uow, since=lo, until=hi)
        steps = _step_waits(uow, lo, hi)
    return ledger_from_facts(facts, steps, now=now, since=lo, until=hi)


def handoff_states(uow: UnitOfWork, ids: list[int]) -> dict[int, str]:
    """The current state of each of these handoffs."""
    with uow:
        rows = uow.session.exec(select(Handoff).where(col(Handoff.id).in_(sorted(ids))))
        return {h.id: h.state for h in rows if h.id is not None}
