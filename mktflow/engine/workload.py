"""A department's workload and waiting (issue 24, item 3): its open work by member with the
due spread, the time its work waits on each other department (and they on it) from the
handoff ledger, and who is blocking whom now.

- **Open work** is the head's load (``tasklist.department_load``: one reading of it); each
  member's open items are spread over five bands by their due time against now: overdue,
  due within 24 hours, within 7 days, later, no due time.
- **Waits** come from the handoff ledger's audit trail (``reports.handoff_facts``), per
  handoff offered on or after ``since`` with the department on either side, in four stages:
  ``accept`` (offered until accepted, rejected or withdrawn) and ``deliver`` (accepted until
  delivered) and ``rework`` (returned until delivered again): the offering department waits
  on the receiving one; ``confirm`` (delivered until confirmed or returned): the receiving
  department waits on the offering one. A wait still running counts until now. Hours are
  working hours in each handoff's calendar (its branch's, else its offerer's: the ledger's
  rule), calendar hours where a branch has no calendar.
- **Who is blocking whom**: the open waits grouped by who holds them (the department, and
  the member: whoever accepted the work to deliver or rework it, whoever offered it to
  confirm it; nobody while an offer sits in the queue) and by the department waiting, the
  longest total wait first.

Who may read it: the ``workload`` row of the read table (whoever leads the department, and
management). Nothing here changes anything.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from mktflow.domain.actors import SYSTEM, Target, authorize_read
from mktflow.domain.errors import BadInput, NotFound
from mktflow.domain.inputs import format_time
from mktflow.domain.model import HandoffState, Readable, read_rule
from mktflow.domain.words import on_field, phrase
from mktflow.engine import tasklist, visibility
from mktflow.engine.common import ref_of
from mktflow.engine.reports import HandoffFacts, handoff_facts, start_of
from mktflow.engine.views import (
    Blocker,
    DepartmentLoad,
    DepartmentWorkload,
    MemberWorkload,
    WaitFigures,
    WorkItemPublic,
)
from mktflow.store.tables import Department
from mktflow.store.uow import UnitOfWork

__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "STAGES", "department_workload", "due_band",
           "load_and_workload", "waits_of"]

#: How far back the waits look by default: handoffs offered in the last 90 days.
DEFAULT_DAYS = 90
#: The longest look back a reader may ask for, in days (ten years).
MAX_DAYS = 3650
#: The stages of a handoff's ledger, in the order they happen.
STAGES = ("accept", "deliver", "rework", "confirm")
_OPEN = frozenset({HandoffState.OFFERED, HandoffState.ACCEPTED, HandoffState.DELIVERED,
                   HandoffState.RETURNED})
_DAY = timedelta(hours=24)
_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Wait:
    """One stage of one handoff: who waits on whom, from ``start`` until ``end`` (None: still
    waiting), in working hours; ``holder`` the member holding it (None: nobody yet)."""

    handoff: int
    stage: str
    waiting: str
    on: str
    holder: str | None
    start: datetime
    end: datetime | None
    hours: float


def waits_of(f: HandoffFacts, now: datetime) -> Iterator[Wait]:
    """The waits of one handoff, in order, from its ledger (``HandoffFacts.events``)."""
    offering, receiving = f.from_department, f.to_department
    offerer = None if f.offered_by in ("", SYSTEM.email) else f.offered_by
    accepter: str | None = None
    stage: str | None = "accept"
    start, holder = f.offered_at, None

    def wait(end: datetime | None) -> Wait:
        assert stage is not None
        waiting, on = (receiving, offering) if stage == "confirm" else (offering, receiving)
        return Wait(f.id, stage, waiting, on, holder, start, end,
                    round(f.hours(start, end or now), 2) if (end or now) > start else 0.0)

    for action, at, actor in f.events:
        if stage == "accept" and action in ("accept", "reject", "cancel"):
            yield wait(at)
            stage, start, holder = ("deliver", at, actor) if action == "accept" else (
                None, at, None)
            accepter = actor if action == "accept" else None
        elif stage in ("deliver", "rework") and action in ("deliver", "cancel"):
            yield wait(at)
            stage, start, holder = ("confirm", at, offerer) if action == "deliver" else (
                None, at, None)
        elif stage == "confirm" and action in ("confirm", "return"):
            yield wait(at)
            stage, start, holder = ("rework", at, accepter) if action == "return" else (
                None, at, None)
    if stage is not None and f.state in _OPEN:
        yield wait(None)


def due_band(item: WorkItemPublic, now: datetime) -> str:
    """Which band of the due spread an open item is in: ``overdue``, ``due_within_day``,
    ``due_within_week``, ``due_later`` or ``no_due``."""
    if item.overdue:
        return "overdue"
    if item.due is None:
        return "no_due"
    left = datetime.fromisoformat(item.due) - now
    if left <= _DAY:
        return "due_within_day"
    return "due_within_week" if left <= _WEEK else "due_later"


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def department_workload(uow: UnitOfWork, department: str, *, reader: str | None,
                        days: int = DEFAULT_DAYS) -> DepartmentWorkload:
    """``department``'s workload and waiting, as ``reader`` (None: the operator) may see it:
    the ``workload`` row of the read table (whoever leads it, management), else NotAuthorized.
    ``days``: the waits are of handoffs offered in the last ``days`` days (1 to ``MAX_DAYS``),
    else BadInput naming ``days``. NotFound for an unknown department."""
    return load_and_workload(uow, department, reader=reader, days=days)[1]


def load_and_workload(uow: UnitOfWork, department: str, *, reader: str | None,
                      days: int = DEFAULT_DAYS) -> tuple[DepartmentLoad, DepartmentWorkload]:
    """``department_workload`` with the department's load it is built on
    (``tasklist.department_load``, read once): the head's load page shows both."""
    if not 1 <= days <= MAX_DAYS:
        raise BadInput(on_field("days", phrase("must be from 1 to %(n)s (got %(got)s)",
                                               n=MAX_DAYS, got=days)))
    with uow:
        actor = visibility.reading_actor(uow, reader)
        if uow.session.get(Department, department) is None:
            raise NotFound(on_field("department", phrase("unknown department %(code)s",
                                                         code=repr(department))))
        if actor is not None:
            authorize_read(actor, read_rule(Readable.WORKLOAD),
                           Target(ref=phrase("the %(department)s workload", department=department),
                                  department=department))
    load = tasklist.department_load(uow, department)
    with uow:
        now = uow.now()
        since = start_of((now - timedelta(days=days)).date())
        facts = [f for f in handoff_facts(uow, since=since)
                 if department in (f.from_department, f.to_department)]
    bands: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in load.items:
        if item.assignee:
            bands[item.assignee][due_band(item, now)] += 1
    members = [MemberWorkload(email=m.email, name=m.name, open=m.held, overdue=m.overdue,
                              due_within_day=bands[m.email]["due_within_day"],
                              due_within_week=bands[m.email]["due_within_week"],
                              due_later=bands[m.email]["due_later"],
                              no_due=bands[m.email]["no_due"]) for m in load.by_member]
    stages: dict[tuple[str, str, str], list[Wait]] = defaultdict(list)
    holding: dict[tuple[str, str | None, str], list[Wait]] = defaultdict(list)
    for f in facts:
        for w in waits_of(f, now):
            stages[(w.waiting, w.on, w.stage)].append(w)
            if w.end is None:
                holding[(w.on, w.holder, w.waiting)].append(w)
    waits = [WaitFigures(waiting=waiting, on=on, stage=stage,  # type: ignore[arg-type]
                         waits=len(group), still_waiting=sum(1 for w in group if w.end is None),
                         hours=round(sum(w.hours for w in group), 2),
                         median_hours=_median([w.hours for w in group]))
             for (waiting, on, stage), group in sorted(
                 stages.items(), key=lambda kv: (kv[0][0], kv[0][1], STAGES.index(kv[0][2])))]
    blocking = sorted(
        (Blocker(department=on, member=holder, waiting=waiting, handoffs=len(group),
                 hours=round(sum(w.hours for w in group), 2),
                 longest=ref_of("handoff", max(group, key=lambda w: (w.hours, -w.handoff))
                                .handoff))
         for (on, holder, waiting), group in holding.items()),
        key=lambda b: (-b.hours, -b.handoffs, b.department, b.member or "", b.waiting))
    return load, DepartmentWorkload(
        department=department, generated_at=format_time(now) or "",
        since=since.date().isoformat(), open=load.open, overdue=load.overdue,
        unassigned=load.unassigned, members=members, waits=waits, blocking=blocking)
