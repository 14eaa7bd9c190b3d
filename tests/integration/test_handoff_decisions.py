"""One door per decision (issue 21, item 3), on SQLite and PostgreSQL: a responsibility letter
and the step that decides it (same process, same step key, as the new-product flow makes
them) move together, whichever is answered, at every door; the receiving department gets one
notice for the pair.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from mktflow.domain.errors import FormInvalid
from tests.integration.api_support import as_member, member_api, serving
from tests.integration.web_support import Browser

OLGA = "olga.petrova@example.com"  # marketing specialist, owns the project
HANA = "hana.kim@example.com"  # tech head
TOM = "tom.berg@example.com"  # tech specialist
RUN = "00000000-0000-0000-0000-00000000d21a"


def _letter(db: Any, key: str = "NPD-D1", run: str | None = RUN) -> tuple[int, int, int]:
    """A project (owned by Olga, its flow run ``run``), a responsibility letter to tech and the
    tech step that decides it, made as ``flows/new_product_development.py`` makes them:
    (process, handoff, step)."""
    from flows.new_product_development import LetterAnswer
    from mktflow.engine import handoffs, processes, work

    p = processes.start_process(db.uow(), process="new_product_development", business_key=key,
                                owner_email=OLGA, flow_run_id=run)
    h = handoffs.offer(db.engine_uow(), actor_email=OLGA, from_department="marketing",
                       to_department="tech", title=f"{key}: design", due_at=None,
                       criteria="for the concept gate", deliverables=["design"], letter=True,
                       process_id=p.id, step_key="letter-tech-1")
    step = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="tech",
                                 title=f"Accept or reject responsibility letter H-{h.id}",
                                 form_schema=LetterAnswer.model_json_schema(),
                                 form_name="LetterAnswer", process_id=p.id,
                                 step_key="letter-tech-1")
    return int(p.id), int(h.id), int(step.id)


def _notices(db: Any, department: str) -> list[tuple[str, str]]:
    """(event, link) of every notice queued for ``department``."""
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT event, link FROM outboxmessage WHERE department = :d "
                                 "ORDER BY created_at, id"), {"d": department}).all()
    return [(event, str(link or "")) for event, link in rows]


def _resumed(db: Any) -> tuple[Any, list[tuple[str, int | None, Any]]]:
    """A unit of work whose resumer records what it hands over."""
    handed: list[tuple[str, int | None, Any]] = []
    return db.uow(resumer=lambda run, item: handed.append((run, item.id, item.data))), handed


def _quiet(db: Any) -> Any:
    """A unit of work whose resumer hands nothing over (no Prefect server here)."""
    return db.uow(resumer=lambda *_: None)


def _show(db: Any, ref: str) -> Any:
    from mktflow.engine import queries

    return queries.show(db.uow(), ref)


def _history(db: Any, ref: str) -> list[Any]:
    from mktflow.engine import queries

    return queries.history(db.uow(), ref)


def test_the_department_gets_one_notice_for_a_letter_and_its_step(db: Any) -> None:
    _, _, step = _letter(db)
    told = _notices(db, "tech")
    assert [event for event, _ in told] == ["handoff.offered"], told
    assert _show(db, f"W-{step}").state == "open"


def test_accepting_the_letter_completes_its_step_and_resumes_the_flow(db: Any) -> None:
    _, handoff, step = _letter(db)
    from mktflow.engine import handoffs

    uow, handed = _resumed(db)
    done = handoffs.accept(uow, handoff, actor_email=HANA)
    assert (done.state, done.signed_by) == ("accepted", HANA)
    item = _show(db, f"W-{step}")
    assert (item.state, item.completed_by) == ("done", HANA)
    assert item.data == {"decision": "accept", "reason": ""}
    assert handed == [(RUN, step, {"decision": "accept", "reason": ""})]
    trail = [h for h in _history(db, f"W-{step}") if h.action == "complete"]
    assert trail and trail[-1].actor == HANA
    assert trail[-1].reason == f"decided on H-{handoff}: responsibility letter accepted"
    # marketing is told of the acceptance; tech still had its one notice
    assert "handoff.accepted" in [e for e, _ in _notices(db, "marketing")]
    assert [e for e, _ in _notices(db, "tech")] == ["handoff.offered"]


def test_rejecting_the_letter_needs_the_reason_the_step_needs(db: Any) -> None:
    _, handoff, step = _letter(db)
    from mktflow.engine import handoffs

    before = (db.count("auditentry"), db.count("outboxmessage"))
    with pytest.raises(FormInvalid, match="reason"):
        handoffs.reject(_quiet(db), handoff, actor_email=HANA, reason="no")
    assert (db.count("auditentry"), db.count("outboxmessage")) == before
    assert _show(db, f"H-{handoff}").state == "offered"
    handoffs.reject(_quiet(db), handoff, actor_email=HANA, reason="no capacity before June")
    item = _show(db, f"W-{step}")
    assert item.state == "done"
    assert item.data == {"decision": "reject", "reason": "no capacity before June"}


def test_completing_the_step_accepts_or_rejects_the_letter(db: Any) -> None:
    from mktflow.engine import work
    from mktflow.engine.steps import complete_step

    _, handoff, step = _letter(db, "NPD-D2")
    work.claim(_quiet(db), step, actor_email=TOM)
    uow, handed = _resumed(db)
    complete_step(uow, step, actor_email=TOM,
                  data={"decision": "reject", "reason": "we lack a designer"})
    letter = _show(db, f"H-{handoff}")
    assert (letter.state, letter.reason) == ("rejected", "we lack a designer")
    assert [(h.action, h.actor) for h in _history(db, f"H-{handoff}")][-1] == ("reject", TOM)
    assert handed == [(RUN, step, {"decision": "reject", "reason": "we lack a designer"})]

    _, other, second = _letter(db, "NPD-D3")
    work.claim(_quiet(db), second, actor_email=TOM)
    complete_step(_quiet(db), second, actor_email=TOM, data={"decision": "accept"})
    letter = _show(db, f"H-{other}")
    assert (letter.state, letter.signed_by) == ("accepted", TOM)


def test_the_letter_is_decided_once_at_the_api_the_pages_and_the_command_line(
        db: Any, cli: Any) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    app = create_app(db.engine, settings=Settings())
    _, by_api, step_api = _letter(db, "NPD-API", run=None)
    _, by_page, step_page = _letter(db, "NPD-PAGE", run=None)
    _, by_cli, step_cli = _letter(db, "NPD-CLI", run=None)
    with member_api(db, app, HANA) as api:
        r = api.post(f"/handoffs/{by_api}/accept")
        assert r.status_code == 200, r.text
        assert api.post(f"/work/{step_api}/claim", headers=as_member(TOM)).status_code == 409
    with serving(app) as url:
        hana = Browser(url)
        hana.sign_in(db, HANA)
        hana.get(f"/handoffs/{by_page}")
        page = hana.post(f"/handoffs/{by_page}", {"action": "reject",
                                                   "reason": "not this quarter"})
        assert page.status_code == 200, page.text
        hana.client.close()
    r = cli("handoff", "accept", f"H-{by_cli}", "--as", HANA)
    assert r.exit_code == 0, r
    for step, decision in ((step_api, "accept"), (step_page, "reject"), (step_cli, "accept")):
        item = _show(db, f"W-{step}")
        assert (item.state, item.data["decision"]) == ("done", decision), item


def test_a_flow_made_letters_deliverable_moves_only_with_its_processs_steps(
        db: Any, cli: Any) -> None:
    """Delivering, confirming and returning a letter that a running project's flow made are
    the steps' to do (the stage's work step delivers, the gate confirms or returns): at the
    API, the pages and the command line they are refused, naming the open step to act at,
    and the handoff's page does not offer them. A handoff a person made moves at its page."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from mktflow.engine import handoffs, work

    process, letter, _ = _letter(db, "NPD-DLV", run=None)
    handoffs.accept(_quiet(db), letter, actor_email=HANA)
    stage = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="tech",
                                  title="NPD-DLV concept: design brief", process_id=process,
                                  step_key="concept-design-1")
    app = create_app(db.engine, settings=Settings())
    with member_api(db, app, HANA) as api:
        r = api.post(f"/handoffs/{letter}/deliver", json={"data": {"note": "done"}})
        assert r.status_code == 409, r.text
        assert f"W-{stage.id} 'NPD-DLV concept: design brief' in tech" in r.json()["detail"]
    with serving(app) as url:
        hana = Browser(url)
        hana.sign_in(db, HANA)
        page = hana.get(f"/handoffs/{letter}")
        assert 'value="deliver"' not in page.text and 'value="comment"' in page.text
        hana.client.close()
    r = cli("handoff", "deliver", f"H-{letter}", "--as", HANA)
    assert r.exit_code == 1 and f"W-{stage.id}" in r.stderr, r
    assert _show(db, f"H-{letter}").state == "accepted"
    # the flow delivers it from the step's answer (Door.ENGINE), and marketing's confirm is
    # the gate's: refused at the page's door too
    handoffs.deliver(db.engine_uow(), letter, actor_email=HANA, data={"note": "done"})
    with pytest.raises(Exception, match=f"H-{letter} is confirmed by the steps of P-{process}"):
        handoffs.confirm(_quiet(db), letter, actor_email=OLGA)
    # a handoff a person offered, in no process, is delivered at its own page
    own = handoffs.offer(db.uow(), actor_email=OLGA, from_department="marketing",
                         to_department="tech", title="Banner sizes", due_at=None,
                         criteria="", deliverables=[], letter=False)
    handoffs.accept(_quiet(db), int(own.id), actor_email=HANA)
    assert handoffs.deliver(_quiet(db), int(own.id), actor_email=HANA).state == "delivered"
