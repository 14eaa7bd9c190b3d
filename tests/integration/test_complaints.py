"""Customer complaints to closure (seed 001, 客户服务部 职责 and 工作流程 2.(1) C; issue 23 item
5): a case opened in customer service, handed to the department that must act, its answer, the
customer's answer that closes or reopens it, the customer file, the SLA sweep on the response
deadline, and who may do and see each; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from mktflow.domain.clock import FrozenClock
from mktflow.domain.errors import BadInput, NotAuthorized, TransitionRefused
from mktflow.engine import complaints, queries, sla, work
from mktflow.engine.views import plain

OLGA = "olga.petrova@example.com"  # marketing (customer service) specialist, hq
PEDRO = "pedro.alves@example.com"  # production head
RAJ = "raj.patel@example.com"  # supply specialist
TOM = "tom.berg@example.com"  # tech specialist
MARIA = "maria.garcia@example.com"  # management


def opened(db: Any, **kw: Any) -> Any:
    fields = {"customer": "CUST-DENT", "customer_name": "Dented Grocers",
              "text": "Two boxes arrived dented", "order": "SO-77"}
    return complaints.open_complaint(db.uow(), actor_email=kw.pop("actor", OLGA),
                                     **(fields | kw))


def show(db: Any, case: Any, reader: str | None = None) -> dict[str, Any]:
    return plain(complaints.show_complaint(db.uow(), f"C-{case.id}", reader=reader))


def test_a_complaint_goes_round_twice_and_closes_on_the_customers_word(
        db: Any, clock: FrozenClock) -> None:
    case = opened(db)
    view = show(db, case, OLGA)
    assert (view["state"], view["department"], view["step"]["kind"],
            view["step"]["department"]) == ("open", "marketing", "respond", "marketing")
    assert view["respond_due"] == view["step"]["due"] and view["customer_open_complaints"] == 1

    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="supply",
                         request="Send two new boxes", due="2 working days")
    view = show(db, case, RAJ)  # the acting department sees the case once handed to it
    handoff = plain(queries.show(db.uow(), view["handoff"]))
    assert (view["state"], handoff["to_department"], handoff["state"]) == (
        "handed_over", "supply", "offered")
    assert (view["step"]["kind"], view["step"]["department"], view["step"]["due"]) == (
        "act", "supply", handoff["due"])

    complaints.answer(db.uow(), case.id, actor_email=RAJ, done="Two boxes sent by courier")
    view = show(db, case)
    assert (view["state"], view["done"], view["handoff_state"]) == (
        "answered", "Two boxes sent by courier", "delivered")
    with pytest.raises(BadInput, match="note: a customer who is not satisfied needs a note"):
        complaints.customer_answer(db.uow(), case.id, actor_email=OLGA, satisfied=False)

    complaints.customer_answer(db.uow(), case.id, actor_email=OLGA, satisfied=False,
                               note="One box is still missing")
    view = show(db, case)
    assert (view["state"], view["round"], view["escalation_level"], view["step"]["kind"]) == (
        "open", 2, 1, "respond")
    told = _outbox(db, "complaint.reopened")
    assert told and all("One box is still missing" in payload for payload in told)

    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="production",
                         request="Pack a third box")
    complaints.answer(db.uow(), case.id, actor_email=PEDRO, done="Third box packed and sent")
    complaints.customer_answer(db.uow(), case.id, actor_email=OLGA, satisfied=True,
                               note="All boxes arrived")
    view = show(db, case, MARIA)
    assert (view["state"], view["satisfied"], view["step"], view["customer_open_complaints"]) \
        == ("closed", True, None, 0)
    assert plain(queries.show(db.uow(), view["handoff"]))["state"] == "confirmed"
    assert plain(queries.show_process(db.uow(), int(view["process"][2:])))["status"] == "completed"
    actions = [(e["ref"][0], e["action"]) for e in view["history"] if e["ref"][0] == "C"]
    assert actions == [("C", "open"), ("C", "hand_over"), ("C", "answer"), ("C", "reopen"),
                       ("C", "hand_over"), ("C", "answer"), ("C", "close")]
    # the customer file shows it: its complaints, and the closed case in its history
    listed = plain(complaints.list_complaints(db.uow(), customer="CUST-DENT"))
    assert [c["ref"] for c in listed] == [f"C-{case.id}"]
    assert _history_of(db, "CUST-DENT")[-1]["complaint"] == f"C-{case.id}"


def _outbox(db: Any, event: str) -> list[str]:
    """The payloads (as text) of the notices of ``event`` queued for management."""
    import json

    from sqlmodel import Session, select

    from mktflow.store.tables import OutboxMessage

    with Session(db.engine) as s:
        return [json.dumps(m.payload) for m in s.exec(select(OutboxMessage).where(
            OutboxMessage.event == event))]


def _history_of(db: Any, code: str) -> list[dict[str, Any]]:
    from sqlmodel import Session, select

    from mktflow.store.tables import Customer

    with Session(db.engine) as s:
        return list(s.exec(select(Customer).where(Customer.code == code)).one().history)


def test_who_may_move_and_see_a_case(db: Any) -> None:
    with pytest.raises(NotAuthorized):  # customer service opens cases: marketing's members
        opened(db, actor=TOM)
    with pytest.raises(BadInput, match="text: must not be empty"):
        opened(db, text="  ")
    case = opened(db)
    with pytest.raises(NotAuthorized, match="may not see C-"):  # not tech's, until handed
        complaints.show_complaint(db.uow(), f"C-{case.id}", reader=TOM)
    assert complaints.list_complaints(db.uow(), reader=RAJ) == []
    with pytest.raises(NotAuthorized):  # the respond step is customer service's
        complaints.hand_over(db.uow(), case.id, actor_email=RAJ, to="supply", request="x")
    with pytest.raises(TransitionRefused, match=r"cannot close complaint C-.*it is open"):
        complaints.customer_answer(db.uow(), case.id, actor_email=OLGA, satisfied=True)
    with pytest.raises(BadInput, match="field 'to': must be one of: production, supply"):
        complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="tech", request="x")
    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="supply", request="x")
    with pytest.raises(NotAuthorized):  # the act step is supply's, not production's
        complaints.answer(db.uow(), case.id, actor_email=PEDRO, done="nothing")
    assert [c["ref"] for c in plain(complaints.list_complaints(db.uow(), reader=RAJ))] == [
        f"C-{case.id}"]


def test_an_overdue_response_escalates_through_the_sla_sweep(db: Any,
                                                            clock: FrozenClock) -> None:
    case = opened(db, due_at="4 working hours")
    step = show(db, case)["step"]
    later = FrozenClock(clock.now() + timedelta(hours=5))
    summary = sla.sweep(db.uow(clock=later))
    assert [e["level"] for e in summary.escalations if e["ref"] == step["ref"]] == [1]
    assert show(db, case)["step"]["escalation_level"] == 1


def test_a_case_step_answered_at_the_work_door_moves_the_case(db: Any) -> None:
    case = opened(db)
    step = show(db, case)["step"]["ref"]
    item = int(step.removeprefix("W-"))
    work.claim(db.uow(), item, actor_email=OLGA)
    work.complete(db.uow(), item, actor_email=OLGA,
                  data={"to": "finance", "request": "Refund the dented boxes"})
    view = show(db, case)
    assert (view["state"], view["acting_department"]) == ("handed_over", "finance")


# --- the doors: the command line, the REST API, the pages --------------------------------------


def test_a_case_opened_on_the_page_is_moved_at_the_cli_and_the_api(db: Any, cli: Any) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import as_member, member_api, serving
    from tests.integration.web_support import Browser

    app = create_app(db.engine, settings=Settings())
    with serving(app) as url:
        olga, tom = Browser(url), Browser(url)
        try:
            olga.sign_in(db, OLGA)
            page = olga.get("/complaints").text
            assert "Open a complaint" in page and "No complaint you may see." in page
            refused = olga.post("/complaints/new", {"customer": "CUST-PAGE", "text": " "})
            assert refused.status_code == 422 and "text: must not be empty" in refused.text
            assert refused.text.count("must not be empty") == 1  # once, at the page's top
            olga.get("/complaints?lang=zh")  # the page's language, kept for the visit
            worded = olga.post("/complaints/new", {"customer": "CUST-PAGE", "text": " "})
            assert "不能为空" in worded.text and "must not be empty" not in worded.text
            olga.get("/complaints?lang=en")
            made = olga.post("/complaints/new", {"customer": "CUST-PAGE", "text": "Wrong flavour",
                                                 "customer_name": "Page Grocers",
                                                 "due": "2 working hours"})
            assert made.status_code == 200 and "Wrong flavour" in made.text
            ref = re.search(r"<h1>(C-\d+)", made.text).group(1)  # type: ignore[union-attr]
            assert 'href="/work/' in made.text and "Page Grocers" in olga.get("/complaints").text
            tom.sign_in(db, TOM)
            assert "Open a complaint" not in tom.get("/complaints").text  # tech: no form
            assert tom.get(f"/complaints/{ref}").status_code == 403
        finally:
            olga.client.close()
            tom.client.close()

    handed = cli("complaint", "hand-over", ref, "--to", "production", "--request",
                 "Check the batch", "--due", "1 working day", "--as", OLGA, "--json")
    assert handed.exit_code == 0 and handed.json()["acting_department"] == "production"
    assert handed.json()["step"]["department"] == "production"
    assert cli("complaint", "answer", ref, "--done", "x", "--as", RAJ).exit_code == 1
    listed = cli("complaint", "list", "--customer", "CUST-PAGE", "--as", PEDRO, "--json").json()
    assert [c["ref"] for c in listed] == [ref]

    with member_api(db, app, PEDRO) as api:
        answered = api.post(f"/complaints/{ref}/answer", json={"done": "Batch 12 recalled"})
        assert answered.status_code == 200 and answered.json()["state"] == "answered"
        bad = api.post(f"/complaints/{ref}/close", json={"satisfied": False},
                       headers=as_member(OLGA))
        assert bad.status_code == 422 and "note" in bad.json()["detail"]
        closed = api.post(f"/complaints/{ref}/close", json={"satisfied": True},
                          headers=as_member(OLGA))
        assert closed.status_code == 200 and closed.json()["state"] == "closed"
        opened_api = api.post("/complaints", json={"customer": "CUST-PAGE", "text": "Late again"},
                              headers=as_member(OLGA))
        assert opened_api.status_code == 201 and opened_api.json()["source"] == "api"
        assert opened_api.headers["Location"] == f"/complaints/{opened_api.json()['ref']}"
        assert api.get(f"/complaints/{ref}", headers=as_member(TOM)).status_code == 403
    shown = cli("complaint", "show", ref, "--as", MARIA)
    assert shown.exit_code == 0 and "state: closed" in shown.stdout and "close" in shown.stdout
    made = cli("complaint", "open", "--customer", "CUST-CLI", "--text", "Cap leaks",
               "--order", "SO-12", "--as", OLGA, "--json")
    assert made.exit_code == 0 and (made.json()["source"], made.json()["order"]) == ("cli", "SO-12")
    early = cli("complaint", "close", made.json()["ref"], "--satisfied", "--as", OLGA)
    assert early.exit_code == 1 and "it is open" in early.stderr


# --- cancelling a case; acting on its handoff directly ------------------------------------------

ANA = "ana.torres@example.com"  # marketing head: customer service's head
ELENA = "elena.volkova@example.com"  # supply head


def test_the_head_of_customer_service_cancels_a_case_with_a_reason(db: Any) -> None:
    case = opened(db)
    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="supply", request="Resend")
    view = show(db, case)
    with pytest.raises(NotAuthorized):  # a member of customer service is not its head
        complaints.cancel(db.uow(), case.id, actor_email=OLGA, reason="lodged twice")
    with pytest.raises(NotAuthorized):  # nor is the acting department's head
        complaints.cancel(db.uow(), case.id, actor_email=ELENA, reason="lodged twice")
    with pytest.raises(BadInput, match="reason: cancel needs a reason"):
        complaints.cancel(db.uow(), case.id, actor_email=ANA, reason="  ")
    assert show(db, case)["state"] == "handed_over"  # a refused cancel leaves nothing behind

    done = complaints.cancel(db.uow(), case.id, actor_email=ANA,
                             reason="Lodged twice: see the first case")
    view = show(db, case, MARIA)
    assert (done.state, view["state"], view["step"], view["customer_open_complaints"]) == (
        "cancelled", "cancelled", None, 0)
    assert plain(queries.show(db.uow(), view["handoff"]))["state"] == "cancelled"
    assert plain(queries.show_process(db.uow(), int(view["process"][2:])))["status"] == \
        "cancelled"
    [entry] = [e for e in view["history"] if e["ref"][0] == "C" and e["action"] == "cancel"]
    assert (entry["actor"], entry["from_state"], entry["to_state"], entry["reason"]) == (
        ANA, "handed_over", "cancelled", "Lodged twice: see the first case")
    with pytest.raises(TransitionRefused, match=r"cannot cancel complaint C-.*it is cancelled"):
        complaints.cancel(db.uow(), case.id, actor_email=ANA, reason="again")
    assert [c["ref"] for c in plain(complaints.list_complaints(db.uow(), state="cancelled"))] \
        == [f"C-{case.id}"]

    closed = opened(db, customer="CUST-DONE")
    complaints.hand_over(db.uow(), closed.id, actor_email=OLGA, to="supply", request="Resend")
    complaints.answer(db.uow(), closed.id, actor_email=RAJ, done="Resent")
    complaints.customer_answer(db.uow(), closed.id, actor_email=OLGA, satisfied=True)
    with pytest.raises(TransitionRefused, match=r"cannot cancel complaint C-.*it is closed"):
        complaints.cancel(db.uow(), closed.id, actor_email=ANA, reason="too late")


def test_accepting_and_delivering_the_cases_handoff_moves_the_case(db: Any, cli: Any) -> None:
    from mktflow.engine import handoffs

    case = opened(db)
    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="supply", request="Resend")
    view = show(db, case)
    handoff, step = view["handoff"], view["step"]["ref"]
    accepted = cli("handoff", "accept", handoff, "--as", RAJ, "--json")
    assert accepted.exit_code == 0, accepted.stdout
    held = plain(queries.show(db.uow(), step))
    assert (held["state"], held["assignee"]) == ("claimed", RAJ)  # he took the work on
    view = show(db, case)
    assert (view["state"], view["handoff_state"]) == ("handed_over", "accepted")
    assert ("C", "accept") in [(e["ref"][0], e["action"]) for e in view["history"]]

    number = int(handoff.removeprefix("H-"))
    with pytest.raises(BadInput, match="done"):  # the act step's form: what was done
        handoffs.deliver(db.uow(), number, actor_email=RAJ, data={"note": "sent"})
    assert show(db, case)["state"] == "handed_over"
    delivered = cli("handoff", "deliver", handoff, "--data",
                    '{"done": "Two boxes resent by courier"}', "--as", RAJ, "--json")
    assert delivered.exit_code == 0, delivered.stdout
    view = show(db, case)
    assert (view["state"], view["done"], view["handoff_state"], view["step"]["kind"]) == (
        "answered", "Two boxes resent by courier", "delivered", "customer")
    assert plain(queries.show(db.uow(), step))["state"] == "done"
    complaints.customer_answer(db.uow(), case.id, actor_email=OLGA, satisfied=True)
    assert show(db, case)["handoff_state"] == "confirmed"

    # accepted and delivered at the handoff's page: the same
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import serving
    from tests.integration.web_support import Browser

    other = opened(db, customer="CUST-QUICK")
    complaints.hand_over(db.uow(), other.id, actor_email=OLGA, to="finance", request="Refund")
    quick = show(db, other)["handoff"].removeprefix("H-")
    with serving(create_app(db.engine, settings=Settings())) as url:
        grace = Browser(url)
        try:
            grace.sign_in(db, "grace.liu@example.com")  # finance's head
            grace.get(f"/handoffs/{quick}")
            grace.post(f"/handoffs/{quick}", {"action": "accept"})
            assert 'value="deliver"' in grace.get(f"/handoffs/{quick}").text
            grace.post(f"/handoffs/{quick}", {"action": "deliver", "note": "Refunded"})
        finally:
            grace.client.close()
    assert (show(db, other)["state"], show(db, other)["done"]) == ("answered", "Refunded")
    # delivered straight from the queue, still offered: accepted and delivered, as the act step
    third = opened(db, customer="CUST-THIRD")
    complaints.hand_over(db.uow(), third.id, actor_email=OLGA, to="supply", request="Resend")
    moved = handoffs.deliver(db.uow(), int(show(db, third)["handoff"].removeprefix("H-")),
                             actor_email=RAJ, data={"done": "Resent"})
    assert (moved.state, moved.data) == ("delivered", {"done": "Resent"})
    assert (show(db, third)["state"], show(db, third)["handoff_state"]) == (
        "answered", "delivered")


def test_a_case_is_cancelled_at_the_cli_the_api_and_its_page(db: Any, cli: Any) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import as_member, member_api, serving
    from tests.integration.web_support import Browser

    by_cli, by_api, by_page = (opened(db, customer=f"CUST-{n}") for n in ("A", "B", "C"))
    refused = cli("complaint", "cancel", f"C-{by_cli.id}", "--reason", "dup", "--as", OLGA)
    assert refused.exit_code == 1 and "may not cancel" in refused.stderr
    done = cli("complaint", "cancel", f"C-{by_cli.id}", "--reason", "Lodged twice", "--as",
               ANA, "--json")
    assert done.exit_code == 0 and done.json()["state"] == "cancelled", done.stdout
    app = create_app(db.engine, settings=Settings())
    with member_api(db, app, ANA) as api:
        bad = api.post(f"/complaints/C-{by_api.id}/cancel", json={})
        assert bad.status_code == 422
        cancelled = api.post(f"/complaints/C-{by_api.id}/cancel",
                             json={"reason": "The customer withdrew it"})
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        again = api.post(f"/complaints/C-{by_api.id}/cancel", json={"reason": "again"})
        assert again.status_code == 409
        assert api.post(f"/complaints/C-{by_page.id}/cancel", json={"reason": "x"},
                        headers=as_member(OLGA)).status_code == 403
    with serving(app) as url:
        ana, olga = Browser(url), Browser(url)
        try:
            olga.sign_in(db, OLGA)
            assert "Cancel the case" not in olga.get(f"/complaints/C-{by_page.id}").text
            ana.sign_in(db, ANA)
            assert "Cancel the case" in ana.get(f"/complaints/C-{by_page.id}").text
            empty = ana.post(f"/complaints/C-{by_page.id}", {"action": "cancel", "reason": ""})
            assert empty.status_code == 422 and empty.text.count("cancel needs a reason") == 1
            ana.get(f"/complaints/C-{by_page.id}?lang=zh")
            worded = ana.post(f"/complaints/C-{by_page.id}", {"action": "cancel", "reason": ""})
            assert "取消需要填写原因" in worded.text and "cancel needs" not in worded.text
            ana.get(f"/complaints/C-{by_page.id}?lang=en")
            page = ana.post(f"/complaints/C-{by_page.id}",
                            {"action": "cancel", "reason": "Opened by mistake"})
            assert page.status_code == 200 and "The case is cancelled." in page.text
            assert "Cancel the case" not in page.text  # nothing more to cancel
        finally:
            ana.client.close()
            olga.client.close()
    assert show(db, by_page)["state"] == "cancelled"


def test_a_cases_step_or_handoff_is_not_cancelled_on_its_own(db: Any) -> None:
    from mktflow.engine import handoffs

    case = opened(db)
    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="supply", request="Resend")
    view = show(db, case)
    act_step = int(view["step"]["ref"].removeprefix("W-"))
    with pytest.raises(TransitionRefused, match=r"carries complaint C-\d+.*complaint cancel"):
        handoffs.cancel(db.uow(), int(view["handoff"].removeprefix("H-")), actor_email=OLGA,
                        reason="not needed")
    with pytest.raises(TransitionRefused, match=r"carries complaint C-\d+, which would stay"):
        work.cancel(db.uow(), act_step, actor_email=ANA, reason="not needed")
    view = show(db, case)
    assert (view["state"], view["handoff_state"], view["step"]["state"]) == (
        "handed_over", "offered", "open")


def test_a_rejected_handoff_hands_the_case_back_to_customer_service(db: Any, cli: Any) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from mktflow.engine import handoffs
    from tests.integration.api_support import as_member, member_api, serving
    from tests.integration.web_support import Browser

    case = opened(db)
    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="supply", request="Resend")
    view = show(db, case)
    first, act_step = view["handoff"], view["step"]["ref"]
    with pytest.raises(BadInput, match="reason"):  # a rejection says why
        handoffs.reject(db.uow(), int(first[2:]), actor_email=RAJ, reason=" ")
    with pytest.raises(NotAuthorized):  # only the department it was handed to rejects it
        handoffs.reject(db.uow(), int(first[2:]), actor_email=TOM, reason="not ours")
    assert show(db, case)["state"] == "handed_over"  # a refused rejection leaves nothing

    rejected = cli("handoff", "reject", first, "--reason", "No stock: production packs boxes",
                   "--as", RAJ, "--json")
    assert rejected.exit_code == 0, rejected.stdout + rejected.stderr
    view = show(db, case, OLGA)
    assert (view["state"], view["round"], view["handoff_state"]) == ("open", 1, "rejected")
    assert (view["step"]["kind"], view["step"]["department"], view["step"]["key"]) == (
        "respond", "marketing", "respond-1-back-1")
    assert view["respond_due"] == view["step"]["due"]
    act = plain(queries.show(db.uow(), act_step))
    assert act["state"] == "cancelled"
    respond = plain(queries.show(db.uow(), view["step"]["ref"]))
    assert "supply" in respond["description"] and \
        "No stock: production packs boxes" in respond["description"]
    [back] = [e for e in view["history"] if e["ref"][0] == "C" and e["action"] == "hand_back"]
    assert (back["actor"], back["from_state"], back["to_state"], back["reason"]) == (
        RAJ, "handed_over", "open", "No stock: production packs boxes")
    assert [(e["ref"], e["to_state"]) for e in view["history"]
            if e["ref"] == act_step and e["action"] == "cancel"] == [(act_step, "cancelled")]

    # handed to production, rejected at the API; then again with a better request, done
    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="production",
                         request="Pack two boxes")
    view = show(db, case)
    assert view["step"]["key"] == "act-1-back-1"
    second = view["handoff"]
    with member_api(db, create_app(db.engine, settings=Settings()), OLGA) as api:
        answer = api.post(f"/handoffs/{second[2:]}/reject", headers=as_member(PEDRO),
                          json={"reason": "Which size? Say the box size"})
        assert answer.status_code == 200, answer.text
    view = show(db, case)
    assert (view["state"], view["step"]["key"]) == ("open", "respond-1-back-2")
    # and on the handoff's page
    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="finance",
                         request="Refund two boxes")
    third = show(db, case)["handoff"][2:]
    with serving(create_app(db.engine, settings=Settings())) as url:
        grace = Browser(url)
        try:
            grace.sign_in(db, "grace.liu@example.com")  # finance's head
            grace.get(f"/handoffs/{third}")
            grace.post(f"/handoffs/{third}", {"action": "reject",
                                              "reason": "The customer wants boxes, not money"})
        finally:
            grace.client.close()
    view = show(db, case)
    assert (view["state"], view["handoff_state"], view["step"]["key"]) == (
        "open", "rejected", "respond-1-back-3")
    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="production",
                         request="Pack two 40x30 boxes")
    complaints.answer(db.uow(), case.id, actor_email=PEDRO, done="Two 40x30 boxes sent")
    complaints.customer_answer(db.uow(), case.id, actor_email=OLGA, satisfied=True)
    view = show(db, case)
    assert (view["state"], view["round"], view["customer_open_complaints"]) == (
        "closed", 1, 0)
    assert [e["action"] for e in view["history"] if e["ref"][0] == "C"] == [
        "open", "hand_over", "hand_back", "hand_over", "hand_back", "hand_over", "hand_back",
        "hand_over", "answer", "close"]


def test_an_act_steps_answer_locks_the_handoff_before_the_step(pg_db: Any) -> None:
    """Answering the act step locks the case's handoff first, then the step: the order a
    rejection of that handoff takes them (handoff, then step). Taken the other way, an answer
    and a rejection at once would each hold one row and wait for the other (a deadlock,
    PostgreSQL aborting one). Row locks: PostgreSQL only."""
    import threading

    from sqlalchemy import text

    db = pg_db
    case = opened(db)
    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="supply", request="Resend")
    view = show(db, case)
    handoff_id, step_id = int(view["handoff"][2:]), int(view["step"]["ref"][2:])
    work.claim(db.uow(), step_id, actor_email=RAJ)
    failed: list[BaseException] = []

    def answer() -> None:
        try:
            work.complete(db.uow(), step_id, actor_email=RAJ, data={"done": "Resent two boxes"})
        except BaseException as exc:  # reported by the test below
            failed.append(exc)

    holder = db.engine.connect()  # another door holds the handoff, as a rejection begins
    try:
        holder.execute(text("SELECT id FROM handoff WHERE id = :i FOR UPDATE"), {"i": handoff_id})
        answering = threading.Thread(target=answer)
        answering.start()
        db.wait_until_a_session_waits_on_a_lock("the answer never waited for the handoff")
        with db.engine.connect() as probe:
            # the answer waits for the handoff without holding the step: the rejection's next
            # lock is free (NOWAIT refuses at once when a row is held)
            probe.execute(text("SELECT id FROM workitem WHERE id = :i FOR UPDATE NOWAIT"),
                          {"i": step_id})
            probe.rollback()
    finally:
        holder.rollback()
        holder.close()
    answering.join(60)
    assert not answering.is_alive() and failed == [], failed
    assert show(db, case)["state"] == "answered"


def test_a_complaints_process_is_cancelled_only_with_its_case(db: Any, cli: Any) -> None:
    from mktflow.engine import processes, tasklist

    case = opened(db)
    process = show(db, case)["process"]
    refused = cli("process", "cancel", process, "--reason", "lodged twice", "--as", ANA)
    assert refused.exit_code == 1
    assert f"mktflow complaint cancel C-{case.id}" in refused.stderr, refused.stderr
    with pytest.raises(TransitionRefused, match=r"carries complaint C-\d+, which would stay"):
        processes.cancel_process(db.uow(), int(process[2:]), actor_email=MARIA,
                                 reason="lodged twice")
    assert not tasklist.may_end_process(db.uow(), int(process[2:]), MARIA)  # no page form
    view = show(db, case)
    assert (view["state"], view["step"]["kind"]) == ("open", "respond")
    assert plain(queries.show_process(db.uow(), int(process[2:])))["status"] == "running"
    complaints.cancel(db.uow(), case.id, actor_email=ANA, reason="Lodged twice")
    assert plain(queries.show_process(db.uow(), int(process[2:])))["status"] == "cancelled"
