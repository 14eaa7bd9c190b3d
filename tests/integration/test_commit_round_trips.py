"""Fewer round trips per command (issue 22, target 4), the same outcomes.

A unit of work's last writes (audit and outbox INSERTs, the NOTIFY, the transaction's id) go to
PostgreSQL together; one of them failing still rolls the whole command back, raised as
SQLAlchemy raises it. Completing a step that decides no handoff reads and locks it in one query.
"""

from __future__ import annotations

import types
import uuid
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from mktflow.engine import work
from tests.conftest import Db

HEAD = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist


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
