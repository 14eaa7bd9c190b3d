"""What each door says when it refuses (issue 21, "Pages read well"), on SQLite and PostgreSQL,
over real HTTP and the command line:

* a broken form rule reads in words ("is required", "must be at most 300 characters"), never
  ``'' is too short``, in the API's 422 detail and errors, the pages and the CLI;
* the refusal order never reveals more than the read table allows: a claim on another
  department's held step is refused for who is asking (403, exit 1) before any refusal for
  its state, which would name the holder; a member of the department still learns who holds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.api_support import as_member, member_api, serving
from tests.integration.web_support import Browser

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
MARCO = "marco.rossi@example.com"  # marketing specialist
HANA = "hana.kim@example.com"  # tech head
FORM = {"type": "object", "required": ["goal", "kpis"], "properties": {
    "goal": {"type": "string", "minLength": 3, "maxLength": 300},
    "kpis": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}}}


def _app(db: Any) -> Any:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    return create_app(db.engine, settings=Settings())


def _held_step(db: Any) -> int:
    """A marketing step with FORM, held by Olga."""
    from mktflow.engine.work import create_work_item

    return int(create_work_item(db.uow(), actor_email=ANA, department="marketing",
                                title="Plan SPRING", form_schema=FORM, assignee=OLGA).id)


@pytest.fixture
def api(db: Any) -> Iterator[httpx.Client]:
    with member_api(db, _app(db), OLGA) as client:
        yield client


def test_the_api_says_each_broken_rule_in_words(db: Any, api: httpx.Client) -> None:
    item = _held_step(db)
    blank = api.post(f"/work/{item}/complete", json={"data": {"goal": "", "kpis": []}})
    assert blank.status_code == 422
    body = blank.json()
    assert {(e["field"], e["message"]) for e in body["errors"]} == {
        ("goal", "is required"), ("kpis", "is required (at least one entry)")}
    assert "too short" not in blank.text and "should be non-empty" not in blank.text
    long = api.post(f"/work/{item}/complete", json={"data": {"goal": "g" * 301, "kpis": ["x"]}})
    assert long.status_code == 422
    assert "field 'goal': must be at most 300 characters, got 301" in long.json()["detail"]
    # the request's own schema (pydantic) says it the same way
    titled = api.post("/work", json={"department": "marketing", "title": "t" * 301})
    assert titled.status_code == 422
    assert titled.json()["errors"] == [{"field": "title", "in": "body", "rule": "string_too_long",
                                        "message": "must be at most 300 characters, got 301"}]
    assert "String should have" not in titled.text
    untitled = api.post("/work", json={"department": "marketing", "title": ""})
    assert untitled.json()["errors"][0]["message"] == "is required"


def test_the_command_line_says_each_broken_rule_in_words(db: Any, cli: Any) -> None:
    item = _held_step(db)
    r = cli("work", "complete", f"W-{item}", "--as", OLGA, "--data", '{"goal": "", "kpis": []}')
    assert r.exit_code == 2, r
    assert "field 'goal': is required" in r.stderr
    assert "field 'kpis': is required (at least one entry)" in r.stderr
    assert "too short" not in r.stderr
    r = cli("work", "complete", f"W-{item}", "--as", OLGA, "--data",
            '{"goal": "ab", "kpis": ["leads"]}')
    assert r.exit_code == 2 and "field 'goal': must be at least 3 characters, got 2" in r.stderr


def test_a_claim_on_another_departments_held_step_is_refused_for_who_asks_first(
        db: Any, api: httpx.Client, cli: Any) -> None:
    """Hana (tech) may not see marketing's step: 403 at every door, the holder unnamed. Marco
    (marketing) may: he is told it is held, and by whom (409)."""
    item = _held_step(db)
    outsider = api.post(f"/work/{item}/claim", headers=as_member(HANA))
    assert outsider.status_code == 403, outsider.text
    assert OLGA not in outsider.text and "claimed" not in outsider.json()["detail"]
    assert "only a member of the owning department" in outsider.json()["detail"]
    insider = api.post(f"/work/{item}/claim", headers=as_member(MARCO))
    assert insider.status_code == 409 and OLGA in insider.json()["detail"]

    r = cli("work", "claim", f"W-{item}", "--as", HANA)
    assert r.exit_code == 1 and OLGA not in r.stderr + r.stdout
    assert "may not claim" in r.stderr
    r = cli("work", "claim", f"W-{item}", "--as", MARCO)
    assert r.exit_code == 1 and OLGA in r.stderr

    with serving(_app(db)) as url:
        hana = Browser(url)
        hana.sign_in(db, HANA)
        hana.get("/my-work")  # the form token of her session
        page = hana.post(f"/work/{item}", {"action": "claim"})
        assert page.status_code == 403 and OLGA not in page.text
        marco = Browser(url)
        marco.sign_in(db, MARCO)
        marco.get(f"/work/{item}")
        page = marco.post(f"/work/{item}", {"action": "claim"})
        assert page.status_code == 409 and OLGA in page.text
        for b in (hana, marco):
            b.client.close()


def test_a_handoff_of_other_departments_is_refused_for_who_asks_first(
        db: Any, api: httpx.Client) -> None:
    """Accepting a handoff that tech already accepted, asked by sales (neither side): 403; by
    either side (who may see it): 409, it is accepted."""
    from mktflow.engine import handoffs

    h = handoffs.offer(db.uow(), actor_email=ANA, from_department="marketing",
                       to_department="tech", title="Launch kit", due_at=None, criteria="ok")
    handoffs.accept(db.uow(), int(h.id), actor_email=HANA)
    carlos = api.post(f"/handoffs/{h.id}/accept",
                      headers=as_member("carlos.mendez@example.com"))
    assert carlos.status_code == 403 and "accepted" not in carlos.json()["detail"]
    ana = api.post(f"/handoffs/{h.id}/accept", headers=as_member(ANA))
    assert ana.status_code == 409  # the offering side sees the handoff: it learns its state
    hana = api.post(f"/handoffs/{h.id}/accept", headers=as_member(HANA))
    assert hana.status_code == 409 and "accepted" in hana.json()["detail"]


def test_a_process_history_names_every_entry_never_a_question_mark(db: Any, cli: Any) -> None:
    """Issue 21: `mktflow history P-n` listed a process's business rows (a campaign, its budget
    lines) as ``?-2``: their kinds have no W/H/P prefix. Each reads as its kind and id."""
    from mktflow.engine import processes

    p = processes.start_process(db.uow(), process="campaign", business_key="CMP-HIST",
                                owner_email=OLGA)
    uow = db.uow()
    with uow:
        for kind in ("campaign", "budget_line"):
            uow.audit(actor="mktflow", entity_type=kind, entity_id=2, action="record",
                      process_id=p.id)
        uow.commit()
    r = cli("history", f"P-{p.id}")
    assert r.exit_code == 0, r
    assert "?-" not in r.stdout
    assert "campaign 2" in r.stdout and "budget_line 2" in r.stdout and f"P-{p.id}" in r.stdout
