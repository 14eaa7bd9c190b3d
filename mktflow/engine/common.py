"""What every handler needs: references, actors, and the record of one transition."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from mktflow.domain.actors import (
    SYSTEM,
    Actor,
    Approval,
    Door,
    Target,
    asks_decision,
    leads_of,
)
from mktflow.domain.errors import NotAuthorized, NotFound
from mktflow.domain.inputs import format_time, normalise_email
from mktflow.domain.model import REF_PREFIX, ref_of
from mktflow.domain.words import from_stored, phrase
from mktflow.engine.refs import parse_ref
from mktflow.store.tables import (
    Branch,
    Channel,
    Department,
    Handoff,
    Member,
    ProcessInstance,
    WorkItem,
)
from mktflow.store.uow import UnitOfWork

__all__ = [
    "DEPARTMENT_CHANNELS",
    "PREFIX",
    "active_member",
    "actor_for",
    "approval_rule",
    "as_engine",
    "changed",
    "departments_exist",
    "digest",
    "find_member",
    "get_for_update",
    "parse_ref",
    "ref",
    "ref_of",
    "target_of",
]

T = TypeVar("T", WorkItem, Handoff, ProcessInstance)

#: How each kind of object is named to people: W-12, H-3, P-4.
PREFIX: dict[type, str] = {WorkItem: REF_PREFIX["work"], Handoff: REF_PREFIX["handoff"],
                           ProcessInstance: REF_PREFIX["process"]}


def ref(obj: WorkItem | Handoff | ProcessInstance) -> str:
    """The name people use for an object, e.g. ``W-12``."""
    return f"{PREFIX[type(obj)]}-{obj.id}"


_LOCKING: dict[type, Any] = {}


def digest(secret: str) -> str:
    """The SHA-256 hex digest stored in place of a secret (a member token, a sign-in code, a
    page session's cookie), so a copy of the database acts as nobody."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def get_for_update(uow: UnitOfWork, model: type[T], item_id: int) -> T:
    """Load and lock a row for the rest of the command (a row lock on PostgreSQL)."""
    statement = _LOCKING.get(model)
    if statement is None:  # built once per model, so its compiled form is reused as it is
        statement = _LOCKING[model] = (
            select(model).where(model.id == bindparam("item_id"))
            .with_for_update().execution_options(populate_existing=True))
    row: T | None = uow.session.execute(statement, {"item_id": item_id}).scalar_one_or_none()
    if row is None:
        raise NotFound(phrase("%(ref)s does not exist", ref=f"{PREFIX[model]}-{item_id}"))
    return row


def find_member(session: Session, email: str, *, for_update: bool = False) -> Member | None:
    """The member an e-mail names (stored and compared NFC, lower-case), active or not;
    ``for_update`` locks the row for the rest of the command (PostgreSQL)."""
    query = select(Member).where(col(Member.email) == normalise_email(email))
    return session.exec(query.with_for_update() if for_update else query).first()


def active_member(session: Session, email: str) -> Member:
    """The active member an e-mail names; refuses anyone else."""
    member = find_member(session, email)
    if member is None or not member.active:
        raise NotFound(phrase("no active member with e-mail %(given)s", given=repr(email)))
    return member


@contextmanager
def as_engine(uow: UnitOfWork) -> Iterator[UnitOfWork]:
    """Let a handler act as the process engine itself (a cycle putting its steps in queues),
    whatever door started the command: ``uow`` is of ``Door.ENGINE`` inside the block."""
    before = uow.door
    uow.door = Door.ENGINE
    try:
        yield uow
    finally:
        uow.door = before


_M, _B, _D = (Member.__table__, Branch.__table__,  # type: ignore[attr-defined]
              Department.__table__)  # type: ignore[attr-defined]
#: The member, their branch and the departments they are the delegate of, in one round trip
#: (one row per delegation, or one row with none).
_ACTOR = (
    core_select(_M.c.email, _M.c.department, _M.c.role, _M.c.branch, _M.c.active, _B.c.is_hq,
           _D.c.code, _D.c.delegate_email, _D.c.head_away_from, _D.c.head_away_until)
    .select_from(_M.outerjoin(_B, _B.c.code == _M.c.branch)
                 .outerjoin(_D, _D.c.delegate_email == _M.c.email))
    .where(_M.c.email == bindparam("email"))
)


def actor_for(uow: UnitOfWork, email: str) -> Actor:
    """The member behind ``email``, with the departments they lead today: the one place every
    handler learns who acts. One query, remembered for the rest of the transaction (a command
    may ask again, e.g. for the member it assigns to).

    The process engine (``mktflow``) is accepted only in a unit of work of ``Door.ENGINE``
    (flows, sweeps), never from a door; a member named at a door that cannot prove it
    (``Door.TYPED``, the Prefect UI's form) is marked unproven, and refused outright when that
    door is turned off (``MKTFLOW_PREFECT_UI_ANSWERS=none``). Raises NotAuthorized for those,
    NotFound for an e-mail of no active member. Source: issue 10.
    """
    if email.strip().lower() == SYSTEM.email:
        if uow.door is Door.ENGINE:
            return SYSTEM
        raise NotAuthorized(
            f"{SYSTEM.email!r} is the process engine: it acts only inside flows and sweeps, "
            "never through a door (command line, REST API, web page, Prefect UI); act as a "
            "member")
    if uow.door is Door.TYPED and uow.settings.prefect_ui_answers == "none":
        raise NotAuthorized(
            "answers from the Prefect UI's resume form are turned off "
            "(MKTFLOW_PREFECT_UI_ANSWERS=none): anyone can type any e-mail there; answer on "
            "the item's web page after signing in, over the REST API with your member token, "
            "or with the mktflow command line")
    key = ("actor", uow.door, normalise_email(email))
    actor: Actor | None = uow.memo.get(key)
    if actor is not None:
        return actor
    rows = uow.session.connection().execute(_ACTOR, {"email": key[2]}).all()
    if not rows or not rows[0].active:
        raise NotFound(phrase("no active member with e-mail %(given)s", given=repr(email)))
    m = rows[0]
    delegations = [(r.code, r.delegate_email or "", r.head_away_from, r.head_away_until)
                   for r in rows if r.code is not None]
    actor = Actor(
        email=m.email,
        department=m.department,
        role=m.role,
        branch=m.branch,
        is_hq=bool(m.is_hq),
        leads=leads_of(email=m.email, role=m.role, department=m.department,
                       delegations=delegations, today=uow.now().date()),
        proven=uow.door is not Door.TYPED,
    )
    uow.memo[key] = actor
    return actor


#: ``uow.memo`` key prefix of a department's own channel ids, for the transaction
#: (``(DEPARTMENT_CHANNELS, code)``: ``engine.notices`` reads them).
DEPARTMENT_CHANNELS = "department channels"


def departments_exist(uow: UnitOfWork, *codes: str) -> set[str]:
    """Which of ``codes`` are departments (one query for all, remembered for the transaction).

    The same query reads each found department's own channels (the notice of the item being
    created goes to them), remembered for the transaction under ``DEPARTMENT_CHANNELS``: one
    round trip fewer per new work item or handoff (issue 22, target 4).
    """
    known: set[str] = uow.memo.setdefault("departments", set())
    wanted = set(codes) - known
    if wanted:
        found: dict[str, list[int]] = {}
        for code, channel_id in uow.session.connection().execute(
                _DEPARTMENTS, {"codes": sorted(wanted)}):
            ids = found.setdefault(code, [])
            if channel_id is not None:
                ids.append(channel_id)
        for code, ids in found.items():
            uow.memo.setdefault((DEPARTMENT_CHANNELS, code), ids)
        known.update(found)
    return set(codes) & known


_C = Channel.__table__  # type: ignore[attr-defined]
_DEPARTMENTS = (core_select(_D.c.code, _C.c.id)
                .select_from(_D.outerjoin(_C, (_C.c.department == _D.c.code)
                                          & _C.c.member_email.is_(None)))
                .where(_D.c.code.in_(bindparam("codes", expanding=True)))
                .order_by(_D.c.code, _C.c.id))


def approval_rule(approval: dict[str, Any]) -> str:
    """An approval step's authority-matrix rule in words: its message when kept
    (``rule_words``, worded where shown), else its English text."""
    kept = approval.get("rule_words")
    return from_stored(kept) if kept else str(approval.get("rule", ""))


def target_of(obj: WorkItem | Handoff) -> Target:
    """What authorization needs to know of a work item or handoff."""
    if isinstance(obj, WorkItem):
        approval = obj.approval
        return Target(ref=ref(obj), department=obj.department, branch=obj.branch,
                      assignee=obj.assignee_email, excluded=frozenset(obj.excluded or ()),
                      approval=Approval(department=approval["department"],
                                        roles=tuple(approval["roles"]),
                                        branch=approval.get("branch"),
                                        rule=approval_rule(approval))
                      if approval else None,
                      asks_decision=asks_decision(obj.form_schema))
    return Target(ref=ref(obj), department=obj.to_department, branch=obj.branch,
                  offering=obj.from_department)


def changed(obj: Any, **new: Any) -> dict[str, list[Any]]:
    """Set fields on ``obj``; return ``{field: [old, new]}`` for those that really changed."""
    diff: dict[str, list[Any]] = {}
    for name, value in new.items():
        old = getattr(obj, name)
        if old != value:
            diff[name] = [_plain(old), _plain(value)]
            setattr(obj, name, value)
    return diff


def _plain(value: Any) -> Any:
    return format_time(value) if isinstance(value, datetime) else value
