"""The balance of a department's work (seed 000: important-but-not-urgent against
urgent-but-not-important; issue 23 item 6): work items say importance and urgency at every
door that creates them, the period view counts each department's in the four quadrants and
flags the one below the floor; each reader sees their departments'. On SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from mktflow.engine import dashboards, work
from mktflow.engine.views import plain

OLGA = "olga.petrova@example.com"  # marketing
TOM = "tom.berg@example.com"  # tech
MARIA = "maria.garcia@example.com"  # management


def _item(db: Any, department: str, who: str, **flags: Any) -> int:
    return work.create_work_item(db.uow(), actor_email=who, department=department,
                                 title=f"{department} {flags}", **flags).id


def test_every_door_says_importance_and_urgency_and_the_period_view_flags_a_department(
        db: Any, cli: Any, clock: Any) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import bearer, member_tokens, serving
    from tests.integration.web_support import Browser

    period = clock.now().strftime("%Y-%m")
    for _ in range(5):  # today's fires
        _item(db, "marketing", OLGA, important=False, urgent=True)
    _item(db, "marketing", OLGA)  # says nothing: unclassified
    cancelled = _item(db, "marketing", OLGA, important=True, urgent=False)
    work.cancel(db.uow(), cancelled, actor_email="ana.torres@example.com",  # her head
                reason="not this month")
    made = cli("work", "create", "marketing", "--title", "Five-year plan", "--as", OLGA,
               "--important", "--not-urgent", "--json")
    assert made.exit_code == 0, made.stdout
    tokens = member_tokens(db)
    with serving(create_app(db.engine, settings=Settings())) as url:
        with httpx.Client(base_url=url, timeout=10) as api:
            for _ in range(2):
                posted = api.post("/work", headers=bearer(tokens[TOM]), json={
                    "department": "tech", "title": "Platform study", "important": True,
                    "urgent": False})
                assert posted.status_code == 201, posted.text
            seen = api.get(f"/dashboards/balance/{period}", headers=bearer(tokens[TOM]))
            assert [d["department"] for d in seen.json()["departments"]] == ["tech"]
            bad = api.get("/dashboards/balance/2026-13", headers=bearer(tokens[TOM]))
            assert bad.status_code == 422
        browser = Browser(url)
        try:
            browser.sign_in(db, MARIA)
            page = browser.get(f"/dashboards/balance/{period}").text
            assert "below the floor" in page and "17%" in page  # marketing: 1 of 6
        finally:
            browser.client.close()

    shown = {d.department: d for d in dashboards.work_balance(db.uow(), period,
                                                              reader=None).departments}
    marketing, tech = shown["marketing"], shown["tech"]
    assert (marketing.important_not_urgent, marketing.urgent_not_important,
            marketing.unclassified) == (1, 5, 1)  # the cancelled one is no work
    assert marketing.important_not_urgent_share == 0.1667 and marketing.below_floor
    assert marketing.finding is not None and "below the floor of 20%" in marketing.finding
    assert (tech.important_not_urgent, tech.below_floor, tech.finding) == (2, False, None)
    as_maria = cli("dashboard", "balance", period, "--as", MARIA, "--json").json()
    assert as_maria == plain(dashboards.work_balance(db.uow(), period, reader=None))
    text = cli("dashboard", "balance", period, "--as", OLGA).stdout
    assert "BELOW FLOOR" in text and "tech" not in text  # her department only
    refused = cli("dashboard", "balance", "last month", "--json")
    assert refused.exit_code == 2 and "period: 'last month' is no period" in refused.stdout
    beyond = cli("dashboard", "balance", "9999", "--json")  # its end is past the calendar's
    assert beyond.exit_code == 2 and "out of the calendar's range" in beyond.stdout


def test_a_work_items_importance_and_urgency_show_at_every_door(db: Any, cli: Any) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import bearer, member_tokens, serving
    from tests.integration.web_support import Browser

    zhang = "zhang.wei@example.com"  # sales
    future = _item(db, "sales", zhang, important=True, urgent=False)
    fire = _item(db, "sales", zhang, urgent=True)  # importance unsaid: counts as no
    plain_item = _item(db, "sales", zhang)  # says nothing: unclassified
    said = {"important": True, "urgent": False, "quadrant": "important-not-urgent"}
    shown = cli("work", "show", f"W-{future}", "--json").json()
    assert {k: shown[k] for k in said} == said
    assert "quadrant: important-not-urgent" in cli("work", "show", f"W-{future}").stdout
    rows = {r["id"]: r for r in cli("inbox", "sales", "--json").json()["rows"]}
    assert (rows[fire]["important"], rows[fire]["urgent"], rows[fire]["quadrant"]) == (
        None, True, "urgent-not-important")
    assert rows[plain_item]["quadrant"] is None and rows[future]["quadrant"] == said["quadrant"]
    assert "important-not-urgent" in cli("inbox", "sales").stdout  # the queue's column
    tokens = member_tokens(db)
    with serving(create_app(db.engine, settings=Settings())) as url:
        with httpx.Client(base_url=url, timeout=10) as api:
            got = api.get(f"/work/{future}", headers=bearer(tokens[zhang])).json()
            assert {k: got[k] for k in said} == said
            queue = api.get("/inbox/sales", headers=bearer(tokens[zhang])).json()
            assert {r["id"]: r["quadrant"] for r in queue["rows"]}[plain_item] is None
            schema = api.get("/openapi.json").json()["components"]["schemas"]
            assert {"important", "urgent", "quadrant"} <= set(
                schema["WorkItemPublic"]["properties"])
        browser = Browser(url)
        try:
            browser.sign_in(db, "carlos.mendez@example.com")  # sales' head
            item_page = browser.get(f"/work/{future}").text
            assert "Importance and urgency" in item_page and "Important, not urgent" in item_page
            queue_page = browser.get("/inbox/sales").text
            assert "Unclassified" in queue_page and "Urgent, not important" in queue_page
        finally:
            browser.client.close()
