"""Who may see what: the read table (``domain.model.READ_RULES``) applied to the rows a read
returns, the same for every door.

A read takes ``reader``: the e-mail of the member a door proved (a member token, a signed-in
session, the command line's ``--as``), or None for the operator, who sees everything (the
command line run without ``--as`` holds the database URL already; an SSO proxy reading with the
shared token and naming nobody is the company's own gateway). A member who may not see a thing
is refused (``NotAuthorized``, HTTP 403, exit 1) naming the row of the table; a list shows only
what they may see.

"Market and customer data" (seed 001 §4.2) lives in mktflow in three places, all kept by
department: a process's parameters and result (customers, order lines, plans, budgets: the
``PARAMETERS`` row), the answers of its steps (order entry, research findings, customer
follow-up: the ``WORK`` row), and the customer, order and research tables, which no door reads
directly. Source: issue 19.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, column, or_, select, table, true

from mktflow.domain.actors import Actor, Target, authorize_read, may_read
from mktflow.domain.model import MANAGEMENT, Readable, read_rule, ref_of
from mktflow.domain.words import phrase
from mktflow.store import light
from mktflow.store.uow import UnitOfWork

__all__ = [
    "check_item",
    "check_process",
    "check_queue",
    "item_target",
    "may_see_item",
    "may_see_parameters",
    "process_target",
    "reading_actor",
    "visible_processes",
]

_W, _H, _P = light.workitem, light.handoff, light.processinstance
#: The two columns of ``member`` a read needs (no ORM for a quick command line).
_M = table("member", column("email"), column("department"))


def reading_actor(uow: UnitOfWork, reader: str | None) -> Actor | None:
    """The member reading (None: the operator, who sees everything). NotFound for an e-mail
    of no active member; NotAuthorized for the process engine's name at a door."""
    if reader is None:
        return None
    from mktflow.engine.common import actor_for  # the ORM: only when a member reads

    return actor_for(uow, reader)


def _departments(actor: Actor) -> list[str]:
    return sorted({actor.department, *actor.leads} - {""})


def item_target(kind: str, row: Any, *, process_owner: str | None) -> Target:
    """What the read table needs of a work item or handoff (a model or a Core row)."""
    if kind == "work":
        return Target(ref=ref_of("work", row.id), department=row.department, branch=row.branch,
                      assignee=row.assignee_email, process_owner=process_owner)
    return Target(ref=ref_of("handoff", row.id), department=row.to_department,
                  branch=row.branch, offering=row.from_department, process_owner=process_owner)


def may_see_item(actor: Actor | None, kind: str, row: Any, *,
                 process_owner: str | None) -> bool:
    """Whether ``actor`` (None: the operator) may see a work item or handoff."""
    subject = Readable.WORK if kind == "work" else Readable.HANDOFF
    return actor is None or may_read(actor, read_rule(subject),
                                     item_target(kind, row, process_owner=process_owner))


def check_item(actor: Actor | None, kind: str, row: Any, *, process_owner: str | None) -> None:
    """Refuse unless ``actor`` may see the work item or handoff ``row``."""
    if actor is not None:
        subject = Readable.WORK if kind == "work" else Readable.HANDOFF
        authorize_read(actor, read_rule(subject),
                       item_target(kind, row, process_owner=process_owner))


def check_queue(actor: Actor | None, department: str) -> str | None:
    """Refuse unless ``actor`` may see ``department``'s queue; the branch its rows are limited
    to (None: every branch)."""
    if actor is None:
        return None
    authorize_read(actor, read_rule(Readable.QUEUE),
                   Target(ref=phrase("the %(department)s queue", department=department),
                          department=department))
    return None if actor.is_hq else actor.branch


def process_target(session: Any, process: Any) -> Target:
    """What the read table needs of a process: its owner, the owner's department and every
    department it involves (the owner's, those with a step in it, both sides of its
    handoffs). ``process``: a model or a Core row of ``processinstance``."""
    conn = session.connection()
    owner_department = conn.execute(select(_M.c.department).where(
        _M.c.email == process.owner_email)).scalar()
    involved = {owner_department} if owner_department else set()
    involved.update(conn.execute(select(_W.c.department).where(
        _W.c.process_id == process.id).distinct()).scalars())
    for sides in conn.execute(select(_H.c.from_department, _H.c.to_department).where(
            _H.c.process_id == process.id).distinct()):
        involved.update(sides)
    return Target(ref=ref_of("process", process.id), department=owner_department or "",
                  branch=process.branch, process_owner=process.owner_email,
                  owner_department=owner_department, involved=frozenset(involved))


def check_process(actor: Actor | None, target: Target) -> None:
    """Refuse unless ``actor`` may see the process ``target``."""
    if actor is not None:
        authorize_read(actor, read_rule(Readable.PROCESS), target)


def may_see_parameters(actor: Actor | None, target: Target) -> bool:
    """Whether ``actor`` may see the parameters and result of the process ``target``."""
    return actor is None or may_read(actor, read_rule(Readable.PARAMETERS), target)


def visible_processes(actor: Actor | None, processes: Any = _P) -> ColumnElement[bool]:
    """A WHERE clause over ``processes`` (the ``processinstance`` table the query selects
    from: Core's or the model's) keeping the processes ``actor`` may see: those they own,
    those of their department's members, those with a step of their department or a handoff
    with it on either side; within their branch. Everything for management and the operator.
    """
    if actor is None or actor.system:
        return true()
    p = processes.c if hasattr(processes, "c") else processes.__table__.c
    seen: ColumnElement[bool] = true()
    if not actor.in_department(MANAGEMENT):
        mine = _departments(actor)
        seen = or_(
            p.owner_email == actor.email,
            p.owner_email.in_(select(_M.c.email).where(_M.c.department.in_(mine))),
            p.id.in_(select(_W.c.process_id).where(_W.c.department.in_(mine))),
            p.id.in_(select(_H.c.process_id).where(or_(_H.c.from_department.in_(mine),
                                                       _H.c.to_department.in_(mine)))),
        )
    if not actor.is_hq:
        return seen & or_(p.branch.is_(None), p.branch == actor.branch)
    return seen
