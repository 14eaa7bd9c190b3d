"""The handoff ledger on SQLite and PostgreSQL, with medians and rates worked out by hand."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mktflow.engine import handoffs, processes, work
from mktflow.engine.reports import handoff_ledger

OLGA = "olga.petrova@example.com"  # marketing
HEAD = "ana.torres@example.com"  # marketing head
TOM = "tom.berg@example.com"  # tech
OMAR = "omar.haddad@example.com"  # finance
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def at(hours: float) -> Callable[[], datetime]:
    return lambda: T0 + timedelta(hours=hours)


class Script:
    """Engine commands, each at a chosen hour after T0."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def offer(self, h: float, to: str, due_h: float, title: str = "work") -> int:
        item = handoffs.offer(self.db.uow(at(h)), actor_email=OLGA, from_department="marketing",
                              to_department=to, title=title, due_at=T0 + timedelta(hours=due_h))
        assert item.id is not None
        return item.id

    def act(self, h: float, hid: int, action: str, actor: str, reason: str | None = None) -> None:
        handoffs.act(self.db.uow(at(h)), hid, action, actor_email=actor, reason=reason)

    def step(self, process: str, step_key: str | None, start_h: float, end_h: float,
             title: str = "step") -> None:
        pid = None
        if process:
            p = processes.start_process(self.db.uow(at(start_h)), process=process,
                                        business_key=f"{process}-{uuid.uuid4().hex[:8]}",
                                        owner_email=HEAD)
            pid = p.id
        item = work.create_work_item(self.db.uow(at(start_h)), actor_email=HEAD,
                                     department="marketing", title=title, assignee=OLGA,
                                     process_id=pid, step_key=step_key)
        assert item.id is not None
        work.complete(self.db.uow(at(end_h)), item.id, actor_email=OLGA, data={})


@pytest.fixture
def scenario(db: Any) -> Any:
    s = Script(db)
    old = s.offer(-240, "tech", -200, "before the period")  # left out by --since
    s.act(-239, old, "reject", TOM, "too old")
    h1 = s.offer(0, "tech", 48)  # accept 2h, deliver 8h after accept, on time
    s.act(2, h1, "accept", TOM)
    s.act(10, h1, "deliver", TOM)
    s.act(11, h1, "confirm", OLGA)
    h2 = s.offer(0, "tech", 24)  # accept 4h, deliver 26h after, 6h late, returned twice
    s.act(4, h2, "accept", TOM)
    s.act(30, h2, "deliver", TOM)
    s.act(31, h2, "return", OLGA, "label missing")
    s.act(40, h2, "deliver", TOM)
    s.act(41, h2, "return", OLGA, "label missing")
    s.act(50, h2, "deliver", TOM)
    h3 = s.offer(0, "tech", 72)  # accept 10h, deliver 6h after, returned once
    s.act(10, h3, "accept", TOM)
    s.act(16, h3, "deliver", TOM)
    s.act(20, h3, "return", OLGA, "wrong size")
    s.act(22, h3, "deliver", TOM)
    h4 = s.offer(0, "tech", 24)  # rejected: not counted as overdue
    s.act(1, h4, "reject", TOM, "no capacity")
    s.offer(0, "tech", 24)  # never touched: overdue by "now" (T0 + 100h)
    h6 = s.offer(0, "finance", 24)
    s.act(1, h6, "accept", OMAR)
    s.act(3, h6, "deliver", OMAR)
    for hours in (10, 30, 20):
        s.step("campaign", "approve-budget", 0, hours)
    for hours in (5, 7):
        s.step("campaign", "brief", 0, hours)
    s.step("order-handling", "invoice", 0, 3)
    s.step("", None, 0, 1, title="Ad hoc check")
    return db


def test_ledger_per_department_pair(scenario: Any) -> None:
    ledger = handoff_ledger(scenario.uow(at(100)), since=T0.date()).as_dict()
    pairs = {(p["from"], p["to"]): p for p in ledger["pairs"]}
    assert set(pairs) == {("marketing", "tech"), ("marketing", "finance")}
    tech = pairs[("marketing", "tech")]
    assert tech["offered"] == 5
    assert tech["accepted"] == 3 and tech["median_hours_to_accept"] == 4.0  # 2, 4, 10
    assert tech["delivered"] == 3 and tech["median_hours_to_deliver"] == 8.0  # 8, 26, 6
    assert tech["rejected"] == 1 and tech["rejection_rate"] == 0.2
    assert tech["rejections_by_reason"] == [{"reason": "no capacity", "count": 1, "rate": 0.2}]
    assert tech["returned"] == 2 and tech["return_rate"] == pytest.approx(0.6667)
    assert tech["returns_by_reason"] == [
        {"reason": "label missing", "count": 2, "rate": pytest.approx(0.6667)},
        {"reason": "wrong size", "count": 1, "rate": pytest.approx(0.3333)},
    ]
    assert tech["rework_loops"] == 1
    assert (tech["with_due_date"], tech["overdue"], tech["overdue_share"]) == (4, 2, 0.5)
    finance = pairs[("marketing", "finance")]
    assert (finance["median_hours_to_accept"], finance["median_hours_to_deliver"]) == (1.0, 2.0)
    assert finance["overdue_share"] == 0.0 and finance["return_rate"] == 0.0


def test_slowest_step_of_each_process(scenario: Any) -> None:
    ledger = handoff_ledger(scenario.uow(at(100)), since=T0.date()).as_dict()
    slowest = {s["process"]: (s["step"], s["done"], s["median_hours"])
               for s in ledger["slowest_steps"]}
    assert slowest == {"campaign": ("approve-budget", 3, 20.0),
                       "order-handling": ("invoice", 1, 3.0),
                       "(no process)": ("Ad hoc check", 1, 1.0)}
    brief = [s for s in ledger["steps"] if s["step"] == "brief"]
    assert brief[0]["median_hours"] == 6.0


def test_without_since_the_older_handoff_counts(scenario: Any) -> None:
    ledger = handoff_ledger(scenario.uow(at(100))).as_dict()
    tech = next(p for p in ledger["pairs"] if p["to"] == "tech")
    assert tech["offered"] == 6 and tech["rejected"] == 2


def test_report_handoffs_command(scenario: Any, cli: Any) -> None:
    result = cli("report", "handoffs", "--since", T0.date().isoformat(), "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert {(p["from"], p["to"]) for p in data["pairs"]} == {("marketing", "tech"),
                                                            ("marketing", "finance")}
    text = cli("report", "handoffs", "--since", T0.date().isoformat())
    assert "marketing→tech" in text.stdout and "label missing x2" in text.stdout
    bad = cli("report", "handoffs", "--since", "last week")
    assert bad.exit_code == 2 and "since" in bad.stderr
