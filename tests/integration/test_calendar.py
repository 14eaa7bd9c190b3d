"""The campaign calendar (issue 24, item 4) on SQLite and PostgreSQL: campaigns, their
activities, approvals, work items' due times and handoffs' deadlines for a month or a quarter,
as each member's read rules let them see it; the secret feed URL, stored hashed, parsed as a
calendar client parses it (icalendar), revoked to a 404; the page, the API and the command line.

The clock stands on the 10th of May next year, 09:00 UTC; every date is counted from it.
"""

from __future__ import annotations

import re
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
from tests.integration.api_support import bearer, serving
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


@pytest.fixture
def served(db: Any, clock: FrozenClock) -> Iterator[tuple[Dates, str]]:
    """The scenario, and the API with the pages served for it."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    d = _setup(db, clock)
    with serving(create_app(db.engine, settings=Settings())) as url:
        yield d, url


def test_the_page_and_the_api_answer_the_same_calendar(db: Any, served: tuple[Dates, str]
                                                       ) -> None:
    d, url = served
    browser = Browser(url)
    try:
        _calendar_at_every_door(db, d, url, browser)
    finally:
        browser.client.close()


def _calendar_at_every_door(db: Any, d: Dates, url: str, browser: Browser) -> None:
    browser.sign_in(db, OLGA)
    page = browser.get(f"/calendar?month={d.may}&quarter=&department=&branch=")  # the form
    assert page.status_code == 200 and "<script" not in page.text
    assert f'href="/handoffs/{d.brief}"' in page.text and f'href="/work/{d.approval}"' in page.text
    assert f"/work/{d.sales_step}" not in page.text  # sales' step: not Olga's to see
    assert f'href="/calendar?month={d.year}-06"' in page.text
    assert "Approval due" in page.text and f"{d.year}-05-05 to {d.year}-06-20" in page.text
    process = browser.get(f"/processes/P-{d.campaign}")  # the campaign's link: its page
    assert process.status_code == 200 and "CMP-CAL" in process.text
    assert f'href="/work/{d.approval}"' in process.text  # Olga owns it: every step
    finance = browser.get(f"/calendar?quarter={d.year}-Q2&department=finance")
    assert f"/work/{d.approval}" in finance.text and f"/handoffs/{d.brief}" not in finance.text
    wrong = browser.get(f"/calendar?month={d.year}-13")
    assert wrong.status_code == 422 and f"month: &#39;{d.year}-13&#39; is not a month" in wrong.text

    made = browser.post("/calendar", {"action": "new-feed"})
    feed_url = re.search(r'<code id="feed-url" class="feed-url">([^<]+)</code>', made.text)
    assert made.status_code == 200 and feed_url is not None
    path = "/calendar/" + feed_url.group(1).rsplit("/calendar/", 1)[1]
    ics = httpx.get(url + path, timeout=10)  # a calendar client: no cookie, no token
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    uids = {str(e["UID"]) for e in Calendar.from_ical(ics.content).walk("VEVENT")}
    assert f"handoff-{d.brief}@mktflow" in uids and f"work-{d.sales_step}@mktflow" not in uids

    from mktflow.engine.credentials import issue_token

    token = issue_token(db.uow(), TOM).token
    tom_page = Browser(url)
    try:
        tom_page.sign_in(db, TOM)  # the campaign involves tech: its page, not its plan's steps
        seen = tom_page.get(f"/processes/P-{d.campaign}")
        assert seen.status_code == 200 and f"/handoffs/{d.brief}" in seen.text
        assert f"/work/{d.approval}" not in seen.text
    finally:
        tom_page.client.close()
    with httpx.Client(base_url=url, timeout=10, headers=bearer(token)) as tom:
        assert tom.get(f"/processes/P-{d.campaign}").json()["handoffs"][0]["id"] == d.brief
        shown = tom.get("/calendar", params={"month": d.may})
        assert shown.status_code == 200
        assert [e["ref"] for e in shown.json()["entries"]] == [f"H-{d.brief}"]
        bad = tom.get("/calendar", params={"quarter": f"{d.year}-Q9"})
        assert bad.status_code == 422 and "quarter:" in bad.json()["detail"]
        issued = tom.post("/calendar/feeds")
        assert issued.status_code == 201
        tom_path = "/calendar/" + issued.json()["url"].rsplit("/calendar/", 1)[1]
        assert httpx.get(url + tom_path, timeout=10).status_code == 200
        listed = tom.get("/calendar/feeds").json()
        assert [(f["id"], f["state"]) for f in listed] == [(issued.json()["id"], "active")]
        assert tom.post(f"/calendar/feeds/{listed[0]['id'] - 1}/revoke").status_code == 404
        revoked = tom.post(f"/calendar/feeds/{listed[0]['id']}/revoke")
        assert revoked.json()["state"] == "revoked"
    for gone in (tom_path, "/calendar/cal_no-such-secret.ics", "/calendar/guess.ics"):
        answer = httpx.get(url + gone, timeout=10)
        assert answer.status_code == 404 and answer.json()["detail"] == "no such calendar feed"

    olga_feed = browser.get("/calendar").text  # Olga revokes hers on the page
    feed_id = re.search(r'name="feed" value="(\d+)"', olga_feed)
    assert feed_id is not None
    done = browser.post("/calendar", {"action": "revoke-feed", "feed": feed_id.group(1)})
    assert done.status_code == 200 and "Feed revoked." in done.text
    assert httpx.get(url + path, timeout=10).status_code == 404


def test_the_command_line_reads_the_calendar_and_keeps_feeds(db: Any, clock: FrozenClock,
                                                              cli: Any) -> None:
    d = _setup(db, clock)
    shown = cli("calendar", "show", "--month", d.may, "--as", TOM, "--json")
    assert shown.exit_code == 0 and [e["ref"] for e in shown.json()["entries"]] == [
        f"H-{d.brief}"]
    text = cli("calendar", "show", "--quarter", f"{d.year}-Q2", "--department", "finance")
    assert text.exit_code == 0 and f"W-{d.approval}" in text.stdout and "approval" in text.stdout
    wrong = cli("calendar", "show", "--month", f"{d.year}-13", "--json")
    assert wrong.exit_code == 2 and f"month: '{d.year}-13' is not a month" in wrong.stdout

    made = cli("calendar", "feed", "--as", OLGA, "--json").json()
    secret = made["url"].rsplit("/", 1)[1].removesuffix(".ics")
    assert Calendar.from_ical(cal.feed_ics(db.uow(), secret)).walk("VEVENT")
    listed = cli("calendar", "feeds", "--as", OLGA, "--json").json()
    assert [(f["id"], f["state"]) for f in listed] == [(made["id"], "active")]
    assert "url" not in listed[0] and secret not in cli("calendar", "feeds", "--as", OLGA).stdout
    revoked = cli("calendar", "revoke", str(made["id"]), "--json")  # the operator
    assert revoked.exit_code == 0 and revoked.json()["state"] == "revoked"
    with pytest.raises(NotFound):
        cal.feed_ics(db.uow(), secret)
