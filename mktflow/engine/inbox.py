"""A department's inbox one page at a time: sorted in SQL, keyset-paged, light rows.

Order (the same for work items, handoffs and both merged): **overdue first**, then by due time
(none last), then higher priority first (a handoff counts as priority 50), then handoffs before
work items, then id. "Overdue" depends on *now*, so the order is computed in bands that SQL can
serve from an index: for a work item, overdue means ``due_at < now``, so the bands are
``due_at < now``, ``due_at >= now`` and ``due_at IS NULL``, each read in index order
(``ix_workitem_inbox``: department, due_at, over open items only). A delivered handoff waits for
the offering department's confirmation and is never overdue.

A page is at most ``limit`` rows (default 50, at most 200) and ``next_cursor``: an opaque string
that names the last row's place in the order, the *now* of the first page (so the bands stay
put while someone pages) and the query it belongs to. Rows that change state between pages move
as they would in any keyset list: nothing is shown twice, nothing that stays put is skipped.

Rows are built from the columns a list shows (``views.InboxWorkRow``, ``views.InboxHandoffRow``
in a ``views.InboxPage``): no description, form schema, draft or data (``queries.show`` gives
those for one item).

Errors: ``NotFound`` for an unknown department or process, ``BadInput`` (naming the field) for
a limit out of range, an unknown state or a cursor that is not one of this query's.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy.sql import Select

from mktflow.domain.desk import check_filter_text, check_priority_band
from mktflow.domain.errors import BadInput, NotAuthorized, NotFound
from mktflow.domain.inputs import check_email, check_id, format_time
from mktflow.domain.model import OPEN_WORK_STATES, HandoffState
from mktflow.domain.words import Phrase, on_field, phrase
from mktflow.engine import visibility
from mktflow.engine.views import InboxHandoffRow, InboxPage, InboxWorkRow, quadrant_name
from mktflow.store import light
from mktflow.store.uow import UnitOfWork

__all__ = [
    "DEFAULT_LIMIT",
    "HANDOFF_STATES",
    "MAX_LIMIT",
    "WORK_STATES",
    "InboxPage",
    "handoff_page",
    "inbox_page",
    "work_page",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

#: Work items in an inbox (the partial indexes' WHERE lists them in this order).
WORK_STATES: tuple[str, ...] = ("open", "claimed", "delegated")
#: Handoffs the receiving department acts on; a delivered one waits for the offering one.
RECEIVER_STATES: tuple[str, ...] = (HandoffState.OFFERED, HandoffState.ACCEPTED,
                                    HandoffState.RETURNED)
HANDOFF_STATES: tuple[str, ...] = (*RECEIVER_STATES, HandoffState.DELIVERED)
assert set(WORK_STATES) == set(OPEN_WORK_STATES)

# plain Core tables: a page needs neither the ORM nor the SQLModel classes (a quick CLI)
_W, _H, _P, _D = light.workitem, light.handoff, light.processinstance, light.department

#: The member table's two columns the ``member`` filter reads.
_M = table("member", column("email"), column("active"))

_HANDOFF, _WORK = 0, 1  # handoffs before work items when everything else is equal
_HANDOFF_PRIORITY = 50

#: (band, due is null, due, -priority, kind, id): a row's place in the inbox order.
Key = tuple[int, int, datetime | None, int, int, int]


@dataclass(frozen=True)
class _Query:
    scope: str
    department: str
    member: str | None
    states: tuple[str, ...]
    overdue: bool | None
    process_id: int | None
    limit: int
    branch: str | None = None  # a branch member's reading: their branch's rows and unbranched
    priority: tuple[int, int] | None = None  # work items: lowest and highest priority
    text: str | None = None  # work items: words their title holds (any case)

    def fingerprint(self) -> str:
        text = json.dumps([self.scope, self.department, self.member, self.states, self.overdue,
                           self.process_id, self.branch, self.priority, self.text])
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# --- the cursor ---------------------------------------------------------------------------


def _encode(query: _Query, now: datetime, key: Key) -> str:
    band, dnull, due, negprio, kind, row_id = key
    body = {"v": 1, "q": query.fingerprint(), "n": now.isoformat(),
            "k": [band, dnull, due.isoformat() if due else None, negprio, kind, row_id]}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(query: _Query, cursor: str) -> tuple[datetime, Key]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
        band, dnull, due, negprio, kind, row_id = body["k"]
        now = datetime.fromisoformat(body["n"])
        key: Key = (int(band), int(dnull), datetime.fromisoformat(due) if due else None,
                    int(negprio), int(kind), int(row_id))
        fingerprint = body["q"]
    except Exception:  # any damage: the cursor was not made by this function
        raise BadInput(_not_a_cursor()) from None
    if fingerprint != query.fingerprint():
        raise BadInput(on_field("cursor", phrase(
            "it belongs to another inbox query (same department, kind and filters as the page "
            "that gave it)")))
    if now.tzinfo is None or (due is not None and key[2] is not None and key[2].tzinfo is None):
        raise BadInput(_not_a_cursor())
    return now, key


def _not_a_cursor() -> Phrase:
    return on_field("cursor", phrase(
        "not a cursor of an inbox page (copy next_cursor as it is)"))


# --- keyset predicates ----------------------------------------------------------------------


def _states_in(column: Any, states: Sequence[str]) -> ColumnElement[bool]:
    """``column IN ('a', 'b')`` with literal values, so both planners match partial indexes."""
    return column.in_([literal_column(f"'{s}'") for s in states])


def _tail_after(prio: Any, row_id: Any, kind: int, key: Key) -> ColumnElement[bool]:
    """(-priority, kind, id) of the row > the cursor's, for rows of one segment."""
    _, _, _, c_negprio, c_kind, c_id = key
    by_kind: ColumnElement[bool] = (true() if kind > c_kind else false() if kind < c_kind
                                    else row_id > c_id)
    if prio is None:  # handoffs: a constant priority
        negprio = -_HANDOFF_PRIORITY
        return true() if negprio > c_negprio else false() if negprio < c_negprio else by_kind
    return or_(prio < -c_negprio, and_(prio == -c_negprio, by_kind))


def _after(segment: tuple[int, int], due: Any, prio: Any, row_id: Any, kind: int,
           key: Key | None) -> ColumnElement[bool] | None:
    """Rows of ``segment`` (band, due is null) after ``key``; None: the whole segment."""
    if key is None or segment > key[:2]:
        return None
    if segment < key[:2]:
        return false()
    tail = _tail_after(prio, row_id, kind, key)
    c_due = key[2]
    if c_due is None:  # the due-less segment: priority and id only
        return tail
    # the range term lets the index seek; the OR settles ties on the due time
    return and_(due >= c_due, or_(due > c_due, and_(due == c_due, tail)))


# --- fetching -------------------------------------------------------------------------------


def _fetch(reader: Any, base: Select[Any], segments: Sequence[tuple[tuple[int, int],
           ColumnElement[bool]]], *, due: Any, prio: Any, row_id: Any, kind: int,
           key: Key | None, want: int, one_trip: bool = False) -> list[tuple[Key, Any]]:
    """Up to ``want`` rows after ``key``, each segment read in index order with its own LIMIT.

    Segment by segment, stopping when ``want`` rows are found (a long queue: most pages read
    one segment); with ``one_trip`` every segment at once with UNION ALL (a short list, such as
    a department's handoffs: one round trip instead of three). The caller sorts and cuts.
    """
    order = [due, prio.desc(), row_id] if prio is not None else [due, row_id]
    parts = []
    for index, (segment, where) in enumerate(segments):
        if key is not None and segment < key[:2]:
            continue  # before the cursor
        query = base.where(where).add_columns(literal(index).label("segment"))
        after = _after(segment, due, prio, row_id, kind, key)
        if after is not None:
            query = query.where(after)
        parts.append(query.order_by(*order))
    found: list[tuple[Key, Any]] = []

    def take(rows: Any) -> None:
        for row in rows:
            band, dnull = segments[row.segment][0]
            negprio = -(row.priority if prio is not None else _HANDOFF_PRIORITY)
            found.append(((band, dnull, row.due_at, negprio, kind, row.id), row))

    if one_trip and len(parts) > 1:
        take(reader.execute(union_all(*[select(p.limit(want).subquery()) for p in parts])))
        return found
    for part in parts:
        if len(found) >= want:
            break
        take(reader.execute(part.limit(want - len(found))))
    return found


def _iso(value: datetime | None) -> str | None:
    return format_time(value)  # the one time rule: UTC with Z (domain.inputs)


def _work_rows(uow: UnitOfWork, q: _Query, now: datetime, key: Key | None,
               want: int) -> list[tuple[Key, InboxWorkRow | InboxHandoffRow]]:
    states = q.states or WORK_STATES
    base = (select(_W.c.id, _W.c.state, _W.c.title, _W.c.department, _W.c.branch,
                   _W.c.assignee_email, _W.c.owner_email, _W.c.priority, _W.c.due_at,
                   _W.c.follow_up_at, _W.c.escalation_level, _W.c.process_id, _W.c.step_key,
                   _W.c.form_name, _W.c.created_at, _W.c.version, _W.c.words,
                   _W.c.important, _W.c.urgent, _P.c.business_key.label("process"))
            .select_from(_W.outerjoin(_P, _P.c.id == _W.c.process_id))
            .where(_states_in(_W.c.state, WORK_STATES)))
    base = base.where(_W.c.department == q.department)
    if q.branch is not None:
        base = base.where(or_(_W.c.branch.is_(None), _W.c.branch == q.branch))
    if q.member:  # what one member holds in this department
        base = base.where(_W.c.assignee_email == q.member)
    if q.states and set(q.states) != set(WORK_STATES):
        base = base.where(_W.c.state.in_(states))
    if q.process_id is not None:
        base = base.where(_W.c.process_id == q.process_id)
    if q.priority is not None:
        base = base.where(_W.c.priority.between(*q.priority))
    if q.text:
        base = base.where(func.lower(_W.c.title).contains(q.text.lower(), autoescape=True))
    due = _W.c.due_at
    segments = [((0, 0), due < now), ((1, 0), due >= now), ((1, 1), due.is_(None))]
    if q.overdue is not None:
        segments = segments[:1] if q.overdue else segments[1:]
    found = _fetch(uow.reader(), base, segments, due=due, prio=_W.c.priority, row_id=_W.c.id,
                   kind=_WORK, key=key, want=want)
    return [(k, _work_row(r, overdue=k[0] == 0)) for k, r in found]


def _work_row(r: Any, *, overdue: bool) -> InboxWorkRow:
    return InboxWorkRow(
        id=r.id, ref=f"W-{r.id}", kind="work", state=r.state, title=r.title,
        department=r.department, branch=r.branch, assignee=r.assignee_email,
        owner=r.owner_email, priority=r.priority, due=_iso(r.due_at),
        follow_up=_iso(r.follow_up_at), escalation_level=r.escalation_level,
        overdue=overdue, process=r.process, process_id=r.process_id,
        step_key=r.step_key, form_name=r.form_name, created_at=_iso(r.created_at),
        version=r.version, words=r.words, important=r.important, urgent=r.urgent,
        quadrant=quadrant_name(r.important, r.urgent),
    )


def _handoff_rows(uow: UnitOfWork, q: _Query, now: datetime, key: Key | None,
                  want: int) -> list[tuple[Key, InboxWorkRow | InboxHandoffRow]]:
    states = q.states or HANDOFF_STATES
    receiver_states = [s for s in RECEIVER_STATES if s in states]
    receiver: ColumnElement[bool] = false()
    if receiver_states:
        receiver = and_(_H.c.to_department == q.department,
                        _states_in(_H.c.state, RECEIVER_STATES))
        if len(receiver_states) < len(RECEIVER_STATES):
            receiver = and_(receiver, _H.c.state.in_(receiver_states))
    awaiting: ColumnElement[bool] = false()
    if HandoffState.DELIVERED in states:
        awaiting = and_(_H.c.from_department == q.department,
                        _states_in(_H.c.state, [HandoffState.DELIVERED]))
    base = (select(_H.c.id, _H.c.kind, _H.c.state, _H.c.title, _H.c.from_department,
                   _H.c.to_department, _H.c.branch, _H.c.due_at, _H.c.escalation_level,
                   _H.c.process_id, _H.c.step_key, _H.c.return_count, _H.c.offered_by,
                   _H.c.created_at, _H.c.version, _H.c.words,
                   _P.c.business_key.label("process"))
            .select_from(_H.outerjoin(_P, _P.c.id == _H.c.process_id)))
    if q.process_id is not None:
        base = base.where(_H.c.process_id == q.process_id)
    if q.priority is not None and not q.priority[0] <= _HANDOFF_PRIORITY <= q.priority[1]:
        base = base.where(false())  # a handoff counts as priority 50: normal
    if q.text:
        base = base.where(func.lower(_H.c.title).contains(q.text.lower(), autoescape=True))
    if q.branch is not None:
        base = base.where(or_(_H.c.branch.is_(None), _H.c.branch == q.branch))
    due = _H.c.due_at
    segments = [((0, 0), and_(receiver, due < now)),
                ((1, 0), or_(and_(receiver, due >= now), and_(awaiting, due.is_not(None)))),
                ((1, 1), and_(or_(receiver, awaiting), due.is_(None)))]
    if q.overdue is not None:
        segments = segments[:1] if q.overdue else segments[1:]
    found = _fetch(uow.reader(), base, segments, due=due, prio=None, row_id=_H.c.id,
                   kind=_HANDOFF, key=key, want=want, one_trip=True)
    return [(k, _handoff_row(r, overdue=k[0] == 0)) for k, r in found]


def _handoff_row(r: Any, *, overdue: bool) -> InboxHandoffRow:
    return InboxHandoffRow(
        id=r.id, ref=f"H-{r.id}", kind="handoff", handoff_kind=r.kind,
        state=r.state, title=r.title, from_department=r.from_department,
        to_department=r.to_department, department=r.to_department, branch=r.branch,
        due=_iso(r.due_at), escalation_level=r.escalation_level, overdue=overdue,
        process=r.process, process_id=r.process_id, step_key=r.step_key,
        return_count=r.return_count, offered_by=r.offered_by,
        created_at=_iso(r.created_at), version=r.version,
        awaiting="confirmation" if r.state == HandoffState.DELIVERED else None,
        words=r.words,
    )


# --- the public pages -----------------------------------------------------------------------


def _query(uow: UnitOfWork, scope: str, department: str, *, member: str | None,
           states: Iterable[str] | None, overdue: bool | None, process: str | None,
           limit: int, allowed: Sequence[str], reader: str | None) -> _Query:
    try:
        branch = visibility.check_queue(visibility.reading_actor(uow, reader), department)
    except NotAuthorized:  # an unknown department is not found, whoever asks
        _known_department(uow, department)
        raise
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise BadInput(on_field("limit", phrase(
            "must be a whole number from 1 to %(n)s, got %(got)s", n=MAX_LIMIT,
            got=repr(limit))))
    chosen = tuple(sorted({s.strip().lower() for s in states or ()}))
    unknown = [s for s in chosen if s not in allowed]
    if unknown:
        raise BadInput(on_field("state", phrase(
            "%(given)s is not a state an inbox lists; expected one of %(states)s",
            given=repr(unknown[0]), states=", ".join(allowed))))
    process_id = _process_id(uow.reader(), process) if process else None
    member = _filter_member(uow.reader(), member) if member else None
    return _Query(scope=scope, department=department, member=member, states=chosen,
                  overdue=overdue, process_id=process_id, limit=limit, branch=branch)


def _filter_member(reader: Any, email: str) -> str:
    """The ``member`` filter's e-mail, normalised; BadInput naming the filter when it is not
    an e-mail address or no active member's (an empty page would hide the typo)."""
    email = check_email(email, field="member")
    found = reader.execute(select(_M.c.active).where(_M.c.email == email)).first()
    if found is None or not found[0]:
        raise BadInput(on_field("member", phrase(
            "%(email)s is not an active member; the filter names a member by e-mail",
            email=repr(email))))
    return email


def _process_id(reader: Any, key: str) -> int:
    """The process a business key (or ``P-n``) names; the same rule as ``process_id_for``."""
    found = reader.execute(select(_P.c.id).where(_P.c.business_key == key)).scalar()
    if found is None and key.upper().startswith("P-") and key[2:].isdigit():
        number = check_id(int(key[2:]), f"process: P-{int(key[2:])}")
        found = reader.execute(select(_P.c.id).where(_P.c.id == number)).scalar()
    if found is None:
        raise NotFound(on_field("process", phrase(
            "no process with business key %(key)s", key=repr(key))))
    return int(found)


def _known_department(uow: UnitOfWork, department: str) -> None:
    """NotFound unless ``department`` is one."""
    known = uow.reader().execute(select(_D.c.code).where(_D.c.code == department))
    if known.first() is None:
        raise NotFound(on_field("department", phrase(
            "unknown department %(code)s", code=repr(department))))


def _page(uow: UnitOfWork, q: _Query, now: datetime,
          rows: list[tuple[Key, InboxWorkRow | InboxHandoffRow]]) -> InboxPage:
    if not rows:  # an empty page: say so if the department itself is unknown
        _known_department(uow, q.department)
    rows.sort(key=lambda kr: (kr[0][0], kr[0][1], kr[0][2] or now, *kr[0][3:]))
    more = len(rows) > q.limit
    rows = rows[:q.limit]
    cursor = _encode(q, now, rows[-1][0]) if more else None
    return InboxPage(rows=[r for _, r in rows], next_cursor=cursor)


def _start(uow: UnitOfWork, q: _Query, cursor: str | None) -> tuple[datetime, Key | None]:
    if cursor:
        return _decode(q, cursor)
    return uow.now(), None


def work_page(uow: UnitOfWork, department: str, *, member: str | None = None,
              states: Iterable[str] | None = None, overdue: bool | None = None,
              process: str | None = None, limit: int = DEFAULT_LIMIT,
              cursor: str | None = None, reader: str | None = None,
              priority: str | None = None, text: str | None = None) -> InboxPage:
    """One page of the open work items of ``department`` (or of those ``member`` holds there).

    ``states``: some of open, claimed, delegated (default all); ``overdue``: only overdue (True)
    or only not overdue (False); ``process``: a business key or ``P-n``; ``priority``: a band
    (urgent, high, normal, low: ``domain.desk.PRIORITY_BANDS``); ``text``: words the title
    holds, in any case (letters beyond ASCII match in any case on PostgreSQL only); ``limit``:
    1-200; ``reader``: who reads (None: the operator); a member of another department is
    refused (the read table's queue row), a branch member sees their branch's rows and
    unbranched ones. BadInput names ``priority`` or ``text`` when they break their rule.
    """
    band, words = check_priority_band(priority), check_filter_text(text)
    with uow:
        q = _query(uow, "work", department, member=member, states=states, overdue=overdue,
                   process=process, limit=limit, allowed=WORK_STATES, reader=reader)
        q = dataclasses.replace(q, priority=band, text=words)
        now, key = _start(uow, q, cursor)
        return _page(uow, q, now, _work_rows(uow, q, now, key, q.limit + 1))


def handoff_page(uow: UnitOfWork, department: str, *, states: Iterable[str] | None = None,
                 overdue: bool | None = None, process: str | None = None,
                 limit: int = DEFAULT_LIMIT, cursor: str | None = None,
                 reader: str | None = None) -> InboxPage:
    """One page of the handoffs waiting for ``department``: offered, accepted or returned to
    it, or delivered by another department and waiting for its confirmation (``awaiting``).
    ``reader`` as for ``work_page``."""
    with uow:
        q = _query(uow, "handoff", department, member=None, states=states, overdue=overdue,
                   process=process, limit=limit, allowed=HANDOFF_STATES, reader=reader)
        now, key = _start(uow, q, cursor)
        return _page(uow, q, now, _handoff_rows(uow, q, now, key, q.limit + 1))


def inbox_page(uow: UnitOfWork, department: str, *, member: str | None = None,
               states: Iterable[str] | None = None, overdue: bool | None = None,
               process: str | None = None, limit: int = DEFAULT_LIMIT,
               cursor: str | None = None, reader: str | None = None,
               priority: str | None = None, text: str | None = None) -> InboxPage:
    """One page of everything waiting for ``department``: work items and handoffs in one order.

    ``member`` narrows the work items to those the member holds (handoffs are held by
    departments, so they stay); ``states`` may name work and handoff states together;
    ``priority`` and ``text`` as for ``work_page`` (a handoff counts as priority 50, normal;
    ``text`` looks in its title too); ``reader`` as for ``work_page``.
    """
    band, words = check_priority_band(priority), check_filter_text(text)
    with uow:
        q = _query(uow, "inbox", department, member=member, states=states, overdue=overdue,
                   process=process, limit=limit, allowed=(*WORK_STATES, *HANDOFF_STATES),
                   reader=reader)
        q = dataclasses.replace(q, priority=band, text=words)
        now, key = _start(uow, q, cursor)
        work_q = _Query(**{**q.__dict__, "states": tuple(s for s in q.states
                                                        if s in WORK_STATES)})
        hand_q = _Query(**{**q.__dict__, "states": tuple(s for s in q.states
                                                        if s in HANDOFF_STATES)})
        rows: list[tuple[Key, InboxWorkRow | InboxHandoffRow]] = []
        if not q.states or work_q.states:
            rows += _work_rows(uow, work_q, now, key, q.limit + 1)
        if not q.states or hand_q.states:
            rows += _handoff_rows(uow, hand_q, now, key, q.limit + 1)
        return _page(uow, q, now, rows)
