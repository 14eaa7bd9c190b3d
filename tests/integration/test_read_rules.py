"""Every door asks who, on the side paths too (issue 19): reads by department, who may add work
to a process and end it, drafts. On SQLite and PostgreSQL, over real HTTP, the pages as a
browser uses them, and the command line.

The scenario: marketing's campaign (owner Olga) with a plan step of marketing, a budget
approval of finance and a brief handed to tech, all made by its flow; a sales step of no
process; sales' own order process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mktflow.domain.errors import NotAuthorized
from mktflow.domain.model import MANAGEMENT
from tests.dates import date_ahead
from tests.integration.api_support import bearer, member_tokens, serving
from tests.integration.web_support import Browser

OLGA = "olga.petrova@example.com"  # marketing specialist, owns the campaign
ANA = "ana.torres@example.com"  # marketing head
MARCO = "marco.rossi@example.com"  # marketing specialist (north branch)
TOM = "tom.berg@example.com"  # tech specialist
OMAR = "omar.haddad@example.com"  # finance specialist
GRACE = "grace.liu@example.com"  # finance head
CARLOS = "carlos.mendez@example.com"  # sales head
RAJ = "raj.patel@example.com"  # supply specialist
MARIA = "maria.garcia@example.com"  # management
DEPARTMENTS = ("marketing", "sales", "tech", "production", "supply", "finance", "management")


@dataclass
class Scenario:
    """The rows every test reads."""

    campaign: int  # P: marketing's campaign
    order: int  # P: sales' order
    plan: int  # W: marketing's step of the campaign
    approval: int  # W: finance's step of the campaign
    sales_step: int  # W: sales, no process
    brief: int  # H: marketing -> tech, of the campaign
    lead: int  # L: a lead marketing gathered
    complaint: int  # C: a complaint customer service handed to supply
    url: str
    tokens: dict[str, str]


def _setup(db: Any) -> dict[str, int]:
    from datetime import UTC, datetime, time

    from mktflow.engine import handoffs, processes, work

    due = datetime.combine(date_ahead(20), time(12), tzinfo=UTC)
    campaign = processes.start_process(
        db.uow(), process="campaign", business_key="CMP-READ", owner_email=OLGA,
        params={"code": "CMP-READ", "budget": 15000, "target_customers": "grocers of the north"})
    order = processes.start_process(
        db.uow(), process="order-handling", business_key="ORD-READ", owner_email=CARLOS,
        params={"number": "ORD-READ", "customer_code": "CUST-ACME", "lines": [{"sku": "TEA"}]})
    engine = db.engine_uow
    plan = work.create_work_item(engine(), actor_email="mktflow", department="marketing",
                                 title="Campaign plan", process_id=campaign.id, step_key="plan",
                                 assignee=OLGA, due_at=due)
    approval = work.create_work_item(engine(), actor_email="mktflow", department="finance",
                                     title="Approve the budget", process_id=campaign.id,
                                     step_key="approve-budget", due_at=due)
    brief = handoffs.offer(engine(), actor_email="mktflow", from_department="marketing",
                           to_department="tech", title="Bottle brief", due_at=due,
                           process_id=campaign.id, step_key="brief")
    sales_step = work.create_work_item(db.uow(), actor_email=CARLOS, department="sales",
                                       title="Call the buyer", due_at=due)
    work.create_work_item(engine(), actor_email="mktflow", department="sales",
                          title="Record the order", process_id=order.id, step_key="entry")
    from mktflow.engine import leads

    lead = leads.gather(db.uow(), actor_email=OLGA, company="Grocers of the north",
                        contact="buyer@grocers.example", channel="fair")
    from mktflow.engine import complaints

    case = complaints.open_complaint(db.uow(), actor_email=OLGA, customer="CUST-ACME",
                                     text="Grocers of the north: two bottles leaked")
    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="supply",
                         request="Send two bottles")
    return {"campaign": campaign.id, "order": order.id, "plan": plan.id,
            "approval": approval.id, "brief": brief.id, "sales_step": sales_step.id,
            "lead": lead.id, "complaint": case.id}


@pytest.fixture
def scenario(db: Any, cli: Any) -> Iterator[Scenario]:
    """The scenario on ``db``, the API and pages served for it, a token for every member
    (``cli`` points the command line at ``db`` too)."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    ids = _setup(db)
    tokens = member_tokens(db)
    with serving(create_app(db.engine, settings=Settings())) as url:
        yield Scenario(url=url, tokens=tokens, **ids)


def _api(s: Scenario, who: str) -> httpx.Client:
    return httpx.Client(base_url=s.url, timeout=10, headers=bearer(s.tokens[who]))


# --- reads at the API ----------------------------------------------------------------------


def test_a_member_reads_only_what_the_read_table_grants(scenario: Scenario) -> None:
    s = scenario
    with _api(s, TOM) as tom:
        assert tom.get("/inbox/tech").status_code == 200
        refused = tom.get("/inbox/marketing")
        assert refused.status_code == 403 and "may not see the marketing queue" in refused.text
        for path in (f"/work/{s.plan}", f"/work/{s.approval}", f"/work/{s.sales_step}",
                     f"/history/W-{s.plan}", f"/processes/P-{s.order}",
                     f"/history/P-{s.order}"):
            answer = tom.get(path)
            assert answer.status_code == 403, (path, answer.text)
            assert answer.json()["type"] == "urn:mktflow:problem:not-authorized"
        assert tom.get(f"/handoffs/{s.brief}").json()["title"] == "Bottle brief"
        # the campaign involves tech (the brief): its process, not its steps nor its data
        seen = tom.get(f"/processes/P-{s.campaign}").json()
        assert [w["ref"] for w in seen["work_items"]] == []
        assert [h["ref"] for h in seen["handoffs"]] == [f"H-{s.brief}"]
        assert seen["params"] is None and seen["withheld"] == ["params", "result"]
        assert [p["business_key"] for p in tom.get("/processes").json()] == ["CMP-READ"]
        trail = tom.get(f"/history/P-{s.campaign}").json()
        assert {e["item"] for e in trail} == {f"P-{s.campaign}", f"H-{s.brief}"}
    with _api(s, OMAR) as omar:  # finance: its approval step of the campaign, not the plan
        seen = omar.get(f"/processes/P-{s.campaign}").json()
        assert [w["ref"] for w in seen["work_items"]] == [f"W-{s.approval}"]
        assert seen["handoffs"] == [] and seen["params"] is None
    with _api(s, ANA) as ana:  # the owner's department: the data, and its own steps
        seen = ana.get(f"/processes/P-{s.campaign}").json()
        assert seen["params"]["budget"] == 15000 and seen.get("withheld") is None
        assert [w["ref"] for w in seen["work_items"]] == [f"W-{s.plan}"]
        assert ana.get(f"/processes/P-{s.order}").status_code == 403
    with _api(s, OLGA) as olga:  # the owner follows every step of her process
        seen = olga.get(f"/processes/P-{s.campaign}").json()
        assert {w["ref"] for w in seen["work_items"]} == {f"W-{s.plan}", f"W-{s.approval}"}
        assert olga.get(f"/work/{s.approval}").status_code == 200
    with _api(s, MARIA) as maria:  # management oversees everything
        assert len(maria.get("/processes").json()) == 3  # with the complaint's
        assert maria.get(f"/work/{s.sales_step}").status_code == 200
        assert maria.get("/inbox/sales").status_code == 200


def test_the_command_line_reads_as_the_member_it_names(scenario: Scenario, cli: Any) -> None:
    s = scenario
    refused = cli("work", "show", f"W-{s.plan}", "--as", TOM)
    assert refused.exit_code == 1 and "may not see" in refused.stderr
    assert cli("inbox", "marketing", "--as", TOM).exit_code == 1
    assert cli("inbox", "tech", "--as", TOM).exit_code == 0
    shown = cli("process", "show", f"P-{s.campaign}", "--as", TOM, "--json").json()
    assert shown["params"] is None and shown["work_items"] == []
    listed = cli("process", "list", "--as", TOM, "--json").json()
    assert [p["business_key"] for p in listed] == ["CMP-READ"]
    trail = cli("history", f"P-{s.campaign}", "--as", TOM, "--json").json()
    assert {e["item"] for e in trail} == {f"P-{s.campaign}", f"H-{s.brief}"}
    # the operator (no --as) holds the database URL and sees everything
    assert cli("process", "show", f"P-{s.campaign}", "--json").json()["params"]["budget"] \
        == 15000
    assert cli("work", "show", f"W-{s.plan}").exit_code == 0


def test_the_pages_show_a_member_only_their_side(db: Any, scenario: Scenario) -> None:
    s = scenario
    tom = Browser(s.url)
    try:
        tom.sign_in(db, TOM)
        for path in (f"/work/{s.plan}", f"/work/{s.sales_step}", "/inbox/marketing",
                     "/inbox/sales/handoffs"):
            page = tom.get(path)
            assert page.status_code == 403 and "may not see" in page.text, path
            assert "Campaign plan" not in page.text and "Call the buyer" not in page.text
        brief = tom.get(f"/handoffs/{s.brief}")
        assert brief.status_code == 200 and "Bottle brief" in brief.text
        assert "Campaign plan" not in brief.text  # the process box lists only his side
        assert "grocers of the north" not in brief.text
    finally:
        tom.client.close()


# --- process membership ---------------------------------------------------------------------


def test_nobody_outside_a_process_adds_work_to_it_or_ends_it(db: Any, scenario: Scenario,
                                                             cli: Any) -> None:
    """The fault found: a tech member offered a handoff "of" marketing's campaign, cancelled
    it, and the campaign ended with its run."""
    s = scenario
    with _api(s, RAJ) as raj:  # supply: the campaign does not involve it
        offered = raj.post("/handoffs", json={
            "from_department": "supply", "to_department": "marketing", "title": "Trojan",
            "due": f"{date_ahead(9)}T12:00:00Z", "process": "CMP-READ"})
        assert offered.status_code == 403, offered.text
        assert "may not add work to P-" in offered.json()["detail"]
        made = raj.post("/work", json={"department": "supply", "title": "x",
                                       "process": f"P-{s.campaign}"})
        assert made.status_code == 403, made.text
    refused = cli("handoff", "offer", "--from", "supply", "--to", "marketing", "--title",
                  "Trojan", "--due", date_ahead(9).isoformat(), "--process", "CMP-READ",
                  "--as", RAJ)
    assert refused.exit_code == 1 and "may not add work to P-" in refused.stderr
    with _api(s, TOM) as tom:  # tech is involved (the brief): it may add, and withdraw alone
        attached = tom.post("/handoffs", json={
            "from_department": "tech", "to_department": "marketing", "title": "Drawings",
            "due": f"{date_ahead(9)}T12:00:00Z", "process": "CMP-READ"})
        assert attached.status_code == 201, attached.text
        gone = tom.post(f"/handoffs/{attached.json()['id']}/cancel", json={"reason": "x"})
        assert gone.status_code == 200 and gone.json()["state"] == "cancelled"
    with _api(s, MARCO) as marco:  # marketing (north): the campaign is his department's...
        attached = marco.post("/handoffs", json={
            "from_department": "marketing", "to_department": "tech", "title": "Extra samples",
            "due": f"{date_ahead(9)}T12:00:00Z", "process": "CMP-READ"})
        assert attached.status_code == 201, attached.text
        # ...what he attached he may withdraw: it ends nothing
        withdrawn = marco.post(f"/handoffs/{attached.json()['id']}/cancel",
                               json={"reason": "not needed"})
        assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "cancelled"
        # the flow's brief is another matter: withdrawing it would end the campaign
        refused = marco.post(f"/handoffs/{s.brief}/cancel", json={"reason": "not needed"})
        assert refused.status_code == 403, refused.text
        assert "waits on it and would end with it" in refused.json()["detail"]
    with _api(s, GRACE) as grace:  # finance's head: decides her step, does not end the campaign
        refused = grace.post(f"/work/{s.approval}/cancel", json={"reason": "no budget"})
        assert refused.status_code == 403 and "may not cancel" in refused.json()["detail"]
    with _api(s, OLGA) as olga:
        assert olga.get(f"/processes/P-{s.campaign}").json()["status"] == "running"


def test_a_process_is_ended_by_its_owner_its_lead_or_management(
        db: Any, scenario: Scenario, cli: Any) -> None:
    s = scenario
    refused = cli("process", "cancel", "CMP-READ", "--as", MARCO, "--reason", "stop")
    assert refused.exit_code == 1 and "may not end P-" in refused.stderr
    assert cli("process", "cancel", "CMP-READ", "--as", OLGA).exit_code == 2  # no reason
    with _api(s, TOM) as tom:
        answer = tom.post(f"/processes/P-{s.campaign}/cancel", json={"reason": "stop"})
        assert answer.status_code == 403, answer.text
    ended = cli("process", "cancel", "CMP-READ", "--as", OLGA, "--reason",
                "the retailer dropped the promotion", "--json")
    assert ended.exit_code == 0, ended.stderr
    view = ended.json()
    assert view["status"] == "cancelled"
    assert {w["state"] for w in view["work_items"]} == {"cancelled"}
    assert "the retailer dropped the promotion" in view["result"]["reason"]
    again = cli("process", "cancel", "CMP-READ", "--as", OLGA, "--reason", "twice")
    assert again.exit_code == 1 and "it is cancelled" in again.stderr
    with _api(s, MARIA) as maria:  # management ends sales' order over the API
        done = maria.post(f"/processes/P-{s.order}/cancel", json={"reason": "duplicate"})
        assert done.status_code == 200 and done.json()["status"] == "cancelled"


def test_the_item_page_offers_the_end_of_the_process_to_who_may(db: Any,
                                                                scenario: Scenario) -> None:
    s = scenario
    olga, marco = Browser(s.url), Browser(s.url)
    try:
        olga.sign_in(db, OLGA)
        marco.sign_in(db, MARCO)
        assert "End the process" not in marco.get(f"/work/{s.plan}").text
        page = olga.get(f"/work/{s.plan}")
        assert "End the process" in page.text
        refused = olga.post(f"/work/{s.plan}", {"action": "end-process", "reason": ""})
        assert refused.status_code == 422 and "needs a reason" in refused.text
        ended = olga.post(f"/work/{s.plan}", {"action": "end-process",
                                              "reason": "budget moved to spring"})
        assert ended.status_code == 200 and "cancelled" in ended.text
        with _api(s, OLGA) as api:
            assert api.get(f"/processes/P-{s.campaign}").json()["status"] == "cancelled"
    finally:
        olga.client.close()
        marco.client.close()


# --- drafts ---------------------------------------------------------------------------------


def test_an_excluded_member_cannot_plant_a_decision_in_the_draft(db: Any) -> None:
    """The fault found: the submitter (excluded by four eyes) saved ``decision=approve`` as
    the draft of the approval her head held; the head's pre-filled answer recorded it."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from mktflow.engine import queries, work

    schema = {"type": "object", "properties": {"decision": {"type": "string",
                                                            "enum": ["approve", "reject"]},
                                               "note": {"type": "string"}}}
    item = work.create_work_item(db.engine_uow(), actor_email="mktflow",
                                 department="marketing", title="Approve the plan",
                                 assignee=ANA, excluded=[OLGA], form_schema=schema)
    with serving(create_app(db.engine, settings=Settings())) as url:
        olga = Browser(url)
        try:
            olga.sign_in(db, OLGA)
            page = olga.get(f"/work/{item.id}")
            assert 'value="draft"' not in page.text
            planted = olga.post(f"/work/{item.id}", {"action": "draft", "decision": "approve"})
            assert planted.status_code == 403 and "may not draft" in planted.text
        finally:
            olga.client.close()
    assert queries.show(db.uow(), f"W-{item.id}").draft is None
    with pytest.raises(NotAuthorized):
        work.save_draft(db.uow(), item.id, actor_email=OLGA, draft={"decision": "approve"})


# --- the walk: every GET route and every page, as a tech member ----------------------------


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route of an app, those of included routers too (FastAPI keeps them nested)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def _rows(db: Any, sql: str) -> list[Any]:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return list(conn.execute(text(sql)).all())


def _expected(status: int, visible: bool) -> int:
    return status if visible else 403


def test_a_tech_member_walks_every_route_and_page_and_sees_only_their_side(
        db: Any, scenario: Scenario) -> None:
    """Every GET route of the OpenAPI document and every page, with a tech member's token and
    session, for every department, item and process: each answer is what the read table says
    (worked out here from the rows, independently of mktflow's code)."""
    from sqlalchemy import text

    from mktflow.api.app import create_app
    from mktflow.config import Settings

    s = scenario
    app = create_app(db.engine, settings=Settings())
    spec_paths = {path for path, ops in app.openapi()["paths"].items() if "get" in ops}
    page_paths = {r.path for r in _routes(app.routes) if "GET" in (getattr(r, "methods", None)
                                                                  or ())
                  and not getattr(r, "include_in_schema", True)
                  and not r.path.startswith(("/docs", "/redoc", "/openapi"))}
    with db.engine.connect() as conn:
        works = conn.execute(text("SELECT w.id, w.department, p.owner_email FROM workitem w "
                                  "LEFT JOIN processinstance p ON p.id = w.process_id")).all()
        hands = conn.execute(text("SELECT h.id, h.from_department, h.to_department, "
                                  "p.owner_email FROM handoff h LEFT JOIN processinstance p "
                                  "ON p.id = h.process_id")).all()
        procs = conn.execute(text("SELECT p.id, p.owner_email, m.department FROM "
                                  "processinstance p JOIN member m ON m.email = "
                                  "p.owner_email")).all()
        involved = {pid: {owner_dept} for pid, _, owner_dept in procs}
        for pid, dept in conn.execute(text("SELECT process_id, department FROM workitem "
                                           "WHERE process_id IS NOT NULL")):
            involved[pid].add(dept)
        for pid, a, b in conn.execute(text("SELECT process_id, from_department, to_department "
                                           "FROM handoff WHERE process_id IS NOT NULL")):
            involved[pid].update((a, b))
    me, mine = TOM, "tech"
    sees_work = {wid: dept == mine or owner == me for wid, dept, owner in works}
    sees_handoff = {hid: mine in (a, b) or owner == me for hid, a, b, owner in hands}
    sees_process = {pid: mine in involved[pid] or owner == me for pid, owner, _ in procs}
    assert any(sees_handoff.values()) and not all(sees_work.values())  # both kinds occur

    # --- the JSON routes
    walked: dict[str, list[tuple[str, int]]] = {path: [] for path in spec_paths}
    for d in DEPARTMENTS:
        walked["/inbox/{department}"].append((f"/inbox/{d}", _expected(200, d == mine)))
    for wid, visible in sees_work.items():
        walked["/work/{item}"].append((f"/work/{wid}", _expected(200, visible)))
        walked["/history/{reference}"].append((f"/history/W-{wid}", _expected(200, visible)))
    for hid, visible in sees_handoff.items():
        walked["/handoffs/{item}"].append((f"/handoffs/{hid}", _expected(200, visible)))
        walked["/history/{reference}"].append((f"/history/H-{hid}", _expected(200, visible)))
    for pid, visible in sees_process.items():
        walked["/processes/{reference}"].append((f"/processes/P-{pid}",
                                                 _expected(200, visible)))
        walked["/history/{reference}"].append((f"/history/P-{pid}", _expected(200, visible)))
    for plain in ("/health", "/org", "/processes", "/leads", "/calendar", "/calendar/feeds",
                  "/me/digest", "/me/digest/preview"):
        walked[plain].append((plain, 200))
    walked["/calendar/{secret}.ics"].append(("/calendar/cal_nobody-has-this.ics", 404))
    # a lead is marketing's (sales' once handed over); the funnel marketing's and sales'
    lead_ids = [lid for (lid,) in _rows(db, "SELECT id FROM lead")]
    assert lead_ids
    walked["/leads/{item}"] += [(f"/leads/L-{lid}", 403) for lid in lead_ids]
    walked["/leads/funnel"].append(("/leads/funnel", 403))
    # a complaint is customer service's (marketing), the acting department's and management's
    complaint_ids = [cid for (cid,) in _rows(db, "SELECT id FROM complaint")]
    assert complaint_ids
    walked["/complaints/{item}"] += [(f"/complaints/C-{cid}", 403) for cid in complaint_ids]
    walked["/complaints"].append(("/complaints", 200))
    # saved views: his department's shared ones; another's private view, and another
    # department's, are not shown to exist (404)
    from mktflow.engine import desk

    hana = "hana.kim@example.com"  # tech head
    for owner, department, shared, seen in (
            (hana, "tech", True, True), (hana, "tech", False, False),
            ("olga.petrova@example.com", "marketing", True, False)):
        view = desk.save_view(db.uow(), actor_email=owner, department=department,
                              name=f"{department} {shared}", shared=shared)
        walked["/views/{view}"].append((f"/views/{view.ref}", 200 if seen else 404))
    walked["/views"].append(("/views", 200))
    # a work report is its member's, their head's and management's: not another department's
    from mktflow.engine import work_reports

    report = work_reports.submit(db.uow(), actor_email=OLGA, done="Secret fair plan")
    walked["/reports/{item}"].append((f"/reports/{report.ref}", 403))
    walked["/reports"].append(("/reports", 200))
    # a meeting's minutes are marketing's, management's and the departments they name: these
    # name none but marketing (tests/integration/test_meetings.py holds the meeting)
    from mktflow.domain import clock as clocks
    from tests.integration.test_meetings import hold

    meeting, _ = hold(db, clocks, None, [{"text": "Secret fair plan", "owner": OLGA,
                                          "due": clocks.today().isoformat(),
                                          "departments": []}])
    walked["/meetings/{item}"].append((f"/meetings/M-{meeting}", 403))
    walked["/meetings"].append(("/meetings", 200))
    # a member's training needs and appraisals: theirs, their head's, management's; a
    # department's training plan: its members' and management's
    from tests.integration.test_training import needs_and_plan

    needs_and_plan(db, "2026-Q2")  # Olga's need, marketing's plan
    walked["/training/needs"].append(("/training/needs", 200))
    walked["/training/plans"].append(("/training/plans", 200))
    walked["/training/members/{member}"] += [(f"/training/members/{OLGA}", 403),
                                             (f"/training/members/{TOM}", 200)]
    # the desk's figures: a department's workload is its head's and management's (a
    # specialist leads none); a campaign's dashboard carries its plan and budget, the owner's
    # department's (marketing) and management's; a period's lists only his department's rows
    from mktflow.engine import campaigns

    start = date_ahead(40)
    campaigns.record_plan(db.uow(), process_id=s.campaign, code="CMP-READ", actor_email=OLGA,
                          owner_email=OLGA, plan={
                              "name": "Grocers of the north", "goal": "Secret fair plan",
                              "target_customers": "grocers", "channels": ["fairs"],
                              "start": str(start), "end": str(start),
                              "kpis": [{"name": "stores listed", "target": 40}],
                              "activities": [{"title": "Fair", "owner": OLGA,
                                              "budget_line": "fair"}],
                              "budget_lines": [{"code": "fair", "title": "Fair stand",
                                                "amount": 900}]})
    for d in DEPARTMENTS:
        walked["/inbox/{department}/workload"].append((f"/inbox/{d}/workload", 403))
    walked["/dashboards/campaigns/{code}"].append(("/dashboards/campaigns/CMP-READ", 403))
    walked["/dashboards/periods/{period}"].append((f"/dashboards/periods/{start.year}", 200))
    # the balance of work: the departments whose queue one may see (his: tech's)
    today = db.uow().now()
    walked["/dashboards/balance/{period}"].append((f"/dashboards/balance/{today.year}", 200))
    assert all(walked.values()), f"GET routes the walk does not cover: " \
        f"{[p for p, v in walked.items() if not v]}"
    with _api(s, TOM) as tom:
        for path, expected in (call for calls in walked.values() for call in calls):
            answer = tom.get(path)
            assert answer.status_code == expected, (path, answer.status_code, answer.text)
        assert tom.get("/leads").json() == []
        assert tom.get("/complaints").json() == []
        assert [v["name"] for v in tom.get("/views").json()] == ["tech True"]
        assert tom.get("/reports").json() == []
        assert tom.get("/meetings").json() == []
        assert tom.get("/training/needs").json() == tom.get("/training/plans").json() == []
        figures = tom.get(f"/dashboards/periods/{start.year}").json()
        assert (figures["kpis"], figures["lines"]) == ([], [])  # marketing's, not his
        balance = tom.get(f"/dashboards/balance/{today.year}").json()
        assert {d["department"] for d in balance["departments"]} <= {"tech"}
        listed = {p["id"] for p in tom.get("/processes").json()}
        assert listed == {pid for pid, visible in sees_process.items() if visible}
        for pid in listed:  # parameters only for the owner's department: never tech's here
            assert tom.get(f"/processes/P-{pid}").json()["params"] is None
        inbox = tom.get("/inbox/tech").json()["rows"]
        assert all(sees_handoff[r["id"]] if r["kind"] == "handoff" else sees_work[r["id"]]
                   for r in inbox)

    # --- the pages (and the JSON routes' pages, for a browser)
    pages: dict[str, list[tuple[str, int]]] = {path: [] for path in page_paths}
    for d in DEPARTMENTS:
        pages["/inbox/{department}/handoffs"].append((f"/inbox/{d}/handoffs",
                                                      _expected(200, d == mine)))
        # the load page is for whoever leads the department: a specialist leads none
        pages["/inbox/{department}/load"].append((f"/inbox/{d}/load", 403))
    for plain, status in (("/", 303), ("/sign-in", 303), ("/my-work", 200),
                          ("/department", 303)):
        pages[plain].append((plain, status))
    pages["/sign-in/{code}"].append(("/sign-in/not-a-code", 200))  # a button, nothing more
    pages["/my-reports"].append(("/my-reports", 200))  # his own only: none of Olga's
    pages["/training"] += [("/training", 200), (f"/training?member={OLGA}", 403)]
    # the department forecast is for heads and management: a specialist leads none
    pages["/forecast"].append(("/forecast?run=1&order_1=3", 403))
    assert all(pages.values()), f"pages the walk does not cover: " \
        f"{[p for p, v in pages.items() if not v]}"
    as_pages = [(f"/inbox/{d}", _expected(200, d == mine)) for d in DEPARTMENTS]
    as_pages += [(f"/work/{wid}", _expected(200, v)) for wid, v in sees_work.items()]
    as_pages += [(f"/handoffs/{hid}", _expected(200, v)) for hid, v in sees_handoff.items()]
    as_pages.append(("/leads", 200))  # a list of what one may see: none of marketing's leads
    as_pages += [(f"/leads/L-{lid}", 403) for lid in lead_ids]  # a lead's page and its forms
    as_pages.append(("/complaints", 200))  # none of customer service's (nor supply's) cases
    as_pages += [(f"/complaints/C-{cid}", 403) for cid in complaint_ids]
    as_pages += [(f"/processes/P-{pid}", _expected(200, v)) for pid, v in sees_process.items()]
    as_pages.append(("/calendar", 200))  # what one may see: the brief, not the campaign's steps
    as_pages.append(("/reports", 200))  # the reports page: none of marketing's reports
    as_pages.append(("/meetings", 200))  # the meetings page: none of marketing's own
    as_pages.append((f"/meetings/M-{meeting}", 403))
    as_pages.append(("/dashboards/campaigns/CMP-READ", 403))
    as_pages.append((f"/dashboards/periods/{start.year}", 200))  # none of marketing's rows
    as_pages.append((f"/dashboards/balance/{today.year}", 200))  # none of marketing's work
    browser = Browser(s.url)
    try:
        browser.sign_in(db, TOM)
        titles = {"Campaign plan", "Approve the budget", "Call the buyer", "Record the order"}
        for path, expected in [c for calls in pages.values() for c in calls] + as_pages:
            answer = browser.get(path, follow_redirects=False)
            assert answer.status_code == expected, (path, answer.status_code)
            if expected == 403:
                assert not any(t in answer.text for t in titles), path
                assert not re.search(r"grocers of the north|CUST-ACME", answer.text), path
            if path == "/calendar" or path.startswith("/processes/"):
                assert not any(t in answer.text for t in titles), path
            if path in ("/leads", "/complaints") or path.startswith("/leads/"):
                assert not re.search(r"(?i)grocers of the north|CUST-ACME", answer.text), path
            if path.startswith("/dashboards/"):
                assert "stores listed" not in answer.text and "Fair stand" not in answer.text
            if path in ("/my-reports", "/reports") or path.startswith("/meetings"):
                assert "Secret fair plan" not in answer.text, path
            if path.startswith("/dashboards/balance"):
                assert "Marketing" not in answer.text, path
            if path.startswith("/training") and expected == 200:  # none of Olga's, marketing's
                assert OLGA not in answer.text and "marketing" not in answer.text.lower(), path
    finally:
        browser.client.close()
    assert MANAGEMENT == "management"  # the one department whose members see every side


def test_the_read_table_is_documented_as_the_code_has_it() -> None:
    """The docs' read table lists every row of READ_RULES with its parties."""
    from pathlib import Path

    from mktflow.domain.model import READ_RULES

    docs = (Path(__file__).resolve().parents[2] / "docs").rglob("*.md")
    text = "\n".join(p.read_text("utf-8") for p in docs)
    for rule in READ_RULES:
        row = re.search(rf"^\| `{rule.subject}` \|(.*)$", text, re.MULTILINE)
        assert row, f"the docs have no read-table row for {rule.subject}"
        for party in rule.who:
            assert party.value in row.group(1), (rule.subject, party.value)
