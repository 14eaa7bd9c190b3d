"""The department's desk (issue #24 items 1 and 2): saved views kept in the database, shared
with a department, chosen as a default, with their read and change rules; bulk actions on work
items with one answer per item, each in its own transaction; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from mktflow.domain.desk import BULK_MAX
from mktflow.domain.errors import BadInput, NotAuthorized, NotFound
from mktflow.engine import desk, queries
from mktflow.engine.views import plain
from mktflow.engine.work import create_work_item

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist, hq
SOFIA = "sofia.lopez@example.com"  # marketing specialist, south
TOM = "tom.berg@example.com"  # tech specialist


def step(db: Any, title: str = "Check the copy", department: str = "marketing") -> int:
    head = {"marketing": ANA, "tech": "hana.kim@example.com"}[department]
    item = create_work_item(db.uow(), actor_email=head, department=department,
                            title=title)
    assert item.id is not None
    return item.id


def audit_actions(db: Any, entity_type: str, entity_id: int) -> list[str]:
    from sqlmodel import Session, col, select

    from mktflow.store.tables import AuditEntry

    with Session(db.engine) as s:
        return list(s.exec(select(AuditEntry.action).where(
            col(AuditEntry.entity_type) == entity_type, col(AuditEntry.entity_id) == entity_id
        ).order_by(col(AuditEntry.id))).all())


def test_a_shared_view_is_seen_by_the_department_and_changed_by_its_owner_or_head(
        db: Any) -> None:
    mine = desk.save_view(db.uow(), actor_email=OLGA, department="marketing", name="Mine late",
                          due="overdue", holder=OLGA)
    team = desk.save_view(db.uow(), actor_email=OLGA, department="marketing", name="Open",
                          state="open", shared=True)
    assert (mine.shared, mine.due, mine.holder, team.state) == (False, "overdue", OLGA, "open")
    assert team.url == f"/inbox/marketing?state=open&view=V-{team.id}"

    assert [v.name for v in desk.list_views(db.uow(), reader=OLGA)] == ["Mine late", "Open"]
    seen = desk.list_views(db.uow(), reader=SOFIA)
    assert [(v.name, v.may_change) for v in seen] == [("Open", False)]
    assert [v.name for v in desk.list_views(db.uow(), reader=TOM)] == []
    with pytest.raises(NotFound, match="view: V-"):  # another's private view: not shown
        desk.show_view(db.uow(), mine.id, reader=SOFIA)

    with pytest.raises(NotAuthorized, match="owner or whoever leads the department"):
        desk.delete_view(db.uow(), team.id, actor_email=SOFIA)
    chosen = desk.set_default(db.uow(), actor_email=SOFIA, view_id=team.id)
    assert chosen is not None and chosen.default
    assert desk.default_view(db.uow(), reader=SOFIA, department="marketing") == chosen

    again = desk.save_view(db.uow(), actor_email=OLGA, department="marketing", name="Open",
                           state="claimed", shared=True)  # the same name: replaced
    assert (again.id, again.state) == (team.id, "claimed")

    desk.delete_view(db.uow(), team.id, actor_email=ANA)  # the head keeps shared views
    assert desk.default_view(db.uow(), reader=SOFIA, department="marketing") is None
    assert audit_actions(db, "view", team.id) == ["save", "change", "delete"]


def test_the_queue_filters_by_priority_band_and_title_words_and_a_view_keeps_them(
        db: Any) -> None:
    from mktflow.engine import work

    urgent = step(db, "Reprint the 50% OFF flyers")
    work.update(db.uow(), urgent, actor_email=ANA, priority=95)
    plain_one = step(db, "Reprint the brochure")
    shown = queries.work_page(db.uow(), "marketing", text="reprint", reader=OLGA)
    assert [r.id for r in shown.rows] == [urgent, plain_one]
    shown = queries.work_page(db.uow(), "marketing", text="REPRINT", priority="urgent",
                              reader=OLGA)
    assert [r.id for r in shown.rows] == [urgent]
    assert [r.id for r in queries.work_page(db.uow(), "marketing", text="50%",
                                            reader=OLGA).rows] == [urgent]  # % is a character
    assert queries.work_page(db.uow(), "marketing", text="0_O", reader=OLGA).rows == []
    with pytest.raises(BadInput, match="priority: must be one of urgent, high, normal, low"):
        queries.work_page(db.uow(), "marketing", priority="top", reader=OLGA)
    from mktflow.engine.handoffs import offer

    handoff = offer(db.uow(), actor_email="hana.kim@example.com", from_department="tech",
                    to_department="marketing", title="Reprint the spec sheet", due_at=None)
    everything = queries.inbox_page(db.uow(), "marketing", text="reprint", reader=OLGA)
    assert [r.ref for r in everything.rows] == [f"W-{urgent}", f"H-{handoff.id}",
                                                f"W-{plain_one}"]  # the inbox's own order
    assert [r.ref for r in queries.inbox_page(db.uow(), "marketing", text="reprint",
                                              priority="urgent", reader=OLGA).rows] == [
        f"W-{urgent}"]  # a handoff counts as priority 50: normal

    view = desk.save_view(db.uow(), actor_email=OLGA, department="marketing", name="Urgent",
                          priority="urgent", text=" reprint ")
    assert (view.priority, view.text) == ("urgent", "reprint")
    assert view.url == f"/inbox/marketing?priority=urgent&text=reprint&view={view.ref}"


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": " "}, "name: a saved view needs a name"),
    ({"name": "x" * 81}, "name: must be at most 80 characters"),
    ({"due": "soon"}, "due: must be one of overdue, on-time"),
    ({"state": "done"}, "state: 'done' is not a state an inbox lists"),
    ({"priority": "top"}, "priority: must be one of urgent, high"),
    ({"text": "a\nb"}, "text: must not contain"),
    ({"holder": "nobody@example.com"}, "holder: 'nobody@example.com' is not an active member"),
])
def test_a_view_s_filters_follow_the_queue_s_rules(db: Any, fields: dict[str, Any],
                                                   message: str) -> None:
    with pytest.raises(BadInput, match=message):
        desk.save_view(db.uow(), actor_email=OLGA, department="marketing",
                       **({"name": "v"} | fields))
    assert desk.list_views(db.uow(), reader=OLGA) == []


def test_a_view_of_a_queue_the_member_may_not_read_is_refused(db: Any) -> None:
    with pytest.raises(NotAuthorized):
        desk.save_view(db.uow(), actor_email=TOM, department="marketing", name="theirs")
    with pytest.raises(NotFound, match="department"):
        desk.save_view(db.uow(), actor_email=TOM, department="nowhere", name="theirs")


def test_a_bulk_claim_answers_each_item_by_its_own_rule(db: Any) -> None:
    first, second, held = step(db), step(db, "Brief the agency"), step(db, "Held already")
    tech = step(db, "Fix the site", department="tech")
    desk.bulk(db.uow, "claim", [f"W-{held}"], actor_email=SOFIA)

    answer = desk.bulk(db.uow, "claim", [f"W-{first}", str(second), f"W-{held}",
                                         f"W-{tech}", "W-999999", f"w{first}"],
                       actor_email=OLGA)
    got = [(a.ref, a.ok, a.status) for a in answer.items]
    assert got == [(f"W-{first}", True, 200), (f"W-{second}", True, 200),
                   (f"W-{held}", False, 409), (f"W-{tech}", False, 403),
                   ("W-999999", False, 404), (f"W-{first}", False, 422)]
    assert (answer.done, answer.refused) == (2, 4)
    assert "named twice" in answer.items[5].message
    for number in (first, second):  # each claimed in its own transaction, its own entry
        trail = plain(queries.history(db.uow(), f"W-{number}"))
        assert [e["action"] for e in trail][-1] == "claim"
    assert queries.show(db.uow(), f"W-{held}").assignee == SOFIA


def test_a_bulk_request_no_item_could_pass_is_refused_whole(db: Any) -> None:
    with pytest.raises(BadInput, match="action: 'complete' is not a bulk action"):
        desk.bulk(db.uow, "complete", ["W-1"], actor_email=OLGA)
    with pytest.raises(BadInput, match="items: name at least one"):
        desk.bulk(db.uow, "claim", [], actor_email=OLGA)
    with pytest.raises(BadInput, match=f"items: at most {BULK_MAX}"):
        desk.bulk(db.uow, "claim", ["W-1"] * (BULK_MAX + 1), actor_email=OLGA)


def test_bulk_cancel_and_assign_take_their_inputs(db: Any) -> None:
    one, two = step(db), step(db, "Second")
    answer = desk.bulk(db.uow, "assign", [f"W-{one}", f"W-{two}"], actor_email=ANA, to=SOFIA)
    assert [a.state for a in answer.items] == ["claimed", "claimed"]
    answer = desk.bulk(db.uow, "cancel", [f"W-{one}", f"W-{two}"], actor_email=OLGA,
                       reason="the fair was called off")
    assert not any(a.ok for a in answer.items)  # Sofia holds them: Olga may not cancel
    answer = desk.bulk(db.uow, "cancel", [f"W-{one}", f"W-{two}"], actor_email=ANA,
                       reason="the fair was called off")
    assert [a.state for a in answer.items] == ["cancelled", "cancelled"], answer
