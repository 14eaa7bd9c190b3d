"""A member chooses a daily digest on the My work page of ``mktflow serve``, in Chromium with
JavaScript off (issue 24, item 6): a time that is no time of day is refused beside its field,
a good one is saved and read back at the command line; the choice goes back to each notice at
the end (the session's other tests expect her notices one by one). Saves
``docs/screenshots/digest-choice.png``. The digest's arrival at a receiver is proven in
``tests/integration/test_digests.py``, without waiting for the 15-minute schedule.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import Served, run_cli
from tests.e2e.test_tasklist import SHOTS
from tests.e2e.ui import sign_in_here

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SOFIA = "sofia.lopez@example.com"  # marketing specialist at the south branch


def test_a_member_chooses_a_daily_digest_on_my_work_without_javascript(
        served: Served, mktflow_api: str, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  java_script_enabled=False)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(f"{mktflow_api}/my-work")
        sign_in_here(page, served.env, SOFIA)
        form = page.locator("section#digest")
        expect(form.get_by_role("heading", name="How I am told")).to_be_visible()
        expect(form.get_by_label("Each notice at once")).to_be_checked()
        form.get_by_label("One daily digest").check()
        form.get_by_label("Digest time (HH:MM, UTC)").fill("25:00")
        form.get_by_role("button", name="Save my choice").click()
        expect(page.locator("#e-digest-at")).to_contain_text(
            "at: '25:00' is not a time of day (HH:MM, 00:00 to 23:59")
        expect(page.get_by_label("Digest time (HH:MM, UTC)")).to_have_value("25:00")
        page.get_by_label("Digest time (HH:MM, UTC)").fill("16:45")
        page.get_by_role("button", name="Save my choice").click()
        expect(page.get_by_role("status")).to_have_text("Your notice choice is saved.")
        expect(page.get_by_label("One daily digest")).to_be_checked()
        expect(page.get_by_label("Digest time (HH:MM, UTC)")).to_have_value("16:45")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("section#digest").screenshot(path=str(SHOTS / "digest-choice.png"))
        shown = json.loads(run_cli(["digest", "show", "--as", SOFIA, "--json"],
                                   served.env).stdout)
        assert (shown["mode"], shown["at"], shown["zone"]) == ("daily", "16:45", "UTC")
        page.get_by_label("Each notice at once").check()
        page.get_by_role("button", name="Save my choice").click()
        expect(page.get_by_label("Each notice at once")).to_be_checked()
    finally:
        context.close()
    shown = json.loads(run_cli(["digest", "show", "--as", SOFIA, "--json"], served.env).stdout)
    assert shown["mode"] == "each"
