"""Planning meetings with minutes (seed 001, 市场营销部 工作流程 1.(1) A; issue 23 item 3): the
agenda pre-filled, minutes refused when a decision breaks a rule, the head's approval, the
minutes sent to management and the departments named, each decision made work and tracked to
done, and who may read the minutes; on SQLite and PostgreSQL. The flow that puts the steps in
people's hands is tested in tests/flows/test_meetings.py; here the test plays the flow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from mktflow.domain.clock import FrozenClock
from mktflow.domain.cycles import Frequency, next_period, period_of
from mktflow.domain.errors import FormInvalid, NotAuthorized
from mktflow.engine import cycles, handoffs, meetings, work
from mktflow.store.tables import OutboxMessage, WorkItem

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
TOM = "tom.berg@example.com"  # tech specialist
HANA = "hana.kim@example.com"  # tech head
CARLOS = "carlos.mendez@example.com"  # sales head
MARIA = "maria.garcia@example.com"  # management


def _step(db: Any, pid: int, key: str, form: str, *, assignee: str | None = None) -> int:
    item = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="marketing",
                                 title=key, form_name=form, assignee=assignee,
                                 process_id=pid, step_key=key)
    assert item.id is not None
    return item.id


def _answer(db: Any, item_id: int, actor: str, data: dict[str, Any]) -> None:
    with db.uow() as u:
        state = u.session.get(WorkItem, item_id).state
    if state == "open":
        work.claim(db.uow(), item_id, actor_email=actor)
    work.complete(db.uow(), item_id, actor_email=actor, data=data)


def decisions(clock: FrozenClock) -> list[dict[str, Any]]:
    due = (clock.today() + timedelta(days=20)).isoformat()
    return [{"text": "Launch the spring trade-fair plan", "owner": OLGA, "due": due,
             "departments": ["sales"]},
            {"text": "Prototype display stands", "owner": TOM, "due": due, "departments": []}]


def hold(db: Any, clock: FrozenClock, period: str | None = None,
         decided: list[dict[str, Any]] | None = None) -> tuple[int, int]:
    """What the flow does, step by step: (meeting id, process id) with minutes sent and the
    cycle run (and its process) ended."""
    period = period or period_of(clock.today(), Frequency.QUARTERLY)
    run = cycles.begin_cycle(db.uow(), cycle="quarterly-meeting", period=period)
    assert run.process_id is not None
    pid = run.process_id
    mid = meetings.open_meeting(db.uow(), period=period, process_id=pid).id
    agenda = _step(db, pid, "agenda", "MeetingAgenda", assignee=ANA)
    _answer(db, agenda, ANA, {"agenda": meetings.agenda_draft(db.uow(), period)})
    meetings.record_agenda(db.uow(), mid, item_id=agenda)
    minutes = _step(db, pid, "minutes-1", "MeetingMinutes")
    _answer(db, minutes, OLGA, {"held_on": clock.today().isoformat(), "attendees": "Ana, Olga",
                                "summary": "The quarter's plan", "decisions":
                                decided or decisions(clock)})
    meetings.record_minutes(db.uow(), mid, item_id=minutes)
    approval = _step(db, pid, "approval-1", "MinutesApproval", assignee=ANA)
    _answer(db, approval, ANA, {"decision": "approve"})
    meetings.record_approval(db.uow(), mid, item_id=approval)
    meetings.send_minutes(db.uow(), mid)
    assert run.id is not None  # the run ends; its decisions' work goes on without it
    cycles.finish_cycle(db.uow(), run.id, open_items=[], summary={})
    return mid, pid


def test_sent_minutes_make_each_decision_work_tracked_to_done(db: Any,
                                                              clock: FrozenClock) -> None:
    mid, pid = hold(db, clock)
    m = meetings.show_meeting(db.uow(), mid)
    assert (m.state, m.approved_by, m.sent_to) == ("sent", ANA, ["management", "sales",
                                                                   "tech"])
    first, second = m.decisions
    assert first.work is not None and first.work.startswith("W-")  # Olga is in marketing
    assert second.work is not None and second.work.startswith("H-")  # Tom is not: a handoff
    # Olga holds her step from the start; the handoff waits for tech to accept it
    assert (first.state, second.state, first.departments) == ("in hand", "open",
                                                              ["sales", "marketing"])
    with db.uow() as u:
        item = u.session.get(WorkItem, int(first.work[2:]))
        assert (item.assignee_email, item.department) == (OLGA, "marketing")
        assert item.due_at is not None and item.due_at.date() == clock.today() + timedelta(20)
        read = u.session.exec(select(WorkItem).where(
            col(WorkItem.process_id) == pid, col(WorkItem.form_name) == "MinutesRead")).all()
        assert sorted(i.department for i in read) == ["management", "sales", "tech"]
        told = {o.department for o in u.session.exec(select(OutboxMessage))
                if "Minutes of the quarterly" in o.subject}
    assert {"management", "sales", "tech"} <= told
    work.complete(db.uow(), item.id, actor_email=OLGA, data={})
    handoffs.act(db.uow(), int(second.work[2:]), "accept", actor_email=HANA)
    m = meetings.show_meeting(db.uow(), mid)
    assert [d.state for d in m.decisions] == ["done", "in hand"] and m.done == 1
    # sending again (a re-run) makes nothing twice
    again = meetings.send_minutes(db.uow(), mid)
    assert [d["work"] for d in again["decisions"]] == [first.work, second.work]


def test_minutes_breaking_the_rules_are_refused_at_completion(db: Any,
                                                              clock: FrozenClock) -> None:
    period = period_of(clock.today(), Frequency.QUARTERLY)
    run = cycles.begin_cycle(db.uow(), cycle="quarterly-meeting", period=period)
    assert run.process_id is not None
    minutes = _step(db, run.process_id, "minutes-1", "MeetingMinutes")
    bad = [{"text": "Hire a mascot", "owner": "nobody@example.com",
            "due": (clock.today() - timedelta(days=1)).isoformat(),
            "departments": ["moon"]}]
    with pytest.raises(FormInvalid) as refused:
        _answer(db, minutes, OLGA, {"held_on": (clock.today() + timedelta(days=1)).isoformat(),
                                    "decisions": bad})
    text = str(refused.value)
    assert "held_on: " in text and "is after today" in text
    assert "decisions.0.owner: nobody@example.com is not an active member" in text
    assert "decisions.0.departments: unknown department 'moon'" in text
    with pytest.raises(FormInvalid, match="decisions: the minutes record at least one"):
        work.complete(db.uow(), minutes, actor_email=OLGA,
                      data={"held_on": clock.today().isoformat(), "decisions": []})
    with db.uow() as u:
        assert u.session.get(WorkItem, minutes).state == "claimed"  # nothing was written


def test_minutes_are_read_by_marketing_management_and_the_departments_named(
        db: Any, clock: FrozenClock) -> None:
    mid, _ = hold(db, clock)
    for reader in (OLGA, MARIA, TOM, HANA, CARLOS):  # sales is named by decision 1
        assert meetings.show_meeting(db.uow(), f"M-{mid}", reader=reader).id == mid
    only_marketing = [{"text": "Rewrite the brochure", "owner": OLGA,
                       "due": clock.today().isoformat(), "departments": []}]
    later = next_period(period_of(clock.today(), Frequency.QUARTERLY), Frequency.QUARTERLY)
    other, _ = hold(db, clock, later, only_marketing)
    with pytest.raises(NotAuthorized, match=r"may not see M-\d+: only a member of a "
                       r"department the process involves or a member of management"):
        meetings.show_meeting(db.uow(), other, reader=TOM)
    assert [m.id for m in meetings.list_meetings(db.uow(), reader=TOM)] == [mid]
    assert [m.id for m in meetings.list_meetings(db.uow(), reader=MARIA)] == [other, mid]


def test_the_next_agenda_carries_the_open_decisions(db: Any, clock: FrozenClock) -> None:
    period = period_of(clock.today(), Frequency.QUARTERLY)
    hold(db, clock, period)
    draft = meetings.agenda_draft(db.uow(), next_period(period, Frequency.QUARTERLY))
    assert "Launch the spring trade-fair plan" in draft and "Prototype display stands" in draft
    assert f"work plan of the quarter {next_period(period, Frequency.QUARTERLY)}" in draft


GRACE = "grace.liu@example.com"  # finance head: the minutes name no finance


def test_the_command_line_api_and_pages_show_the_minutes_to_who_may_read_them(
        db: Any, cli: Any, clock: FrozenClock) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import as_member, member_api, serving
    from tests.integration.web_support import Browser

    mid, _ = hold(db, clock)
    ref = f"M-{mid}"
    listed = cli("meeting", "list", "--as", TOM, "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [(m["ref"], m["state"], m["done"]) for m in listed.json()] == [(ref, "sent", 0)]
    shown = cli("meeting", "show", ref, "--as", CARLOS).stdout
    assert "Launch the spring trade-fair plan" in shown and "Sent to management, sales, tech" \
        in shown
    assert cli("meeting", "show", ref, "--as", GRACE, "--json").exit_code == 1
    for bad, code, words in ((("show", "X-1"), 2, "names no meeting"),
                             (("list", "--kind", "weekly"), 2,
                              "kind: a meeting is quarterly or annual")):
        refused = cli("meeting", *bad)
        assert (refused.exit_code, words in refused.stderr) == (code, True), refused.stderr

    app = create_app(db.engine, settings=Settings())
    with member_api(db, app, MARIA) as api:
        body = api.get(f"/meetings/{ref}").json()
        assert [d["owner"] for d in body["decisions"]] == [OLGA, TOM]
        assert api.get(f"/meetings/{ref}", headers=as_member(GRACE)).status_code == 403
        assert api.get("/meetings/M-999999").status_code == 404
        assert [m["ref"] for m in api.get("/meetings", params={"kind": "annual"}).json()] == []

    with serving(app) as url:
        tom, grace = Browser(url), Browser(url)
        try:
            tom.sign_in(db, TOM)
            grace.sign_in(db, GRACE)
            assert ref in tom.get("/meetings").text
            page = tom.get(f"/meetings/{ref}").text
            assert "Prototype display stands" in page and "/handoffs/" in page
            assert ref not in grace.get("/meetings").text
            assert grace.get(f"/meetings/{ref}").status_code == 403
        finally:
            tom.client.close()
            grace.client.close()
