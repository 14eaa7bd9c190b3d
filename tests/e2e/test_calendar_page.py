"""The campaign calendar of ``mktflow serve``, in Chromium, as a member uses it (issue 24,
item 4): Olga opens the month her campaign starts in, sees the campaign, its activity,
finance's approval and her handoff's deadline, each linking to its page; filters by department
with JavaScript off; reads it at phone width; makes a feed URL and a calendar client (httpx
with icalendar, the library calendar clients' parsers follow) reads it; she revokes it and it
answers 404. Saves ``docs/screenshots/calendar.png`` and ``calendar-phone.png``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from tests.e2e.conftest import ROOT, Served
from tests.e2e.seed_calendar import OLGA
from tests.e2e.test_tasklist import PHONE, _shot
from tests.e2e.ui import sign_in_here

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_a_member_reads_the_calendar_and_subscribes_to_it(served: Served, mktflow_api: str,
                                                          browser: Any) -> None:
    from playwright.sync_api import expect

    api = mktflow_api
    done = subprocess.run([sys.executable, "-m", "tests.e2e.seed_calendar"], env=served.env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    seeded = json.loads(done.stdout)
    month = seeded["month"]

    # JavaScript off: the page and its plain GET form work as they are
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  java_script_enabled=False)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{api}/calendar?month={month}")
    sign_in_here(page, served.env, OLGA, seeded["token"])
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Campaign calendar {month}")
    agenda = page.locator("section[aria-labelledby=h-agenda]")
    expect(agenda.get_by_role("link", name="Tasting stand brief")).to_have_attribute(
        "href", f"/handoffs/{seeded['brief']}")
    expect(agenda.get_by_role("link", name="Approve the tasting budget")).to_have_attribute(
        "href", f"/work/{seeded['approval']}")
    expect(agenda).to_contain_text("Autumn teas")
    expect(agenda).to_contain_text("Tasting days")
    _shot(page, "calendar")
    page.get_by_label("Department").select_option("finance")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{api}/calendar?month={month}&quarter=&department=finance&branch=")
    expect(agenda.get_by_role("link", name="Approve the tasting budget")).to_be_visible()
    expect(agenda.get_by_role("link", name="Tasting stand brief")).to_have_count(0)

    # a phone: the agenda reflows, nothing is wider than the screen
    phone = browser.new_context(viewport=PHONE)
    phone.add_cookies(context.cookies())
    small = phone.new_page()
    small.goto(f"{api}/calendar?month={month}")
    expect(small.get_by_role("link", name="Tasting stand brief")).to_be_visible()
    widths = small.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] == PHONE["width"], widths
    _shot(small, "calendar-phone", full_page=False)
    phone.close()

    # the secret feed URL, read as a calendar client reads it, then revoked
    page.get_by_role("button", name="Make a feed URL").click()
    url = page.locator("#feed-url").inner_text().strip()
    assert url.startswith(f"{api}/calendar/cal_") and url.endswith(".ics")
    feed = httpx.get(url, timeout=10)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = {str(e["UID"]): e for e in Calendar.from_ical(feed.content).walk("VEVENT")}
    assert f"handoff-{seeded['brief']}@mktflow" in events
    assert f"work-{seeded['approval']}@mktflow" in events
    assert str(events[f"handoff-{seeded['brief']}@mktflow"]["URL"]) == (
        f"{api}/handoffs/{seeded['brief']}")
    page.get_by_role("button", name="Revoke feed").first.click()
    expect(page.get_by_role("status")).to_contain_text("Feed revoked.")
    assert httpx.get(url, timeout=10).status_code == 404
    context.close()
