"""Every allowed and every forbidden transition, through the real engine, on SQLite and PostgreSQL.

Each case builds an item in the starting state with engine commands, then tries the action as
a member who is allowed to do it (so only the state decides), and checks the resulting state,
the audit trail, and that a refusal left nothing behind.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from mktflow.domain.errors import TransitionRefused
from mktflow.engine import handoffs, work
from mktflow.store.tables import Handoff, WorkItem
from tests.dates import date_ahead
from tests.unit.test_domain_rules import EXPECTED_HANDOFF, EXPECTED_WORK

HEAD = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
LINA = "li.na@example.com"  # marketing deputy
TECH = "tom.berg@example.com"  # tech specialist
#: A due time forty days ahead of the session's first day, at noon UTC.
DUE = datetime.combine(date_ahead(40), time(12), tzinfo=UTC)


def _work_in(db: Any, state: str) -> int:
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title=f"step in {state}")
    assert item.id is not None
    wid = item.id
    if state in ("claimed", "delegated", "done"):
        work.claim(db.uow(), wid, actor_email=OLGA)
    if state == "delegated":
        work.delegate(db.uow(), wid, to=LINA, actor_email=OLGA)
    if state == "done":  # another answer than the table's complete sends: not a repeat
        work.complete(db.uow(), wid, actor_email=OLGA, data={"note": "first answer"})
    if state == "cancelled":
        work.cancel(db.uow(), wid, actor_email=HEAD, reason="not needed")
    return wid


WORK_ACTIONS: dict[str, Callable[[Any, int], Any]] = {
    "claim": lambda db, i: work.claim(db.uow(), i, actor_email=LINA),
    "release": lambda db, i: work.release(db.uow(), i, actor_email=OLGA),
    "assign": lambda db, i: work.assign(db.uow(), i, to=OLGA, actor_email=HEAD),
    "delegate": lambda db, i: work.delegate(db.uow(), i, to=LINA, actor_email=OLGA),
    "resolve": lambda db, i: work.resolve(db.uow(), i, actor_email=LINA),
    "complete": lambda db, i: work.complete(db.uow(), i, actor_email=OLGA, data={}),
    "cancel": lambda db, i: work.cancel(db.uow(), i, actor_email=HEAD, reason="stop"),
    "update": lambda db, i: work.update(db.uow(), i, actor_email=HEAD, priority=90),
    "comment": lambda db, i: work.comment(db.uow(), i, actor_email=OLGA, text="note"),
}


def _handoff_in(db: Any, state: str) -> int:
    h = handoffs.offer(db.uow(), actor_email=OLGA, from_department="marketing",
                       to_department="tech", title=f"handoff in {state}", due_at=DUE)
    assert h.id is not None
    hid = h.id
    path = {
        "offered": [], "accepted": ["accept"], "rejected": ["reject"],
        "delivered": ["accept", "deliver"], "returned": ["accept", "deliver", "return"],
        "confirmed": ["accept", "deliver", "confirm"], "cancelled": ["cancel"],
    }[state]
    for action in path:
        HANDOFF_ACTIONS[action](db, hid)
    return hid


def _act(action: str, who: str) -> Callable[[Any, int], Any]:
    return lambda db, i: handoffs.act(db.uow(), i, action, actor_email=who, reason="because")


HANDOFF_ACTIONS: dict[str, Callable[[Any, int], Any]] = {
    "accept": _act("accept", TECH),
    "reject": _act("reject", TECH),
    "deliver": _act("deliver", TECH),
    "confirm": _act("confirm", OLGA),
    "return": _act("return", OLGA),
    "cancel": _act("cancel", OLGA),
    "update": lambda db, i: handoffs.update_due(db.uow(), i, actor_email=OLGA,
                                                due_at=DUE + timedelta(days=7)),
    "comment": lambda db, i: handoffs.comment(db.uow(), i, actor_email=TECH, text="note"),
}

WORK_CASES = [(a, s, EXPECTED_WORK[a].get(s)) for a, s in itertools.product(
    WORK_ACTIONS, ["open", "claimed", "delegated", "done", "cancelled"])]
HANDOFF_CASES = [(a, s, EXPECTED_HANDOFF[a].get(s)) for a, s in itertools.product(
    HANDOFF_ACTIONS, ["offered", "accepted", "rejected", "delivered", "returned", "confirmed",
                      "cancelled"])]


def _check(db: Any, model: type, item_id: int, act: Callable[[], Any], to: str | None,
           start: str) -> None:
    audits, outbox = db.count("auditentry"), db.count("outboxmessage")
    if to is None:
        with pytest.raises(TransitionRefused, match=f"it is {start}"):
            act()
        assert (db.count("auditentry"), db.count("outboxmessage")) == (audits, outbox)
        expected = start
    else:
        act()
        assert db.count("auditentry") == audits + 1
        expected = to
    with db.uow() as u:
        assert u.session.get(model, item_id).state == expected


@pytest.mark.parametrize(("action", "state", "to"), WORK_CASES,
                         ids=[f"{a}-{s}" for a, s, _ in WORK_CASES])
def test_work_item_transitions(module_db: Any, action: str, state: str, to: str | None) -> None:
    wid = _work_in(module_db, state)
    _check(module_db, WorkItem, wid, lambda: WORK_ACTIONS[action](module_db, wid), to, state)


@pytest.mark.parametrize(("action", "state", "to"), HANDOFF_CASES,
                         ids=[f"{a}-{s}" for a, s, _ in HANDOFF_CASES])
def test_handoff_transitions(module_db: Any, action: str, state: str, to: str | None) -> None:
    hid = _handoff_in(module_db, state)
    _check(module_db, Handoff, hid, lambda: HANDOFF_ACTIONS[action](module_db, hid), to, state)


def test_reassign_all_moves_claimed_and_delegated_items_only(module_db: Any) -> None:
    db = module_db
    sofia = "sofia.lopez@example.com"
    marco = "marco.rossi@example.com"
    claimed = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                    title="held", assignee=sofia)
    delegated = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                      title="delegated to sofia", assignee=OLGA)
    work.delegate(db.uow(), delegated.id, to=sofia, actor_email=OLGA)
    done = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="finished", assignee=sofia)
    work.complete(db.uow(), done.id, actor_email=sofia, data={})
    moved = work.reassign_all(db.uow(), from_email=sofia, to_email=marco, actor_email=HEAD)
    assert sorted(i.id for i in moved) == sorted([claimed.id, delegated.id])
    with db.uow() as u:
        assert u.session.get(WorkItem, claimed.id).assignee_email == marco
        item = u.session.get(WorkItem, delegated.id)
        assert (item.state, item.assignee_email, item.owner_email) == ("delegated", marco, OLGA)
        assert u.session.get(WorkItem, done.id).assignee_email == sofia
