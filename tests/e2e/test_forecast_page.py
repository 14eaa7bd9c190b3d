"""What next quarter will cost, on the page of ``mktflow serve``, in Chromium with JavaScript
off (issue 24 item 7): management's Maria types a word where a count goes and is told beside
the field; then plans 200 orders and 200 new products a month and reads that production will
jam, from which week. Saves ``docs/screenshots/forecast.png``.

The served data has no last quarter (it was made today), so the routes are the flows'
definitions and the service times the default: two people in production cannot make 400
orders and trial runs a month.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Served
from tests.e2e.test_tasklist import _shot
from tests.e2e.ui import sign_in_here

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

MARIA = "maria.garcia@example.com"  # management


def test_a_manager_plans_the_quarter_and_reads_the_jam(served: Served, mktflow_api: str,
                                                       browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  java_script_enabled=False)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{mktflow_api}/forecast")
    sign_in_here(page, served.env, MARIA)
    expect(page.get_by_role("heading", level=1)).to_have_text("What next quarter will cost")

    page.get_by_label("Campaigns, month 1").fill("lots")
    page.get_by_role("button", name="Forecast").click()
    expect(page.locator("#e-campaign_1")).to_have_text("a whole number from 0 to 200")
    expect(page.get_by_label("Campaigns, month 1")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Campaigns, month 1").fill("2")
    for month in (1, 2, 3):
        page.get_by_label(f"Orders, month {month}").fill("200")
        page.get_by_label(f"New products, month {month}").fill("200")
    page.get_by_role("button", name="Forecast").click()
    jams = page.locator("#jams")
    expect(jams).to_contain_text(re.compile(r"Production from week \d+"))
    row = page.locator("#departments tr", has=page.get_by_role("rowheader", name="Production"))
    expect(row).to_contain_text("from week")
    weeks = page.locator("#weeks tr", has=page.get_by_role("rowheader", name="Production"))
    expect(weeks.locator("td strong").first).to_contain_text("%")  # its weeks from the jam on
    expect(page.get_by_label("Orders, month 2")).to_have_value("200")  # the plan stays typed
    _shot(page, "forecast")
    context.close()
