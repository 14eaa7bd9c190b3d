"""Daily digests: each member's choice, the digest itself, and sending the ones due.

Issue 24, item 6 (docs: "Daily digests"). A member chooses ``each`` (one notice per change,
the default) or ``daily`` at a time of their working day (``set_choice``). While the choice is
``daily``, every notice addressed to the member personally (``recipient_email`` is theirs:
assigned to them, delegated, handed back, overdue, and what they receive for an away head) is
written to the outbox as ``held`` (``mktflow.engine.notices``), which no relay sends. Notices to
a department's channels as a whole are unaffected, and so are sign-in links.

``send_due`` (the ``member-digests`` flow, every 15 minutes) writes each member's digest whose
time has come (``mktflow.domain.digests.digest_day``: the chosen time in their calendar's zone,
on its working days) to the outbox, one row per channel the member is told through (their own
channels, else their department's), with an id made of member, day and channel
(``digest_id``): a second run the same day finds it and writes nothing. In the same
transaction the held notices it summarises become ``digested``. A digest with nothing to say
(no open item, no held change, nothing in the department's part) is not written; a later run of
the day writes it once there is something. The relay sends it like any message; the render
module (``mktflow.notify.render``) makes its text from the payload's ``digest``.

A head's daily digest carries the department's part (``DepartmentDigest``): the department's
open work items and the open handoffs it is party to, by band, and who holds what
(``tasklist.department_load``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from mktflow.domain.calendars import WorkingCalendar
from mktflow.domain.digests import (
    DIGEST_EVENT,
    DIGESTED,
    HELD,
    DigestMode,
    digest_day,
    digest_id,
    digest_mode,
    due_soon_until,
    format_at,
    parse_at,
)
from mktflow.domain.errors import MktflowError
from mktflow.domain.inputs import format_time, normalise_email
from mktflow.domain.model import OPEN_WORK_STATES, HandoffState, Role
from mktflow.domain.work_reports import default_working_day
from mktflow.engine.calendars import find_calendar
from mktflow.engine.channels import department_channels, member_channels
from mktflow.engine.notices import action_link, daily_members
from mktflow.engine.report_records import member_of
from mktflow.engine.views import (
    DepartmentDigest,
    DigestChange,
    DigestChoicePublic,
    DigestEntry,
    MemberDigest,
    MemberLoad,
    handoff_view,
    plain,
    work_view,
)
from mktflow.i18n.notices import SUBJECT_KEYS
from mktflow.store.tables import DigestChoice, Handoff, Member, OutboxMessage, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = [
    "daily_members",
    "member_digest",
    "send_due",
    "set_choice",
    "show_choice",
]

#: Handoff states in which a handoff is still open (someone has to act on it).
OPEN_HANDOFF_STATES = (HandoffState.OFFERED, HandoffState.ACCEPTED, HandoffState.DELIVERED,
                       HandoffState.RETURNED)
#: The most held changes one digest lists (the count says how many there were).
CHANGES_SHOWN = 50
_BANDS = ("overdue", "due soon", "open")


def _calendar(uow: UnitOfWork, email: str) -> WorkingCalendar:
    """The member's branch calendar, else the default working day (as for work reports)."""
    return find_calendar(uow, members=(email,)) or default_working_day(uow.settings.schedule_tz)


def _choice_view(uow: UnitOfWork, member: Member, row: DigestChoice | None) -> DigestChoicePublic:
    calendar = _calendar(uow, member.email)
    return DigestChoicePublic(
        member=member.email, mode="daily" if row and row.mode == DigestMode.DAILY else "each",
        at=format_at(row.at_minute if row else parse_at(None)), zone=calendar.zone,
        calendar=calendar.label, department_digest=member.role == Role.HEAD)


def show_choice(uow: UnitOfWork, actor_email: str) -> DigestChoicePublic:
    """The acting member's choice (``each`` at 17:00 when they never chose). NotFound for an
    e-mail of no active member."""
    with uow:
        member = member_of(uow, actor_email)
        return _choice_view(uow, member, uow.session.get(DigestChoice, member.email))


def set_choice(uow: UnitOfWork, actor_email: str, *, mode: str | None,
               at: str | None = None) -> DigestChoicePublic:
    """Set the acting member's choice: ``mode`` ``each`` or ``daily``, ``at`` HH:MM in their
    working calendar's zone (None or empty: the time they chose before, else 17:00; the time is
    kept while the mode is ``each``). Going back to ``each`` releases the notices still held:
    they are sent one by one, as if never held. BadInput naming ``mode`` or ``at``; NotFound
    for an e-mail of no active member."""
    chosen, minutes = digest_mode(mode), parse_at(at) if (at or "").strip() else None
    with uow:
        member = member_of(uow, actor_email)
        row = uow.session.get(DigestChoice, member.email, with_for_update=True) \
            or DigestChoice(member_email=member.email, at_minute=parse_at(None))
        row.mode, row.updated_at = chosen.value, uow.now()
        if minutes is not None:
            row.at_minute = minutes
        uow.session.add(row)
        if chosen is DigestMode.EACH:
            for held in _held(uow, member.email, uow.now()):
                held.status, held.next_attempt_at = "pending", uow.now()
                uow.session.add(held)
        uow.commit()
        return _choice_view(uow, member, row)


def _held(uow: UnitOfWork, email: str, now: datetime) -> list[OutboxMessage]:
    return list(uow.session.exec(select(OutboxMessage).where(
        col(OutboxMessage.status) == HELD, col(OutboxMessage.recipient_email) == email,
        col(OutboxMessage.created_at) <= now).order_by(col(OutboxMessage.created_at),
                                                       col(OutboxMessage.id))))


def _band(overdue: bool, due: datetime | None, soon: datetime) -> str:
    if overdue:
        return "overdue"
    return "due soon" if due is not None and due <= soon else "open"


def _work_entry(uow: UnitOfWork, w: WorkItem, now: datetime, soon: datetime) -> DigestEntry:
    v = work_view(w, None, now)
    return DigestEntry(ref=v.ref, kind="work", title=w.title, words=v.words, state=w.state,
                       band=_band(v.overdue, w.due_at, soon),  # type: ignore[arg-type]
                       due=v.due, department=w.department, holder=w.assignee_email,
                       link=action_link(uow, w))


def _handoff_entry(uow: UnitOfWork, h: Handoff, now: datetime, soon: datetime) -> DigestEntry:
    v = handoff_view(h, None, now)
    return DigestEntry(ref=v.ref, kind="handoff", title=h.title, words=v.words, state=h.state,
                       band=_band(v.overdue, h.due_at, soon),  # type: ignore[arg-type]
                       due=v.due, department=f"{h.from_department} → {h.to_department}",
                       holder=None, link=action_link(uow, h))


def _ordered(entries: Iterable[DigestEntry]) -> list[DigestEntry]:
    return sorted(entries, key=lambda e: (_BANDS.index(e.band), e.due or "9999", e.ref))


def _counts(entries: list[DigestEntry]) -> dict[str, int]:
    return {band: sum(1 for e in entries if e.band == band) for band in _BANDS}


def _department_part(uow: UnitOfWork, department: str, now: datetime, soon: datetime
                     ) -> DepartmentDigest:
    s = uow.session
    items = list(s.exec(select(WorkItem).where(
        col(WorkItem.department) == department,
        col(WorkItem.state).in_(sorted(OPEN_WORK_STATES))).order_by(col(WorkItem.id))))
    hands = list(s.exec(select(Handoff).where(
        (col(Handoff.to_department) == department) | (col(Handoff.from_department) == department),
        col(Handoff.state).in_([str(x) for x in OPEN_HANDOFF_STATES])).order_by(col(Handoff.id))))
    entries = _ordered([*(_work_entry(uow, w, now, soon) for w in items),
                        *(_handoff_entry(uow, h, now, soon) for h in hands)])
    work = [e for e in entries if e.kind == "work"]
    members = list(s.exec(select(Member).where(col(Member.department) == department,
                                               col(Member.active)).order_by(col(Member.name))))
    held = {m.email: [e for e in work if e.holder == m.email] for m in members}
    by_member = [MemberLoad(email=m.email, name=m.name, role=m.role, held=len(held[m.email]),
                            overdue=sum(1 for e in held[m.email] if e.band == "overdue"))
                 for m in members]
    outside = sorted({e.holder for e in work if e.holder and e.holder not in held})
    by_member += [MemberLoad(email=e, name=e, role="",
                             held=sum(1 for w in work if w.holder == e),
                             overdue=sum(1 for w in work if w.holder == e
                                         and w.band == "overdue")) for e in outside]
    counts = {**_counts(entries), "unassigned": sum(1 for e in work if not e.holder)}
    return DepartmentDigest(department=department, counts=counts, entries=entries,
                            by_member=by_member)


def _build(uow: UnitOfWork, member: Member, day: date, now: datetime,
           held: list[OutboxMessage]) -> MemberDigest:
    calendar = _calendar(uow, member.email)
    soon = due_soon_until(calendar, day)
    s = uow.session
    items = s.exec(select(WorkItem).where(
        col(WorkItem.assignee_email) == member.email,
        col(WorkItem.state).in_(sorted(OPEN_WORK_STATES))))
    hands = s.exec(select(Handoff).where(
        col(Handoff.offered_by) == member.email,
        col(Handoff.state).in_([str(x) for x in OPEN_HANDOFF_STATES])))
    entries = _ordered([*(_work_entry(uow, w, now, soon) for w in items),
                        *(_handoff_entry(uow, h, now, soon) for h in hands)])
    changes = [DigestChange(ref=(m.payload or {}).get("ref"), subject=m.subject,
                            at=format_time(m.created_at) or "", link=m.link, event=m.event,
                            fill={k: v for k, v in (m.payload or {}).items()
                                  if k in SUBJECT_KEYS and v is not None} or None)
               for m in held]
    part = _department_part(uow, member.department, now, soon) \
        if member.role == Role.HEAD else None
    return MemberDigest(member=member.email, day=day.isoformat(), zone=calendar.zone,
                        counts={**_counts(entries), "changes": len(changes)},
                        entries=entries, changes=changes[:CHANGES_SHOWN], department=part,
                        link=f"{uow.settings.api_url.rstrip('/')}/my-work")


def member_digest(uow: UnitOfWork, actor_email: str) -> MemberDigest:
    """The acting member's digest as it would read now (today in their calendar's zone), with
    the notices held so far; nothing is sent or changed. NotFound for an e-mail of no active
    member."""
    with uow:
        member = member_of(uow, actor_email)
        now = uow.now()
        day = now.astimezone(_calendar(uow, member.email).tz).date()
        return _build(uow, member, day, now, _held(uow, member.email, now))


def _subject(d: MemberDigest) -> str:
    c = d.counts
    return (f"Your mktflow digest {d.day}: {c['overdue']} overdue, {c['due soon']} due soon, "
            f"{c['open']} open, {c['changes']} change{'s' if c['changes'] != 1 else ''}")


def _empty(d: MemberDigest) -> bool:
    return not d.entries and not d.counts["changes"] and not (d.department
                                                              and d.department.entries)


def send_due(uow: UnitOfWork, emails: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Write the digest of every member (or of ``emails``) whose choice is ``daily`` and whose
    digest is due now (``digest_day``) and not yet written today: one outbox row per channel,
    id ``digest_id(member, day, channel)``; the held notices it lists become ``digested`` in
    the same transaction (one per member). Returns what was written: ``member``, ``day``,
    ``messages`` (rows), ``entries``, ``changes``; a digest with nothing to say is skipped."""
    only = {normalise_email(e) for e in emails} if emails is not None else None
    with uow:
        choices = list(uow.session.exec(select(DigestChoice).where(
            col(DigestChoice.mode) == DigestMode.DAILY.value).order_by(
            col(DigestChoice.member_email))))
    written: list[dict[str, Any]] = []
    for choice in choices:
        if only is not None and choice.member_email not in only:
            continue
        try:
            done = _send_one(uow, choice.member_email, choice.at_minute)
        except (MktflowError, IntegrityError):  # another run wrote it first (its id): next one
            continue
        if done:
            written.append(done)
    return written


def _send_one(uow: UnitOfWork, email: str, at: int) -> dict[str, Any] | None:
    with uow:
        s = uow.session
        member = s.exec(select(Member).where(col(Member.email) == email)).first()
        if member is None or not member.active:
            return None
        now = uow.now()
        day = digest_day(_calendar(uow, email), at, now)
        if day is None:
            return None
        if s.exec(select(OutboxMessage.id).where(
                col(OutboxMessage.event) == DIGEST_EVENT,
                col(OutboxMessage.recipient_email) == email,
                col(OutboxMessage.id).startswith(f"digest-{day:%Y%m%d}-"))).first():
            return None  # already written today (through whichever channels there were)
        channels = member_channels(s, [email]) or department_channels(s, member.department)
        ids = [digest_id(email, day, c.id) for c in channels] or [digest_id(email, day, None)]
        held = _held(uow, email, now)
        digest = _build(uow, member, day, now, held)
        if _empty(digest):
            return None
        subject = _subject(digest)
        payload = {"event": DIGEST_EVENT, "kind": "digest", "ref": "My work",
                   "title": subject, "department": member.department, "recipient": email,
                   "for": email, "subject": subject, "link": digest.link,
                   "digest": plain(digest)}
        if member.language:
            payload["language"] = member.language  # how the relay words it (docs: Languages)
        for channel_id, message_id in zip([c.id for c in channels] or [None], ids, strict=True):
            uow.outbox_row(id=message_id, event=DIGEST_EVENT, department=member.department,
                           recipient_email=email, channel_id=channel_id, subject=subject,
                           payload=payload, link=digest.link)
        for m in held:
            m.status, m.last_error = DIGESTED, f"in the daily digest {ids[0]}"
            s.add(m)
        uow.commit()
        return {"member": email, "day": day.isoformat(), "messages": len(ids),
                "entries": len(digest.entries), "changes": digest.counts["changes"]}
