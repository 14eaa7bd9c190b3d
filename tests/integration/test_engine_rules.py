"""Authorization, forms, four eyes, atomicity and concurrent claims, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from mktflow.domain import clock as clocks
from mktflow.domain.errors import (
    BadInput,
    Conflict,
    FormInvalid,
    NotAuthorized,
    NotFound,
    TransitionRefused,
)
from mktflow.engine import handoffs, processes, queries, work
from mktflow.engine.organisation import set_head_away
from mktflow.store.tables import OutboxMessage, WorkItem

HEAD = "ana.torres@example.com"
LINA = "li.na@example.com"
OLGA = "olga.petrova@example.com"
MARCO = "marco.rossi@example.com"  # marketing, north branch
SOFIA = "sofia.lopez@example.com"  # marketing, south branch
TOM = "tom.berg@example.com"  # tech
FORM = {
    "type": "object",
    "properties": {"budget": {"type": "number", "minimum": 0},
                   "channel": {"type": "string", "enum": ["tv", "web"]}},
    "required": ["budget", "channel"],
}


def _item(db: Any, **kw: Any) -> WorkItem:
    return work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title=kw.pop("title", "Plan the launch"), **kw)


def _snapshot(db: Any) -> tuple[int, int]:
    return db.count("auditentry"), db.count("outboxmessage")


def test_refusals_name_who_what_and_why(db: Any) -> None:
    item = _item(db)
    with pytest.raises(NotAuthorized) as info:
        work.claim(db.uow(), item.id, actor_email=TOM)
    assert str(info.value) == (
        f"{TOM} (tech) may not claim W-{item.id} (marketing): "
        "only a member of the owning department may")


def test_branch_members_act_only_within_their_branch(db: Any) -> None:
    south = _item(db, branch="south")
    with pytest.raises(NotAuthorized, match="belongs to branch south"):
        work.claim(db.uow(), south.id, actor_email=MARCO)
    assert work.claim(db.uow(), south.id, actor_email=SOFIA).assignee_email == SOFIA
    hq_item = _item(db)
    with pytest.raises(NotAuthorized, match=r"sofia\.lopez@example\.com: they are in branch south, "
                                            r"the item belongs to branch north"):
        work.assign(db.uow(), _item(db, branch="north").id, to=SOFIA, actor_email=HEAD)
    assert work.claim(db.uow(), hq_item.id, actor_email=OLGA).state == "claimed"


def test_only_head_or_active_delegate_assigns(db: Any) -> None:
    item = _item(db)
    with pytest.raises(NotAuthorized, match="only the head of the owning department"):
        work.assign(db.uow(), item.id, to=OLGA, actor_email=LINA)
    today = clocks.now().date()
    set_head_away(db.uow(), "marketing", delegate=LINA, start=today - timedelta(days=1),
                  until=today + timedelta(days=3), actor_email=HEAD)
    assert work.assign(db.uow(), item.id, to=OLGA, actor_email=LINA).assignee_email == OLGA
    set_head_away(db.uow(), "marketing", delegate=None, start=None, until=None,
                  actor_email=HEAD)
    with pytest.raises(NotAuthorized, match=r"li\.na@example\.com \(marketing\) may not assign W-"):
        work.assign(db.uow(), item.id, to=MARCO, actor_email=LINA)  # the head is back


def test_cannot_assign_outside_the_department(db: Any) -> None:
    item = _item(db)
    with pytest.raises(NotAuthorized, match="they are in tech, not marketing"):
        work.assign(db.uow(), item.id, to=TOM, actor_email=HEAD)


def test_only_the_holder_completes_and_delegate_resolves_back(db: Any) -> None:
    item = _item(db, assignee=OLGA)
    with pytest.raises(NotAuthorized, match="only the assignee may"):
        work.complete(db.uow(), item.id, actor_email=LINA, data={})
    work.delegate(db.uow(), item.id, to=LINA, actor_email=OLGA)
    with pytest.raises(TransitionRefused, match="it is delegated"):
        work.complete(db.uow(), item.id, actor_email=LINA, data={})
    back = work.resolve(db.uow(), item.id, actor_email=LINA)
    assert (back.state, back.assignee_email, back.owner_email) == ("claimed", OLGA, None)
    assert work.complete(db.uow(), item.id, actor_email=OLGA, data={}).state == "done"


def test_form_data_is_validated_and_bad_data_writes_nothing(db: Any) -> None:
    item = _item(db, form_schema=FORM, assignee=OLGA)
    before = _snapshot(db)
    with pytest.raises(FormInvalid) as info:
        work.complete(db.uow(), item.id, actor_email=OLGA, data={"budget": -1, "channel": "x"})
    message = str(info.value)
    assert "field 'budget': must be at least 0, got -1" in message
    assert "field 'channel'" in message
    with pytest.raises(FormInvalid, match="field 'channel': is required"):
        work.complete(db.uow(), item.id, actor_email=OLGA, data={"budget": 5})
    assert _snapshot(db) == before
    done = work.complete(db.uow(), item.id, actor_email=OLGA,
                         data={"budget": 1200, "channel": "web"})
    assert done.data == {"budget": 1200, "channel": "web"}


def test_four_eyes_keeps_excluded_members_off_the_step(db: Any) -> None:
    item = _item(db, excluded=[OLGA])
    before = _snapshot(db)
    with pytest.raises(NotAuthorized, match=f"{OLGA} may not claim W-{item.id}: .*four eyes"):
        work.claim(db.uow(), item.id, actor_email=OLGA)
    with pytest.raises(NotAuthorized, match=f"cannot assign W-{item.id} to {OLGA}: .*four eyes"):
        work.assign(db.uow(), item.id, to=OLGA, actor_email=HEAD)
    with pytest.raises(NotAuthorized, match="four eyes"):
        _item(db, excluded=[OLGA], assignee=OLGA)
    assert _snapshot(db) == before
    work.claim(db.uow(), item.id, actor_email=LINA)
    with pytest.raises(NotAuthorized, match="four eyes"):
        work.delegate(db.uow(), item.id, to=OLGA, actor_email=LINA)
    assert work.complete(db.uow(), item.id, actor_email=LINA, data={}).state == "done"


def test_reject_and_return_need_a_reason(db: Any) -> None:
    h = handoffs.offer(db.uow(), actor_email=OLGA, from_department="marketing",
                       to_department="tech", title="Prototype", due_at=None)
    before = _snapshot(db)
    with pytest.raises(BadInput, match="reason: reject needs a reason"):
        handoffs.reject(db.uow(), h.id, actor_email=TOM, reason="  ")
    assert _snapshot(db) == before
    rejected = handoffs.reject(db.uow(), h.id, actor_email=TOM, reason="no capacity in Q1")
    assert (rejected.state, rejected.reason) == ("rejected", "no capacity in Q1")


def test_a_failed_command_leaves_no_trace(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    item = _item(db)
    before = _snapshot(db)

    def broken(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("outbox write failed")

    monkeypatch.setattr("mktflow.engine.transitions.notice", broken)
    with pytest.raises(RuntimeError, match="outbox write failed"):
        work.assign(db.uow(), item.id, to=OLGA, actor_email=HEAD)
    assert _snapshot(db) == before
    with db.uow() as u:
        row = u.session.get(WorkItem, item.id)
        assert (row.state, row.assignee_email, row.version) == ("open", None, 1)


def test_change_audit_and_notice_commit_together(db: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from mktflow.store.uow import UnitOfWork

    item = _item(db)
    before = _snapshot(db)
    real_commit = UnitOfWork.commit

    def failing_commit(self: UnitOfWork) -> None:
        raise RuntimeError("the database went away at commit")

    # if the audit entry or the notice were written in a commit of their own, they would stay
    monkeypatch.setattr(UnitOfWork, "commit", failing_commit)
    with pytest.raises(RuntimeError, match="went away at commit"):
        work.assign(db.uow(), item.id, to=OLGA, actor_email=HEAD)
    assert _snapshot(db) == before
    with db.uow() as u:
        assert u.session.get(WorkItem, item.id).assignee_email is None  # type: ignore[union-attr]
    monkeypatch.setattr(UnitOfWork, "commit", real_commit)

    work.assign(db.uow(), item.id, to=OLGA, actor_email=HEAD)
    trail = queries.history(db.uow(), f"W-{item.id}")
    assert [(e.action, e.from_state, e.to_state) for e in trail] == [
        ("create", None, "open"), ("assign", "open", "claimed")]
    assert trail[1].changes == {"assignee_email": [None, OLGA]}
    with db.uow() as u:
        notices = u.session.exec(select(OutboxMessage).where(
            col(OutboxMessage.event) == "work.assigned")).all()
        assert [n.payload["recipient"] for n in notices
                if n.payload["ref"] == f"W-{item.id}"] == [OLGA]
    assert _snapshot(db)[0] == before[0] + 1  # one audit entry for the one change


def test_update_records_old_and_new_values(db: Any, clock: Any) -> None:
    due = datetime.combine(clock.today() + timedelta(days=60), time(9), tzinfo=UTC)
    item = _item(db, due_at=due, priority=40)
    new_due = due + timedelta(days=3)
    work.update(db.uow(), item.id, actor_email=HEAD, due_at=new_due, priority=70,
                reason="customer moved the date")
    entry = queries.history(db.uow(), f"W-{item.id}")[-1]
    assert entry.changes["due_at"] == [f"{due:%Y-%m-%d}T09:00:00Z",
                                          f"{new_due:%Y-%m-%d}T09:00:00Z"]
    assert entry.changes["priority"] == [40, 70]
    assert entry.reason == "customer moved the date"


def test_unknown_things_are_named(db: Any) -> None:
    with pytest.raises(NotFound, match="W-999999 does not exist"):
        work.claim(db.uow(), 999999, actor_email=OLGA)
    with pytest.raises(NotFound, match=r"no active member with e-mail 'nobody@example.com'"):
        work.claim(db.uow(), _item(db).id, actor_email="nobody@example.com")
    with pytest.raises(NotFound, match="unknown department 'legal'"):
        work.create_work_item(db.uow(), actor_email=HEAD, department="legal", title="x")


def test_business_keys_are_unique(db: Any) -> None:
    p = processes.start_process(db.uow(), process="campaign", business_key="CMP-1",
                                owner_email=HEAD, flow_run_id="run-1")
    again = processes.start_process(db.uow(), process="campaign", business_key="CMP-1",
                                    owner_email=HEAD, flow_run_id="run-1")
    assert again.id == p.id  # the same flow run re-running after a resume
    with pytest.raises(Conflict, match="business key 'CMP-1' is already used"):
        processes.start_process(db.uow(), process="campaign", business_key="CMP-1",
                                owner_email=HEAD)


def test_steps_of_a_process_are_idempotent_by_key(db: Any) -> None:
    p = processes.start_process(db.uow(), process="campaign", business_key="CMP-2",
                                owner_email=HEAD)
    first = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="finance",
                                  title="Approve", process_id=p.id, step_key="approve")
    second = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="finance",
                                   title="Approve", process_id=p.id, step_key="approve")
    assert first.id == second.id
    finished = processes.finish_process(db.uow(), p.id, status="cancelled", reason="stopped")
    assert finished.status == "cancelled"
    assert queries.show(db.uow(), f"W-{first.id}").state == "cancelled"


def test_inbox_lists_overdue_first_with_handoffs(db: Any) -> None:
    now = clocks.now()
    late = _item(db, title="late one", due_at=now - timedelta(days=2))
    soon = _item(db, title="soon", due_at=now + timedelta(days=1))
    h = handoffs.offer(db.uow(), actor_email=TOM, from_department="tech",
                       to_department="marketing", title="Review spec",
                       due_at=now + timedelta(hours=5))
    entries = queries.inbox(db.uow(), "marketing")
    refs = [e.ref for e in entries]
    assert refs.index(f"W-{late.id}") < refs.index(f"H-{h.id}") < refs.index(f"W-{soon.id}")
    assert entries[0].overdue is True and entries[0].ref == f"W-{late.id}"
    work.assign(db.uow(), soon.id, to=OLGA, actor_email=HEAD)
    others = _item(db, title="someone else's")
    work.assign(db.uow(), others.id, to=LINA, actor_email=HEAD)
    mine = queries.inbox(db.uow(), "marketing", member=OLGA)
    assert [e.ref for e in mine if e.kind != "handoff"] == [f"W-{soon.id}"]
    assert [e.assignee for e in mine if e.kind == "work"] == [OLGA]
    assert f"W-{others.id}" not in [e.ref for e in mine]


def test_set_head_away_is_for_the_head_or_management(db: Any) -> None:
    with pytest.raises(NotAuthorized, match="only its head or management"):
        set_head_away(db.uow(), "marketing", delegate=LINA, start=date(2026, 1, 1),
                      until=None, actor_email=OLGA)


def _race(db: Any, item_id: int, emails: tuple[str, str]) -> dict[str, object]:
    """Two members claim the same item at the same moment; what each one got."""
    barrier = threading.Barrier(len(emails))
    outcomes: dict[str, object] = {}

    def claim(email: str) -> None:
        barrier.wait()
        try:
            outcomes[email] = work.claim(db.uow(), item_id, actor_email=email).assignee_email
        except TransitionRefused as exc:
            outcomes[email] = exc

    threads = [threading.Thread(target=claim, args=(e,)) for e in emails]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def test_two_members_claiming_at_once_exactly_one_wins(db: Any) -> None:
    for _ in range(12):
        item = _item(db)
        outcomes = _race(db, item.id, (OLGA, LINA))
        winners = [e for e, o in outcomes.items() if o == e]
        losers = [o for o in outcomes.values() if isinstance(o, TransitionRefused)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert f"held by {winners[0]}" in str(losers[0])
        trail = queries.history(db.uow(), f"W-{item.id}")
        assert [e.action for e in trail] == ["create", "claim"]
