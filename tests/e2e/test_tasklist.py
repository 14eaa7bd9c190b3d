"""The departments' pages of ``mktflow serve``, in Chromium: a member signs in, finds the
campaign plan in the marketing queue, claims it, edits a KPI, adds a budget line, is refused
beside the field, fixes it and completes; the flow goes on to the approval, which the head
assigns; tech rejects a handoff with a reason and marketing sees it. Cross-site posts are
refused; every page is framed by nobody and runs no inline script.

Each page's screenshot is saved to ``docs/screenshots/`` (the docs' Screenshots page shows them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dates import days_ahead
from tests.e2e.conftest import ROOT, Served, eventually
from tests.e2e.test_prefect_ui import _step, campaign_at_its_plan
from tests.e2e.ui import sign_in_here

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SHOTS = ROOT / "docs" / "screenshots"
OLGA = "olga.petrova@example.com"  # marketing specialist, the campaign's owner
ANA = "ana.torres@example.com"  # marketing head
LI = "li.na@example.com"  # marketing deputy
HANA = "hana.kim@example.com"  # tech head
PHONE = {"width": 390, "height": 844}


def _shot(page: Any, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def _sign_in(page: Any, api: str, served: Served, email: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{api}/sign-in")
    sign_in_here(page, served.env, email)
    expect(page.locator(".who")).to_contain_text(email)


def _person(browser: Any, viewport: dict[str, int] | None = None) -> Any:
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    return context


def _queue_fits_a_phone(browser: Any, signed_in: Any, api: str, ref: str) -> None:
    """On a 390 px phone the queue's table scrolls inside its own box: the page itself is no
    wider than the screen, and the default priority reads "Normal"."""
    from playwright.sync_api import expect

    with_phone = _person(browser, PHONE)
    phone = with_phone.new_page()
    phone.context.add_cookies(signed_in.context.cookies())
    phone.goto(f"{api}/inbox/marketing")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Marketing queue")
    row = phone.get_by_role("row").filter(has_text=ref)
    expect(row).to_contain_text("Normal")
    widths = phone.evaluate("""() => {
        const box = document.querySelector('table.list').closest('.scroll');
        return {page: document.documentElement.scrollWidth, screen: window.innerWidth,
                box: box ? box.clientWidth : -1, table: box ? box.scrollWidth : -1};
    }""")
    assert widths["page"] <= widths["screen"] == PHONE["width"], widths
    assert 0 < widths["box"] <= widths["screen"], widths  # the table's own box scrolls
    phone.get_by_role("button", name=f"Claim {ref}").scroll_into_view_if_needed()
    expect(phone.get_by_role("button", name=f"Claim {ref}")).to_be_visible()
    _shot(phone, "department-queue-phone", full_page=False)
    with_phone.close()


def test_departments_work_from_their_pages(served: Served, mktflow_api: str, page: Any,
                                           browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    api = mktflow_api
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))

    # a campaign waits at its plan, held by its owner
    code, _, plan = campaign_at_its_plan(served, tmp_path)
    ref, item = plan["ref"], plan["id"]

    # the link in a notice lands on the sign-in page, and back on the item after it
    page.goto(f"{api}/work/{item}")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fwork%2F"))
    _shot(page, "sign-in")
    first = page.goto(f"{api}/sign-in?next=/work/{item}")
    assert first is not None and first.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in first.headers["content-security-policy"]
    sign_in_here(page, served.env, OLGA)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{ref} · Plan campaign")

    # My work holds the plan; she gives it back to the queue, then claims it from there
    page.get_by_role("link", name="My work").click()
    expect(page.get_by_role("link", name=re.compile(f"{ref} · Plan campaign"))).to_be_visible()
    _shot(page, "my-work")
    page.get_by_role("link", name=re.compile(f"{ref} · Plan campaign")).click()
    page.get_by_role("button", name="Release to the queue").click()
    expect(page.get_by_role("status")).to_contain_text(f"{ref} released.")
    page.get_by_role("link", name="My department").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Marketing queue")
    _shot(page, "department-queue")
    _queue_fits_a_phone(browser, page, api, ref)
    page.get_by_role("button", name=f"Claim {ref}").click()
    expect(page.get_by_role("status")).to_contain_text(f"{ref} claimed.")
    page.get_by_role("link", name=re.compile(f"{ref} · Plan campaign")).click()

    # the plan's form: a KPI edited, a budget line added, refused beside the field, fixed
    kpi = page.get_by_role("group", name="KPI 1", exact=True)
    expect(kpi.get_by_label("Target")).to_have_value("400")
    kpi.get_by_label("Target").fill("450")
    page.get_by_role("button", name="Add budget line").click()
    line = page.get_by_role("group", name="Budget line 3", exact=True)
    expect(line.get_by_label("Code")).to_be_focused()  # the keyboard goes to the new row
    expect(page.get_by_role("group", name="KPI 1", exact=True).get_by_label("Target")
           ).to_have_value("450")  # what was typed is kept
    line.get_by_label("Code").fill("radio spots")
    line.get_by_label("Title").fill("Local radio")
    line.get_by_label("Amount").fill("1500")
    page.get_by_role("button", name="Complete", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("does not fit the form")
    line = page.get_by_role("group", name="Budget line 3", exact=True)
    expect(line.locator(".field-error")).to_contain_text("does not match")
    expect(line.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    expect(line.get_by_label("Code")).to_have_value("radio spots")
    _shot(page, "step-form-error")
    with_phone = _person(browser, PHONE)
    phone = with_phone.new_page()
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{api}/work/{item}")
    phone.get_by_role("group", name="KPIs", exact=True).scroll_into_view_if_needed()
    _shot(phone, "step-form-phone", full_page=False)
    with_phone.close()
    assert served.cli_json("work", "show", ref)["state"] == "claimed"
    line.get_by_label("Code").fill("radio")
    page.get_by_role("button", name="Complete", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"{ref} completed.")
    done = served.cli_json("work", "show", ref)
    assert done["state"] == "done" and done["completed_by"] == OLGA
    assert done["data"]["kpis"][0]["target"] == 450
    assert done["data"]["budget_lines"][-1] == {"code": "radio", "title": "Local radio",
                                                "amount": 1500}

    # the flow goes on: the approval waits in marketing's queue; the head gives it to Li
    approval = eventually(lambda: _step(served, "marketing", code, "approval-1"), timeout=120,
                          interval=2, what=f"the approval of {code} in marketing's queue")
    head = _person(browser)
    ana = head.new_page()
    _sign_in(ana, api, served, ANA)
    ana.goto(f"{api}/work/{approval['id']}")
    ana.get_by_label("Give it to").select_option(LI)
    ana.get_by_role("button", name=re.compile(r"^(Assign|Reassign)$")).click()
    expect(ana.get_by_role("status")).to_contain_text(f"{approval['ref']} assigned.")
    assert served.cli_json("work", "show", approval["ref"])["assignee"] == LI
    expect(ana.get_by_role("table").filter(has_text="assign")).to_contain_text(ANA)
    _shot(ana, "work-item")

    # tech rejects a handoff with a reason; marketing sees the reason
    offered = served.cli_json("handoff", "offer", "--from", "marketing", "--to", "tech",
                              "--title", f"Tasting stand for {code}", "--due", days_ahead(40),
                              "--criteria", "fits a 2 m aisle", "--as", OLGA)
    tech = _person(browser)
    hana = tech.new_page()
    _sign_in(hana, api, served, HANA)
    hana.get_by_role("link", name="Handoffs").click()
    offered_list = hana.get_by_role("region", name=re.compile("Offered to us"))
    offered_list.get_by_role("link", name=re.compile(offered["ref"])).click()
    _shot(hana, "handoff")
    hana.get_by_label("Why do you reject it?").fill("no stand builder free before February")
    hana.get_by_role("button", name="Reject", exact=True).click()
    expect(hana.get_by_role("status")).to_contain_text(f"{offered['ref']} rejected.")
    tech.close()
    page.get_by_role("link", name="Handoffs").click()
    answered = page.get_by_role("region", name="Recently answered")
    expect(answered).to_contain_text(offered["ref"])
    expect(answered).to_contain_text("no stand builder free before February")
    _shot(page, "handoffs")

    # the head's view: the department's load by member and the handoff ledger's figures
    ana.get_by_role("link", name="Marketing load").click()
    expect(ana.get_by_role("heading", level=1)).to_have_text("Marketing: load")
    # the member table's row (it shows the address; the due-spread table names her too): she
    # holds the approval just assigned, beside what the session's other tests and cycles gave
    # her (their number varies with what ran before)
    expect(ana.get_by_role("row").filter(has_text="li.na@example.com").get_by_role("cell")
           .nth(2)).to_have_text(re.compile(r"^\s*[1-9]\d*\s*$"))
    # the rejection counts in the ledger (other e2e tests of the session offer to tech too)
    route = ana.get_by_role("row").filter(has_text="marketing → tech")
    expect(route.get_by_role("cell").nth(6)).to_have_text(re.compile(r"^\s*[1-9]\d* \(\d+%\)"))
    _shot(ana, "department-load")
    head.close()

    # another site's form cannot act with Olga's session, nor a post without the form token
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    before = served.cli_json("history", approval["ref"])
    for headers, data in (
            ({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
             {"action": "comment", "text": "evil"}),
            ({"Origin": api, "Sec-Fetch-Site": "same-origin"},
             {"action": "comment", "text": "no token"})):
        r = httpx.post(f"{api}/work/{approval['id']}", data=data, cookies=cookies,
                       headers={"Accept": "text/html", **headers}, timeout=10)
        assert r.status_code == 403, r.text
    assert served.cli_json("history", approval["ref"]) == before
    assert not [m for m in console if "Content Security Policy" in m], console
