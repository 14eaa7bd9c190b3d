"""The desk's figures of ``mktflow serve``, in Chromium with JavaScript off (issue 24, items 3
and 5): Pedro, production's head, opens his load page and reads the due spread of his open work
and the hours production waited on supply, each as a chart (inline SVG with a title) beside a
table of the same figures, and who is blocking whom; Olga opens her campaign's dashboard (KPIs
against targets, budget allocated against spent) and the year's, on a desk and at phone width.
Saves ``docs/screenshots/workload.png``, ``dashboard.png`` and ``dashboard-phone.png``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Served
from tests.e2e.seed_desk import OLGA, PEDRO
from tests.e2e.test_tasklist import PHONE, _shot
from tests.e2e.ui import sign_in_here

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def _fits(page: Any) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def test_a_head_reads_the_load_and_the_owner_her_campaigns_dashboard(
        served: Served, mktflow_api: str, browser: Any) -> None:
    from playwright.sync_api import expect

    api = mktflow_api
    done = subprocess.run([sys.executable, "-m", "tests.e2e.seed_desk"], env=served.env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    seeded = json.loads(done.stdout)

    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  java_script_enabled=False)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{api}/inbox/production/load")
    sign_in_here(page, served.env, PEDRO, seeded["tokens"][PEDRO])
    expect(page.get_by_role("heading", level=1)).to_have_text("Production: load")
    due = page.get_by_role("img", name="production: open work by member and due time")
    expect(due).to_be_visible()
    expect(due).to_contain_text("Pedro Alves")  # the bar's label, drawn as SVG text
    expect(due).to_contain_text("Overdue")  # the legend
    spread = page.locator("#due-spread tbody tr", has_text="Pedro Alves")
    expect(spread.locator("td")).to_have_text(["Pedro Alves", "3", "1", "0", "1", "0", "1"])
    waits = page.get_by_role("img", name="production: working hours waited, by department")
    expect(waits).to_be_visible()
    expect(waits.locator("desc").first).to_contain_text("supply: our work waited")
    stages = page.locator("#waits-by-stage tbody tr")
    expect(stages.filter(has_text="accepted → delivered").locator("td")).to_have_text(
        ["production", "supply", "accepted → delivered", "1", "0", "12.0", "12.0"])
    expect(stages.filter(has_text="delivered → confirmed").locator("td")).to_have_text(
        ["supply", "production", "delivered → confirmed", "1", "0", "2.0", "2.0"])
    blocker = page.locator("#blocking tbody tr", has_text="production")
    expect(blocker.locator("td").nth(0)).to_have_text("supply")
    expect(blocker.locator("td").nth(1)).to_have_text("— its queue")
    expect(blocker.locator("td").nth(4)).to_have_text(re.compile(r"^8\.\d+$"))
    expect(blocker.get_by_role("link")).to_have_attribute("href", f"/handoffs/{seeded['pallets']}")
    assert page.locator("script").count() == 0
    _shot(page, "workload")
    context.close()

    # Olga's campaign: the KPIs against their targets, the budget allocated against spent
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  java_script_enabled=False)
    context.set_default_timeout(30_000)
    page = context.new_page()
    code = seeded["campaign"]
    page.goto(f"{api}/dashboards/campaigns/{code}")
    sign_in_here(page, served.env, OLGA, seeded["tokens"][OLGA])
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Campaign {code}: dashboard")
    kpis = page.get_by_role("img", name=f"KPIs of campaign {code}: actual as a share of target")
    expect(kpis.locator("desc").first).to_have_text(
        "leads: target 100, actual 120 (120%); stores: target 40, actual 30 (75%)")
    expect(page.locator("#kpis tbody tr", has_text="leads").locator("td")).to_have_text(
        ["leads", "100", "120", "120%", "yes"])
    spent = page.get_by_role("img", name=f"Budget of campaign {code}: allocated against spent")
    expect(spent.locator("desc").first).to_have_text(
        "ads: allocated 1,000.00, spent 700.00; print: allocated 500.00, spent 0.00")
    expect(page.locator("#budget tbody tr", has_text="ads").locator("td")).to_have_text(
        ["ads Online ads", "1,000.00", "700.00", "300.00"])
    expect(page.locator(".figures")).to_contain_text("1 of 2 KPIs met")
    _shot(page, "dashboard")
    page.get_by_role("link", name="Dashboards").click()  # this year's, from the menu
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Dashboard \d{4}$"))
    page.goto(f"{api}/dashboards/periods/{seeded['year']}")
    expect(page.locator("#budget tbody tr", has_text="Online ads").first).to_be_visible()

    phone = browser.new_context(viewport=PHONE, java_script_enabled=False)
    phone.add_cookies(context.cookies())
    small = phone.new_page()
    small.goto(f"{api}/dashboards/campaigns/{code}")
    expect(small.get_by_role("img", name=f"KPIs of campaign {code}: actual as a share of "
                                          "target")).to_be_visible()
    _fits(small)
    small.locator("#h-kpis").scroll_into_view_if_needed()  # the KPIs' chart, then its table
    _shot(small, "dashboard-phone", full_page=False)
    phone.close()
    context.close()
