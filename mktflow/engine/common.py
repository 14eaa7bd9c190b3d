"""What every handler needs: references, actors, and the record of one transition."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from mktflow.domain.actors import SYSTEM, Actor, Approval, Door, Target, leads_of
from mktflow.domain.errors import BadInput, NotAuthorized, NotFound
from mktflow.domain.inputs import ID_MAX, format_time, normalise_email
from mktflow.domain.model import REF_PREFIX, ref_of
from mktflow.store.tables import Branch, Department, Handoff, Member, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = [
    "PREFIX",
    "active_member",
    "actor_for",
    "as_engine",
    "changed",
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
_KIND_OF_PREFIX = {prefix: kind for kind, prefix in REF_PREFIX.items()}
_REF = re.compile(r"^\s*(?:(?P<prefix>[WHPwhp])-?)?(?P<id>\d{1,40})\s*$")


def ref(obj: WorkItem | Handoff | ProcessInstance) -> str:
    """The name people use for an object, e.g. ``W-12``."""
    return f"{PREFIX[type(obj)]}-{obj.id}"


def parse_ref(text: str, default_kind: str | None = None) -> tuple[str, int]:
    """Split ``W-12`` / ``H-3`` / ``P-4`` (or a bare number of ``default_kind``) into parts.

    Raises BadInput for text that is no reference, NotFound for a number beyond the ids the
    tables hold (``ID_MAX``): such an item cannot exist.
    """
    match = _REF.match(text[:100])
    if not match:
        raise BadInput(f"{text!r} is not an item reference: expected e.g. W-12, H-3, P-4")
    prefix = match["prefix"]
    kind = _KIND_OF_PREFIX[prefix.upper()] if prefix else default_kind
    if kind is None:
        raise BadInput(f"{text!r} is ambiguous: write W-{text}, H-{text} or P-{text}")
    if default_kind and kind != default_kind:
        raise BadInput(f"{text!r} is not a {default_kind} reference")
    number = int(match["id"])
    if not 0 < number <= ID_MAX:
        raise NotFound(f"{REF_PREFIX[kind]}-{number} does not exist")
    return kind, number


def get_for_update(uow: UnitOfWork, model: type[T], item_id: int) -> T:
    """Load and lock a row for the rest of the command (a row lock on PostgreSQL)."""
    row = uow.session.get(model, item_id, with_for_update=True)
    if row is None:
        raise NotFound(f"{PREFIX[model]}-{item_id} does not exist")
    return row


def find_member(session: Session, email: str) -> Member | None:
    """The member an e-mail names (stored and compared NFC, lower-case), active or not."""
    return session.exec(select(Member).where(col(Member.email) == normalise_email(email))).first()


def active_member(session: Session, email: str) -> Member:
    """The active member an e-mail names; refuses anyone else."""
    member = find_member(session, email)
    if member is None or not member.active:
        raise NotFound(f"no active member with e-mail {email!r}")
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


def actor_for(uow: UnitOfWork, email: str) -> Actor:
    """The member behind ``email``, with the departments they lead today: the one place every
    handler learns who acts.

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
    member = active_member(uow.session, email)
    branch = uow.session.get(Branch, member.branch)
    delegations = [
        (d.code, d.delegate_email or "", d.head_away_from, d.head_away_until)
        for d in uow.session.exec(
            select(Department).where(col(Department.delegate_email) == member.email)
        )
    ]
    return Actor(
        email=member.email,
        department=member.department,
        role=member.role,
        branch=member.branch,
        is_hq=bool(branch and branch.is_hq),
        leads=leads_of(email=member.email, role=member.role, department=member.department,
                       delegations=delegations, today=uow.now().date()),
        proven=uow.door is not Door.TYPED,
    )


def target_of(obj: WorkItem | Handoff) -> Target:
    """What authorization needs to know of a work item or handoff."""
    if isinstance(obj, WorkItem):
        approval = obj.approval
        return Target(ref=ref(obj), department=obj.department, branch=obj.branch,
                      assignee=obj.assignee_email, excluded=frozenset(obj.excluded or ()),
                      approval=Approval(department=approval["department"],
                                        roles=tuple(approval["roles"]),
                                        branch=approval.get("branch"),
                                        rule=approval.get("rule", ""))
                      if approval else None,
                      asks_decision="decision" in ((obj.form_schema or {}).get("properties")
                                                   or {}))
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
