"""What every handler needs: references, actors, and the record of one transition."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import String, bindparam, cast, func
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
    "read_locked",
    "ref",
    "ref_of",
    "target_of",
    "with_actor",
]

T = TypeVar("T", WorkItem, Handoff, ProcessInstance)

#: How each kind of object is named to people: W-12, H-3, P-4.
PREFIX: dict[type, str] = {WorkItem: REF_PREFIX["work"], Handoff: REF_PREFIX["handoff"],
                           ProcessInstance: REF_PREFIX["process"]}


def ref(obj: WorkItem | Handoff | ProcessInstance) -> str:
    """The name people use for an object, e.g. ``W-12``."""
    return f"{PREFIX[type(obj)]}-{obj.id}"


_LOCKING: dict[tuple[type, bool], Any] = {}
_C = Channel.__table__  # type: ignore[attr-defined]
#: The departments whose own channels a row's notices go to, by model (``with_actor``).
_NOTIFIED: dict[type, tuple[str, ...]] = {WorkItem: ("department",),
                                          Handoff: ("from_department", "to_department")}


def digest(secret: str) -> str:
    """The SHA-256 hex digest stored in place of a secret (a member token, a sign-in code, a
    page session's cookie), so a copy of the database acts as nobody."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def get_for_update(uow: UnitOfWork, model: type[T], item_id: int, *,
                   actor_email: str | None = None) -> T:
    """Load and lock a row for the rest of the command (a row lock on PostgreSQL).

    With ``actor_email`` the same query also reads who acts (``actor_for``'s member, branch
    and delegations) and the own channels of the departments the row's notices go to
    (``notices``), remembered for the transaction: one query where a command made three
    (issue 22, target 4). Nothing is checked any earlier for it: ``actor_for`` still refuses
    whom it refuses, when the command asks it. Raises NotFound when there is no such row."""
    statement = _LOCKING.get((model, actor_email is not None))
    if statement is None:  # built once per model, so its compiled form is reused as it is
        statement = select(model).where(model.id == bindparam("item_id"))
        if actor_email is not None:
            statement = with_actor(statement, model)
        statement = _LOCKING[(model, actor_email is not None)] = (
            statement.with_for_update(of=model).execution_options(populate_existing=True))
    row = read_locked(uow, statement, {"item_id": item_id}, actor_email=actor_email)
    if row is None:
        raise NotFound(phrase("%(ref)s does not exist", ref=f"{PREFIX[model]}-{item_id}"))
    return row


def with_actor(statement: Any, model: type[T]) -> Any:
    """``statement``, an ORM ``select(model)`` of one row, also reading who acts (``_ACTOR``'s
    columns, one row per delegation; the e-mail is bound as ``actor_email``) and, for each
    department ``model``'s notices go to (``_NOTIFIED``), its own channel ids as one string;
    run it with ``read_locked``. Lock it with ``with_for_update(of=model)``: the actor's rows
    are read, never locked."""
    table = model.__table__  # type: ignore[attr-defined]
    channels = [core_select(func.aggregate_strings(cast(_C.c.id, String), ","))
                .where(_C.c.department == table.c[name], _C.c.member_email.is_(None))
                .scalar_subquery() for name in _NOTIFIED.get(model, ())]
    return (statement.add_columns(*_ACTOR_COLUMNS, *channels)
            .outerjoin_from(model, _ACTOR_FROM, _M.c.email == bindparam("actor_email")))


def read_locked(uow: UnitOfWork, statement: Any, params: dict[str, Any], *,
                actor_email: str | None) -> Any:
    """Run a locking ``select`` of one ORM row, built with ``with_actor`` when ``actor_email``
    is given (else a plain one); returns the row's object, or None when no row matched.

    What ``with_actor`` added is remembered for the transaction (``uow.memo``): the actor's
    rows for ``actor_for`` (an e-mail of no member reads one row of NULLs: ``actor_for``
    refuses it as before), each notified department's channel ids under
    ``DEPARTMENT_CHANNELS``, in id order as ``notices`` reads them."""
    if actor_email is None:
        return uow.session.execute(statement, params).scalar_one_or_none()
    email = normalise_email(actor_email)
    rows = uow.session.execute(statement, {**params, "actor_email": email}).all()
    if not rows:
        return None
    row = rows[0][0]
    actor_end = 1 + len(_ACTOR_COLUMNS)
    uow.memo[(_ACTOR_ROWS, email)] = [r[1:actor_end] for r in rows]
    for name, ids in zip(_NOTIFIED.get(type(row), ()), rows[0][actor_end:], strict=True):
        uow.memo.setdefault((DEPARTMENT_CHANNELS, getattr(row, name)),
                            sorted(int(i) for i in ids.split(",")) if ids else [])
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


def _actor_columns(delegated: Any) -> tuple[Any, ...]:
    """Who acts: the member, their branch's ``is_hq`` and the departments they are the
    delegate of (``delegated``: the department table, or an alias of it beside another use),
    in ``actor_for``'s order: one row per delegation, or one row with none."""
    return (_M.c.email, _M.c.department, _M.c.role, _M.c.branch, _M.c.active, _B.c.is_hq,
            delegated.c.code, delegated.c.delegate_email, delegated.c.head_away_from,
            delegated.c.head_away_until)


def _actor_from(delegated: Any) -> Any:
    """The member joined to their branch and to ``delegated`` (see ``_actor_columns``)."""
    return (_M.outerjoin(_B, _B.c.code == _M.c.branch)
            .outerjoin(delegated, delegated.c.delegate_email == _M.c.email))


_ACTOR_COLUMNS, _ACTOR_FROM = _actor_columns(_D), _actor_from(_D)
#: The actor alone, in one round trip.
_ACTOR = (core_select(*_ACTOR_COLUMNS).select_from(_ACTOR_FROM)
          .where(_M.c.email == bindparam("email")))
#: ``uow.memo`` key prefix of the actor's rows read with a locked row (``read_locked``).
_ACTOR_ROWS = "actor rows"


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
    rows = uow.memo.pop((_ACTOR_ROWS, key[2]), None)  # read with the locked row
    if rows is None:
        rows = uow.session.connection().execute(_ACTOR, {"email": key[2]}).all()
    # (email, department, role, branch, active, is_hq, code, delegate, away from, until)
    if not rows or rows[0][0] is None or not rows[0][4]:
        raise NotFound(phrase("no active member with e-mail %(given)s", given=repr(email)))
    m_email, department, role, branch, _, is_hq = rows[0][:6]
    delegations = [(code, delegate or "", away_from, away_until)
                   for *_, code, delegate, away_from, away_until in rows if code is not None]
    actor = Actor(
        email=m_email,
        department=department,
        role=role,
        branch=branch,
        is_hq=bool(is_hq),
        leads=leads_of(email=m_email, role=role, department=department,
                       delegations=delegations, today=uow.now().date()),
        proven=uow.door is not Door.TYPED,
    )
    uow.memo[key] = actor
    return actor


#: ``uow.memo`` key prefix of a department's own channel ids, for the transaction
#: (``(DEPARTMENT_CHANNELS, code)``: ``engine.notices`` reads them).
DEPARTMENT_CHANNELS = "department channels"


def departments_exist(uow: UnitOfWork, *codes: str, actor_email: str | None = None
                      ) -> set[str]:
    """Which of ``codes`` are departments (one query for all, remembered for the transaction).

    The same query reads each found department's own channels (the notice of the item being
    created goes to them), remembered for the transaction under ``DEPARTMENT_CHANNELS``, and,
    with ``actor_email``, who acts (``actor_for``'s rows, as ``read_locked`` remembers them;
    read only when a department is found): one query where a new work item or handoff made
    three (issue 22, target 4). Raises nothing: the caller refuses an unknown department.
    """
    known: set[str] = uow.memo.setdefault("departments", set())
    wanted = set(codes) - known
    if wanted:
        email = None if actor_email is None else normalise_email(actor_email)
        statement, params = ((_DEPARTMENTS, {"codes": sorted(wanted)}) if email is None else
                             (_DEPARTMENTS_AND_ACTOR, {"codes": sorted(wanted),
                                                       "actor_email": email}))
        found: dict[str, list[int]] = {}
        actor_rows: dict[tuple[Any, ...], None] = {}  # distinct, in order: one per delegation
        for code, channel_id, *actor in uow.session.connection().execute(
                statement, params):
            ids = found.setdefault(code, [])
            if channel_id is not None and channel_id not in ids:
                ids.append(channel_id)
            actor_rows[tuple(actor)] = None
        for code, ids in found.items():
            uow.memo.setdefault((DEPARTMENT_CHANNELS, code), ids)
        known.update(found)
        if email is not None and actor_rows:
            uow.memo[(_ACTOR_ROWS, email)] = list(actor_rows)
    return set(codes) & known


_DEPARTMENTS = (core_select(_D.c.code, _C.c.id)
                .select_from(_D.outerjoin(_C, (_C.c.department == _D.c.code)
                                          & _C.c.member_email.is_(None)))
                .where(_D.c.code.in_(bindparam("codes", expanding=True)))
                .order_by(_D.c.code, _C.c.id))
_DELEGATED = _D.alias("delegated")  # the actor's delegations, beside the departments asked
_DEPARTMENTS_AND_ACTOR = (
    core_select(_D.c.code, _C.c.id, *_actor_columns(_DELEGATED))
    .select_from(_D.outerjoin(_C, (_C.c.department == _D.c.code) & _C.c.member_email.is_(None))
                 .outerjoin(_actor_from(_DELEGATED), _M.c.email == bindparam("actor_email")))
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
