"""Links in comments are http, https or mailto, at every door (issue 19, item 8), on both
databases: the command line (exit 2), the REST API (422), the item pages' comment form (the
form's error beside the field); and a page never turns a stored link of another scheme (a row
written before the rule) into an anchor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.integration.api_support import as_member, member_api, serving
from tests.integration.web_support import Browser

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
CARLOS = "carlos.mendez@example.com"  # sales head
#: Links no door takes: what a browser would run or inline, a file, a path without a scheme.
REFUSED = ["javascript:alert(document.cookie)", " JaVaScRiPt:alert(1)",
           "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:msgbox(1)",
           "file:///etc/passwd", "/work/1", "//evil.example/x", "java\tscript:alert(1)"]
ACCEPTED = ["https://x.test/q4?a=1&b=2", "HTTP://example.com", "mailto:olga.petrova@example.com"]
RULE = "only http, https and mailto links are accepted"


def _step(db: Any) -> int:
    from mktflow.engine.work import create_work_item

    return int(create_work_item(db.uow(), actor_email=ANA, department="marketing",
                                title="Brief", assignee=OLGA).id)


def _offer(db: Any) -> int:
    from mktflow.engine.handoffs import offer

    return int(offer(db.uow(), actor_email=ANA, from_department="marketing",
                     to_department="sales", title="Launch kit", due_at=None).id)


def _comments(db: Any, ref: str) -> list[dict[str, Any]]:
    from mktflow.engine import queries

    return [e.data for e in queries.history(db.uow(), ref) if e.action == "comment"]


@pytest.fixture
def app(db: Any) -> Any:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    return create_app(db.engine, settings=Settings())


@pytest.fixture
def api(db: Any, app: Any) -> Iterator[httpx.Client]:
    with member_api(db, app, OLGA, timeout=10) as client:
        yield client


def test_the_command_line_refuses_other_links_naming_the_field_and_the_rule(
        cli: Any, db: Any) -> None:
    wid, hid = _step(db), _offer(db)
    for bad in REFUSED:
        for args in (("work", "comment", f"W-{wid}", "--as", OLGA),
                     ("handoff", "comment", f"H-{hid}", "--as", CARLOS)):
            r = cli(*args, "--text", "see", "--link", "https://ok.test", "--link", bad)
            assert r.exit_code == 2, (bad, r.stdout, r.stderr)
            assert "links: link 2," in r.stderr and repr(bad)[:20] in r.stderr, r.stderr
    assert _comments(db, f"W-{wid}") == [] and _comments(db, f"H-{hid}") == []
    assert "uses the scheme javascript:, and " + RULE in cli(
        "work", "comment", f"W-{wid}", "--as", OLGA, "--text", "x", "--link",
        "javascript:alert(1)").stderr
    ok = cli("work", "comment", f"W-{wid}", "--as", OLGA, "--text", "figures",
             *[a for link in ACCEPTED for a in ("--link", link)])
    assert ok.exit_code == 0, ok.stderr
    assert _comments(db, f"W-{wid}") == [{"text": "figures", "links": ACCEPTED}]


def test_the_api_refuses_other_links_with_422(api: httpx.Client, db: Any) -> None:
    wid, hid = _step(db), _offer(db)
    for bad in REFUSED:
        for path, who in ((f"/work/{wid}/comment", OLGA), (f"/handoffs/{hid}/comment", CARLOS)):
            r = api.post(path, json={"text": "see", "links": [bad]}, headers=as_member(who))
            assert r.status_code == 422, (bad, r.text)
            problem = r.json()
            assert problem["type"] == "urn:mktflow:problem:bad-input"
            assert problem["detail"].startswith("links: "), problem
    assert _comments(db, f"W-{wid}") == [] and _comments(db, f"H-{hid}") == []
    r = api.post(f"/handoffs/{hid}/comment", json={"text": "ok", "links": ACCEPTED},
                 headers=as_member(CARLOS))
    assert r.status_code == 200, r.text
    assert _comments(db, f"H-{hid}") == [{"text": "ok", "links": ACCEPTED}]


def test_the_pages_comment_form_shows_the_refusal_beside_the_links(app: Any, db: Any) -> None:
    wid, hid = _step(db), _offer(db)
    with serving(app) as url:
        olga, carlos = Browser(url), Browser(url)
        olga.sign_in(db, OLGA)
        carlos.sign_in(db, CARLOS)
        for who, path in ((olga, f"/work/{wid}"), (carlos, f"/handoffs/{hid}")):
            who.get(path)
            typed = "https://ok.test\ndata:text/html,<b>x</b>"
            r = who.post(path, {"action": "comment", "text": "see", "links": typed})
            assert r.status_code == 422, r.text
            field = r.text.split('<label for="comment-links">')[1].split("</textarea>")[0]
            assert 'id="e-comment-links">Link 2, ' in field and RULE in field, field
            assert 'aria-invalid="true" aria-describedby="e-comment-links"' in field
            assert "https://ok.test\ndata:text/html,&lt;b&gt;x&lt;/b&gt;" in field  # kept
            done = who.post(path, {"action": "comment", "text": "fine",
                                   "links": "\n".join(ACCEPTED)})
            assert done.status_code == 200 and "commented" in done.text, done.text
        olga.client.close()
        carlos.client.close()
    assert _comments(db, f"W-{wid}") == [{"text": "fine", "links": ACCEPTED}]
    assert _comments(db, f"H-{hid}") == [{"text": "fine", "links": ACCEPTED}]


def test_a_stored_link_of_another_scheme_is_shown_as_text_not_as_a_link(
        app: Any, db: Any) -> None:
    """A comment written before the rule (straight into the table, as an older release could)
    keeps its text on the page; only its http(s) and mailto links are anchors."""
    from mktflow.engine import work

    wid = _step(db)
    work.comment(db.uow(), wid, actor_email=OLGA, text="old note", links=["https://ok.test/a"])
    stored = ["javascript:alert(document.cookie)", "https://ok.test/a", "data:text/html,x",
              " vbscript:msgbox(1)"]
    with db.engine.begin() as conn:  # as a release before the rule stored it
        conn.execute(text("UPDATE auditentry SET data = :data WHERE action = 'comment' "
                          "AND entity_id = :id"),
                     {"data": json.dumps({"text": "old note", "links": stored}), "id": wid})
    with serving(app) as url:
        olga = Browser(url)
        olga.sign_in(db, OLGA)
        page = olga.get(f"/work/{wid}").text
        olga.client.close()
    history = page.split('id="h-history"')[1]
    assert 'href="https://ok.test/a"' in history
    for bad in ("javascript:", "data:", "vbscript:"):
        assert f'href="{bad}' not in history and f'href=" {bad}' not in history
    assert "javascript:alert(document.cookie) (not a link mktflow opens" in history
