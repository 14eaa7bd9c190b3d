"""Working calendars on both databases (issue 25): a due time given in working time is stored
with how it was computed, and the SLA sweep reminds and escalates in working time, at working
hours.

The demo organisation gets calendars here: HQ in Shanghai (CN), north in Madrid (ES, Comunidad
de Madrid), south in Moscow (RU). The clock is frozen at 2022, whose facts the ``holidays``
library knows: China's National Day (1-7 Oct off, Sat 8 and Sun 9 Oct make-up working days)
and Madrid Day (Mon 2 May).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from mktflow.domain.calendars import parse_due
from mktflow.domain.clock import FrozenClock
from mktflow.domain.organisation import CalendarSpec
from mktflow.engine import handoffs, queries, reports, sla, work
from mktflow.engine.organisation import load_organisation, read_organisation_file
from mktflow.i18n.words import said
from mktflow.store.tables import Branch
from tests.integration.api_support import member_api
from tests.integration.notify_support import HANA, HEAD, OLGA, channel, rows

SHANGHAI = ZoneInfo("Asia/Shanghai")
MADRID = ZoneInfo("Europe/Madrid")
MARCO = "marco.rossi@example.com"  # marketing, north (Madrid)
CALENDARS = {
    "hq": CalendarSpec(country="CN", time_zone="Asia/Shanghai"),
    "north": CalendarSpec(country="ES", subdivision="MD", time_zone="Europe/Madrid"),
    "south": CalendarSpec(country="RU", time_zone="Europe/Moscow"),
}


@pytest.fixture(name="calendars")
def _calendars(db: Any, clock: FrozenClock) -> None:
    """The demo organisation with a calendar on each branch, loaded on ``db``."""
    spec = read_organisation_file(None, demo=True)
    for branch in spec.branches:
        branch.calendar = CALENDARS[branch.code]
    load_organisation(db.uow(), spec, source="demo with calendars")


def _sweep(db: Any, moment: datetime) -> list[dict[str, Any]]:
    return sla.sweep(db.uow(clock=FrozenClock(moment.astimezone(UTC)))).escalations


def test_branches_keep_their_calendars(db: Any, calendars: None) -> None:
    with db.uow() as u:
        stored = {b.code: b.calendar for b in u.session.exec(select(Branch))}
    assert stored["north"] == {"country": "ES", "subdivision": "MD",
                               "time_zone": "Europe/Madrid"}
    shown = {b.code: b.calendar for b in queries.organisation(db.uow()).branches}
    assert shown["hq"] == {"country": "CN", "time_zone": "Asia/Shanghai"}
    spec = read_organisation_file(None, demo=True)  # the file without calendars again
    load_organisation(db.uow(), spec, source="demo")
    with db.uow() as u:
        assert all(b.calendar is None for b in u.session.exec(select(Branch)))


def test_shanghai_step_due_in_three_working_days_counts_the_make_up_days(
        db: Any, clock: FrozenClock, calendars: None) -> None:
    clock.set(datetime(2022, 9, 30, 17, 0, tzinfo=SHANGHAI).astimezone(UTC))
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Media plan", assignee=OLGA,
                                 due_at=parse_due("3 working days"))
    view = queries.show(db.uow(), f"W-{item.id}")
    assert view.due == "2022-10-10T09:00:00Z"  # Mon 10 Oct 17:00 in Shanghai
    assert view.due_basis == (
        "3 working days from Fri 30 Sep 2022 17:00 Asia/Shanghai (hq, CN): skips 1-7 Oct "
        "(National Day); counts Sat 8 Oct, Sun 9 Oct (make-up working day) → Mon 10 Oct 2022 "
        "17:00")
    assert _sweep(db, datetime(2022, 10, 10, 16, 59, tzinfo=SHANGHAI)) == []
    assert [e["to"] for e in _sweep(db, datetime(2022, 10, 10, 17, 0, tzinfo=SHANGHAI))] == [OLGA]


def test_shanghai_reminder_waits_for_0900_on_the_next_working_day(
        db: Any, clock: FrozenClock, calendars: None) -> None:
    own = channel(db, "marketing", "email", to="olga@example.com", member=OLGA)
    clock.set(datetime(2022, 9, 30, 17, 0, tzinfo=SHANGHAI).astimezone(UTC))
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Media plan", assignee=OLGA,
                                 due_at=parse_due("end of the working day"))
    assert item.due_at == datetime(2022, 9, 30, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
    for quiet in (datetime(2022, 9, 30, 18, 0), datetime(2022, 10, 1, 10, 0),
                  datetime(2022, 10, 7, 12, 0), datetime(2022, 10, 8, 8, 59)):
        assert _sweep(db, quiet.replace(tzinfo=SHANGHAI)) == [], quiet
    nine = datetime(2022, 10, 8, 9, 0, tzinfo=SHANGHAI)  # Saturday, a make-up working day
    assert _sweep(db, nine) == [{"ref": f"W-{item.id}", "level": 1, "to": OLGA}]
    (reminder,) = rows(db, event="work.overdue")
    assert reminder.channel_id == own.id
    assert reminder.created_at.astimezone(SHANGHAI) == nine
    # level 2 after 24 working hours: Sat 8 and Sun 9 Oct (9 h each), Mon 10 Oct 09:00-15:00
    assert _sweep(db, datetime(2022, 10, 10, 14, 59, tzinfo=SHANGHAI)) == []
    assert [e["level"] for e in _sweep(db, datetime(2022, 10, 10, 15, 0, tzinfo=SHANGHAI))] \
        == [2]


def test_madrid_step_skips_the_regional_holiday_and_reminds_at_0900(
        db: Any, clock: FrozenClock, calendars: None) -> None:
    clock.set(datetime(2022, 4, 29, 17, 0, tzinfo=MADRID).astimezone(UTC))
    counted = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                    title="Press kit", assignee=MARCO,
                                    due_at=parse_due("3 working days"))
    view = queries.show(db.uow(), f"W-{counted.id}")
    assert view.due == "2022-05-05T15:00:00Z"  # Thu 5 May 17:00 in Madrid
    assert "(north, ES-MD): skips Mon 2 May (Madrid Day) → Thu 5 May 2022 17:00" in \
        view.due_basis
    tonight = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                    title="Call back", assignee=MARCO,
                                    due_at=parse_due("end of the working day"))
    assert tonight.due_at == datetime(2022, 4, 29, 16, 0, tzinfo=UTC)  # 18:00 in Madrid
    for quiet in (datetime(2022, 4, 30, 10, 0), datetime(2022, 5, 2, 10, 0),
                  datetime(2022, 5, 3, 8, 59)):
        assert _sweep(db, quiet.replace(tzinfo=MADRID)) == [], quiet
    assert _sweep(db, datetime(2022, 5, 3, 9, 0, tzinfo=MADRID)) == [
        {"ref": f"W-{tonight.id}", "level": 1, "to": MARCO}]


def test_a_due_time_given_as_a_time_keeps_no_basis_and_updates_recount(
        db: Any, clock: FrozenClock, calendars: None) -> None:
    clock.set(datetime(2022, 9, 30, 17, 0, tzinfo=SHANGHAI).astimezone(UTC))
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Brief", assignee=OLGA,
                                 due_at=parse_due("2022-10-20T10:00:00Z"))
    assert queries.show(db.uow(), f"W-{item.id}").due_basis is None
    work.update(db.uow(), item.id, actor_email=HEAD, due_at=parse_due("2 working hours"))
    view = queries.show(db.uow(), f"W-{item.id}")
    assert view.due == "2022-10-08T02:00:00Z"  # Sat 8 Oct 10:00 in Shanghai
    assert view.due_basis.startswith("2 working hours from Fri 30 Sep 2022 17:00")
    assert said(view, "due_basis", "zh").startswith(  # the calendar's zone without the page's
        "自 2022年9月30日 周五 17:00 CST 起 2 个工作小时")
    work.update(db.uow(), item.id, actor_email=HEAD, due_at=parse_due("2022-10-20"))
    view = queries.show(db.uow(), f"W-{item.id}")
    assert view.due_basis is None and "due_basis" not in (view.words or {})
    offered = handoffs.offer(db.uow(), actor_email=HEAD, from_department="marketing",
                             to_department="tech", title="Prototype",
                             due_at=parse_due("2022-10-20T10:00:00Z"))
    handoffs.update_due(db.uow(), offered.id, actor_email=HEAD,
                        due_at=parse_due("2 working hours"))
    shown = queries.show(db.uow(), f"H-{offered.id}")
    assert said(shown, "due_basis", "es").startswith("2 horas laborables desde el vie 30 sept")
    handoffs.update_due(db.uow(), offered.id, actor_email=HEAD, due_at=parse_due("2022-10-20"))
    shown = queries.show(db.uow(), f"H-{offered.id}")
    assert shown.due_basis is None and "due_basis" not in (shown.words or {})


def test_the_command_line_takes_working_time(cli: Any, clock: FrozenClock,
                                             calendars: None) -> None:
    clock.set(datetime(2022, 4, 29, 17, 0, tzinfo=MADRID).astimezone(UTC))
    made = cli("work", "create", "marketing", "--title", "Press kit", "--as", HEAD,
               "--assignee", MARCO, "--due", "3 working days", "--json")
    assert made.exit_code == 0, made.stderr
    assert made.json()["due"] == "2022-05-05T15:00:00Z"
    assert "skips Mon 2 May (Madrid Day)" in made.json()["due_basis"]
    shown = cli("work", "show", str(made.json()["id"]))
    assert "due_basis: 3 working days from Fri 29 Apr 2022 17:00 Europe/Madrid" in shown.stdout
    refused = cli("work", "create", "marketing", "--title", "x", "--as", HEAD,
                  "--due", "3 working weeks")
    assert refused.exit_code == 2
    assert "due: '3 working weeks' is not a due time" in refused.stderr


def test_a_handoff_waits_in_working_time_on_the_ledger(
        db: Any, clock: FrozenClock, calendars: None) -> None:
    clock.set(datetime(2022, 9, 30, 17, 0, tzinfo=SHANGHAI).astimezone(UTC))
    offered = handoffs.offer(db.uow(), actor_email=HEAD, from_department="marketing",
                             to_department="tech", title="Prototype",
                             due_at=parse_due("2 working hours"))
    assert offered.due_at == datetime(2022, 10, 8, 2, 0, tzinfo=UTC)  # Sat 8 Oct 10:00
    assert offered.due_basis is not None and "(hq, CN)" in offered.due_basis
    step = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Media plan", assignee=OLGA)
    clock.set(datetime(2022, 10, 8, 10, 0, tzinfo=SHANGHAI).astimezone(UTC))
    handoffs.accept(db.uow(), offered.id, actor_email=HANA)
    work.complete(db.uow(), step.id, actor_email=OLGA, data={})
    ledger = reports.handoff_ledger(db.uow())
    # Fri 17:00-18:00 and Sat 8 Oct 09:00-10:00: the National Day week is no wait
    assert [p["median_hours_to_accept"] for p in ledger.pairs] == [2.0]
    assert [s["median_hours"] for s in ledger.steps] == [2.0]


def test_the_api_takes_working_time_and_shows_how_it_was_counted(
        db: Any, clock: FrozenClock, calendars: None) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    clock.set(datetime(2022, 4, 29, 17, 0, tzinfo=MADRID).astimezone(UTC))
    with member_api(db, create_app(db.engine, settings=Settings()), HEAD) as api:
        made = api.post("/work", json={"department": "marketing", "title": "Press kit",
                                       "assignee": MARCO, "due": "3 Working Days"})
        assert made.status_code == 201, made.text
        assert made.json()["due"] == "2022-05-05T15:00:00Z"
        assert "skips Mon 2 May (Madrid Day)" in made.json()["due_basis"]
        shown = api.get(f"/work/{made.json()['id']}").json()
        assert shown["due_basis"] == made.json()["due_basis"]
        refused = api.post("/work", json={"department": "marketing", "title": "x",
                                          "due": "3 working weeks"})
        assert refused.status_code == 422
        assert "'3 working weeks' is not a due time" in refused.text


def test_the_item_page_shows_how_its_due_time_was_counted(
        db: Any, clock: FrozenClock, calendars: None) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import serving
    from tests.integration.web_support import Browser

    clock.set(datetime(2022, 9, 30, 17, 0, tzinfo=SHANGHAI).astimezone(UTC))
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Media plan", assignee=OLGA,
                                 due_at=parse_due("3 working days"))
    with serving(create_app(db.engine, settings=Settings())) as site:
        olga = Browser(site)
        olga.sign_in(db, OLGA)
        page = olga.get(f"/work/{item.id}")
        olga.client.close()
    assert page.status_code == 200, page.text[:300]
    assert "<dt>Due counted</dt>" in page.text
    assert ("skips 1-7 Oct (National Day); counts Sat 8 Oct, Sun 9 Oct (make-up working day) "
            "→ Mon 10 Oct 2022 17:00") in page.text


def test_the_item_pages_word_how_the_due_time_was_counted_in_the_readers_language(
        db: Any, clock: FrozenClock, calendars: None) -> None:
    """Olga reads Chinese, Marco Spanish (their organisation file's language); the steps are
    counted in Shanghai (Ana's branch, hq), the pages show times in Madrid's zone: the Friday
    17:00 in Shanghai is 11:00 CEST there. A row counted
    before the explanation was kept as a message (no ``words``) shows it as written."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from mktflow.engine.credentials import issue_token
    from mktflow.store.tables import WorkItem
    from tests.integration.api_support import serving
    from tests.integration.web_support import Browser

    spec = read_organisation_file(None, demo=True)
    for branch in spec.branches:
        branch.calendar = CALENDARS[branch.code]
    for member in spec.members:
        member.language = {OLGA: "zh", MARCO: "es"}.get(member.email, member.language)
    load_organisation(db.uow(), spec, source="demo with calendars and languages")
    clock.set(datetime(2022, 9, 30, 17, 0, tzinfo=SHANGHAI).astimezone(UTC))
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Media plan", due_at=parse_due("3 working days"))
    old = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                title="Flyer", due_at=parse_due("3 working days"))
    with db.uow() as u:  # as a row written before the change
        row = u.session.get(WorkItem, old.id)
        row.words = None
        u.session.add(row)
        u.commit()
    offered = handoffs.offer(db.uow(), actor_email=HEAD, from_department="marketing",
                             to_department="tech", title="Prototype",
                             due_at=parse_due("3 working days"))
    shown = {}
    with serving(create_app(db.engine, settings=Settings(web_timezone="Europe/Madrid"))) as site:
        for email in (OLGA, MARCO):
            reader = Browser(site)
            reader.get("/sign-in")  # (not Browser.sign_in: it looks for the English page)
            signed = reader.post("/sign-in", {"token": issue_token(db.uow(), email).token,
                                              "next": "/my-work"})
            assert signed.status_code == 200 and email in signed.text, signed.text[:300]
            shown[email] = [reader.get(path) for path in (
                f"/work/{item.id}", f"/handoffs/{offered.id}", f"/work/{old.id}")]
            reader.client.close()
    for pages in shown.values():
        assert [p.status_code for p in pages] == [200, 200, 200], pages[0].text[:300]
    zh, es = ([p.text for p in shown[OLGA]], [p.text for p in shown[MARCO]])
    worded = ("自 2022年9月30日 周五 11:00 CEST 起 3 个工作日（日历：hq, CN，时区："
              "Asia/Shanghai）：跳过 10月1日至7日（国庆节）; 计入 10月8日周六和10月9日周日"
              "（调休上班日） → 2022年10月10日 周一 11:00 CEST")
    assert "<dt>截止计算方式</dt>" in zh[0]
    assert f'<dd class="due-basis">{worded}</dd>' in zh[0] and worded in zh[1]
    assert ("3 días laborables desde el vie 30 sept 2022, 11:00 CEST (calendario: hq, CN, "
            "zona Asia/Shanghai): omite 1–7 oct (国庆节); cuenta sáb, 8 oct y dom, 9 oct (día "
            "laborable de recuperación) → lun 10 oct 2022, 11:00 CEST") in es[0]
    assert "National Day" not in zh[0] + zh[1] + es[0] + es[1]
    for page in (zh[2], es[2]):  # no message kept: as written, in English
        assert ("3 working days from Fri 30 Sep 2022 17:00 Asia/Shanghai (hq, CN): skips 1-7 "
                "Oct (National Day)") in page


def test_an_escalation_waits_for_its_recipients_working_hours(
        db: Any, clock: FrozenClock, calendars: None) -> None:
    """Marco's step counts in Madrid; his head, Ana, works in Shanghai: level 2, reached in
    Madrid's afternoon (Shanghai's night), waits for Ana's 09:00."""
    clock.set(datetime(2022, 4, 29, 17, 0, tzinfo=MADRID).astimezone(UTC))
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Call back", assignee=MARCO,
                                 due_at=parse_due("end of the working day"))
    assert [e["level"] for e in _sweep(db, datetime(2022, 5, 3, 9, 0, tzinfo=MADRID))] == [1]
    # 24 working hours in Madrid: Tue 3 and Wed 4 May, Thu 5 May 09:00-15:00
    reached = datetime(2022, 5, 5, 15, 0, tzinfo=MADRID)
    assert reached.astimezone(SHANGHAI).hour == 21
    assert _sweep(db, reached) == []
    assert _sweep(db, datetime(2022, 5, 6, 8, 59, tzinfo=SHANGHAI)) == []
    assert _sweep(db, datetime(2022, 5, 6, 9, 0, tzinfo=SHANGHAI)) == [
        {"ref": f"W-{item.id}", "level": 2, "to": "the head of marketing"}]


def test_org_load_refuses_a_broken_calendar_naming_the_field(cli: Any, tmp_path: Any) -> None:
    import yaml

    spec = read_organisation_file(None, demo=True).model_dump(mode="json", by_alias=True,
                                                               exclude_none=True)
    spec["branches"][0]["calendar"] = {"country": "CN"}
    spec["branches"][1]["calendar"] = {"country": "ES", "subdivision": "ZZ",
                                       "time_zone": "Europe/Madrid"}
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    refused = cli("org", "load", str(path))
    assert refused.exit_code == 2  # bad input: nothing loaded
    assert "branches[0] (hq): calendar.time_zone: a branch with a country needs its IANA " \
           "time zone" in refused.stderr
    assert "branches[1] (north): calendar.subdivision: 'ZZ' is not a region of ES" in \
        refused.stderr


def test_research_collection_steps_are_due_in_each_members_working_days(
        db: Any, clock: FrozenClock, calendars: None) -> None:
    """The market-research cycle's collection steps (``MKTFLOW_RESEARCH_DUE_DAYS``) count in
    the calendar of the member who collects: Shanghai skips National Day, Madrid does not."""
    from mktflow.domain.calendars import WorkingDue
    from mktflow.engine import cycles

    clock.set(datetime(2022, 9, 30, 17, 0, tzinfo=SHANGHAI).astimezone(UTC))
    run = cycles.begin_cycle(db.uow(), cycle="market-research", period="2022-10")
    steps = cycles.assign_collection(db.uow(), run_id=run.id,
                                     assignments=[("consumer", OLGA), ("market", MARCO)],
                                     due_at=WorkingDue("day", 3), form_schema={})
    due = {s.assignee_email: queries.show(db.uow(), f"W-{s.id}") for s in steps}
    assert due[OLGA].due == "2022-10-10T09:00:00Z"  # Mon 10 Oct 17:00 in Shanghai
    assert "skips 1-7 Oct (National Day)" in due[OLGA].due_basis
    assert due[MARCO].due == "2022-10-05T09:00:00Z"  # Wed 5 Oct 11:00 in Madrid
    assert "(north, ES-MD)" in due[MARCO].due_basis
