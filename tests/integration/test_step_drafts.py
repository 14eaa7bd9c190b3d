"""Every door gets the same draft: the pre-filled answer a step stores when it is created is
shown by ``work show``, the REST API and the item's page, and submitted (with given data laid
over its top-level keys) by ``work complete`` and ``POST /work/{id}/complete``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mktflow.domain.errors import BadInput, FormInvalid
from mktflow.engine import queries, work
from mktflow.engine.steps import complete_step
from tests.integration.web_support import Browser

OLGA = "olga.petrova@example.com"  # marketing specialist
FORM = {
    "type": "object",
    "properties": {"budget": {"type": "number", "minimum": 0},
                   "channels": {"type": "array", "items": {"type": "string"}},
                   "note": {"type": "string"}},
    "required": ["budget", "channels"],
    "additionalProperties": False,
}
DRAFT = {"budget": 15000, "channels": ["in-store tasting", "social ads"], "note": "as planned"}


def _step(db: Any, draft: dict[str, Any] | None = DRAFT) -> int:
    item = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="marketing",
                                 title="Confirm the plan", form_schema=FORM, assignee=OLGA,
                                 draft=draft)
    assert item.id is not None
    return item.id


def test_no_data_submits_the_draft_and_data_replaces_top_level_keys(db: Any) -> None:
    as_drafted = _step(db)
    assert queries.show(db.uow(), f"W-{as_drafted}").draft == DRAFT
    assert complete_step(db.uow(), as_drafted, actor_email=OLGA).data == DRAFT
    changed = _step(db)
    done = complete_step(db.uow(), changed, actor_email=OLGA,
                         data={"channels": ["radio"], "budget": 9000})
    # shallow: the list given replaces the draft's list; keys not given keep the draft's value
    assert done.data == {"budget": 9000, "channels": ["radio"], "note": "as planned"}


def test_the_merged_answer_is_checked_against_the_form(db: Any) -> None:
    item_id = _step(db)
    with pytest.raises(FormInvalid, match="budget"):
        complete_step(db.uow(), item_id, actor_email=OLGA, data={"budget": -1})
    with pytest.raises(FormInvalid):
        complete_step(db.uow(), item_id, actor_email=OLGA, data={"extra": 1})
    view = queries.show(db.uow(), f"W-{item_id}")
    assert view.state == "claimed" and view.data is None and view.draft == DRAFT
    partial = _step(db, draft={"note": "only a note"})
    with pytest.raises(FormInvalid, match="budget"):
        complete_step(db.uow(), partial, actor_email=OLGA)
    with pytest.raises(BadInput, match="draft"):
        work.create_work_item(db.engine_uow(), actor_email="mktflow", department="marketing",
                              title="Bad", draft=["not", "an", "object"])  # type: ignore[arg-type]


def test_cli_shows_the_draft_and_completes_with_it(db: Any, cli: Any) -> None:
    item_id = _step(db)
    shown = cli("work", "show", f"W-{item_id}", "--json").json()
    assert shown["draft"] == DRAFT
    text = cli("work", "show", f"W-{item_id}").stdout
    assert '"channels": ["in-store tasting", "social ads"]' in text
    done = cli("work", "complete", f"W-{item_id}", "--as", OLGA, "--data", '{"note": "ok"}',
               "--json").json()
    assert done["state"] == "done" and done["data"] == {**DRAFT, "note": "ok"}
    plain = _step(db)
    assert cli("work", "complete", str(plain), "--as", OLGA).exit_code == 0
    assert queries.show(db.uow(), f"W-{plain}").data == DRAFT


@pytest.fixture
def api(db: Any) -> Iterator[httpx.Client]:
    """The API for ``db`` on uvicorn in a background thread, reading with Olga's token."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import member_api

    with member_api(db, create_app(db.engine, settings=Settings()), OLGA,
                    timeout=10) as client:
        yield client


def test_api_and_page_offer_and_accept_the_draft(db: Any, api: httpx.Client) -> None:
    item_id = _step(db)
    assert api.get(f"/work/{item_id}").json()["draft"] == DRAFT
    olga = Browser(str(api.base_url).rstrip("/"))
    olga.sign_in(db, OLGA)
    page = olga.get(f"/work/{item_id}").text  # the form's fields start from the draft
    assert 'name="budget" type="number" value="15000"' in page
    assert 'name="channels.0" type="text" value="in-store tasting"' in page
    olga.client.close()
    done = api.post(f"/work/{item_id}/complete", json={})
    assert done.status_code == 200 and done.json()["data"] == DRAFT
    merged = _step(db)
    r = api.post(f"/work/{merged}/complete", json={"data": {"budget": 1}})
    assert r.json()["data"] == {**DRAFT, "budget": 1}
    refused = _step(db)
    r = api.post(f"/work/{refused}/complete", json={"data": {"budget": -5}})
    assert r.status_code == 422 and api.get(f"/work/{refused}").json()["state"] == "claimed"


def test_a_refused_ui_answer_is_on_record_and_never_becomes_the_draft(db: Any, cli: Any) -> None:
    """A refused answer from the Prefect UI is kept in the step's history (who, at which door,
    what it said) and changes neither the draft nor any other answer (issue 20)."""
    from mktflow.prefect import tasks

    item_id = _step(db)
    typed = {**DRAFT, "budget": 7}
    tom = "tom.berg@example.com"  # tech: may not answer a marketing step
    outcome = tasks.reconcile_ui_answer.fn(item_id, "plan", tom, typed)
    assert outcome["ok"] is False and "may not" in outcome["error"]
    shown = queries.show(db.uow(), f"W-{item_id}")
    assert shown.draft == DRAFT and shown.data is None and shown.state == "claimed"
    entry = queries.history(db.uow(), f"W-{item_id}")[-1]
    assert entry.action == "comment" and "may not" in entry.reason
    assert entry.data["refused_answer"] == {"by": tom, "door": "Prefect UI resume form",
                                               "data": typed}
    assert entry.changes is None  # nothing of the step changed


def test_only_who_may_complete_the_step_may_write_its_draft(db: Any) -> None:
    """Four eyes hold on drafts too: an excluded member cannot plant an answer (a decision)
    that the holder would then submit pre-filled (issue 19)."""
    from mktflow.domain.errors import NotAuthorized

    item = work.create_work_item(db.engine_uow(), actor_email="mktflow",
                                 department="marketing", title="Approve the plan",
                                 assignee="ana.torres@example.com", excluded=[OLGA],
                                 form_schema={"type": "object", "properties": {
                                     "decision": {"type": "string"}}})
    assert item.id is not None
    with pytest.raises(NotAuthorized, match="may not draft"):
        work.save_draft(db.uow(), item.id, actor_email=OLGA, draft={"decision": "approve"})
    with pytest.raises(NotAuthorized, match="may not draft"):  # not the holder either
        work.save_draft(db.uow(), item.id, actor_email="li.na@example.com",
                        draft={"decision": "approve"})
    assert queries.show(db.uow(), f"W-{item.id}").draft is None
    work.save_draft(db.uow(), item.id, actor_email="ana.torres@example.com",
                    draft={"decision": "reject"})
    assert queries.show(db.uow(), f"W-{item.id}").draft == {"decision": "reject"}
