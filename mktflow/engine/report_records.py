"""Recording a work report, for the daily report step's completion (``engine.work.complete``)
and for ``engine.work_reports``: one place that writes a ``workreport`` row, so ``work`` and
``work_reports`` need not import each other.

Source: seed 001, 市场部管理制度 4 (the day's work reported to the head before the end of the
working day); the rules are ``mktflow.domain.work_reports``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import col, select

from mktflow.domain.actors import Actor
from mktflow.domain.errors import BadInput, NotFound
from mktflow.domain.inputs import normalise_email
from mktflow.domain.words import on_field, phrase
from mktflow.domain.work_reports import (
    REPORT_FORM_NAME,
    ReportKind,
    check_texts,
    period_label,
    report_ref,
)
from mktflow.engine.common import ref
from mktflow.store.tables import Member, WorkItem, WorkReport
from mktflow.store.uow import UnitOfWork

__all__ = ["existing", "member_of", "record_step", "step_key", "write"]


def step_key(day: date, email: str) -> str:
    """The step key of ``email``'s daily report step for ``day``."""
    return f"report/daily/{day.isoformat()}/{email}"


def member_of(uow: UnitOfWork, email: str) -> Member:
    member = uow.session.exec(select(Member).where(
        col(Member.email) == normalise_email(email))).first()
    if member is None or not member.active:
        raise NotFound(on_field("member", phrase("%(email)s is not an active member",
                                                 email=repr(email))))
    return member


def existing(uow: UnitOfWork, email: str, kind: ReportKind, start: date) -> WorkReport | None:
    return uow.session.exec(select(WorkReport).where(
        col(WorkReport.member_email) == email, col(WorkReport.kind) == kind.value,
        col(WorkReport.period_start) == start).with_for_update()).first()


def write(uow: UnitOfWork, *, member: Member, actor: str, kind: ReportKind, start: date,
           texts: tuple[str, str, str], item: WorkItem | None = None,
           due_at: datetime | None = None) -> WorkReport:
    """Insert or revise the member's report for the period, inside the caller's transaction.
    A revision keeps when it was first submitted (lateness stays honest)."""
    row = existing(uow, member.email, kind, start)
    action = "revise" if row is not None else "submit"
    if row is None:
        row = WorkReport(member_email=member.email, department=member.department,
                         branch=member.branch, kind=kind.value, period_start=start,
                         due_at=due_at, submitted_by=actor, submitted_at=uow.now())
    row.done, row.problems, row.next = texts
    if item is not None:
        row.work_item_id = item.id
        row.due_at = item.due_at
    uow.session.add(row)
    uow.session.flush()
    assert row.id is not None
    uow.audit(actor=actor, entity_type="report", entity_id=row.id,
              process_id=item.process_id if item is not None else None, action=action,
              data={"member": member.email, "kind": kind.value,
                    "period": period_label(kind, start)})
    return row


def record_step(uow: UnitOfWork, item: WorkItem, actor: Actor, data: dict[str, Any] | None
                ) -> dict[str, Any]:
    """Record the report a daily report step's answer carries, inside ``work.complete``'s
    transaction; returns what the step keeps instead of the texts (``{"report": "R-3"}``).
    BadInput naming the field for a text that breaks the rules."""
    parts = (item.step_key or "").split("/")
    if len(parts) != 4 or parts[:2] != ["report", "daily"]:
        raise BadInput(f"{ref(item)}: a {REPORT_FORM_NAME} step's key is "
                       "report/daily/<day>/<member>")
    day = date.fromisoformat(parts[2])
    member = member_of(uow, item.assignee_email or parts[3])
    answer = data or {}
    texts = check_texts(answer.get("done"), answer.get("problems"), answer.get("next"))
    row = write(uow, member=member, actor=actor.email, kind=ReportKind.DAILY, start=day,
                 texts=texts, item=item)
    return {"report": report_ref(row.id)}
