"""The department's desk at its doors (issue #24 items 1 and 2): the queue page as a browser
posts its forms (no script), the REST API (``/views``, ``POST /work/bulk``, problem+json) and
the command line (``mktflow view``, ``mktflow work bulk``); on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from mktflow.engine import desk, queries
from mktflow.engine.work import create_work_item
from tests.integration.api_support import bearer, member_tokens, serving
from tests.integration.web_support import Browser

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
SOFIA = "sofia.lopez@example.com"  # marketing specialist
TOM = "tom.berg@example.com"  # tech specialist


def step(db: Any, title: str, *, assignee: str | None = None) -> int:
    item = create_work_item(db.uow(), actor_email=ANA, department="marketing", title=title,
                            assignee=assignee)
    assert item.id is not None
    return item.id


@pytest.fixture
def site(db: Any) -> Iterator[str]:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    with serving(create_app(db.engine, settings=Settings())) as url:
        yield url


def test_the_queue_page_saves_shares_and_defaults_a_view_and_acts_in_bulk(
        db: Any, site: str) -> None:
    first, second = step(db, "Brief the agency"), step(db, "Check the copy")
    held = step(db, "Held by Sofia", assignee=SOFIA)
    olga, sofia = Browser(site), Browser(site)
    try:
        olga.sign_in(db, OLGA)
        # the filter form sends every field, the empty ones too
        page = olga.get("/inbox/marketing?state=open&process=&due=&holder=&priority=&text=")
        assert page.status_code == 200, page.text
        assert "Saved views" in page.text and "No saved views yet" in page.text
        r = olga.post("/inbox/marketing/views", {"action": "save", "name": " ", "state": "open"})
        assert r.status_code == 422 and "a saved view needs a name" in r.text
        r = olga.post("/inbox/marketing/views", {"action": "save", "name": "Open work",
                                                 "state": "open", "shared": "true"})
        assert r.status_code == 200 and "View saved." in r.text
        assert re.search(r"/inbox/marketing\?state=open&view=V-\d+&done=view\+saved$",
                         str(r.url)), r.url
        assert "Held by Sofia" not in r.text and "Brief the agency" in r.text
        found = olga.get("/inbox/marketing?text=AGENCY&priority=normal")
        assert "Brief the agency" in found.text and "Check the copy" not in found.text

        sofia.sign_in(db, SOFIA)
        view = desk.list_views(db.uow(), reader=SOFIA)[0]
        mine = sofia.get("/inbox/marketing")
        assert "Open work" in mine.text and "by olga.petrova@example.com" in mine.text
        assert "Held by Sofia" in mine.text  # no default yet: everything
        r = sofia.post("/inbox/marketing/views", {"action": "default", "view": view.ref})
        assert "Default view chosen." in r.text
        opened = sofia.get("/inbox/marketing")  # no filter in the address: her default
        assert "Held by Sofia" not in opened.text and "· Open work" in opened.text
        r = sofia.post("/inbox/marketing/views", {"action": "delete", "view": view.ref})
        assert r.status_code == 403 and "may not change saved view" in r.text

        # the bulk form: boxes on the rows, one post, an answer per item
        assert f'name="item" value="W-{first}" form="bulk"' in olga.get("/inbox/marketing").text
        r = olga.post("/inbox/marketing/bulk", [("action", "claim"), ("item", f"W-{first}"),
                                                ("item", f"W-{second}"),
                                                ("item", f"W-{held}")])
        assert r.status_code == 200 and "Claim: 2 done, 1 refused" in r.text
        answers = re.findall(r'<tr class="is-(done|refused)"><td><a href="/work/\d+">(W-\d+)',
                             r.text)
        assert answers == [("done", f"W-{first}"), ("done", f"W-{second}"),
                           ("refused", f"W-{held}")]
        assert queries.show(db.uow(), f"W-{first}").assignee == OLGA
        r = olga.post("/inbox/marketing/bulk", [("action", "assign"), ("item", f"W-{first}")])
        assert r.status_code == 422 and "choose the member who takes the items" in r.text
        r = olga.post("/inbox/marketing/bulk", [("action", "update"), ("priority", "400"),
                                                ("item", f"W-{first}")])
        assert r.status_code == 422 and "priority: must be a whole number from 0 to 100" in r.text
    finally:
        olga.client.close()
        sofia.client.close()


def test_the_api_serves_views_and_bulk_actions_with_problem_details(db: Any, site: str
                                                                   ) -> None:
    tokens = member_tokens(db)
    olga, sofia = bearer(tokens[OLGA]), bearer(tokens[SOFIA])
    one, two = step(db, "One"), step(db, "Two")
    with httpx.Client(base_url=site, timeout=10) as api:
        r = api.post("/views", headers=olga, json={"name": "Late", "department": "marketing",
                                                   "due": "overdue", "shared": True})
        assert r.status_code == 201 and r.headers["location"] == f"/views/{r.json()['ref']}"
        ref = r.json()["ref"]
        assert [v["name"] for v in api.get("/views", headers=sofia).json()] == ["Late"]
        r = api.post(f"/views/{ref}/default", headers=sofia)
        assert r.status_code == 200 and r.json()["default"] is True
        r = api.delete(f"/views/{ref}", headers=sofia)
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        r = api.post("/views", headers=olga, json={"name": "x", "department": "marketing",
                                                   "state": "done"})
        assert r.status_code == 422 and "state" in r.text
        assert api.delete("/views/default/marketing", headers=sofia).status_code == 204
        assert api.delete(f"/views/{ref}", headers=olga).status_code == 204
        assert api.get(f"/views/{ref}", headers=olga).status_code == 404

        r = api.get("/inbox/marketing", headers=olga, params={"text": "TWO",
                                                              "priority": "normal"})
        assert [row["ref"] for row in r.json()["rows"]] == [f"W-{two}"]
        r = api.get("/inbox/marketing", headers=olga, params={"priority": "top"})
        assert r.status_code == 422 and "priority" in r.text
        r = api.post("/work/bulk", headers=olga,
                     json={"action": "claim", "items": [f"W-{one}", str(two), "W-999999"]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["done"], body["refused"]) == (2, 1)
        assert [(i["ref"], i["ok"], i["status"]) for i in body["items"]] == [
            (f"W-{one}", True, 200), (f"W-{two}", True, 200), ("W-999999", False, 404)]
        r = api.post("/work/bulk", headers=olga, json={"action": "cancel", "items": ["1"]})
        assert r.status_code == 422 and "reason" in r.json()["detail"]
        r = api.post("/work/bulk", headers=olga,
                     json={"action": "claim", "items": ["W-1"] * 201})
        assert r.status_code == 422 and "items" in r.text


def test_the_command_line_saves_views_and_acts_in_bulk(db: Any,
                                                       cli: Callable[..., Any]) -> None:
    one, two = step(db, "One"), step(db, "Two")
    r = cli("view", "save", "Mine", "--as", OLGA, "--holder", OLGA, "--json")
    assert r.exit_code == 0, r.stderr
    saved = json.loads(r.stdout)
    assert (saved["department"], saved["holder"], saved["shared"]) == ("marketing", OLGA, False)
    r = cli("view", "list", "--as", OLGA)
    assert "Mine" in r.stdout and saved["ref"] in r.stdout
    r = cli("view", "default", saved["ref"], "--as", SOFIA, "--json")
    assert r.exit_code == 2 and "is not a saved view you can see" in r.stderr
    r = cli("view", "save", "x", "--as", OLGA, "--due", "later")
    assert r.exit_code == 2 and "due: must be one of overdue, on-time" in r.stderr
    assert cli("view", "delete", saved["ref"], "--as", OLGA).exit_code == 0

    r = cli("inbox", "marketing", "--text", "one", "--priority", "normal", "--json")
    assert [row["ref"] for row in json.loads(r.stdout)["rows"]] == [f"W-{one}"]
    cli("work", "claim", str(two), "--as", SOFIA)
    r = cli("work", "bulk", "claim", f"W-{one}", f"W-{two}", "--as", OLGA, "--json")
    assert r.exit_code == 1
    answer = json.loads(r.stdout)
    assert [(i["ref"], i["ok"]) for i in answer["items"]] == [(f"W-{one}", True),
                                                              (f"W-{two}", False)]
    r = cli("work", "bulk", "release", f"W-{one}", "--as", OLGA)
    assert r.exit_code == 0 and f"W-{one}: done: W-{one} released" in r.stdout
    r = cli("work", "bulk", "sign", f"W-{one}", "--as", OLGA)
    assert r.exit_code == 2 and "action: 'sign' is not a bulk action" in r.stderr
