"""Work reports upward (seed 001, 市场部管理制度 4, 管理规定 2.(2); issue 23 item 2): the daily
report step due at the end of the working day, submitted at every door, the head's digest,
the missing named the next morning, the weekly report gathered for management, and who may
read a report; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from mktflow.domain.clock import FrozenClock
from mktflow.domain.errors import BadInput, NotAuthorized
from mktflow.engine import actions, queries, work, work_reports
from mktflow.engine.views import plain

OLGA = "olga.petrova@example.com"  # marketing specialist, hq
MARCO = "marco.rossi@example.com"  # marketing specialist, north branch
SOFIA = "sofia.lopez@example.com"  # marketing specialist, south branch
ANA = "ana.torres@example.com"  # marketing head
TOM = "tom.berg@example.com"  # tech specialist
CARLOS = "carlos.mendez@example.com"  # sales head
MARIA = "maria.garcia@example.com"  # management


def monday(clock: FrozenClock, hour: int = 10) -> date:
    """Freeze the clock on the next Monday at ``hour``:00 UTC; that Monday."""
    today = clock.now().date()
    day = today + timedelta(days=7 - today.weekday())
    clock.set(datetime.combine(day, time(hour), tzinfo=UTC))
    return day


def opened(db: Any, day: date) -> dict[str, dict[str, Any]]:
    return {r["member"]: r for r in work_reports.open_daily(db.uow(), day=day)}


def test_each_member_gets_a_step_due_at_the_end_of_the_working_day(
        db: Any, clock: FrozenClock) -> None:
    day = monday(clock)
    rows = opened(db, day)
    # heads and management write none; the demo has no calendars: 09:00-18:00 UTC by default
    assert ANA not in rows and MARIA not in rows and CARLOS not in rows
    assert {OLGA, MARCO, SOFIA, TOM} <= set(rows)
    assert rows[OLGA]["due"] == f"{day.isoformat()}T18:00:00Z"
    again = opened(db, day)  # a re-run finds the steps it made
    assert again[OLGA]["step"] == rows[OLGA]["step"]
    step = plain(queries.show(db.uow(), rows[OLGA]["step"], reader=OLGA))
    assert (step["assignee"], step["state"], step["form_name"]) == (OLGA, "claimed",
                                                                   "DailyReport")
    saturday = day + timedelta(days=5)
    assert work_reports.open_daily(db.uow(), day=saturday) == []  # no working day, no report


def test_completing_the_step_records_the_report_and_the_step_keeps_only_its_name(
        db: Any, clock: FrozenClock) -> None:
    day = monday(clock)
    step = opened(db, day)[OLGA]["step"]
    item_id = int(step[2:])
    actions.perform(db.uow(), "work", item_id, "complete", actor_email=OLGA, data={
        "done": "Visited two fairs", "problems": "Stand not booked", "next": "Book it"})
    [report] = work_reports.list_reports(db.uow(), reader=OLGA, period=day.isoformat())
    assert (report.member, report.done, report.step, report.late) == (
        OLGA, "Visited two fairs", step, False)
    item = plain(queries.show(db.uow(), step, reader=OLGA))
    assert item["state"] == "done" and item["data"] == {"report": report.ref}
    marco_step = int(opened(db, day)[MARCO]["step"][2:])  # no draft where colleagues read it
    with pytest.raises(BadInput, match=r"^draft: a daily report keeps no draft"):
        work.save_draft(db.uow(), marco_step, actor_email=MARCO, draft={"done": "half"})


def test_submit_completes_the_open_step_and_a_late_one_says_so(
        db: Any, clock: FrozenClock) -> None:
    day = monday(clock)
    step = opened(db, day)[MARCO]["step"]
    clock.set(datetime.combine(day, time(19), tzinfo=UTC))  # after 18:00: late
    report = work_reports.submit(db.uow(), actor_email=MARCO, done="Called 12 shops",
                                 next_="Visit the north depot")
    assert (report.step, report.late, report.period) == (step, True, day.isoformat())
    assert plain(queries.show(db.uow(), step))["state"] == "done"
    revised = work_reports.submit(db.uow(), actor_email=MARCO, done="Called 14 shops")
    assert (revised.id, revised.done, revised.submitted_at) == (
        report.id, "Called 14 shops", report.submitted_at)


def test_bad_texts_and_periods_are_refused_naming_the_field(
        db: Any, clock: FrozenClock) -> None:
    day = monday(clock)
    with pytest.raises(BadInput, match=r"^done: must not be empty"):
        work_reports.submit(db.uow(), actor_email=OLGA, done="  ")
    with pytest.raises(BadInput, match=r"^problems: must not contain"):
        work_reports.submit(db.uow(), actor_email=OLGA, done="x", problems="a\x00b")
    with pytest.raises(BadInput, match=r"^period: .* has not begun"):
        work_reports.submit(db.uow(), actor_email=OLGA, done="x",
                            period=(day + timedelta(days=1)).isoformat())
    with pytest.raises(BadInput, match=r"^kind: "):
        work_reports.submit(db.uow(), actor_email=OLGA, done="x", kind="hourly")
    assert work_reports.list_reports(db.uow()) == []  # nothing half-written


def test_who_may_read_a_report(db: Any, clock: FrozenClock) -> None:
    monday(clock)
    report = work_reports.submit(db.uow(), actor_email=OLGA, done="Wrote the brief")
    for reader in (OLGA, ANA, MARIA, None):
        assert work_reports.show_report(db.uow(), report.ref, reader=reader).id == report.id
    for reader in (MARCO, CARLOS, TOM):  # a colleague, another head, another department
        with pytest.raises(NotAuthorized, match="may not see R-"):
            work_reports.show_report(db.uow(), report.ref, reader=reader)
        assert work_reports.list_reports(db.uow(), reader=reader) == []


def test_digest_in_the_evening_and_missing_named_the_next_morning(
        db: Any, clock: FrozenClock) -> None:
    day = monday(clock)
    opened(db, day)
    work_reports.submit(db.uow(), actor_email=OLGA, done="Brief")
    clock.set(datetime.combine(day, time(19), tzinfo=UTC))
    digest = {r["department"]: r for r in work_reports.send_digest(db.uow(), day=day)}
    marketing = digest["marketing"]
    assert (marketing["head"], marketing["in"]) == (ANA, 1)
    assert OLGA not in marketing["missing"] and MARCO in marketing["missing"]
    item = plain(queries.show(db.uow(), marketing["step"], reader=ANA))
    assert item["assignee"] == ANA and "1 in" in item["title"]
    assert "Brief" not in item["description"]  # the texts stay in the report

    work_reports.submit(db.uow(), actor_email=MARCO, done="Late but here")  # 19:00: late
    clock.set(datetime.combine(day + timedelta(days=1), time(8), tzinfo=UTC))
    named = {r["department"]: r for r in work_reports.name_missing(
        db.uow(), today=day + timedelta(days=1))}
    assert named["marketing"]["day"] == day.isoformat()
    assert OLGA not in named["marketing"]["missing"] and MARCO not in named[
        "marketing"]["missing"] and SOFIA in named["marketing"]["missing"]
    item = plain(queries.show(db.uow(), named["marketing"]["step"], reader=ANA))
    assert SOFIA in item["title"] and item["assignee"] == ANA
    # on a Monday the last working day is the Friday before; a day without steps names nobody
    assert work_reports.name_missing(db.uow(), today=day) == []
    opened(db, day - timedelta(days=3))
    saturday = day - timedelta(days=2)
    assert work_reports.name_missing(db.uow(), today=saturday) == []  # the next working day
    friday = {r["day"] for r in work_reports.name_missing(db.uow(), today=day)}
    assert friday == {(day - timedelta(days=3)).isoformat()}


def test_the_week_is_gathered_for_management(db: Any, clock: FrozenClock) -> None:
    day = monday(clock)
    work_reports.submit(db.uow(), actor_email=OLGA, done="Monday work", problems="Rain")
    clock.set(datetime.combine(day + timedelta(days=1), time(10), tzinfo=UTC))
    work_reports.submit(db.uow(), actor_email=OLGA, done="Tuesday work", next_="Wednesday")
    work_reports.submit(db.uow(), actor_email=TOM, done="Tests")
    clock.set(datetime.combine(day + timedelta(days=7), time(7), tzinfo=UTC))
    out = work_reports.gather_period(db.uow(), kind="weekly")
    year, week, _ = day.isocalendar()
    assert out["period"] == f"{year}-W{week:02d}"
    mine = {r.member: r for r in out["reports"]}
    assert set(mine) == {OLGA, TOM}
    assert mine[OLGA].done == f"{day:%a %d %b}: Monday work\n" \
                              f"{day + timedelta(days=1):%a %d %b}: Tuesday work"
    assert (mine[OLGA].next, mine[OLGA].submitted_by) == ("Wednesday", "mktflow")
    item = plain(queries.show(db.uow(), out["step"], reader=MARIA))
    assert item["department"] == "management" and "2 member(s)" in item["title"]
    assert [r.ref for r in work_reports.list_reports(db.uow(), reader=MARIA, kind="weekly",
                                                     period=out["period"])] == sorted(
        (r.ref for r in out["reports"]), reverse=True)
    assert json.dumps(plain(out["reports"]))  # scripts read it


# --- the doors ------------------------------------------------------------------------------


def test_the_command_line_submits_lists_and_shows(db: Any, cli: Any, clock: FrozenClock) -> None:
    day = monday(clock)
    step = opened(db, day)[OLGA]["step"]
    made = cli("report", "submit", "--as", OLGA, "--done", "Drafted the brief", "--problems",
               "No budget yet", "--json")
    assert made.exit_code == 0, made.stderr
    report = made.json()
    assert (report["step"], report["kind"], report["period"]) == (step, "daily",
                                                                  day.isoformat())
    refused = cli("report", "submit", "--as", OLGA, "--done", " ", "--json")
    assert refused.exit_code == 2 and "done: must not be empty" in refused.stderr
    listed = cli("report", "list", "--as", ANA, "--department", "marketing", "--period",
                 day.isoformat(), "--json").json()
    assert [r["ref"] for r in listed] == [report["ref"]]
    assert cli("report", "list", "--as", MARCO, "--json").json() == []
    shown = cli("report", "show", report["ref"], "--as", MARIA).stdout
    assert "Drafted the brief" in shown and "No budget yet" in shown
    assert cli("report", "show", report["ref"], "--as", TOM, "--json").exit_code == 1
    for bad, words in ((("show", "R-" + "9" * 20), "names no report"),
                       (("list", "--kind", "hourly"), "kind: 'hourly' is not a report kind"),
                       (("list", "--period", "soon"), "period: 'soon' is not a daily period")):
        refused = cli("report", *bad)
        assert refused.exit_code == 2 and words in refused.stderr, refused.stderr
    # the step's own door records it too
    step_tom = opened(db, day)[TOM]["step"]
    done = cli("work", "complete", step_tom, "--as", TOM, "--data", '{"done": "Fixed CI"}')
    assert done.exit_code == 0, done.stderr
    assert cli("report", "list", "--member", TOM, "--json").json()[0]["done"] == "Fixed CI"


def test_the_api_submits_lists_and_shows(db: Any, clock: FrozenClock) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import as_member, member_api

    day = monday(clock)
    opened(db, day)
    with member_api(db, create_app(db.engine, settings=Settings()), OLGA) as api:
        made = api.post("/reports", json={"done": "Booked the stand", "next": "Print flyers"})
        assert made.status_code == 201, made.text
        ref = made.json()["ref"]
        assert made.headers["Location"] == f"/reports/{ref}" and made.json()["step"]
        blank = api.post("/reports", json={"done": " \n "})
        assert blank.status_code == 422 and blank.json()["detail"].startswith("done: ")
        ahead = api.post("/reports", json={"done": "x", "period": (
            day + timedelta(days=1)).isoformat()})
        assert ahead.status_code == 422 and "has not begun" in ahead.json()["detail"]
        weekly = api.post("/reports", json={"done": "A good week", "kind": "weekly"})
        assert weekly.status_code == 201 and weekly.json()["kind"] == "weekly"
        assert api.get(f"/reports/{ref}", headers=as_member(ANA)).status_code == 200
        assert api.get(f"/reports/{ref}", headers=as_member(MARCO)).status_code == 403
        assert api.get("/reports/R-999999").status_code == 404
        listed = api.get("/reports", params={"period": day.isoformat()},
                         headers=as_member(MARIA)).json()
        assert [r["ref"] for r in listed] == [ref]


def test_the_reports_page_writes_todays_report_and_shows_what_one_may_read(
        db: Any, clock: FrozenClock) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import serving
    from tests.integration.web_support import Browser

    day = monday(clock)
    step = opened(db, day)[OLGA]["step"]
    with serving(create_app(db.engine, settings=Settings())) as url:
        browsers = {who: Browser(url) for who in (OLGA, ANA, MARCO)}
        try:
            for who, b in browsers.items():
                b.sign_in(db, who)
            olga = browsers[OLGA]
            assert "s report (" in olga.get("/my-reports").text
            refused = olga.post("/my-reports", {"done": "", "next": "kept"})
            assert refused.status_code == 422 and "done: must not be empty" in refused.text
            assert "kept" in refused.text  # what was typed stays
            page = olga.post("/my-reports", {"done": "Met the printer", "next": "Proofs"})
            assert page.status_code == 200 and "submitted." in page.text
            assert "Met the printer" in page.text
            assert plain(queries.show(db.uow(), step))["state"] == "done"
            assert "Met the printer" in browsers[ANA].get("/reports").text  # her head
            assert "Met the printer" not in browsers[MARCO].get("/my-reports").text
        finally:
            for b in browsers.values():
                b.client.close()
