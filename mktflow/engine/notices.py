"""What a department is told when work reaches it: one outbox message per channel of a change.

Messages say what, for whom, due when, and carry a link to act: mktflow's page of the item
(``MKTFLOW_API_URL/work/12``), however the run it belongs to was started.

Fan-out happens here, at write time, in the command's transaction: a message for a department
goes to each of the department's channels; a message for a member goes to each of the member's
own channels, or to the department's channels if they have none. While a head is away, their
delegate is told too (through the delegate's own channels). When no channel matches, one row
without a channel is written; the relay marks it ``skipped``, so the outbox still shows that
nobody could be told. A row addressed to a member who chose a daily digest is written
``held``: no relay sends it, their digest summarises it (``mktflow.engine.digests``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import col, select

from mktflow.domain.actors import head_is_away
from mktflow.domain.digests import HELD, DigestMode
from mktflow.domain.inputs import format_time, human_time
from mktflow.domain.model import Audience, Role
from mktflow.domain.words import words_of
from mktflow.engine.channels import department_channels, member_channels
from mktflow.engine.common import DEPARTMENT_CHANNELS, find_member, get_for_update, ref
from mktflow.i18n.notices import PHRASES as _PHRASES
from mktflow.store.tables import (
    Channel,
    Department,
    DigestChoice,
    Handoff,
    Member,
    WorkItem,
)
from mktflow.store.uow import UnitOfWork

__all__ = [
    "Recipient",
    "action_link",
    "away_delegate",
    "daily_members",
    "head_of",
    "notice",
    "notice_departments",
    "notice_recipients",
]

_PATHS = {WorkItem: "work", Handoff: "handoffs"}
_CHANNEL = Channel.__table__  # type: ignore[attr-defined]

@dataclass(frozen=True)
class Recipient:
    """Whom a message is for: a department, or one member acting for it."""

    department: str
    member: str | None = None


@dataclass(frozen=True)
class _Route:
    """One outbox row: the channel it goes through and the person it is addressed to."""

    channel_id: int | None
    member: str | None
    on_behalf_of: str | None = None


def action_link(uow: UnitOfWork, item: WorkItem | Handoff) -> str:
    """Where a person acts on ``item``: mktflow's page of it (``MKTFLOW_API_URL/work/12``,
    ``/handoffs/3``), however its process's run was started (served, ``mktflow run``, a
    worker) and whatever Prefect UI is configured. The Prefect UI is the process owners' view
    of runs, not where a department decides a step (its resume form refuses deciding steps)."""
    return f"{uow.settings.api_url.rstrip('/')}/{_PATHS[type(item)]}/{item.id}"


def head_of(uow: UnitOfWork, department: str) -> str | None:
    """The e-mail of the department's active head."""
    head = uow.session.exec(select(Member).where(
        col(Member.department) == department, col(Member.role) == Role.HEAD, col(Member.active)
    )).first()
    return head.email if head else None


def away_delegate(uow: UnitOfWork, email: str) -> str | None:
    """Who is told in ``email``'s place: the delegate, while ``email`` is an away head."""
    member = find_member(uow.session, email)
    if member is None or member.role != Role.HEAD:
        return None
    dept = uow.session.get(Department, member.department)
    if dept is None or not dept.delegate_email or dept.delegate_email == email:
        return None
    if not head_is_away(dept.head_away_from, dept.head_away_until, uow.now().date()):
        return None
    return dept.delegate_email


def _recipients(item: WorkItem | Handoff, audience: Audience) -> tuple[str | None, str | None]:
    """(department, member e-mail) an audience stands for on this item."""
    if isinstance(item, WorkItem):
        if audience is Audience.ASSIGNEE:
            return item.department, item.assignee_email
        if audience is Audience.OWNER:
            return item.department, item.owner_email
        return item.department, None
    if audience is Audience.OFFERING:
        return item.from_department, None
    return item.to_department, None


def _department_channel_ids(uow: UnitOfWork, department: str) -> list[int]:
    """The ids of a department's own channels: one light query, remembered for the command."""
    key = (DEPARTMENT_CHANNELS, department)
    ids: list[int] | None = uow.memo.get(key)
    if ids is None:
        ids = uow.memo[key] = list(uow.session.connection().execute(
            _CHANNEL_IDS, {"department": department}).scalars())
    return ids


_CHANNEL_IDS = (core_select(_CHANNEL.c.id)
                .where(_CHANNEL.c.department == bindparam("department"),
                       _CHANNEL.c.member_email.is_(None))
                .order_by(_CHANNEL.c.id))


def _routes(uow: UnitOfWork, recipient: Recipient) -> list[_Route]:
    """The rows a message for ``recipient`` becomes: one per channel, or one without."""
    if recipient.member is None:
        return ([_Route(cid, None) for cid in _department_channel_ids(uow, recipient.department)]
                or [_Route(None, None)])
    dept_channels = department_channels(uow.session, recipient.department)
    people: list[tuple[str, str | None]] = [(recipient.member, None)]
    delegate = away_delegate(uow, recipient.member)
    if delegate:
        people.append((delegate, recipient.member))
    own = member_channels(uow.session, [p for p, _ in people])
    routes: list[_Route] = []
    used: set[int | None] = set()
    for person, behalf in people:
        channels = [c for c in own if c.member_email == person] or dept_channels
        for c in channels:
            if c.id not in used:
                used.add(c.id)
                routes.append(_Route(c.id, person, behalf))
    return routes or [_Route(None, recipient.member)]


def _memo_routes(uow: UnitOfWork, recipient: Recipient) -> list[_Route]:
    """``_routes``, looked up once per recipient for the transaction (``uow.memo``)."""
    key = ("routes", recipient)
    routes: list[_Route] | None = uow.memo.get(key)
    if routes is None:
        routes = uow.memo[key] = _routes(uow, recipient)
    return routes


def _language(uow: UnitOfWork, member: str | None, *, memo: bool) -> str | None:
    """The language ``member`` reads notices in (None: the default, or not a member);
    ``memo``: looked up once per member for the transaction."""
    if not member:
        return None
    key = ("language", member)
    if memo and key in uow.memo:
        found: str | None = uow.memo[key]
        return found
    reader = find_member(uow.session, member)
    language = reader.language if reader is not None and reader.language else None
    if memo:
        uow.memo[key] = language
    return language


def _subject(name: str, item: WorkItem | Handoff, event: str, fill: dict[str, Any]) -> str:
    key = f"{event}/member" if fill.get("member") and f"{event}/member" in _PHRASES else event
    verb = event.split(".", 1)[1].replace("_", " ")
    try:
        phrase = _PHRASES[key].format(**fill) if key in _PHRASES else verb
    except KeyError:
        phrase = verb
    subject = f"{name} {phrase}: {item.title}"
    if fill.get("reason"):
        subject += f" — {fill['reason']}"
    return subject if len(subject) <= 300 else subject[:299] + "…"


def notice(
    uow: UnitOfWork,
    item: WorkItem | Handoff,
    *,
    event: str,
    audiences: tuple[Audience, ...],
    actor: str,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Queue ``event`` on ``item`` for each audience, one row per channel, in the transaction.

    Returns the outbox rows queued (column values, ``id`` included)."""
    recipients = []
    for audience in audiences:
        department, member = _recipients(item, audience)
        if audience in (Audience.ASSIGNEE, Audience.OWNER) and member is None:
            continue
        assert department is not None
        recipients.append(Recipient(department, member))
    return notice_recipients(uow, item, event=event, recipients=recipients, actor=actor,
                             reason=reason, extra=extra)


def notice_recipients(
    uow: UnitOfWork,
    item: WorkItem | Handoff,
    *,
    event: str,
    recipients: list[Recipient],
    actor: str,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
    same_organisation: bool = False,
) -> list[dict[str, Any]]:
    """Queue ``event`` on ``item`` for these recipients, one row per channel they are told by;
    returns the outbox rows queued.

    ``same_organisation``: the caller changes no member, department or channel in this
    transaction (the SLA sweep, telling thousands of items), so each recipient's channels and
    each reader's language are looked up once for the transaction (``uow.memo``), not per call.
    """
    link = action_link(uow, item)
    name = ref(item)
    due = format_time(item.due_at)
    handoff = isinstance(item, Handoff)
    sides = ({"from_department": item.from_department, "to_department": item.to_department}
             if isinstance(item, Handoff) else {})
    messages: list[dict[str, Any]] = []
    for recipient in recipients:
        department, member = recipient.department, recipient.member
        fill = {"department": department, "member": member, "due": _human(item),
                "reason": reason, "to": sides.get("to_department"),
                "from": sides.get("from_department"), **(extra or {})}
        subject = _subject(name, item, event, fill)
        base: dict[str, Any] = {
            "event": event, "ref": name, "kind": "handoff" if handoff else "work",
            "title": item.title, "state": item.state, "department": department,
            "recipient": member, "for": member or f"the {department} department", "due": due,
            "reason": reason, "actor": actor, "process_id": item.process_id, "link": link,
            "subject": subject, **sides, **(extra or {}),
            # a title or reason a process wrote, as its message: the relay words it for the
            # reader (a reason a person typed has none)
            **_notice_words(item, reason),
        }
        for route in (_memo_routes(uow, recipient) if same_organisation
                      else _routes(uow, recipient)):
            payload = dict(base)
            language = _language(uow, route.member, memo=same_organisation)
            if language:
                payload["language"] = language  # how the relay words it
            held = route.member is not None and route.member in daily_members(uow)
            if route.on_behalf_of:
                payload.update(recipient=route.member, on_behalf_of=route.on_behalf_of,
                               **{"for": f"{route.member} (for {route.on_behalf_of}, away)"})
            messages.append(uow.outbox_row(
                event=event, department=department, recipient_email=route.member,
                channel_id=route.channel_id, subject=subject, payload=payload, link=link,
                **({"status": HELD} if held else {}),
            ))
    return messages


def _notice_words(item: WorkItem | Handoff, reason: str | None) -> dict[str, Any]:
    """The payload's ``words``: the item's title and the notice's reason as their messages,
    those that have one (``{"words": {"title": {...}, "reason": {...}}}``), else nothing."""
    kept = {**({"title": item.words["title"]} if item.words and item.words.get("title")
               else {}), **(words_of(reason=reason) or {})}
    return {"words": kept} if kept else {}


def daily_members(uow: UnitOfWork) -> frozenset[str]:
    """The e-mails of members whose personal notices are held for their daily digest
    (``engine.digests``): one light query, remembered for the command."""
    key = ("digest", "daily members")
    found: frozenset[str] | None = uow.memo.get(key)
    if found is None:
        found = uow.memo[key] = frozenset(uow.session.connection().execute(
            _DAILY_MEMBERS).scalars())
    return found


_CHOICE = DigestChoice.__table__  # type: ignore[attr-defined]
_DAILY_MEMBERS = core_select(_CHOICE.c.member_email).where(_CHOICE.c.mode == DigestMode.DAILY.value)


def _human(item: WorkItem | Handoff) -> str | None:
    return human_time(item.due_at)


def notice_departments(uow: UnitOfWork, *, item_id: int, departments: list[str], event: str,
                       reason: str, process_id: int | None, occasion: str = "") -> int:
    """Tell departments why a process stopped or is blocked (a launch gate without its
    resources, an order rejected): ``event`` about work item ``item_id`` for each department,
    with an audit entry, in one transaction; returns the messages queued."""
    with uow:
        item = get_for_update(uow, WorkItem, item_id)
        messages = notice_recipients(uow, item, event=event,
                                     recipients=[Recipient(d) for d in departments],
                                     actor="mktflow", reason=reason)
        uow.audit(actor="mktflow", entity_type="process", entity_id=process_id or 0,
                  process_id=process_id, action="tell", reason=reason,
                  data={"event": event, "departments": departments, "item": ref(item),
                        "occasion": occasion})
        uow.commit()
        return len(messages)
