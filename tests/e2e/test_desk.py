"""The department's desk in Chromium (issue #24 items 1 and 2): a member saves a view of the
marketing queue shared with the department; a colleague sees it and makes it her default; the
first member, with JavaScript turned off, selects three items and claims them in one go, one
refused, and reads each item's answer. The pages fit a phone.

Screenshots of the new parts of the queue page go to ``docs/screenshots/`` (``saved-views``,
``bulk-answers``, ``bulk-answers-phone``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Served
from tests.e2e.test_tasklist import PHONE, _shot, _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

OLGA = "olga.petrova@example.com"  # marketing specialist
SOFIA = "sofia.lopez@example.com"  # marketing specialist
ANA = "ana.torres@example.com"  # marketing head


def _steps(served: Served, *titles: str, held_by: str) -> list[str]:
    """Put a step per title in marketing's queue (the last one held by ``held_by``), as the
    head would with ``mktflow work create``, in one process (one start-up instead of three)."""
    code = ("import sys; from mktflow import bootstrap; "
            "from mktflow.engine.work import create_work_item\n"
            "*titles, last, head, holder = sys.argv[1:]\n"
            "for title in [*titles, last]:\n"
            "    item = create_work_item(bootstrap.uow(), actor_email=head, "
            "department='marketing', title=title, priority=70, "
            "assignee=holder if title == last else None)\n"
            "    print(f'W-{item.id}')")
    done = subprocess.run([sys.executable, "-c", code, *titles, ANA, held_by], env=served.env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_shared_view_and_a_bulk_claim_with_one_refusal(served: Served, mktflow_api: str,
                                                         browser: Any) -> None:
    from playwright.sync_api import expect

    api = mktflow_api
    tag = f"desk {uuid.uuid4().hex[:6]}"
    first, second, held = _steps(served, f"Print the {tag} flyers", f"Book the {tag} hall",
                                 f"Call the {tag} printer", held_by=SOFIA)

    # Olga, without JavaScript: the views' and bulk forms are plain posts
    olga_ctx = browser.new_context(viewport={"width": 1280, "height": 900},
                                   java_script_enabled=False)
    olga_ctx.set_default_timeout(15_000)
    olga = olga_ctx.new_page()
    _sign_in(olga, api, served, OLGA)
    olga.goto(f"{api}/inbox/marketing")
    olga.get_by_label("State").select_option("open")
    olga.get_by_role("button", name="Filter").click()
    olga.get_by_text("Save these filters as a view").click()
    olga.get_by_label("Name").fill(f"Open {tag}")
    olga.get_by_label("Share with marketing").check()
    olga.get_by_role("button", name="Save view").click()
    expect(olga.get_by_role("status").first).to_contain_text("View saved.")
    expect(olga.get_by_role("heading", level=1)).to_contain_text(f"Open {tag}")

    # Sofia sees it, shared by Olga, and opens her queue with it from now on
    sofia_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    sofia_ctx.set_default_timeout(15_000)
    sofia = sofia_ctx.new_page()
    _sign_in(sofia, api, served, SOFIA)
    sofia.goto(f"{api}/inbox/marketing")
    views = sofia.get_by_role("region", name="Saved views")
    expect(views.get_by_role("listitem").filter(has_text=f"Open {tag}")).to_contain_text(
        f"shared · by {OLGA}")
    views.get_by_role("button", name=f"Make Open {tag} my default").click()
    expect(sofia.get_by_role("status").first).to_contain_text("Default view chosen.")
    sofia.goto(f"{api}/inbox/marketing")
    expect(sofia.get_by_role("heading", level=1)).to_contain_text(f"Open {tag}")
    expect(sofia.get_by_role("link", name=re.compile(f"{held} ·"))).to_have_count(0)
    _shot(sofia, "saved-views")

    # Olga ticks three items, one held by Sofia, and claims them in one go
    olga.goto(f"{api}/inbox/marketing")  # her own queue: no default, everything
    for ref in (first, second, held):
        olga.get_by_label(f"Select {ref}", exact=True).check()
    olga.get_by_label("Action").select_option("claim")
    olga.get_by_role("button", name="Apply to the selected items").click()
    answers = olga.get_by_role("region", name=re.compile("Claim: 2 done, 1 refused"))
    expect(answers).to_be_visible()
    rows = answers.get_by_role("row")
    expect(rows.filter(has_text=first)).to_contain_text("done")
    expect(rows.filter(has_text=second)).to_contain_text("done")
    expect(rows.filter(has_text=held)).to_contain_text("refused")
    expect(rows.filter(has_text=held)).to_contain_text(SOFIA)  # the rule says who holds it
    _shot(olga, "bulk-answers")
    queue = {row["ref"]: row.get("assignee")
             for row in served.cli_json("inbox", "marketing", "--limit", "200")["rows"]}
    assert [queue[ref] for ref in (first, second, held)] == [OLGA, OLGA, SOFIA]

    # at phone width the answers and the form fit the screen (the tables scroll in a box)
    phone_ctx = browser.new_context(viewport=PHONE, java_script_enabled=False)
    phone_ctx.add_cookies(olga_ctx.cookies())
    phone = phone_ctx.new_page()
    phone.goto(f"{api}/inbox/marketing")
    phone.get_by_label(f"Select {first}", exact=True).check()
    phone.get_by_label("Action").select_option("release")
    phone.get_by_role("button", name="Apply to the selected items").click()
    expect(phone.get_by_role("region", name=re.compile("Release: 1 done, 0 refused"))
           ).to_be_visible()
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    _shot(phone, "bulk-answers-phone", full_page=False)
    for context in (olga_ctx, sofia_ctx, phone_ctx):
        context.close()
