"""Escalation of overdue work: the SLA sweep, run by ``mktflow sla sweep`` or the sla-sweep flow.

Levels and their timing (``MKTFLOW_SLA_*`` settings):

- level 1 at the due time: a reminder to the assignee (or the department's queue when nobody
  holds the item; the receiving department of a handoff);
- level 2 at due + ``sla_head_after_h`` (24 h): the head of that department, and while the head
  is away, the delegate too;
- level 3 at due + ``sla_management_after_h`` (72 h): the management department.

Time is working time (issue 25): an item's lateness is counted in its calendar (its branch's,
else its holder's or offerer's, ``mktflow.engine.calendars``), so the reminder of a step due
at 17:00 on Friday before a holiday week waits for the next working hour, 09:00 local on the
next working day, and 24 h past due means 24 working hours. A level is sent only while its
recipient is at work (the recipient's branch calendar, else the item's): a level reached at
night waits for the morning. Branches without a calendar count calendar hours, as before.

Levels only go up and each is raised once: the item's ``escalation_level`` records the highest
reached, and an item already at a level is never escalated to it again. An item found late
enough to skip levels (the sweep did not run for a while) gets every level it passed, in order,
so the department is reminded before management hears of it. A new due time resets the level to
0 (``work.update``, ``handoffs.update_due``). Each level raised writes an audit entry and its
outbox messages in the sweep's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import literal_column, update
from sqlmodel import col, select

from mktflow.config import Settings
from mktflow.domain.actors import SYSTEM
from mktflow.domain.calendars import CALENDAR_HOURS, WorkingCalendar
from mktflow.domain.errors import ConfigError
from mktflow.domain.model import OPEN_WORK_STATES, HandoffState
from mktflow.engine.calendars import find_calendar
from mktflow.engine.common import ref
from mktflow.engine.notices import Recipient, head_of, notice_recipients
from mktflow.store.tables import Handoff, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["MAX_LEVEL", "OVERDUE_HANDOFF_STATES", "EscalationPolicy", "SweepSummary", "sweep"]

MAX_LEVEL = 3

#: A handoff is overdue while the receiving department still owes the deliverable.
OVERDUE_HANDOFF_STATES = (HandoffState.OFFERED, HandoffState.ACCEPTED, HandoffState.RETURNED)


@dataclass(frozen=True)
class EscalationPolicy:
    """When overdue work reaches levels 2 and 3 (level 1 is at the due time)."""

    head_after: timedelta = timedelta(hours=24)
    management_after: timedelta = timedelta(hours=72)

    def __post_init__(self) -> None:
        if self.head_after < timedelta(0) or self.management_after < self.head_after:
            raise ConfigError(
                "MKTFLOW_SLA_MANAGEMENT_AFTER_H must be at least MKTFLOW_SLA_HEAD_AFTER_H, and "
                f"both at least 0 (got {self.head_after} and {self.management_after})")

    @classmethod
    def from_settings(cls, s: Settings) -> EscalationPolicy:
        """The policy the MKTFLOW_SLA_* settings describe."""
        return cls(head_after=timedelta(hours=s.sla_head_after_h),
                   management_after=timedelta(hours=s.sla_management_after_h))

    def level_at(self, overdue_by: timedelta) -> int:
        """The escalation level an item this far past its due time (working time, once its
        first working moment after the due time has come) has reached."""
        if overdue_by < timedelta(0):
            return 0
        if overdue_by >= self.management_after:
            return 3
        return 2 if overdue_by >= self.head_after else 1


@dataclass
class SweepSummary:
    """What one sweep escalated."""

    checked: int = 0
    escalations: list[dict[str, Any]] = field(default_factory=list)

    def by_level(self) -> dict[int, int]:
        """How many level-1, -2 and -3 escalations the sweep raised."""
        counts = dict.fromkeys(range(1, MAX_LEVEL + 1), 0)
        for e in self.escalations:
            counts[e["level"]] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        """The summary for ``--json`` and artifacts."""
        return {"checked": self.checked, "escalated": len(self.escalations),
                "by_level": {str(k): v for k, v in self.by_level().items()},
                "escalations": self.escalations}

    def line(self) -> str:
        """One line for people."""
        levels = ", ".join(f"level {k}: {v}" for k, v in self.by_level().items())
        return f"checked {self.checked} overdue item(s), {len(self.escalations)} escalation(s) " \
               f"({levels})"


def sweep(uow: UnitOfWork, policy: EscalationPolicy | None = None) -> SweepSummary:
    """Raise the escalation level of every overdue work item and handoff that reached a new one.

    Rows another command holds locked are skipped (PostgreSQL) and picked up by the next sweep.

    Cost (issue 22, target 6): the overdue rows come from the partial indexes ``ix_workitem_sla``
    and ``ix_handoff_sla`` (migration 0028); the department heads, calendars and notice routes
    are looked up once per sweep (the organisation does not change inside its transaction); the
    new levels are written with one ``UPDATE`` per level and table, the audit entries and
    notices with one ``INSERT`` per table at commit.
    """
    policy = policy or EscalationPolicy()
    summary = SweepSummary()
    with uow:
        now = uow.now()
        work = select(WorkItem).where(
            col(WorkItem.state).in_(_literals(_WORK_STATES)), col(WorkItem.due_at) <= now,
            col(WorkItem.escalation_level) < literal_column(str(MAX_LEVEL)),
        ).order_by(col(WorkItem.due_at), col(WorkItem.id)).with_for_update(skip_locked=True)
        handoffs = select(Handoff).where(
            col(Handoff.state).in_(_literals(OVERDUE_HANDOFF_STATES)),
            col(Handoff.due_at) <= now,
            col(Handoff.escalation_level) < literal_column(str(MAX_LEVEL)),
        ).order_by(col(Handoff.due_at), col(Handoff.id)).with_for_update(skip_locked=True)
        items: list[WorkItem | Handoff] = [*uow.session.exec(work), *uow.session.exec(handoffs)]
        lookups = _Lookups(uow)
        raised: dict[tuple[type[WorkItem] | type[Handoff], int], list[int]] = {}
        for item in items:
            summary.checked += 1
            level = _escalate(uow, item, policy, now, summary, lookups)
            if level is not None:
                assert item.id is not None
                raised.setdefault((type(item), level), []).append(item.id)
        # version is left alone: escalation is the system's note on the item, not an edit
        # that should make a person's pending change conflict.
        connection = uow.session.connection()
        for (model, level), ids in sorted(raised.items(), key=lambda kv: kv[0][1]):
            table = model.__table__  # type: ignore[union-attr]
            for start in range(0, len(ids), _CHUNK):
                connection.execute(update(table).where(table.c.id.in_(ids[start:start + _CHUNK]))
                                   .values(escalation_level=level))
        uow.commit()
    return summary


#: Open work states in the order of the partial index's WHERE (``ix_workitem_sla``).
_WORK_STATES = ("open", "claimed", "delegated")
assert set(_WORK_STATES) == OPEN_WORK_STATES
#: Ids per ``UPDATE ... WHERE id IN (...)`` (well under SQLite's bound-parameter limit).
_CHUNK = 1000


def _literals(states: tuple[str, ...]) -> list[Any]:
    """The states as literal SQL values, so both planners match the partial indexes."""
    return [literal_column(f"'{s}'") for s in states]


class _Lookups:
    """What one sweep reads of the organisation, each looked up once: calendars and heads."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.found: dict[tuple[str | None, str | None], WorkingCalendar | None] = {}
        self.heads: dict[str, str | None] = {}

    def of(self, branch: str | None, member: str | None) -> WorkingCalendar | None:
        """``branch``'s calendar, else ``member``'s branch's; None when neither has one."""
        key = (branch, member)
        if key not in self.found:
            self.found[key] = find_calendar(self.uow, branch=branch, members=(member,))
        return self.found[key]

    def of_item(self, item: WorkItem | Handoff) -> WorkingCalendar:
        """The calendar ``item``'s lateness is counted in (as its due time was)."""
        member = item.assignee_email if isinstance(item, WorkItem) else item.offered_by
        return self.of(item.branch, member) or CALENDAR_HOURS

    def head(self, department: str) -> str | None:
        """The e-mail of ``department``'s active head (``notices.head_of``)."""
        if department not in self.heads:
            self.heads[department] = head_of(self.uow, department)
        return self.heads[department]


def _escalate(uow: UnitOfWork, item: WorkItem | Handoff, policy: EscalationPolicy,
              now: datetime, summary: SweepSummary, lookups: _Lookups) -> int | None:
    """Raise ``item``'s levels due now (audit entries and notices); the level it reached, or
    None when it stays where it is."""
    assert item.due_at is not None and item.id is not None
    counted_in = lookups.of_item(item)
    if now < counted_in.next_working_moment(item.due_at):
        return None  # due after hours: the reminder waits for the next working hour
    late = counted_in.working_time_between(item.due_at, now)
    reached = policy.level_at(late)
    kind = "work" if isinstance(item, WorkItem) else "handoff"
    overdue_h = round(late.total_seconds() / 3600, 1)
    for level in range(item.escalation_level + 1, reached + 1):
        recipient, escalated_to = _audience(lookups, item, level)
        at_work = lookups.of(None, recipient.member) or counted_in
        if not at_work.is_working_moment(now):
            reached = level - 1  # this level and the next wait for its recipient's morning
            break
        uow.audit(actor=SYSTEM.email, entity_type=kind, entity_id=item.id,
                  process_id=item.process_id, action="escalate", from_state=item.state,
                  to_state=item.state, changes={"escalation_level": [level - 1, level]},
                  data={"level": level, "escalated_to": escalated_to, "overdue_by_h": overdue_h})
        notice_recipients(
            uow, item, event=f"{kind}.overdue" if level == 1 else f"{kind}.escalated",
            recipients=[recipient], actor=SYSTEM.email, same_organisation=True,
            extra={"level": level, "escalated_to": escalated_to, "overdue_by_h": overdue_h})
        summary.escalations.append({"ref": ref(item), "level": level, "to": escalated_to})
    return reached if reached > item.escalation_level else None


def _audience(lookups: _Lookups, item: WorkItem | Handoff, level: int
              ) -> tuple[Recipient, str]:
    """Whom escalation ``level`` of ``item`` tells, and how the message names them."""
    department = item.department if isinstance(item, WorkItem) else item.to_department
    if level == 1:
        holder = item.assignee_email if isinstance(item, WorkItem) else None
        if holder:
            return Recipient(department, holder), holder
        return Recipient(department), f"the {department} department"
    if level == 2:
        head = lookups.head(department)
        return Recipient(department, head), f"the head of {department}"
    return Recipient("management"), "management"
