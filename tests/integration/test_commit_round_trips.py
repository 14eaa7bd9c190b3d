"""Fewer round trips per command (issue 22, target 4), the same outcomes.

A unit of work's last writes (audit and outbox INSERTs, the NOTIFY, the transaction's id) go to
PostgreSQL together, with the changed row's UPDATE; one of them failing still rolls the whole
command back, raised as SQLAlchemy raises it. Completing a step that decides no handoff reads and
locks it in one query; moving a handoff of no process asks nothing of complaints or leads.
"""

from __future__ import annotations

import types
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from mktflow.domain.errors import BadInput, NotAuthorized, NotFound
from mktflow.engine import handoffs, work
from mktflow.store.tables import WorkItem
from tests.conftest import Db

HEAD = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
TOM = "tom.berg@example.com"  # tech


def _statements(db: Db, act: Any) -> list[str]:
    """The SQL statements ``act()`` sends, in order (their first words)."""
    seen: list[str] = []

    def on(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()[:4]))

    event.listen(db.engine, "before_cursor_execute", on)
    try:
        act()
    finally:
        event.remove(db.engine, "before_cursor_execute", on)
    return seen


def test_a_notice_that_cannot_be_written_rolls_the_whole_command_back(
        db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    work.create_work_item(db.uow(), actor_email=HEAD, department="marketing", title="Brief")
    with db.engine.connect() as conn:
        taken = conn.execute(text("SELECT id FROM outboxmessage")).scalar_one()
    items, entries = db.count("workitem"), db.count("auditentry")
    # the next notice gets the id of the first: its INSERT fails when the commit sends it
    monkeypatch.setattr(uuid, "uuid4", lambda: types.SimpleNamespace(hex=taken))
    with pytest.raises(IntegrityError):
        work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                              title="Second brief")
    monkeypatch.undo()
    assert (db.count("workitem"), db.count("auditentry"), db.count("outboxmessage")) == (
        items, entries, 1)
    made = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Second brief")  # the pool's connection still works
    assert made.id is not None and db.count("outboxmessage") == 2


def test_completing_a_plain_step_reads_and_locks_it_in_one_query(db: Db) -> None:
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Brief", assignee=OLGA)
    seen: list[str] = []

    def on(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM workitem" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", on)
    try:
        done = work.complete(db.uow(), item.id, actor_email=OLGA, data={})
    finally:
        event.remove(db.engine, "before_cursor_execute", on)
    assert done.state == "done"
    assert len(seen) == 1 and "NOT (EXISTS" in seen[0], seen


def test_moving_a_plain_handoff_writes_its_row_once_and_asks_nothing_else(db: Db) -> None:
    offered = handoffs.offer(db.uow(), actor_email=OLGA, from_department="marketing",
                             to_department="tech", title="Prototype", due_at=None)
    for action, who, state in (("accept", TOM, "accepted"), ("deliver", TOM, "delivered")):
        sent = _statements(db, lambda a=action, w=who: handoffs.act(
            db.uow(), offered.id, a, actor_email=w))
        assert [s for s in sent if s.startswith("UPDATE")] == [
            "UPDATE handoff SET state=%(state)s::VARCHAR," if db.kind == "postgresql"
            else "UPDATE handoff SET state=?,"], sent
        assert not [s for s in sent if "complaint" in s or "lead" in s], sent
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT state FROM handoff WHERE id = :i"),
                                {"i": offered.id}).scalar_one() == state


def test_a_row_changed_again_after_a_commit_is_written_by_the_next(db: Db) -> None:
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Brief")
    uow = db.uow()
    with uow:
        row = uow.session.get(WorkItem, item.id)
        row.title = "Brief, first"
        uow.audit(actor=HEAD, entity_type="work", entity_id=item.id, action="update")
        uow.commit()
        assert not uow.session.dirty  # written: the COMMIT's flush has nothing to add
        row.title = "Brief, second"
        uow.audit(actor=HEAD, entity_type="work", entity_id=item.id, action="update")
        uow.commit()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM workitem WHERE id = :i"),
                            {"i": item.id}).scalar_one() == "Brief, second"


def test_a_changed_value_over_its_limit_is_refused_and_nothing_is_written(db: Db) -> None:
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Brief")
    entries = db.count("auditentry")
    uow = db.uow()
    with pytest.raises(BadInput, match="title"), uow:
        row = uow.session.get(WorkItem, item.id)
        row.title = "x" * 301
        uow.audit(actor=HEAD, entity_type="work", entity_id=item.id, action="update")
        uow.commit()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM workitem WHERE id = :i"),
                            {"i": item.id}).scalar_one() == "Brief"
    assert db.count("auditentry") == entries


def test_a_handoff_is_locked_with_who_acts_and_the_channels_it_tells_in_one_query(
        db: Db) -> None:
    from tests.integration.notify_support import channel

    made = [channel(db, "marketing", "email", to=f"team{i}@example.com").id for i in range(3)]
    channel(db, "marketing", "email", member=OLGA, to="olga@example.com")  # hers, not the team's
    offered = handoffs.offer(db.uow(), actor_email=OLGA, from_department="marketing",
                             to_department="tech", title="Prototype", due_at=None)
    sent = _statements(db, lambda: handoffs.accept(db.uow(), offered.id, actor_email=TOM))
    selects = [s for s in sent if s.startswith("SELECT")]
    assert len(selects) == 1 and selects[0].startswith("SELECT handoff.id"), sent
    with db.engine.connect() as conn:
        told = conn.execute(text(
            "SELECT channel_id FROM outboxmessage WHERE event = 'handoff.accepted' "
            "ORDER BY channel_id")).scalars().all()
    assert told == sorted(made)  # the offering department's own channels, each once


def test_someone_who_is_no_member_is_refused_by_the_lock_that_reads_them(db: Db) -> None:
    offered = handoffs.offer(db.uow(), actor_email=OLGA, from_department="marketing",
                             to_department="tech", title="Prototype", due_at=None)
    entries = db.count("auditentry")
    with pytest.raises(NotFound, match=r"nobody@example\.com"):
        handoffs.accept(db.uow(), offered.id, actor_email="nobody@example.com")
    with pytest.raises(NotFound, match="H-999999"):
        handoffs.accept(db.uow(), 999999, actor_email=TOM)
    assert db.count("auditentry") == entries
    assert handoffs.accept(db.uow(), offered.id, actor_email=" Tom.Berg@example.com ").state \
        == "accepted"


def test_new_work_reads_its_department_and_who_acts_in_one_query(db: Db) -> None:
    from mktflow.domain import clock as clocks
    from mktflow.engine.organisation import set_head_away

    lina = "li.na@example.com"  # marketing, not a head
    with pytest.raises(NotAuthorized, match="may not create work for tech"):
        work.create_work_item(db.uow(), actor_email=lina, department="tech", title="Specs")
    today = clocks.now().date()
    set_head_away(db.uow(), "marketing", delegate=lina, start=today - timedelta(days=1),
                  until=today + timedelta(days=3), actor_email=HEAD)
    sent = _statements(db, lambda: work.create_work_item(
        db.uow(), actor_email=lina, department="tech", title="Specs"))  # as the head's delegate
    selects = [s for s in sent if s.startswith("SELECT")]
    assert len(selects) == 1 and selects[0].startswith("SELECT department.code"), sent
    with pytest.raises(NotFound, match="unknown department"):
        work.create_work_item(db.uow(), actor_email=lina, department="nowhere", title="Specs")
