"""The campaign calendar (issue 24, item 4) on SQLite and PostgreSQL: campaigns, their
activities, approvals, work items' due times and handoffs' deadlines for a month or a quarter,
as each member's read rules let them see it; the secret feed URL, stored hashed, parsed as a
calendar client parses it (icalendar), revoked to a 404; the page, the API and the command line.

The clock stands on the 10th of May next year, 09:00 UTC; every date is counted from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from mktflow.domain.actors import Approval
from mktflow.domain.clock import FrozenClock
from mktflow.domain.errors import BadInput, NotFound
from mktflow.engine import campaign_calendar as cal
from mktflow.engine import campaigns, handoffs, processes, work
from mktflow.engine.views import plain
from tests.integration.api_support import bearer, member_tokens, serving
from tests.integration.web_support import Browser

OLGA = "olga.petrova@example.com"  # marketing specialist, owns the campaign
TOM = "tom.berg@example.com"  # tech specialist
OMAR = "omar.haddad@example.com"  # finance specialist
CARLOS = "carlos.mendez@example.com"  # sales head


@dataclass
class Dates:
    """The scenario's rows and the month they fall in."""

    year: int
    campaign: int  # P-
    approval: int  # W-: finance's approval of the campaign's budget
    brief: int  # H-: marketing -> tech
    sales_step: int  # W-: sales, no process
    later: int  # W-: due in July

    @property
    def may(self) -> str:
        return f"{self.year}-05"


def _at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime.combine(date(year, month, day), time(hour), tzinfo=UTC)


def _setup(db: Any, clock: FrozenClock) -> Dates:
    year = clock.now().year + 1
    clock.set(_at(year, 5, 10, 9))
    campaign = processes.start_process(
        db.uow(), process="campaign", business_key="CMP-CAL", owner_email=OLGA,
        params={"code": "CMP-CAL", "budget": 9000})
    campaigns.record_plan(
        db.engine_uow(), process_id=campaign.id, code="CMP-CAL", actor_email=OLGA,
        owner_email=OLGA, plan={
            "name": "Summer teas", "goal": "grow", "target_customers": "grocers",
            "channels": ["ads"], "start": date(year, 5, 5).isoformat(),
            "end": date(year, 6, 20).isoformat(), "kpis": [{"name": "leads", "target": 50}],
            "activities": [{"title": "Print ads", "owner": OLGA, "budget_line": "ads",
                            "start": date(year, 5, 12).isoformat(),
                            "end": date(year, 5, 30).isoformat()}],
            "budget_lines": [{"code": "ads", "title": "Ads", "amount": 9000}]})
    engine = db.engine_uow
    approval = work.create_work_item(
        engine(), actor_email="mktflow", department="finance", title="Approve the budget",
        process_id=campaign.id, step_key="approve-budget", due_at=_at(year, 5, 15),
        approval=Approval(department="finance", roles=("head",), rule="finance head"))
    brief = handoffs.offer(engine(), actor_email="mktflow", from_department="marketing",
                           to_department="tech", title="Bottle brief",
                           due_at=_at(year, 5, 20, 10), process_id=campaign.id,
                           step_key="brief")
    sales_step = work.create_work_item(db.uow(), actor_email=CARLOS, department="sales",
                                       title="Call the buyer", due_at=_at(year, 5, 18))
    later = work.create_work_item(db.uow(), actor_email=CARLOS, department="sales",
                                  title="Renew the contract", due_at=_at(year, 7, 2))
    assert campaign.id and approval.id and brief.id and sales_step.id and later.id
    return Dates(year, campaign.id, approval.id, brief.id, sales_step.id, later.id)


def _seen(page: Any) -> list[tuple[str, str]]:
    return [(e.kind, e.ref) for e in page.entries]


def test_the_month_and_quarter_as_each_member_may_see_them(db: Any, clock: FrozenClock) -> None:
    d = _setup(db, clock)
    page = cal.calendar_page(db.uow(), month=d.may)
    p = f"P-{d.campaign}"
    assert _seen(page) == [("campaign", p), ("activity", p), ("approval", f"W-{d.approval}"),
                           ("work", f"W-{d.sales_step}"), ("handoff", f"H-{d.brief}")]
    assert (page.start, page.end, page.previous, page.next) == (
        f"{d.year}-05-01", f"{d.year}-05-31", f"{d.year}-04", f"{d.year}-06")
    assert [day.date for day in page.days] == [f"{d.year}-05-{n:02d}" for n in (5, 12, 15, 18,
                                                                                20)]
    brief = page.entries[-1]
    assert (brief.start, brief.all_day, brief.department, brief.from_department,
            brief.link) == (f"{d.year}-05-20T10:00:00Z", False, "tech", "marketing",
                            f"/handoffs/{d.brief}")
    assert page.entries[0].end == f"{d.year}-06-20" and page.entries[0].link == f"/processes/{p}"

    olga = cal.calendar_page(db.uow(), month=d.may, reader=OLGA)  # owns the campaign
    assert _seen(olga) == [("campaign", p), ("activity", p), ("approval", f"W-{d.approval}"),
                           ("handoff", f"H-{d.brief}")]
    tom = cal.calendar_page(db.uow(), month=d.may, reader=TOM)  # the brief; not the plan
    assert _seen(tom) == [("handoff", f"H-{d.brief}")]
    omar = cal.calendar_page(db.uow(), month=d.may, reader=OMAR)  # finance: its approval
    assert _seen(omar) == [("approval", f"W-{d.approval}")]
    carlos = cal.calendar_page(db.uow(), month=d.may, reader=CARLOS)
    assert _seen(carlos) == [("work", f"W-{d.sales_step}")]

    finance = cal.calendar_page(db.uow(), month=d.may, department="finance")
    assert _seen(finance) == [("approval", f"W-{d.approval}")]
    tech = cal.calendar_page(db.uow(), month=d.may, department="marketing", reader=OLGA)
    assert [k for k, _ in _seen(tech)] == ["campaign", "activity", "handoff"]
    north = cal.calendar_page(db.uow(), month=d.may, branch="north")  # no branch: company-wide
    assert len(north.entries) == 5

    quarter = cal.calendar_page(db.uow(), quarter=f"{d.year}-Q3")
    assert (quarter.kind, quarter.start, quarter.end, quarter.previous) == (
        "quarter", f"{d.year}-07-01", f"{d.year}-09-30", f"{d.year}-Q2")
    assert _seen(quarter) == [("work", f"W-{d.later}")]
    june = cal.calendar_page(db.uow(), quarter=f"{d.year}-Q2", reader=OLGA)
    assert june.days[0].date == f"{d.year}-05-05" and len(june.entries) == 4
    assert cal.calendar_page(db.uow()).period == d.may  # this month by default

    for asked, words in ((dict(month=f"{d.year}-13"), f"month: '{d.year}-13' is not a month"),
                         (dict(quarter=f"{d.year}-Q5"), "quarter: "),
                         (dict(month=d.may, quarter=f"{d.year}-Q2"), "not both")):
        with pytest.raises(BadInput, match=words):
            cal.calendar_page(db.uow(), **asked)  # type: ignore[arg-type]


def test_a_feed_url_is_secret_hashed_parsed_and_revoked(db: Any, clock: FrozenClock) -> None:
    d = _setup(db, clock)
    issued = cal.issue_feed(db.uow(), OLGA)
    secret = issued.url.rsplit("/", 1)[1].removesuffix(".ics")
    assert secret.startswith("cal_") and len(secret) > 40
    with db.uow() as u:  # only its SHA-256 is kept
        rows = u.session.connection().exec_driver_sql(
            "SELECT secret_hash, member_email FROM calendarfeed").all()
    assert len(rows) == 1 and secret not in repr(rows) and rows[0][1] == OLGA

    ics = Calendar.from_ical(cal.feed_ics(db.uow(), secret))
    events = {str(e["UID"]): e for e in ics.walk("VEVENT")}
    assert set(events) == {f"campaign-{_campaign_id(db, d)}@mktflow",
                           f"activity-{_activity_id(db, d)}@mktflow",
                           f"work-{d.approval}@mktflow", f"handoff-{d.brief}@mktflow"}
    camp = events[f"campaign-{_campaign_id(db, d)}@mktflow"]
    assert camp.decoded("DTSTART") == date(d.year, 5, 5)
    assert camp.decoded("DTEND") == date(d.year, 6, 21)  # the day after the last
    brief = events[f"handoff-{d.brief}@mktflow"]
    assert brief.decoded("DTSTART") == _at(d.year, 5, 20, 10)
    assert brief.decoded("DTEND") == _at(d.year, 5, 20, 10) + timedelta(minutes=30)
    assert str(brief["SUMMARY"]) == "Handoff due: Bottle brief"
    assert str(brief["URL"]).endswith(f"/handoffs/{d.brief}")
    assert "marketing → tech" in str(brief["DESCRIPTION"])
    clock.advance(days=200)  # past the window: 180 days ahead, 30 back
    assert Calendar.from_ical(cal.feed_ics(db.uow(), secret)).walk("VEVENT") == []

    assert [f.state for f in cal.list_feeds(db.uow(), OLGA)] == ["active"]
    with pytest.raises(NotFound):  # another member's feed is no feed of theirs
        cal.revoke_feed(db.uow(), issued.id, actor_email=TOM)
    assert cal.revoke_feed(db.uow(), issued.id, actor_email=OLGA).state == "revoked"
    for gone in (secret, "cal_unknown", "nothing"):
        with pytest.raises(NotFound, match="no such calendar feed"):
            cal.feed_ics(db.uow(), gone)


def _campaign_id(db: Any, d: Dates) -> int:
    return int(next(e for e in cal.calendar_page(db.uow(), month=d.may).entries
                    if e.kind == "campaign").uid.split("-")[1].split("@")[0])


def _activity_id(db: Any, d: Dates) -> int:
    return int(next(e for e in cal.calendar_page(db.uow(), month=d.may).entries
                    if e.kind == "activity").uid.split("-")[1].split("@")[0])
