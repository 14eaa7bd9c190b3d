"""The REST API over real HTTP (uvicorn on a free port), on real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from mktflow.domain import clock as clocks
from mktflow.domain.clock import FrozenClock
from tests.dates import days_ahead
from tests.integration.api_support import TOKENS, as_member, member_api, serving

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
LI = "li.na@example.com"  # marketing deputy
CARLOS = "carlos.mendez@example.com"  # sales head
HANA = "hana.kim@example.com"  # tech head
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FORM = {
    "type": "object",
    "properties": {"budget": {"type": "number", "minimum": 0},
                   "channel": {"type": "string"}},
    "required": ["budget", "channel"],
}


def _app(db: Any, token: str | None = None, *, proxy: bool = False) -> Any:
    from pydantic import SecretStr

    from mktflow.api.app import create_app
    from mktflow.config import Settings

    return create_app(db.engine, settings=Settings(
        api_token=SecretStr(token) if token else None, trust_proxy_header=proxy))


@pytest.fixture
def api(db: Any) -> Iterator[httpx.Client]:
    """An HTTP client on the API served for ``db``; it reads with Ana's member token."""
    with member_api(db, _app(db), ANA, timeout=60) as client:
        yield client


def as_(email: str) -> dict[str, str]:
    """Act as ``email``: their member token proves it, with the typed header beside it (which
    alone proves nothing)."""
    token = as_member(email) if email in TOKENS else {"Authorization": ""}
    return {**token, "X-Mktflow-Actor": email}


def written(db: Any) -> Callable[[], tuple[int, int]]:
    """A probe of (audit entries, outbox messages): a refused command must change neither."""
    return lambda: (db.count("auditentry"), db.count("outboxmessage"))


def assert_problem(r: httpx.Response, status: int, kind: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if kind:
        assert body["type"] == f"urn:mktflow:problem:{kind}"
    return body


def create_work(api: httpx.Client, title: str = "Spring brief", **extra: Any) -> dict[str, Any]:
    r = api.post("/work", headers=as_(ANA),
                 json={"department": "marketing", "title": title, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def offer_handoff(api: httpx.Client, due: str | None = None) -> dict[str, Any]:
    """Marketing offers sales a launch kit, due ``due`` (default: five days ahead, at 17:00)."""
    due = due or f"{clocks.today() + timedelta(days=5)}T17:00:00"
    r = api.post("/handoffs", headers=as_(ANA), json={
        "from_department": "marketing", "to_department": "sales", "title": "Launch kit",
        "due": due, "criteria": "signed off by legal",
        "deliverables": ["price list"]})
    assert r.status_code == 201, r.text
    return r.json()


def test_work_item_life(api: httpx.Client, db: Any) -> None:
    item = create_work(api, form_schema=FORM, priority=70)
    wid = item["id"]
    assert item["state"] == "open"
    assert api.get(f"/work/{wid}").json()["form_schema"] == FORM
    assert f"W-{wid}" in [e["ref"] for e in api.get("/inbox/marketing").json()["rows"]]

    r = api.post(f"/work/{wid}/claim", headers=as_(OLGA))
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["assignee"]) == ("claimed", OLGA)
    assert [e["ref"] for e in api.get("/inbox/marketing",
                                            params={"member": OLGA}).json()["rows"]] == [
        f"W-{wid}"]

    probe = written(db)
    before = probe()
    r = api.post(f"/work/{wid}/complete", headers=as_(OLGA), json={"data": {"budget": -5}})
    body = assert_problem(r, 422, "form-invalid")
    assert {e["field"] for e in body["errors"]} == {"budget", "channel"}
    assert "budget" in body["detail"]
    assert probe() == before
    assert api.get(f"/work/W-{wid}").json()["state"] == "claimed"

    r = api.post(f"/work/{wid}/complete", headers=as_(OLGA),
                 json={"data": {"budget": 1200, "channel": "email"}})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "done"
    assert r.json()["data"] == {"budget": 1200, "channel": "email"}
    trail = api.get(f"/history/W-{wid}").json()
    assert [(h["action"], h["actor"]) for h in trail] == [
        ("create", ANA), ("claim", OLGA), ("complete", OLGA)]


def test_handoff_life_and_reject_needs_a_reason(api: httpx.Client, db: Any,
                                                clock: FrozenClock) -> None:
    day = clock.today() + timedelta(days=5)
    handoff = offer_handoff(api, f"{day}T17:00:00")
    hid = handoff["id"]
    assert handoff["due"] == f"{day}T17:00:00Z"  # no zone given: UTC
    assert f"H-{hid}" in [e["ref"] for e in api.get("/inbox/sales",
                                                    headers=as_(CARLOS)).json()["rows"]]
    probe = written(db)
    before = probe()

    body = assert_problem(api.post(f"/handoffs/{hid}/reject", headers=as_(CARLOS), json={}),
                          422, "request-invalid")
    assert [e["field"] for e in body["errors"]] == ["reason"]
    body = assert_problem(api.post(f"/handoffs/{hid}/reject", headers=as_(CARLOS),
                                   json={"reason": "  "}), 422, "bad-input")
    assert "reject needs a reason" in body["detail"]
    assert probe() == before

    r = api.post(f"/handoffs/H-{hid}/reject", headers=as_(CARLOS),
                 json={"reason": "no capacity before Q1"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["reason"]) == ("rejected", "no capacity before Q1")
    last = api.get(f"/history/H-{hid}").json()[-1]
    assert (last["action"], last["actor"], last["from_state"], last["to_state"],
            last["reason"]) == ("reject", CARLOS, "offered", "rejected", "no capacity before Q1")

    hid = offer_handoff(api)["id"]  # a second one goes the whole way
    for action, who, payload in (
            ("accept", CARLOS, None), ("deliver", CARLOS, {"data": {"v": 1}}),
            ("return", ANA, {"reason": "prices missing"}), ("deliver", CARLOS, {}),
            ("confirm", ANA, None)):
        r = api.post(f"/handoffs/{hid}/{action}", headers=as_(who), json=payload)
        assert r.status_code == 200, (action, r.text)
    view = api.get(f"/handoffs/{hid}").json()
    assert (view["state"], view["return_count"]) == ("confirmed", 1)


def test_refusals_name_who_and_why(api: httpx.Client, db: Any) -> None:
    wid = create_work(api)["id"]
    probe = written(db)
    before = probe()
    body = assert_problem(api.post(f"/work/{wid}/claim", headers=as_(HANA)), 403,
                          "not-authorized")
    assert HANA in body["detail"]
    assert "only a member of the owning department may" in body["detail"]
    assert probe() == before

    assert api.post(f"/work/{wid}/claim", headers=as_(OLGA)).status_code == 200
    body = assert_problem(api.post(f"/work/{wid}/claim", headers=as_(LI)), 409,
                          "transition-refused")
    assert f"held by {OLGA}" in body["detail"]

    body = assert_problem(api.post(f"/work/{wid}/cancel", headers=as_(OLGA),
                                   json={"reason": "not needed"}), 403, "not-authorized")
    assert "head" in body["detail"]
    anonymous = api.post(f"/work/{wid}/claim", headers={"Authorization": ""})
    body = assert_problem(anonymous, 401, "not-authenticated")
    assert "Authorization: Bearer" in body["detail"]
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert probe() == (before[0] + 1, before[1])  # only Olga's claim was written


def test_reads_and_unknown_items(api: httpx.Client, db: Any) -> None:
    from mktflow.engine.processes import start_process

    assert api.get("/health").json() == {"status": "ok"}
    org = api.get("/org").json()
    assert "marketing" in [d["code"] for d in org["departments"]]
    process = start_process(db.uow(), process="campaign", business_key="CAMP-API-1",
                            owner_email=ANA)
    assert [p["business_key"] for p in api.get("/processes").json()] == ["CAMP-API-1"]
    assert api.get(f"/processes/P-{process.id}").json()["work_items"] == []
    assert [h["action"] for h in api.get("/history/CAMP-API-1").json()] == ["start"]

    assert "W-999999 does not exist" in assert_problem(api.get("/work/999999"), 404,
                                                       "not-found")["detail"]
    assert_problem(api.post("/work/999999/claim", headers=as_(OLGA)), 404, "not-found")
    assert_problem(api.post("/handoffs/999999/accept", headers=as_(CARLOS)), 404, "not-found")
    assert_problem(api.get("/history/NO-SUCH-KEY"), 404, "not-found")
    assert_problem(api.get("/inbox/nowhere"), 404, "not-found")
    assert_problem(api.get("/processes/999999"), 404, "not-found")
    assert_problem(api.post("/work/claim-me/claim", headers=as_(OLGA)), 422, "bad-input")
    wid = create_work(api)["id"]
    body = assert_problem(api.post(f"/work/{wid}/claim", headers=as_("nobody@example.com")),
                          401, "not-authenticated")  # a typed e-mail proves nothing
    assert "not proven" in body["detail"]
    assert_problem(api.get("/no/such/route"), 404)


def test_token_is_required_and_never_shown(
    sqlite_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    token = "t0ken-that-must-not-leak"  # the SSO proxy's shared token
    with serving(_app(sqlite_db, token, proxy=True)) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/health").status_code == 200
        refused = [client.get("/org"), client.get("/org", headers={"Authorization": "Bearer x"}),
                   client.get("/openapi.json"),
                   client.get("/work/1", headers={"X-Mktflow-Actor": OLGA}),
                   client.get("/org", headers={"Authorization": f"Basic {token}"})]
        for r in refused:
            assert_problem(r, 401)
            assert r.headers["www-authenticate"] == "Bearer"
            assert token not in r.text
        good = {"Authorization": f"Bearer {token}"}
        assert client.get("/org", headers=good).status_code == 200
        spec = client.get("/openapi.json", headers=good)
        assert spec.json()["components"]["securitySchemes"]["memberToken"]["scheme"] == "bearer"
        assert token not in spec.text
    assert token not in caplog.text


def test_a_browser_gets_the_page_and_a_script_gets_json(api: httpx.Client) -> None:
    wid = create_work(api, title="Brief <script>alert(1)</script>", form_schema=FORM)["id"]
    page = api.get(f"/work/{wid}", headers={"Accept": BROWSER})
    # the pages sign people in (tests/integration/test_web_pages.py); the JSON is unchanged
    assert page.status_code == 303 and page.headers["location"].startswith("/sign-in?next=")
    assert api.get(f"/work/{wid}").json()["title"] == "Brief <script>alert(1)</script>"
    # the old page's form fields (a typed e-mail, raw JSON) act no more
    r = api.post(f"/work/{wid}", data={"action": "claim", "actor": OLGA},
                 headers={"Accept": BROWSER})
    assert r.status_code == 403 and api.get(f"/work/{wid}").json()["state"] == "open"


def test_release_assign_delegate_resolve_comment_update_and_cancel(
        api: httpx.Client, db: Any, clock: FrozenClock) -> None:
    day, later = clock.today() + timedelta(days=60), clock.today() + timedelta(days=62)
    wid = create_work(api, form_schema=FORM, due=f"{day}T09:00:00+02:00")["id"]
    assert api.get(f"/work/{wid}").json()["due"] == f"{day}T07:00:00Z"

    def act(action: str, who: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = api.post(f"/work/{wid}/{action}", headers=as_(who), json=body)
        assert r.status_code == 200, (action, r.text)
        view: dict[str, Any] = r.json()
        return view

    assert act("claim", OLGA)["assignee"] == OLGA
    released = act("release", OLGA)
    assert (released["state"], released["assignee"]) == ("open", None)
    assigned = act("assign", ANA, {"to": OLGA})
    assert (assigned["state"], assigned["assignee"]) == ("claimed", OLGA)
    delegated = act("delegate", OLGA, {"to": LI})
    assert (delegated["state"], delegated["assignee"], delegated["owner"]) == (
        "delegated", LI, OLGA)  # Olga stays responsible
    resolved = act("resolve", LI, {"data": {"budget": 10, "channel": "web"}})
    assert (resolved["state"], resolved["assignee"]) == ("claimed", OLGA)
    act("comment", LI, {"text": "figures from the Q4 report", "links": ["https://x.test/q4"]})
    updated = act("update", ANA, {"due": f"{later}T18:30:00-05:00", "priority": 90,
                                  "reason": "the retailer moved the date"})
    assert (updated["due"], updated["priority"]) == (f"{later}T23:30:00Z", 90)
    cancelled = act("cancel", ANA, {"reason": "campaign dropped"})
    assert cancelled["state"] == "cancelled"
    trail = api.get(f"/history/W-{wid}").json()
    assert [(h["action"], h["actor"]) for h in trail] == [
        ("create", ANA), ("claim", OLGA), ("release", OLGA), ("assign", ANA),
        ("delegate", OLGA), ("resolve", LI), ("comment", LI), ("update", ANA),
        ("cancel", ANA)]
    assert trail[-1]["reason"] == "campaign dropped"
    assert trail[6]["data"] == {"text": "figures from the Q4 report",
                                "links": ["https://x.test/q4"]}
    assert trail[7]["changes"]["priority"] == [50, 90]

    hid = offer_handoff(api)["id"]
    r = api.post(f"/handoffs/{hid}/comment", headers=as_(CARLOS),
                 json={"text": "which price list?"})
    assert r.status_code == 200 and r.json()["state"] == "offered", r.text
    r = api.post(f"/handoffs/{hid}/cancel", headers=as_(ANA), json={"reason": "plan changed"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    trail = api.get(f"/history/H-{hid}").json()
    assert [(h["action"], h["actor"], h["reason"]) for h in trail[1:]] == [
        ("comment", CARLOS, None), ("cancel", ANA, "plan changed")]


def test_health_answers_503_when_the_database_cannot_be_used(
        tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from mktflow.store.db import engine_for

    engine = engine_for(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    try:
        with serving(create_app(engine, settings=Settings())) as url:
            r = httpx.get(f"{url}/health", timeout=10)
    finally:
        engine.dispose()
    body = assert_problem(r, 503)
    assert body["detail"] == "the database cannot be used; the server log says why"
    assert "never-migrated.db" not in r.text  # anonymous callers learn nothing of it
    assert "health check failed" in caplog.text


def test_a_query_parameter_taken_once_is_refused_when_given_twice(api: httpx.Client) -> None:
    twice = api.get("/processes", params=[("process", "campaign"), ("process", "order")])
    assert twice.status_code == 422, twice.text
    assert twice.json()["errors"] == [{
        "field": "process", "in": "query", "rule": "value_error",
        "message": "must be given once (it was given more than once)"}]
    # a parameter that takes a list may repeat
    states = api.get("/inbox/marketing", params=[("state", "open"), ("state", "claimed")])
    assert states.status_code == 200, states.text


def test_inbox_pages_with_a_cursor_and_a_link_header(api: httpx.Client) -> None:
    made = [create_work(api, title=f"Page {n}", due=f"{days_ahead(400 + n)}T09:00:00Z")["id"]
            for n in (1, 2, 3)]
    first = api.get("/inbox/marketing", params={"limit": 2, "state": "open"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert [r["id"] for r in body["rows"]] == made[:2] and body["next_cursor"]
    assert {"form_schema", "data", "draft"}.isdisjoint(body["rows"][0])
    link = first.headers["link"]
    assert link.endswith('>; rel="next"') and "limit=2" in link and "state=open" in link
    rest = api.get(link[1:link.index(">")]).json()
    assert [r["id"] for r in rest["rows"]] == made[2:] and rest["next_cursor"] is None
    assert_problem(api.get("/inbox/marketing", params={"limit": 201}), 422)
    bad = assert_problem(api.get("/inbox/marketing", params={"cursor": "junk"}), 422)
    assert bad["detail"].startswith("cursor:")
    spec = api.get("/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/inbox/{department}"]["get"]["parameters"]}
    assert {"limit", "cursor", "state", "overdue", "process", "member"} <= params
