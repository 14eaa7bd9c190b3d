"""Who is told what: one outbox row per channel, written with the change that caused it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from mktflow.domain import clock as clocks
from mktflow.domain.errors import NotFound
from mktflow.domain.organisation import OrganisationSpec
from mktflow.engine import handoffs, processes, work
from mktflow.engine.channels import list_channels
from mktflow.engine.organisation import load_organisation, read_organisation_file, set_head_away
from tests.conftest import reset_caches
from tests.dates import date_ahead
from tests.integration.api_support import open_link
from tests.integration.notify_support import HEAD, LINA, OLGA, TOM, channel, rows

#: Sixty days ahead of the session's first day, at 17:00 UTC.
DUE = datetime.combine(date_ahead(60), time(17), tzinfo=UTC)


def _offer(db: Any, **kw: Any) -> Any:
    return handoffs.offer(db.uow(), actor_email=OLGA, from_department="marketing",
                          to_department="tech", title=kw.pop("title", "Prototype"),
                          due_at=DUE, **kw)


def test_an_offer_is_written_once_per_channel_of_the_receiving_department(
        db: Any, links_api: str) -> None:
    a = channel(db, "tech")
    b = channel(db, "tech", "slack")
    channel(db, "marketing")  # not the receiving department
    h = _offer(db)
    sent = rows(db, event="handoff.offered")
    assert sorted(m.channel_id for m in sent) == sorted([a.id, b.id])
    for m in sent:
        assert m.department == "tech" and m.recipient_email is None
        assert m.subject == f"H-{h.id} offered to tech by marketing: Prototype"
        assert m.payload["for"] == "the tech department"
        assert m.payload["due"] == f"{DUE:%Y-%m-%d}T17:00:00Z"  # UTC, with Z
        assert m.link == f"{links_api}/handoffs/{h.id}"
        assert open_link(m.link, f"H-{h.id}")["title"] == "Prototype"
        assert m.status == "pending"
    assert len({m.id for m in sent}) == 2  # each row its own idempotency key


def test_without_a_channel_one_row_is_kept_for_the_record(db: Any) -> None:
    h = _offer(db)
    (m,) = rows(db, event="handoff.offered")
    assert m.channel_id is None and m.payload["ref"] == f"H-{h.id}"


def test_a_rejection_tells_the_offering_department_why(db: Any) -> None:
    mkt = channel(db, "marketing")
    h = _offer(db)
    handoffs.reject(db.uow(), h.id, actor_email=TOM, reason="no capacity in Q1")
    (m,) = rows(db, event="handoff.rejected")
    assert (m.channel_id, m.department) == (mkt.id, "marketing")
    assert m.subject == f"H-{h.id} rejected by tech: Prototype — no capacity in Q1"
    assert m.payload["reason"] == "no capacity in Q1"


def test_a_return_tells_the_receiving_department_why(db: Any) -> None:
    tech = channel(db, "tech")
    h = _offer(db)
    handoffs.accept(db.uow(), h.id, actor_email=TOM)
    handoffs.deliver(db.uow(), h.id, actor_email=TOM)
    handoffs.return_(db.uow(), h.id, actor_email=OLGA, reason="colours are wrong")
    (m,) = rows(db, event="handoff.returned")
    assert (m.channel_id, m.payload["reason"]) == (tech.id, "colours are wrong")
    assert "returned by marketing" in m.subject


def test_a_delivery_asks_the_offering_department_to_confirm(db: Any) -> None:
    channel(db, "marketing")
    h = _offer(db)
    handoffs.accept(db.uow(), h.id, actor_email=TOM)
    handoffs.deliver(db.uow(), h.id, actor_email=TOM)
    (m,) = rows(db, event="handoff.delivered")
    assert m.department == "marketing"
    assert m.subject == (f"H-{h.id} delivered by tech, awaits confirmation by marketing: "
                         "Prototype")


def test_new_work_lands_in_the_department_inbox(db: Any) -> None:
    mkt = channel(db, "marketing", "email", to="marketing@example.com")
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Write the brief", due_at=DUE)
    (m,) = rows(db, event="work.created")
    assert m.channel_id == mkt.id
    assert m.subject == f"W-{item.id} new in the marketing inbox: Write the brief"


def test_a_member_is_told_on_their_own_channel_else_on_the_department_one(db: Any) -> None:
    dept = channel(db, "marketing")
    own = channel(db, "marketing", "email", to="olga@example.com", member=OLGA)
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Brief")
    work.assign(db.uow(), item.id, to=OLGA, actor_email=HEAD)
    (m,) = rows(db, event="work.assigned")
    assert (m.channel_id, m.recipient_email) == (own.id, OLGA)
    assert m.subject == f"W-{item.id} assigned to {OLGA}: Brief"
    work.assign(db.uow(), item.id, to=LINA, actor_email=HEAD)
    (_first, second) = rows(db, event="work.assigned")
    assert (second.channel_id, second.recipient_email) == (dept.id, LINA)  # no own channel


def test_while_the_head_is_away_the_delegate_is_told_too(db: Any) -> None:
    head_own = channel(db, "marketing", member=HEAD)
    lina_own = channel(db, "marketing", "email", to="lina@example.com", member=LINA)
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Approve budget")
    today = clocks.today()
    set_head_away(db.uow(), "marketing", delegate=LINA, start=today - timedelta(days=1),
                  until=today + timedelta(days=3), actor_email=HEAD)
    work.assign(db.uow(), item.id, to=HEAD, actor_email=LINA)
    sent = {m.channel_id: m for m in rows(db, event="work.assigned")}
    assert set(sent) == {head_own.id, lina_own.id}
    assert sent[lina_own.id].recipient_email == LINA
    assert sent[lina_own.id].payload["on_behalf_of"] == HEAD
    assert sent[head_own.id].recipient_email == HEAD
    set_head_away(db.uow(), "marketing", delegate=None, start=None, until=None,
                  actor_email=HEAD)
    work.reassign_all(db.uow(), from_email=HEAD, to_email=OLGA, actor_email=HEAD)
    work.assign(db.uow(), item.id, to=HEAD, actor_email=HEAD)
    latest = rows(db, event="work.assigned")[-1:]
    assert [m.channel_id for m in latest] == [head_own.id]  # back: the delegate is not told


def test_the_link_opens_mktflows_page_even_when_the_item_belongs_to_a_flow_run(
    db: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 21, item 4: a step or handoff of a flow run links to mktflow's page of it, with a
    Prefect UI configured (as plain `mktflow run` configures one) or not: the Prefect UI is the
    process owners' view of runs, and its resume form refuses every deciding step."""
    from mktflow.engine import handoffs

    monkeypatch.setenv("MKTFLOW_PREFECT_UI_URL", "http://127.0.0.1:4200/")
    monkeypatch.setenv("MKTFLOW_API_URL", "http://mktflow.test:8765/")
    reset_caches()
    try:
        p = processes.start_process(db.uow(), process="campaign", business_key="CMP-LINK-1",
                                    owner_email=HEAD, flow_run_id="8e1c-run")
        item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                     title="Brief", process_id=p.id, step_key="brief")
        h = handoffs.offer(db.uow(), actor_email=HEAD, from_department="marketing",
                           to_department="sales", title="Kit", due_at=None, process_id=p.id,
                           step_key="kit")
        (m,) = rows(db, event="work.created")
        assert m.link == f"http://mktflow.test:8765/work/{item.id}"
        assert m.payload["link"] == m.link
        assert {o.link for o in rows(db, event="handoff.offered")} == {
            f"http://mktflow.test:8765/handoffs/{h.id}"}
        assert "runs/flow-run" not in " ".join(str(o.link) for o in rows(db))
    finally:
        monkeypatch.delenv("MKTFLOW_PREFECT_UI_URL")
        monkeypatch.delenv("MKTFLOW_API_URL")
        reset_caches()


def test_a_refused_command_writes_no_message(db: Any) -> None:
    channel(db, "tech")
    with pytest.raises(NotFound, match="unknown department 'nowhere'"):
        handoffs.offer(db.uow(), actor_email=OLGA, from_department="marketing",
                       to_department="nowhere", title="x", due_at=DUE)
    assert rows(db) == []


def _with_channels(*channels: dict[str, Any]) -> OrganisationSpec:
    spec = read_organisation_file(None, demo=True)
    from mktflow.domain.organisation import ChannelSpec

    return spec.model_copy(update={"channels": [ChannelSpec(**c) for c in channels]})


def test_organisation_file_channels_are_loaded_and_replaced_on_reload(db: Any) -> None:
    cli_added = channel(db, "sales", "slack")
    hook = {"department": "tech", "type": "webhook", "url": "https://h.example/t",
            "secret_env": "TECH_SECRET"}
    mail = {"department": "marketing", "type": "email", "to": "olga@example.com",
            "member": OLGA}
    summary = load_organisation(db.uow(), _with_channels(hook, mail), source="org.yaml")
    assert sum(label.startswith("channel") for label in summary.added) == 2
    again = load_organisation(db.uow(), _with_channels(hook, mail), source="org.yaml")
    assert not [x for x in again.added if x.startswith("channel")]  # loading twice: no dupes
    load_organisation(db.uow(), _with_channels(hook), source="org.yaml")
    listed = list_channels(db.uow(), env={"TECH_SECRET": "x"})
    assert sorted((c["department"], c["type"], c["source"]) for c in listed) == [
        ("sales", "slack", "cli"), ("tech", "webhook", "organisation")]
    assert next(c for c in listed if c["type"] == "webhook")["secret_set"] is True
    assert cli_added.id in {c["id"] for c in listed}
