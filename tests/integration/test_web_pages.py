"""The departments' pages over real HTTP (uvicorn on a free port), on SQLite and PostgreSQL:
signing in (token, one-time link), the queue, a step's form (a list of objects, field errors,
what was typed kept), handoffs, a head's load, and what protects them (session cookie,
origin and form token, frame and content-security headers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.integration.api_support import serving
from tests.integration.web_support import BROWSER, Browser, sign_in_code

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
MARCO = "marco.rossi@example.com"  # marketing specialist
CARLOS = "carlos.mendez@example.com"  # sales head
HANA = "hana.kim@example.com"  # tech head
LI = "li.na@example.com"  # marketing deputy
SOFIA = "sofia.lopez@example.com"  # marketing specialist
PLAN = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "goal": {"type": "string", "minLength": 3, "title": "Goal"},
        "kpis": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Kpi"}},
        "budget_lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}},
    },
    "required": ["goal", "kpis", "budget_lines"],
    "$defs": {
        "Kpi": {"type": "object", "required": ["name", "target"], "properties": {
            "name": {"type": "string", "minLength": 1},
            "target": {"type": "number", "exclusiveMinimum": 0},
            "higher_is_better": {"type": "boolean", "default": True}}},
        "Line": {"type": "object", "required": ["code", "amount"], "properties": {
            "code": {"type": "string", "pattern": "^[A-Z0-9-]+$"},
            "amount": {"type": "number", "minimum": 0}}},
    },
}
DRAFT = {"goal": "Reach 50 grocers", "kpis": [{"name": "leads", "target": 100,
                                               "higher_is_better": True}],
         "budget_lines": [{"code": "MAIL", "amount": 2500}]}


def _app(db: Any) -> Any:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    return create_app(db.engine, settings=Settings())


@pytest.fixture
def site(db: Any) -> Iterator[str]:
    """The app for ``db`` served on 127.0.0.1."""
    with serving(_app(db)) as url:
        yield url


@pytest.fixture
def browser(site: str) -> Callable[[], Browser]:
    made: list[Browser] = []

    def new() -> Browser:
        made.append(Browser(site))
        return made[-1]

    yield new  # type: ignore[misc]
    for b in made:
        b.client.close()


def _step(db: Any, *, assignee: str | None = None, schema: dict[str, Any] | None = PLAN,
          draft: dict[str, Any] | None = None) -> int:
    from mktflow.engine.work import create_work_item

    item = create_work_item(db.uow(), actor_email=ANA, department="marketing",
                            title="Plan campaign SPRING", form_schema=schema, assignee=assignee,
                            draft=draft)
    return int(item.id)


def _offer(db: Any, to: str = "sales") -> int:
    from mktflow.engine.handoffs import offer

    return int(offer(db.uow(), actor_email=ANA, from_department="marketing", to_department=to,
                     title="Launch kit", due_at=None, criteria="signed off by legal").id)


def written(db: Any) -> tuple[int, int]:
    return db.count("auditentry"), db.count("outboxmessage")


def test_pages_need_a_session_and_carry_the_security_headers(site: str, db: Any) -> None:
    item = _step(db)
    page = httpx.get(f"{site}/work/{item}", headers={"Accept": BROWSER}, timeout=10)
    assert page.status_code == 303
    assert page.headers["location"] == f"/sign-in?next=%2Fwork%2F{item}"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    sign_in = httpx.get(f"{site}/sign-in", headers={"Accept": BROWSER}, timeout=10)
    for r in (page, sign_in, httpx.get(f"{site}/work/{item}", timeout=10)):
        assert r.headers["x-frame-options"] == "DENY"
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
    assert "<script" not in sign_in.text and 'style="' not in sign_in.text
    css = httpx.get(f"{site}/static/mktflow.css", timeout=10)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    # the same URL answers a script JSON (with a member token: reads need a credential)
    from mktflow.engine.credentials import issue_token

    token = issue_token(db.uow(), OLGA).token
    assert httpx.get(f"{site}/work/{item}", timeout=10).status_code == 401
    assert httpx.get(f"{site}/work/{item}", timeout=10,
                     headers={"Authorization": f"Bearer {token}"}).json()["id"] == item
    queue = httpx.get(f"{site}/inbox/marketing", headers={"Accept": BROWSER}, timeout=10)
    assert queue.status_code == 303 and queue.headers["location"].startswith("/sign-in")
    assert httpx.get(f"{site}/inbox/marketing", timeout=10).status_code == 401


def test_a_member_signs_in_claims_fills_the_form_and_completes(
        db: Any, browser: Callable[[], Browser]) -> None:
    item = _step(db, draft=DRAFT)
    olga = browser()
    olga.sign_in(db, OLGA)
    queue = olga.get("/inbox/marketing")
    assert queue.status_code == 200 and f"W-{item} · Plan campaign SPRING" in queue.text
    r = olga.post(f"/work/{item}", {"action": "claim", "next": "/inbox/marketing",
                                    "actor": HANA})  # a typed e-mail acts as nobody
    assert r.status_code == 200 and f"W-{item} claimed." in r.text
    assert db.uow() and _view(db, item).assignee == OLGA

    page = olga.get(f"/work/{item}")
    assert 'name="kpis.0.target" type="number" value="100"' in page.text
    assert 'value="add:budget_lines"' in page.text
    # add a budget line: the form comes back with a blank row, nothing written
    before = written(db)
    form = [("goal", "Reach 60 grocers"), ("kpis.0.name", "leads"), ("kpis.0.target", "150"),
            ("kpis.0.higher_is_better", "false"), ("kpis.0.higher_is_better", "true"),
            ("budget_lines.0.code", "MAIL"), ("budget_lines.0.amount", "2500")]
    added = olga.post(f"/work/{item}", [*form, ("action", "add:budget_lines")])
    assert added.status_code == 200 and 'name="budget_lines.1.code"' in added.text
    assert 'value="Reach 60 grocers"' in added.text and written(db) == before
    assert 'id="f-budget_lines-1-code"' in added.text and "autofocus" in added.text

    # a wrong amount and code: refused beside the fields, what was typed kept
    bad = [*form, ("budget_lines.1.code", "tv spots"), ("budget_lines.1.amount", "-40")]
    refused = olga.post(f"/work/{item}", [*bad, ("action", "complete")])
    assert refused.status_code == 422
    assert 'id="e-f-budget_lines-1-amount"' in refused.text
    assert 'id="e-f-budget_lines-1-code"' in refused.text
    assert 'value="tv spots"' in refused.text and 'value="-40"' in refused.text
    assert _view(db, item).state == "claimed" and written(db) == before
    unreadable = olga.post(f"/work/{item}", [*form, ("budget_lines.1.code", "TV"),
                                             ("budget_lines.1.amount", "lots"),
                                             ("action", "complete")])
    assert unreadable.status_code == 422 and "must be a number" in unreadable.text
    assert 'value="lots"' in unreadable.text

    fixed = [*form, ("budget_lines.1.code", "TV"), ("budget_lines.1.amount", "1200.5")]
    done = olga.post(f"/work/{item}", [*fixed, ("action", "complete")])
    assert done.status_code == 200 and f"W-{item} completed." in done.text
    view = _view(db, item)
    assert view.state == "done" and view.completed_by == OLGA
    assert view.data == {"goal": "Reach 60 grocers",
                            "kpis": [{"name": "leads", "target": 150,
                                      "higher_is_better": True}],
                            "budget_lines": [{"code": "MAIL", "amount": 2500},
                                             {"code": "TV", "amount": 1200.5}]}


def test_a_form_starts_with_the_rows_it_needs_and_its_errors_read_in_words(
        db: Any, browser: Callable[[], Browser]) -> None:
    """A required list (``minItems: 1``) shows its first row before anything is pressed; an
    empty required text says "is required", a short one how long it must be, never ``''
    is too short``."""
    item = _step(db, assignee=OLGA)
    olga = browser()
    olga.sign_in(db, OLGA)
    page = olga.get(f"/work/{item}").text
    assert 'name="kpis.0.name"' in page and 'name="kpis.0.target"' in page
    assert 'name="budget_lines.0.code"' not in page  # not needed: starts empty
    before = written(db)
    blank = olga.post(f"/work/{item}", [("goal", ""), ("kpis.0.name", ""),
                                        ("kpis.0.target", ""), ("action", "complete")])
    assert blank.status_code == 422 and written(db) == before
    assert 'id="e-f-goal">Goal is required<' in blank.text
    assert 'id="e-f-kpis-0-name">Name is required<' in blank.text
    assert 'id="e-f-kpis-0-target">Target is required<' in blank.text
    short = olga.post(f"/work/{item}", [("goal", "ab"), ("kpis.0.name", "leads"),
                                        ("kpis.0.target", "0"), ("action", "complete")])
    assert short.status_code == 422
    assert 'id="e-f-goal">Goal must be at least 3 characters, got 2<' in short.text
    assert 'id="e-f-kpis-0-target">Target must be more than 0, got 0<' in short.text
    for text in (blank.text, short.text):
        assert "too short" not in text and "is less than" not in text


def _view(db: Any, item: int) -> Any:
    from mktflow.engine import queries

    return queries.show(db.uow(), f"W-{item}")


def test_cross_site_and_tokenless_posts_are_refused(
        db: Any, site: str, browser: Callable[[], Browser]) -> None:
    item = _step(db)
    olga = browser()
    olga.sign_in(db, OLGA)
    olga.get(f"/work/{item}")
    before = written(db)
    evil = olga.post(f"/work/{item}", {"action": "claim"}, Origin="https://evil.example",
                     **{"Sec-Fetch-Site": "cross-site"})
    assert evil.status_code == 403
    for headers in ({"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "none"},
                    {"Sec-Fetch-Site": "CROSS-SITE"}, {"Origin": "http://127.0.0.1:1"}):
        assert olga.post(f"/work/{item}", {"action": "claim"}, **headers).status_code == 403
    no_token = olga.post(f"/work/{item}", {"action": "claim", "csrf": "forged"})
    assert no_token.status_code == 403 and "token" in no_token.text
    no_origin = olga.client.post(f"/work/{item}", data={"action": "claim",
                                                        "csrf": olga.csrf})
    assert no_origin.status_code == 403
    # the JSON API refuses a browser's cross-site request too
    api = httpx.post(f"{site}/work/{item}/claim", timeout=10,
                     headers={"X-Mktflow-Actor": OLGA, "Origin": "https://evil.example"})
    assert api.status_code == 403 and api.headers["x-frame-options"] == "DENY"
    assert written(db) == before and _view(db, item).state == "open"
    # another browser's session (no cookie) cannot use Olga's form token
    stranger = browser()
    stranger.csrf = olga.csrf
    assert stranger.post(f"/work/{item}", {"action": "claim"}).status_code == 403
    assert written(db) == before


def test_a_head_reassigns_and_sees_the_load(db: Any, browser: Callable[[], Browser]) -> None:
    item = _step(db, assignee=OLGA, schema=None)
    olga = browser()
    olga.sign_in(db, OLGA)
    assert "Reassign" not in olga.get(f"/work/{item}").text
    assert olga.get("/inbox/marketing/load").status_code == 403
    ana = browser()
    ana.sign_in(db, ANA)
    page = ana.get(f"/work/{item}")
    assert 'value="assign">Reassign</button>' in page.text
    r = ana.post(f"/work/{item}", {"action": "assign", "to": MARCO})
    assert r.status_code == 200 and f"W-{item} assigned." in r.text
    assert _view(db, item).assignee == MARCO
    load = ana.get("/inbox/marketing/load")
    assert load.status_code == 200 and "Marco Rossi" in load.text
    # a refusal is shown with its reason: Olga no longer holds it
    refused = olga.post(f"/work/{item}", {"action": "release"})
    assert refused.status_code in (403, 409) and 'role="alert"' in refused.text
    assert "may not" in refused.text or "only" in refused.text


def test_a_rejected_handoff_is_seen_by_the_offering_department(
        db: Any, browser: Callable[[], Browser]) -> None:
    hid = _offer(db)
    carlos = browser()
    carlos.sign_in(db, CARLOS)
    listed = carlos.get("/inbox/sales/handoffs")
    assert f"H-{hid} · Launch kit" in listed.text.split("Awaiting our confirmation")[0]
    narrowed = carlos.get("/inbox/sales/handoffs", params={"state": "accepted"}).text
    assert f"H-{hid} · Launch kit" not in narrowed and "Offered to us <span" in narrowed
    assert f"H-{hid} · Launch kit" in carlos.get("/inbox/sales/handoffs",
                                                 params={"due": "on-time"}).text
    assert carlos.get("/inbox/sales/handoffs", params={"process": "NOPE"}).status_code == 404
    blank = carlos.post(f"/handoffs/{hid}", {"action": "reject", "reason": " "})
    assert blank.status_code == 422 and "reason" in blank.text
    # the reason field itself is marked, its error beside it (not only in the banner)
    field = blank.text.split('<label for="reason-reject">')[1].split("</textarea>")[0]
    assert 'id="e-reason-reject">Reject needs a reason' in field
    assert 'aria-invalid="true" aria-describedby="e-reason-reject"' in field
    r = carlos.post(f"/handoffs/{hid}", {"action": "reject", "reason": "no capacity in Q1"})
    assert r.status_code == 200 and f"H-{hid} rejected." in r.text
    ana = browser()
    ana.sign_in(db, ANA)
    ours = ana.get("/inbox/marketing/handoffs")
    answered = ours.text.split("Recently answered")[1]
    assert f"H-{hid} · Launch kit" in answered and "no capacity in Q1" in answered
    history = ana.get(f"/handoffs/{hid}").text
    assert "no capacity in Q1" in history and CARLOS in history


def test_sign_in_by_a_one_time_link_and_sign_out(
        db: Any, site: str, browser: Callable[[], Browser]) -> None:
    visitor = browser()
    visitor.get("/sign-in")
    r = visitor.post("/sign-in", {"email": OLGA, "next": "/inbox/marketing"})
    assert r.status_code == 200 and "a one-time sign-in link is on its way" in r.text
    unknown = visitor.post("/sign-in", {"email": "nobody@example.com"})
    assert unknown.status_code == 200 and "on its way" in unknown.text  # nothing learnt
    code = sign_in_code(db, OLGA)
    assert db.count("signinlink") == 1  # nothing for an e-mail that is nobody's
    shown = visitor.get(f"/sign-in/{code}")  # a link checker's GET spends nothing
    assert shown.status_code == 200 and "Sign me in" in shown.text
    signed = visitor.post(f"/sign-in/{code}", {})
    assert signed.status_code == 200 and "Signed in as" in signed.text and OLGA in signed.text
    assert str(signed.url).endswith("/inbox/marketing")
    again = browser()
    again.get("/sign-in")
    assert again.post(f"/sign-in/{code}", {}).status_code == 400  # once only
    out = visitor.post("/sign-out", {})
    assert out.status_code == 200 and "signed out" in out.text
    assert visitor.get("/my-work", follow_redirects=False).status_code == 303
    visitor.get("/sign-in")
    bad = visitor.post("/sign-in", {"token": "mkt_wrong"})
    assert bad.status_code == 401 and "Signed in as" not in bad.text


def test_check_and_save_a_draft_without_completing(
        db: Any, browser: Callable[[], Browser]) -> None:
    item = _step(db, assignee=OLGA, draft=DRAFT)
    olga = browser()
    olga.sign_in(db, OLGA)
    olga.get(f"/work/{item}")
    form = [("goal", "Go"), ("kpis.0.name", "leads"), ("kpis.0.target", "0"),
            ("kpis.0.higher_is_better", "false"), ("budget_lines.0.code", "MAIL"),
            ("budget_lines.0.amount", "10")]
    checked = olga.post(f"/work/{item}", [*form, ("action", "check")])
    assert checked.status_code == 422
    assert 'id="e-f-goal"' in checked.text and 'id="e-f-kpis-0-target"' in checked.text
    assert '<a href="#f-kpis-0-target">KPI 1: Target</a>' in checked.text
    assert _view(db, item).state == "claimed"
    fine = [*form[:2], ("kpis.0.target", "5"), *form[3:]]
    saved = olga.post(f"/work/{item}", [*fine, ("action", "draft")])
    assert saved.status_code == 200 and f"W-{item} draft saved." in saved.text
    view = _view(db, item)
    assert view.state == "claimed" and view.draft["kpis"][0]["target"] == 5
    assert 'name="goal" type="text" value="Go"' in saved.text  # the page starts from it


def test_in_proxy_mode_with_a_token_the_pages_still_sign_people_in(db: Any) -> None:
    from pydantic import SecretStr

    from mktflow.api.app import create_app
    from mktflow.config import Settings

    item = _step(db)
    app = create_app(db.engine, settings=Settings(api_token=SecretStr("s3cret-token-for-api"),
                                                  trust_proxy_header=True))  # SSO-proxy mode
    with serving(app) as url:
        assert httpx.get(f"{url}/work/{item}", timeout=10).status_code == 401
        olga = Browser(url)
        olga.sign_in(db, OLGA)
        page = olga.get(f"/work/{item}")
        assert page.status_code == 200 and f"W-{item} · Plan campaign SPRING" in page.text
        r = olga.post(f"/work/{item}", {"action": "claim"})
        assert r.status_code == 200 and f"W-{item} claimed." in r.text
        # a form post is not a way round the token for the JSON API
        assert httpx.post(f"{url}/work/{item}/release", timeout=10,
                          headers={"X-Mktflow-Actor": OLGA}).status_code == 401
        # every page the navigation links to opens for the signed-in member, token or not
        # (the load page and the forecast are for heads: refused by the read rules, not 401)
        for path in ("/my-work", "/inbox/marketing", "/inbox/marketing/handoffs", "/leads",
                     "/complaints", "/meetings", "/training", "/calendar", "/my-reports",
                     "/reports", "/forecast", "/inbox/marketing/load",
                     "/dashboards/balance/2020-Q3", "/dashboards/periods/2020-Q3"):
            shown = olga.get(path)
            assert shown.status_code in (200, 403), (path, shown.status_code, shown.text[:300])
            assert "text/html" in shown.headers["content-type"], path
        # the form on My work that chooses a daily digest, and the work report's form
        assert olga.post("/my-work/digest", {"mode": "immediate"}).status_code != 401
        assert olga.post("/my-reports", {"done": "", "next": "kept"}).status_code != 401
        # the leads page's gather form, a lead's page and its forms (issue 23 item 1)
        made = olga.post("/leads/new", {"company": "Proxy Grocers", "contact": "x@p.example",
                                        "channel": "web"})
        assert made.status_code == 200 and "Proxy Grocers" in made.text, made.text[:300]
        lead = made.url.path
        assert olga.post(lead, {"action": "disqualify", "reason": "a test"}).status_code == 200
        assert httpx.get(f"{url}{lead}", timeout=10).status_code == 401
        # and those pages are no way round the token for their JSON twins
        assert httpx.get(f"{url}/reports", timeout=10).status_code == 401
        assert httpx.post(f"{url}/forecast", json={}, timeout=10).status_code == 401
        assert httpx.get(f"{url}/dashboards/balance/2020-Q3", timeout=10).status_code == 401
        olga.client.close()


def test_times_are_shown_in_the_organisations_time_zone(db: Any, clock: Any) -> None:
    from datetime import UTC, datetime

    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from mktflow.engine import work

    clock.set(datetime(2027, 1, 4, 9, tzinfo=UTC))  # a winter week: Madrid is on CET
    item = _step(db, assignee=OLGA, schema=None)
    work.update(db.uow(), item, actor_email=ANA, due_at=datetime(2027, 1, 15, 16, 0, tzinfo=UTC))
    app = create_app(db.engine, settings=Settings(web_timezone="Europe/Madrid"))
    with serving(app) as url:
        olga = Browser(url)
        olga.sign_in(db, OLGA)
        page = olga.get(f"/work/{item}").text
        assert '<time datetime="2027-01-15T16:00:00+00:00">Fri 15 Jan 2027, 17:00 CET</time>' \
            in page
        assert "Times in Europe/Madrid." in page
        olga.client.close()


def test_a_deactivated_member_is_signed_out_and_queues_are_per_department(
        db: Any, browser: Callable[[], Browser]) -> None:
    from sqlalchemy import text

    hana = browser()
    hana.sign_in(db, HANA)
    refused = hana.get("/inbox/marketing")
    assert refused.status_code == 403 and "may not see the marketing queue" in refused.text
    assert hana.get("/inbox/tech").status_code == 200
    assert hana.get("/inbox/tech/load").status_code == 200  # she heads tech
    olga = browser()
    olga.sign_in(db, OLGA)
    assert olga.get("/my-work").status_code == 200
    with db.engine.begin() as conn:  # what `org load` does to a member no longer in the file
        conn.execute(text("UPDATE member SET active = :no WHERE email = :e"),
                     {"no": False, "e": OLGA})
    gone = olga.get("/my-work", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/sign-in")


# --- the fresh-user trial's findings on the pages ------------------------------------------


def _approval_step(db: Any, *, assignee: str | None = None, description: str = "") -> int:
    """An approval step as ``seek_approval`` makes it: the approval form, its draft, four eyes
    (the submitter and the specialists excluded) and the matrix rule (heads and deputies)."""
    from mktflow.domain.actors import Approval
    from mktflow.engine.work import create_work_item
    from mktflow.prefect.approvals import ApprovalForm
    from mktflow.prefect.steps import draft_of

    item = create_work_item(
        db.uow(), actor_email=ANA, department="marketing", title="Approve campaign SPRING",
        form_schema=ApprovalForm.model_json_schema(), form_name="ApprovalForm",
        description=description, assignee=assignee, excluded=[OLGA, MARCO, SOFIA],
        draft=draft_of(ApprovalForm, None),
        approval=Approval("marketing", ("head", "deputy"), rule="marketing (head/deputy) x1"))
    return int(item.id)


def _h1(html: str) -> str:
    return html.split("<h1>")[1].split("</h1>")[0]


def test_a_missing_item_says_so_and_leads_back(db: Any, browser: Callable[[], Browser]) -> None:
    olga = browser()
    olga.sign_in(db, OLGA)
    for path, heading in (("/work/9999", "Work item W-9999 not found"),
                          ("/work/W-9999", "Work item W-9999 not found"),
                          ("/handoffs/9999", "Handoff H-9999 not found")):
        page = olga.get(path)
        assert page.status_code == 404 and _h1(page.text) == heading, page.text
        assert '<a href="/my-work">Back to my work</a>' in page.text
        assert '<a href="/inbox/marketing">' in page.text


def test_the_default_priority_reads_normal_and_descriptions_keep_their_breaks(
        db: Any, browser: Callable[[], Browser]) -> None:
    item = _approval_step(db, description="Goal: win <b>400</b> customers. KPIs: new "
                                          "customers 400 customers\n\nAmount 15,000.00.")
    li = browser()
    li.sign_in(db, LI)
    page = li.get(f"/work/{item}").text
    assert "<dd>Normal (50)</dd>" in page and "High" not in page
    assert "Normal" in li.get("/inbox/marketing").text
    assert ('<div class="description"><p>Goal: win &lt;b&gt;400&lt;/b&gt; customers. KPIs: new '
            "customers 400 customers</p>\n<p>Amount 15,000.00.</p>\n</div>") in page
    # before claiming: the draft ({"reason": ""}) holds nothing to show, so no heading for it
    assert "Draft answer" not in page and "<dt>Reason</dt>" not in page
    css = li.get("/static/mktflow.css").text
    assert ".description p { white-space: pre-line;" in css


def test_an_evaluation_steps_description_reads_as_a_table_and_bold_figures(
        db: Any, browser: Callable[[], Browser]) -> None:
    """The campaign's evaluation step describes its figures in Markdown (a KPI table, bold
    amounts): the page shows a table and bold figures, never the pipes and asterisks."""
    from decimal import Decimal

    from flows.campaign import _evaluation_md
    from mktflow.domain.campaign import CampaignEvaluation, KpiResult

    evaluation = CampaignEvaluation(
        kpis=(KpiResult("leads", "", 1200, 1300, 1300 / 1200, True),),
        allocated=Decimal("11000"), spent=Decimal("10500"), variance=Decimal("500"),
        utilisation=10500 / 11000, cost_per_result=Decimal("8.08"), kpis_met=1)
    item = _approval_step(db, description=_evaluation_md(evaluation)
                          + "\n\n<script>alert(1)</script> [x](javascript:alert(1))")
    li = browser()
    li.sign_in(db, LI)
    page = li.get(f"/work/{item}").text
    described = page.split('<div class="description">')[1].split("</div>\n</div>")[0]
    assert "<th>kpi</th>" in described and "<td>leads</td>" in described
    assert "<strong>11,000.00</strong>" in described and "<strong>10,500.00</strong>" in described
    assert "| kpi |" not in page and "**11,000.00**" not in page
    assert "<script>alert" not in page and 'href="javascript:' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in described


def test_an_approval_is_delegated_only_to_whom_the_engine_lets_decide(
        db: Any, browser: Callable[[], Browser]) -> None:
    item = _approval_step(db, assignee=LI)
    li = browser()
    li.sign_in(db, LI)
    page = li.get(f"/work/{item}").text
    offered = page.split('<select id="to-delegate" name="to">')[1].split("</select>")[0]
    assert ANA in offered  # the head may decide it
    for excluded in (OLGA, MARCO, SOFIA, LI):  # four eyes, a specialist's role, herself
        assert excluded not in offered
    ana = browser()
    ana.sign_in(db, ANA)
    given = ana.get(f"/work/{item}").text
    assign = given.split('<select id="to-assign" name="to">')[1].split("</select>")[0]
    assert LI in assign and ANA in assign and OLGA not in assign and MARCO not in assign


def test_an_approval_asks_for_a_decision_then_for_the_reason_it_needs(
        db: Any, browser: Callable[[], Browser]) -> None:
    item = _approval_step(db, assignee=LI)
    li = browser()
    li.sign_in(db, LI)
    li.get(f"/work/{item}")
    before = written(db)
    nothing = li.post(f"/work/{item}", {"decision": "", "reason": "", "action": "complete"})
    assert nothing.status_code == 422
    assert 'id="e-f-decision">Decision is required (choose one)</span>' in nothing.text
    assert 'id="e-f-reason"' not in nothing.text and "too short" not in nothing.text
    reject = li.post(f"/work/{item}", {"decision": "reject", "reason": "", "action": "complete"})
    assert reject.status_code == 422 and "too short" not in reject.text
    assert 'id="e-f-reason">Reason is required when Decision is Reject</span>' in reject.text
    assert '<option value="reject" selected>' in reject.text  # what was chosen is kept
    rework = li.post(f"/work/{item}", {"decision": "rework", "reason": "ok",
                                       "action": "check"})
    assert 'id="e-f-reason">Reason needs at least 3 characters when Decision is Rework' \
        in rework.text
    assert written(db) == before and _view(db, item).state == "claimed"


def test_reassigning_all_to_the_same_member_is_refused_and_writes_nothing(
        db: Any, browser: Callable[[], Browser], cli: Any) -> None:
    from mktflow.domain.errors import BadInput
    from mktflow.engine import work

    _step(db, assignee=OLGA, schema=None)
    ana = browser()
    ana.sign_in(db, ANA)
    page = ana.get("/inbox/marketing/load").text
    to = page.split('<select id="to" name="to" required>')[1].split("</select>")[0]
    assert '<option value="" selected>— choose who takes it —</option>' in to
    assert " selected" not in to.replace('<option value="" selected>', "")
    before = written(db)
    blank = ana.post("/inbox/marketing/load", {"action": "reassign-all", "from": OLGA, "to": ""})
    assert blank.status_code == 422 and 'id="e-to">choose who takes the work' in blank.text
    same = ana.post("/inbox/marketing/load", {"action": "reassign-all", "from": OLGA,
                                              "to": OLGA.upper()})
    assert same.status_code == 422 and 'role="alert"' in same.text
    assert f"{OLGA} is whom the work would come from: choose another member" in same.text
    assert f'<option value="{OLGA}" selected>Olga Petrova</option>' in same.text  # kept
    assert f'<option value="{OLGA}" selected>Olga Petrova (1)</option>' in same.text
    with pytest.raises(BadInput, match="choose another member"):
        work.reassign_all(db.uow(), from_email=OLGA, to_email=OLGA, actor_email=ANA)
    refused = cli("work", "reassign-all", "--from", OLGA, "--to", OLGA, "--as", ANA)
    assert refused.exit_code != 0 and "choose another member" in refused.stdout + refused.stderr
    assert written(db) == before


def test_a_link_for_text_that_is_no_e_mail_says_so(
        db: Any, browser: Callable[[], Browser]) -> None:
    visitor = browser()
    visitor.get("/sign-in")
    before = written(db)
    r = visitor.post("/sign-in", {"email": "olga.petrova-at-example"})
    assert r.status_code == 422 and "on its way" not in r.text
    assert 'id="e-email">Your work e-mail is not an e-mail address' in r.text
    assert 'value="olga.petrova-at-example"' in r.text  # what was typed is kept
    # an e-mail that is nobody's still learns nothing
    unknown = visitor.post("/sign-in", {"email": "nobody@example.com"})
    assert unknown.status_code == 200 and "on its way" in unknown.text
    assert written(db) == before
