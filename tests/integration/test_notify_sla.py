"""The SLA sweep: overdue work climbs levels 1 → 2 → 3, each level once, with audit and notices."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mktflow.domain.clock import FrozenClock
from mktflow.engine import handoffs, queries, sla, work
from mktflow.engine.organisation import set_head_away
from tests.integration.notify_support import HEAD, LINA, OLGA, TOM, channel, rows

DUE = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
POLICY = sla.EscalationPolicy(head_after=timedelta(hours=24),
                              management_after=timedelta(hours=72))


@pytest.fixture(name="process_clock", autouse=True)
def _before_due(clock: FrozenClock) -> FrozenClock:
    """The process's clock stands a month before DUE (new items may not be due in the past),
    whatever the calendar says; each sweep takes its own clock."""
    clock.set(DUE - timedelta(days=30))
    return clock


def _item(db: Any, **kw: Any) -> Any:
    return work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title=kw.pop("title", "Media plan"), due_at=DUE, **kw)


def _sweep(db: Any, clock: FrozenClock) -> sla.SweepSummary:
    return sla.sweep(db.uow(clock=clock), POLICY)


def _escalations(db: Any, ref: str) -> list[tuple[Any, ...]]:
    return [(e.actor, e.data["level"], e.changes["escalation_level"])
            for e in queries.history(db.uow(), ref) if e.action == "escalate"]


def test_overdue_work_climbs_each_level_once(db: Any) -> None:
    dept = channel(db, "marketing")
    head_own = channel(db, "marketing", "email", to="ana@example.com", member=HEAD)
    mgmt = channel(db, "management", "slack")
    item = _item(db)
    clock = FrozenClock(DUE - timedelta(minutes=1))
    assert _sweep(db, clock).escalations == []  # not due yet

    clock.advance(minutes=1)
    s1 = _sweep(db, clock)
    assert s1.escalations == [{"ref": f"W-{item.id}", "level": 1,
                               "to": "the marketing department"}]
    (m1,) = rows(db, event="work.overdue")
    assert (m1.channel_id, m1.payload["level"]) == (dept.id, 1)
    assert m1.subject == f"W-{item.id} overdue since 2027-02-01 12:00 UTC: Media plan"
    assert _sweep(db, clock).escalations == []  # same level: never twice

    clock.advance(hours=24)
    assert [e["level"] for e in _sweep(db, clock).escalations] == [2]
    (m2,) = rows(db, event="work.escalated")
    assert (m2.channel_id, m2.recipient_email) == (head_own.id, HEAD)
    assert m2.subject.startswith(f"W-{item.id} escalated to the head of marketing")

    clock.advance(hours=48)
    assert [e["level"] for e in _sweep(db, clock).escalations] == [3]
    clock.advance(days=30)
    assert _sweep(db, clock).escalations == []  # 3 is the top
    m3 = rows(db, event="work.escalated")[-1]
    assert (m3.channel_id, m3.department, m3.payload["escalated_to"]) == (
        mgmt.id, "management", "management")
    assert _escalations(db, f"W-{item.id}") == [
        ("mktflow", 1, [0, 1]), ("mktflow", 2, [1, 2]), ("mktflow", 3, [2, 3])]
    assert queries.show(db.uow(), f"W-{item.id}").escalation_level == 3


def test_held_work_reminds_the_assignee_first(db: Any) -> None:
    own = channel(db, "marketing", "email", to="olga@example.com", member=OLGA)
    item = _item(db, assignee=OLGA)
    _sweep(db, FrozenClock(DUE + timedelta(hours=1)))
    (m,) = rows(db, event="work.overdue")
    assert (m.channel_id, m.recipient_email, m.payload["escalated_to"]) == (own.id, OLGA, OLGA)
    assert m.payload["ref"] == f"W-{item.id}"


def test_a_late_first_sweep_raises_every_level_passed_in_order(db: Any) -> None:
    item = _item(db)
    summary = _sweep(db, FrozenClock(DUE + timedelta(days=5)))
    assert [e["level"] for e in summary.escalations] == [1, 2, 3]
    assert summary.by_level() == {1: 1, 2: 1, 3: 1}
    sent = sorted((m.payload["level"], m.event, m.department) for m in rows(db)
                  if m.payload.get("level"))
    assert sent == [(1, "work.overdue", "marketing"), (2, "work.escalated", "marketing"),
                    (3, "work.escalated", "management")]
    assert len(_escalations(db, f"W-{item.id}")) == 3


def test_level_two_reaches_the_delegate_while_the_head_is_away(
        db: Any, process_clock: FrozenClock) -> None:
    lina_own = channel(db, "marketing", "email", to="lina@example.com", member=LINA)
    _item(db)
    today = process_clock.today()
    set_head_away(db.uow(), "marketing", delegate=LINA, start=today - timedelta(days=1),
                  until=today + timedelta(days=1), actor_email=HEAD)
    clock = FrozenClock(process_clock.now())
    item_due_long_ago = _item(db, title="Overdue approval")
    with db.uow() as u:  # make it 25 h overdue relative to the fake clock
        row = u.session.get(type(item_due_long_ago), item_due_long_ago.id)
        row.due_at = clock() - timedelta(hours=25)
        u.session.add(row)
        u.commit()
    _sweep(db, clock)
    level2 = [m for m in rows(db, event="work.escalated")
              if m.payload["ref"] == f"W-{item_due_long_ago.id}"]
    assert {(m.recipient_email, m.channel_id) for m in level2} >= {(LINA, lina_own.id)}
    lina = next(m for m in level2 if m.recipient_email == LINA)
    assert lina.payload["on_behalf_of"] == HEAD


def test_a_new_due_date_starts_escalation_afresh(db: Any) -> None:
    item = _item(db)
    clock = FrozenClock(DUE + timedelta(hours=30))
    _sweep(db, clock)
    assert queries.show(db.uow(), f"W-{item.id}").escalation_level == 2
    work.update(db.uow(), item.id, actor_email=HEAD, due_at=clock() + timedelta(hours=2))
    assert _sweep(db, clock).escalations == []
    clock.advance(hours=3)
    assert [e["level"] for e in _sweep(db, clock).escalations] == [1]


def test_overdue_handoffs_escalate_and_finished_work_does_not(db: Any) -> None:
    tech = channel(db, "tech")
    h = handoffs.offer(db.uow(), actor_email=OLGA, from_department="marketing",
                       to_department="tech", title="Prototype", due_at=DUE)
    delivered = handoffs.offer(db.uow(), actor_email=OLGA, from_department="marketing",
                               to_department="tech", title="Specs", due_at=DUE)
    handoffs.accept(db.uow(), delivered.id, actor_email=TOM)
    handoffs.deliver(db.uow(), delivered.id, actor_email=TOM)
    done = _item(db, assignee=OLGA)
    work.complete(db.uow(), done.id, actor_email=OLGA)
    summary = _sweep(db, FrozenClock(DUE + timedelta(hours=1)))
    assert summary.escalations == [{"ref": f"H-{h.id}", "level": 1,
                                    "to": "the tech department"}]
    (m,) = rows(db, event="handoff.overdue")
    assert (m.channel_id, m.department) == (tech.id, "tech")


def test_two_sweeps_at_once_escalate_once(db: Any) -> None:
    items = [_item(db, title=f"Step {i}") for i in range(5)]
    clock = FrozenClock(DUE + timedelta(hours=1))
    barrier = threading.Barrier(2)
    results: list[sla.SweepSummary] = []

    def run() -> None:
        barrier.wait()
        results.append(_sweep(db, clock))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(len(r.escalations) for r in results) == 5
    for item in items:
        assert len(_escalations(db, f"W-{item.id}")) == 1
    assert len(rows(db, event="work.overdue")) == 5


def test_one_sweep_of_many_items_tells_each_one_by_its_own_routes(db: Any) -> None:
    """Recipients, heads and routes are looked up once per sweep (issue 22): a sweep of many
    items tells each one's audience as a sweep of that item alone would, and stores each level."""
    own = channel(db, "marketing", "email", to="olga@example.com", member=OLGA)
    dept = channel(db, "marketing")
    head_own = channel(db, "marketing", "email", to="ana@example.com", member=HEAD)
    held = [_item(db, title=f"Held {i}", assignee=OLGA) for i in range(3)]
    queue = [_item(db, title=f"Queue {i}") for i in range(3)]
    summary = _sweep(db, FrozenClock(DUE + timedelta(hours=30)))
    assert summary.by_level() == {1: 6, 2: 6, 3: 0}
    told = sorted((m.event, m.payload["ref"], m.channel_id, m.recipient_email)
                  for m in rows(db) if m.payload.get("level"))
    assert told == sorted(
        [("work.overdue", f"W-{i.id}", own.id, OLGA) for i in held]
        + [("work.overdue", f"W-{i.id}", dept.id, None) for i in queue]
        + [("work.escalated", f"W-{i.id}", head_own.id, HEAD) for i in held + queue])
    assert {queries.show(db.uow(), f"W-{i.id}").escalation_level for i in held + queue} == {2}
    assert _sweep(db, FrozenClock(DUE + timedelta(hours=31))).escalations == []
