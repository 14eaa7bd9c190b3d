"""The campaign calendar: campaigns, their plan's activities, work items' due times (approvals
among them) and handoffs' deadlines, for a range of dates, as the reader may see them; and each
member's secret iCalendar feed of it.

One query (``entries``) answers the page (``calendar_page``), the API, the command line and the
feed (``feed_ics``). What a member sees is what the read table lets them see
(``engine.visibility``): a campaign and its activities with its process, a work item or a
handoff as its own page would show it.

A feed URL is ``{MKTFLOW_API_URL}/calendar/<secret>.ics``. The secret is random, shown once and
stored only as its SHA-256 (``common.digest``, as member tokens are); an unknown or revoked
secret, or one of a member no longer active, is NotFound (404): the URL says nothing about
why. The feed lists ``FEED_DAYS_BACK`` days before today through ``FEED_DAYS_AHEAD`` after it
(``domain.campaign_calendar``). Source: issue 24, item 4.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import col
from sqlmodel import select as orm_select

from mktflow.domain.actors import SYSTEM, Actor
from mktflow.domain.campaign_calendar import Period, feed_window, period_of
from mktflow.domain.errors import NotAuthorized, NotFound
from mktflow.domain.inputs import check_id, check_text, format_time
from mktflow.domain.model import REF_PREFIX
from mktflow.domain.words import phrase, stored
from mktflow.engine import visibility
from mktflow.engine.channels import OPERATOR
from mktflow.engine.common import digest
from mktflow.engine.views import (
    CalendarDay,
    CalendarEntry,
    CalendarFeedIssued,
    CalendarFeedPublic,
    CalendarPage,
)
from mktflow.store import light
from mktflow.store.uow import UnitOfWork

__all__ = [
    "FEED_EVENT_MINUTES",
    "FEED_PREFIX",
    "calendar_page",
    "entries",
    "feed_entries",
    "feed_ics",
    "issue_feed",
    "list_feeds",
    "revoke_feed",
    "to_ical",
]

#: How long a due time lasts in the feed, in minutes (a deadline is an instant; calendar
#: clients show a short event starting at it).
FEED_EVENT_MINUTES = 30
#: The part of a feed URL before its secret; the feed answers at ``{api_url}/calendar/``.
FEED_PREFIX = "cal_"
#: ``last_used_at`` of a feed is written at most this often (clients poll).
_USE_STAMP_EVERY = timedelta(minutes=1)
_CODE = 64  # the longest department or branch code a filter may name

_P, _W, _H = light.processinstance, light.workitem, light.handoff


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _filter(value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    return check_text(value, field=field, max_length=_CODE) if value else None


def _in_branch(branch: str | None, wanted: str | None) -> bool:
    """A branch filter keeps the rows of that branch and the whole company's (no branch)."""
    return wanted is None or branch is None or branch == wanted


def _may_see_plan(uow: UnitOfWork, actor: Actor | None, c: Any) -> bool:
    """A campaign's dates and activities are its plan: the process's parameters (the
    ``parameters`` read rule), not only the process."""
    if actor is None:
        return True
    process = SimpleNamespace(id=c.process_id, owner_email=c.p_owner, branch=c.p_branch)
    return visibility.may_see_parameters(actor, visibility.process_target(uow.session, process))


def _campaign_entries(uow: UnitOfWork, actor: Actor | None, start: date, end: date,
                      department: str | None, branch: str | None) -> list[CalendarEntry]:
    from mktflow.store.tables import Campaign, CampaignActivity  # the ORM: business tables

    if department not in (None, "marketing"):
        return []  # campaigns and their activities are marketing's
    s = uow.session
    p = light.processinstance
    c_ = Campaign.__table__.c  # type: ignore[attr-defined]
    shown = (select(c_.id, c_.code, c_.name, c_.start, c_.end, c_.status, c_.branch,
                    c_.owner_email, c_.process_id, p.c.business_key,
                    p.c.owner_email.label("p_owner"), p.c.branch.label("p_branch"))
             .join(p, p.c.id == Campaign.process_id)
             .where(visibility.visible_processes(actor, p),
                    col(Campaign.start).is_not(None), col(Campaign.start) < end,
                    or_(col(Campaign.end).is_(None), col(Campaign.end) >= start)))
    out: list[CalendarEntry] = []
    campaigns = {}
    for c in s.execute(shown):
        if not _in_branch(c.branch, branch) or not _may_see_plan(uow, actor, c):
            continue
        campaigns[c.id] = c
        title = phrase("Campaign %(code)s: %(name)s", code=c.code, name=c.name)
        out.append(CalendarEntry(
            uid=f"campaign-{c.id}@mktflow", kind="campaign", words={"title": stored(title)},
            ref=f"{REF_PREFIX['process']}-{c.process_id}", title=str(title),
            all_day=True, start=c.start.isoformat(), end=(c.end or c.start).isoformat(),
            state=c.status, department="marketing", from_department=None, branch=c.branch,
            process=c.business_key, owner=c.owner_email,
            link=f"/processes/{REF_PREFIX['process']}-{c.process_id}"))
    if not campaigns:
        return out
    a = CampaignActivity
    for act in s.exec(orm_select(a).where(
            col(a.campaign_id).in_(list(campaigns)), col(a.start).is_not(None),
            col(a.start) < end, or_(col(a.end).is_(None), col(a.end) >= start))):
        c = campaigns[act.campaign_id]
        out.append(CalendarEntry(
            uid=f"activity-{act.id}@mktflow", kind="activity",
            ref=f"{REF_PREFIX['process']}-{c.process_id}",
            title=f"{act.title} ({c.code})", all_day=True, start=_day(act.start),
            end=_day(act.end or act.start), state=act.status, department="marketing",
            from_department=None, branch=c.branch, process=c.business_key,
            owner=act.owner_email,
            link=f"/processes/{REF_PREFIX['process']}-{c.process_id}"))
    return out


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _dated(table: Any, start: date, end: date) -> Any:
    return (select(table, _P.c.business_key.label("process_key"),
                   _P.c.owner_email.label("process_owner"))
            .select_from(table.outerjoin(_P, _P.c.id == table.c.process_id))
            .where(table.c.due_at.is_not(None), table.c.due_at >= _midnight(start),
                   table.c.due_at < _midnight(end)))


def _item_entries(uow: UnitOfWork, actor: Actor | None, start: date, end: date,
                  department: str | None, branch: str | None) -> list[CalendarEntry]:
    conn = uow.reader()
    out: list[CalendarEntry] = []
    query = _dated(_W, start, end)
    if department:
        query = query.where(_W.c.department == department)
    for w in conn.execute(query):
        if not _in_branch(w.branch, branch) or not visibility.may_see_item(
                actor, "work", w, process_owner=w.process_owner):
            continue
        out.append(CalendarEntry(
            uid=f"work-{w.id}@mktflow", kind="approval" if w.approval is not None else "work",
            ref=f"{REF_PREFIX['work']}-{w.id}",
            title=w.title, all_day=False, start=format_time(w.due_at) or "", end=None,
            state=w.state, department=w.department, from_department=None, branch=w.branch,
            process=w.process_key, owner=w.assignee_email, link=f"/work/{w.id}",
            words=_title_words(w.words)))
    query = _dated(_H, start, end)
    if department:
        query = query.where(or_(_H.c.to_department == department,
                                _H.c.from_department == department))
    for h in conn.execute(query):
        if not _in_branch(h.branch, branch) or not visibility.may_see_item(
                actor, "handoff", h, process_owner=h.process_owner):
            continue
        out.append(CalendarEntry(
            uid=f"handoff-{h.id}@mktflow", kind="handoff", ref=f"{REF_PREFIX['handoff']}-{h.id}",
            title=h.title, all_day=False, start=format_time(h.due_at) or "", end=None,
            state=h.state, department=h.to_department, from_department=h.from_department,
            branch=h.branch, process=h.process_key, owner=h.offered_by,
            link=f"/handoffs/{h.id}", words=_title_words(h.words)))
    return out


def _title_words(words: dict[str, Any] | None) -> dict[str, Any] | None:
    """The message of a title a process wrote (``mktflow.domain.words``), for the page."""
    return {"title": words["title"]} if words and words.get("title") else None


def _entries(uow: UnitOfWork, actor: Actor | None, start: date, end: date,
             department: str | None, branch: str | None) -> list[CalendarEntry]:
    found = [*_campaign_entries(uow, actor, start, end, department, branch),
             *_item_entries(uow, actor, start, end, department, branch)]
    return sorted(found, key=lambda e: (e.start, e.uid))


def entries(uow: UnitOfWork, *, start: date, end: date, reader: str | None = None,
            department: str | None = None, branch: str | None = None) -> list[CalendarEntry]:
    """Every calendar entry overlapping the dates ``[start, end)`` (UTC) that ``reader`` may
    see (None: the operator), by start then uid; only ``department``'s (a handoff: either
    side) and ``branch``'s (with the whole company's) when given.

    Raises NotFound for a reader who is no active member, BadInput for a filter that is no
    code (too long, control characters).
    """
    department, branch = _filter(department, "department"), _filter(branch, "branch")
    with uow:
        actor = visibility.reading_actor(uow, reader)
        return _entries(uow, actor, start, end, department, branch)


def calendar_page(uow: UnitOfWork, *, month: str | None = None, quarter: str | None = None,
                  reader: str | None = None, department: str | None = None,
                  branch: str | None = None) -> CalendarPage:
    """The calendar of ``month`` (YYYY-MM) or ``quarter`` (YYYY-Qn), this month when neither,
    as ``reader`` may see it, with its entries grouped by day.

    Raises BadInput naming the field for a month or quarter that is none (``month: '2026-13'
    is not a month``), and as ``entries`` does.
    """
    period: Period = period_of(month=month, quarter=quarter, today=uow.now().date())
    department, branch = _filter(department, "department"), _filter(branch, "branch")
    found = entries(uow, start=period.start, end=period.end, reader=reader,
                    department=department, branch=branch)
    by_day: dict[str, list[CalendarEntry]] = {}
    first = period.start.isoformat()
    for e in found:
        by_day.setdefault(max(e.start[:10], first), []).append(e)
    return CalendarPage(
        period=period.label, kind="quarter" if period.kind == "quarter" else "month",
        start=first, end=(period.end - timedelta(days=1)).isoformat(),
        previous=period.previous, next=period.next, department=department, branch=branch,
        entries=found,
        days=[CalendarDay(date=d, entries=by_day[d]) for d in sorted(by_day)])


# --- feeds ----------------------------------------------------------------------------------


def _feed_url(uow: UnitOfWork, secret: str) -> str:
    return f"{uow.settings.api_url.rstrip('/')}/calendar/{secret}.ics"


def _feed_view(row: Any) -> CalendarFeedPublic:
    return CalendarFeedPublic(id=row.id, member=row.member_email,
                              state="revoked" if row.revoked_at else "active",
                              created_at=format_time(row.created_at),
                              revoked_at=format_time(row.revoked_at),
                              last_used_at=format_time(row.last_used_at))


def _person(uow: UnitOfWork, email: str) -> Actor:
    if email.strip().lower() == SYSTEM.email:
        raise NotAuthorized(f"member: {SYSTEM.email!r} is the process engine; it reads no "
                            "calendar")
    actor = visibility.reading_actor(uow, email)
    assert actor is not None
    return actor


def issue_feed(uow: UnitOfWork, email: str) -> CalendarFeedIssued:
    """Make a new secret feed URL for the active member ``email`` (the member asks for their
    own; the operator for anyone). The URL is shown this once; the database keeps the
    secret's SHA-256 only. Raises NotFound for an e-mail of no active member."""
    from mktflow.store.tables import CalendarFeed

    with uow:
        actor = _person(uow, email)
        secret = FEED_PREFIX + secrets.token_urlsafe(32)
        row = CalendarFeed(secret_hash=digest(secret), member_email=actor.email,
                           created_at=uow.now())
        uow.session.add(row)
        uow.session.flush()
        assert row.id is not None
        uow.audit(actor=actor.email, entity_type="calendarfeed", entity_id=row.id,
                  action="create", data={"member": actor.email})
        uow.commit()
        return CalendarFeedIssued(id=row.id, member=actor.email, url=_feed_url(uow, secret),
                                  created_at=format_time(row.created_at))


def list_feeds(uow: UnitOfWork, email: str) -> list[CalendarFeedPublic]:
    """The feed URLs of member ``email``, oldest first, without their secrets."""
    from mktflow.store.tables import CalendarFeed

    with uow:
        actor = _person(uow, email)
        rows = uow.session.exec(orm_select(CalendarFeed).where(
            col(CalendarFeed.member_email) == actor.email).order_by(col(CalendarFeed.id)))
        return [_feed_view(r) for r in rows]


def revoke_feed(uow: UnitOfWork, feed_id: int, *, actor_email: str | None) -> CalendarFeedPublic:
    """Revoke feed ``feed_id`` at once: its URL answers 404 from now on. A member revokes their
    own (``actor_email``; None: the operator, anyone's); revoking a revoked feed changes
    nothing. Raises NotFound when there is no such feed of theirs."""
    from mktflow.store.tables import CalendarFeed

    check_id(feed_id, f"feed {feed_id}")
    with uow:
        actor = _person(uow, actor_email) if actor_email is not None else None
        row = uow.session.get(CalendarFeed, feed_id, with_for_update=True)
        if row is None or (actor is not None and row.member_email != actor.email):
            raise NotFound(phrase("feed %(number)s: you have no calendar feed with this id",
                                 number=feed_id))
        if row.revoked_at is None:
            row.revoked_at = uow.now()
            uow.session.add(row)
            uow.audit(actor=actor.email if actor else OPERATOR, entity_type="calendarfeed",
                      entity_id=feed_id, action="revoke", data={"member": row.member_email})
            uow.commit()
        return _feed_view(row)


_NO_FEED = "no such calendar feed"


def feed_entries(uow: UnitOfWork, secret: str) -> tuple[str, list[CalendarEntry]]:
    """The member a feed secret belongs to and their entries within the feed window.

    Raises NotFound (one message whatever the cause) when the secret is unknown or revoked,
    or its member is no longer active.
    """
    from mktflow.store.tables import CalendarFeed

    secret = secret.strip()
    if not secret.startswith(FEED_PREFIX) or len(secret) > 200:
        raise NotFound(_NO_FEED)
    with uow:
        row = uow.session.exec(orm_select(CalendarFeed).where(
            col(CalendarFeed.secret_hash) == digest(secret))).first()
        if row is None or row.revoked_at is not None:
            raise NotFound(_NO_FEED)
        try:
            actor = _person(uow, row.member_email)
        except (NotFound, NotAuthorized):
            raise NotFound(_NO_FEED) from None
        now = uow.now()
        start, end = feed_window(now.date())
        found = _entries(uow, actor, start, end, None, None)
        if row.last_used_at is None or now - row.last_used_at >= _USE_STAMP_EVERY:
            row.last_used_at = now
            uow.session.add(row)
            uow.commit()
        return actor.email, found


def feed_ics(uow: UnitOfWork, secret: str) -> bytes:
    """The iCalendar (RFC 5545) text of a feed: one VEVENT per entry. Raises NotFound as
    ``feed_entries`` does."""
    member, found = feed_entries(uow, secret)
    return to_ical(found, base_url=uow.settings.api_url, member=member, now=uow.now())


def to_ical(found: Iterable[CalendarEntry], *, base_url: str, member: str,
            now: datetime) -> bytes:
    """``found`` as an iCalendar: UID the entry's uid; an all-day entry as DTSTART/DTEND dates
    (DTEND the day after its last); a due time as DTSTART at it (UTC) lasting
    ``FEED_EVENT_MINUTES``; SUMMARY its title; URL its page; DESCRIPTION what and whose."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//mktflow//campaign calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"mktflow campaign calendar ({member})")
    base = base_url.rstrip("/")
    for e in found:
        ev = Event()
        ev.add("uid", e.uid)
        ev.add("dtstamp", now)
        if e.all_day:
            first = date.fromisoformat(e.start)
            last = date.fromisoformat(e.end or e.start)
            ev.add("dtstart", first)
            ev.add("dtend", last + timedelta(days=1))
        else:
            due = datetime.fromisoformat(e.start.replace("Z", "+00:00")).astimezone(UTC)
            ev.add("dtstart", due)
            ev.add("dtend", due + timedelta(minutes=FEED_EVENT_MINUTES))
        ev.add("summary", f"{_LABEL[e.kind]}: {e.title}")
        ev.add("url", base + e.link)
        ev.add("description", _description(e, base))
        cal.add_component(ev)
    return cal.to_ical()


_LABEL = {"campaign": "Campaign", "activity": "Activity", "approval": "Approval due",
          "work": "Due", "handoff": "Handoff due"}


def _description(e: CalendarEntry, base: str) -> str:
    lines = [f"{e.ref} ({e.kind}), {e.state}"]
    if e.from_department:
        lines.append(f"{e.from_department} → {e.department}")
    elif e.department:
        lines.append(f"department: {e.department}")
    if e.branch:
        lines.append(f"branch: {e.branch}")
    if e.process:
        lines.append(f"process: {e.process}")
    if e.owner:
        lines.append(f"owner: {e.owner}")
    lines.append(base + e.link)
    return "\n".join(lines)

