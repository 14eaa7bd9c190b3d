"""The paged inbox: SQL order (overdue first, due, priority, id), keyset cursors, filters."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest

from mktflow.domain import clock as clocks
from mktflow.domain.errors import BadInput, NotFound
from mktflow.engine import handoffs, processes, queries, work

HEAD = "ana.torres@example.com"
OLGA = "olga.petrova@example.com"
LINA = "li.na@example.com"
TOM = "tom.berg@example.com"  # tech
NOW = clocks.now().replace(microsecond=0)


def _item(db: Any, title: str, due: datetime | None = None, priority: int = 50,
          **kw: Any) -> int:
    return int(work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                     title=title, due_at=due, priority=priority, **kw).id)


def _walk(fetch: Any, limit: int) -> list[str]:
    refs: list[str] = []
    cursor = None
    for _ in range(100):
        page = fetch(limit=limit, cursor=cursor)
        assert len(page.rows) <= limit
        refs += [r.ref for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            return refs
        assert page.rows, "a page with a next cursor has rows"
    raise AssertionError("the cursor never ran out")


@pytest.fixture
def queue(db: Any) -> dict[str, Any]:
    """Marketing's queue: overdue, due later, ties on due time and priority, no due time,
    a handoff offered to it (overdue and not) and one it waits to confirm."""
    same = NOW + timedelta(days=3)
    ids = {
        "late2": _item(db, "late by two days", NOW - timedelta(days=2)),
        "late1": _item(db, "late by a day", NOW - timedelta(days=1), priority=10),
        "tie_lo": _item(db, "tie, low", same, priority=20),
        "tie_hi": _item(db, "tie, high", same, priority=90),
        "tie_hi2": _item(db, "tie, high, later id", same, priority=90),
        "soon": _item(db, "soon", NOW + timedelta(hours=5)),
        "nodue_lo": _item(db, "no due, low", None, priority=5),
        "nodue_hi": _item(db, "no due, high", None, priority=95),
    }
    hand = {
        "h_late": handoffs.offer(db.uow(), actor_email=TOM, from_department="tech",
                                 to_department="marketing", title="Spec review (late)",
                                 due_at=NOW - timedelta(hours=30)).id,
        "h_tie": handoffs.offer(db.uow(), actor_email=TOM, from_department="tech",
                                to_department="marketing", title="Spec review (tie)",
                                due_at=same).id,
    }
    sent = handoffs.offer(db.uow(), actor_email=HEAD, from_department="marketing",
                          to_department="tech", title="Prototype", due_at=NOW - timedelta(days=5))
    handoffs.accept(db.uow(), sent.id, actor_email=TOM)
    handoffs.deliver(db.uow(), sent.id, actor_email=TOM)
    hand["h_awaiting"] = sent.id
    done = _item(db, "finished, not listed")
    work.claim(db.uow(), done, actor_email=OLGA)
    work.complete(db.uow(), done, actor_email=OLGA)
    refs = {k: f"W-{v}" for k, v in ids.items()} | {k: f"H-{v}" for k, v in hand.items()}
    return refs


def test_pages_walk_the_whole_inbox_in_sql_order(db: Any, queue: dict[str, str]) -> None:
    expected = [queue[k] for k in ["late2", "h_late", "late1",  # overdue, by due time
                                   # not overdue: the awaiting handoff is never overdue
                                   "h_awaiting", "soon",
                                   # same due time: priority (a handoff counts as 50), id
                                   "tie_hi", "tie_hi2", "h_tie", "tie_lo",
                                   "nodue_hi", "nodue_lo"]]
    whole = queries.inbox_page(db.uow(), "marketing", limit=200)
    assert [r.ref for r in whole.rows] == expected and whole.next_cursor is None
    for size in (1, 2, 3, 4, 10):
        assert _walk(lambda **kw: queries.inbox_page(db.uow(), "marketing", **kw),
                     size) == expected, size
    # the same set as the unpaged inbox
    assert set(expected) == {e.ref for e in queries.inbox(db.uow(), "marketing")}
    overdue = {r.ref: r.overdue for r in whole.rows}
    assert [k for k, v in overdue.items() if v] == expected[:3]
    awaiting = next(r for r in whole.rows if r.ref == queue["h_awaiting"])
    assert awaiting.awaiting == "confirmation"


def test_work_and_handoff_pages_on_their_own(db: Any, queue: dict[str, str]) -> None:
    w = _walk(lambda **kw: queries.work_page(db.uow(), "marketing", **kw), 3)
    assert w == [queue[k] for k in ["late2", "late1", "soon", "tie_hi", "tie_hi2", "tie_lo",
                                    "nodue_hi", "nodue_lo"]]
    h = _walk(lambda **kw: queries.handoff_page(db.uow(), "marketing", **kw), 1)
    assert h == [queue["h_late"], queue["h_awaiting"], queue["h_tie"]]


def test_rows_are_light(db: Any, queue: dict[str, str]) -> None:
    rows = queries.inbox_page(db.uow(), "marketing").rows
    for row in rows:
        fields = {f.name for f in dataclasses.fields(row)}
        assert {"form_schema", "data", "draft", "description", "criteria"}.isdisjoint(fields)
        assert {"id", "ref", "kind", "state", "title", "due", "overdue", "process",
                "step_key"} <= fields


def test_filters(db: Any, queue: dict[str, str]) -> None:
    def refs(**kw: Any) -> list[str]:
        return [r.ref for r in queries.inbox_page(db.uow(), "marketing", **kw).rows]

    assert refs(overdue=True) == [queue["late2"], queue["h_late"], queue["late1"]]
    assert queue["late2"] not in refs(overdue=False) and queue["soon"] in refs(overdue=False)
    work.claim(db.uow(), int(queue["soon"][2:]), actor_email=OLGA)
    assert refs(states=["claimed"]) == [queue["soon"]]
    assert refs(states=["delivered"]) == [queue["h_awaiting"]]
    assert [r for r in refs(member=OLGA) if r.startswith("W-")] == [queue["soon"]]
    p = processes.start_process(db.uow(), process="campaign", business_key="CMP-PAGE",
                                owner_email=HEAD)
    mine = _item(db, "in the process", NOW + timedelta(days=9), process_id=p.id)
    assert refs(process="CMP-PAGE") == [f"W-{mine}"]
    assert refs(process=f"P-{p.id}") == [f"W-{mine}"]
    row = queries.inbox_page(db.uow(), "marketing", process="CMP-PAGE").rows[0]
    assert row.process == "CMP-PAGE"


def test_a_cursor_is_stable_while_items_come_and_go(db: Any, queue: dict[str, str]) -> None:
    first = queries.inbox_page(db.uow(), "marketing", limit=4)
    assert first.next_cursor
    # a new item that sorts before the cursor is not pushed into the next page ...
    early = _item(db, "new and very late", NOW - timedelta(days=30))
    # ... one that sorts after it is
    later = _item(db, "new, no due time", None, priority=1)
    rest = _walk(lambda **kw: queries.inbox_page(db.uow(), "marketing", **kw), 4)
    assert f"W-{early}" in rest  # a fresh walk sees it
    page2 = queries.inbox_page(db.uow(), "marketing", limit=200, cursor=first.next_cursor)
    seen = [r.ref for r in first.rows] + [r.ref for r in page2.rows]
    assert f"W-{early}" not in seen and f"W-{later}" in seen
    assert len(seen) == len(set(seen))


def test_refusals_name_the_field(db: Any, queue: dict[str, str]) -> None:
    page = queries.inbox_page(db.uow(), "marketing", limit=2)
    assert page.next_cursor
    with pytest.raises(BadInput, match=r"^cursor: it belongs to another inbox query"):
        queries.inbox_page(db.uow(), "marketing", overdue=True, cursor=page.next_cursor)
    with pytest.raises(BadInput, match=r"^cursor: it belongs to another"):
        queries.work_page(db.uow(), "marketing", cursor=page.next_cursor)
    with pytest.raises(BadInput, match=r"^cursor: not a cursor"):
        queries.inbox_page(db.uow(), "marketing", cursor="not-a-cursor")
    with pytest.raises(BadInput, match=r"^limit: must be a whole number from 1 to 200"):
        queries.inbox_page(db.uow(), "marketing", limit=0)
    with pytest.raises(BadInput, match=r"^limit"):
        queries.inbox_page(db.uow(), "marketing", limit=201)
    with pytest.raises(BadInput, match=r"^state: 'done' is not a state an inbox lists"):
        queries.work_page(db.uow(), "marketing", states=["done"])
    with pytest.raises(NotFound, match=r"^department: unknown department 'nowhere'"):
        queries.inbox_page(db.uow(), "nowhere")
    with pytest.raises(NotFound, match=r"^process: no process"):
        queries.inbox_page(db.uow(), "marketing", process="NO-SUCH")


def test_sqlite_and_postgresql_read_the_queue_from_its_partial_index(db: Any) -> None:
    from sqlalchemy import text

    from mktflow.engine.inbox import _states_in
    from mktflow.store.tables import WorkItem

    where = _states_in(WorkItem.__table__.c.state, ("open", "claimed", "delegated"))  # type: ignore[attr-defined]
    sql = str(where.compile(db.engine))
    query = (f"SELECT id FROM workitem WHERE department = 'marketing' AND {sql} "
             "AND due_at IS NOT NULL ORDER BY due_at, priority DESC, id LIMIT 51")
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + query)))
        else:
            conn.execute(text("SET enable_seqscan = off"))
            plan = " ".join(r[0] for r in conn.execute(text("EXPLAIN " + query)))
    assert "ix_workitem_inbox" in plan, plan
