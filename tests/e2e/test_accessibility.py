"""Usable by everyone (issue 25): every page of ``mktflow serve`` meets WCAG 2.2 AA as axe-core
checks it in Chromium, and a keyboard alone signs in, claims a step, answers its form and
accepts a handoff.

axe-core is the copy shipped inside the ``axe-playwright-python`` wheel (pinned in
constraints.txt; nothing is downloaded). Each page is checked at a desktop width and at
320 px (WCAG's reflow width), where wide tables scroll in their own box and the page itself
must not. A serious or critical violation fails the test,
listed with its rule, impact, the elements (CSS selectors) and the page, and so does a page
wider than the window; moderate and minor violations are printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Served
from tests.e2e.seed_pages import ANA, RAJ
from tests.e2e.test_tasklist import _shot
from tests.e2e.ui import sign_in_here

#: 420 s as the other end-to-end modules: the first test also starts the session's serve.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

#: axe-core's tags for the success criteria of WCAG 2.0, 2.1 and 2.2 at levels A and AA (axe
#: 4.12 tags no rule ``wcag22a``: the A criteria new in 2.2 need a person to judge them).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
#: What fails the test; the rest is printed.
FAILING = ("serious", "critical")
#: A desktop, and the 320 CSS px of WCAG's reflow criterion (1.4.10; a small phone).
WIDTHS = ((1280, 900), (320, 640))
#: The pages of the department's routines whose screenshots the docs show (the walk's
#: name -> the file in docs/screenshots/).
_SHOTS = {"leads": "leads", "a lead and its forms": "lead", "complaint": "complaint",
          "work reports": "work-reports", "a meeting's minutes": "meeting"}


@pytest.fixture(scope="module")
def seeded(served: Served) -> dict[str, Any]:
    """The items, handoffs, lead and tokens the pages show (``tests.e2e.seed_pages``)."""
    done = subprocess.run([sys.executable, "-m", "tests.e2e.seed_pages"], env=served.env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def axe_version() -> str:
    """The version of the axe-core the wheel ships (its first line: ``/*! axe v4.12.1``)."""
    from axe_playwright_python.base import AXE_SCRIPT

    return AXE_SCRIPT.split("\n", 1)[0].removeprefix("/*! axe v").strip()


def _checker(page: Any, found: list[str], lesser: list[str]) -> Callable[[str], None]:
    """``check(name)``: axe on the page as it is, at each of ``WIDTHS`` (injected once per
    page); serious and critical violations, and a page wider than the window (it must reflow,
    WCAG 1.4.10), go to ``found``, the other violations to ``lesser``, one line per rule and
    width."""
    from axe_playwright_python.base import AXE_SCRIPT

    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}

    def check(name: str) -> None:
        page.evaluate(AXE_SCRIPT)
        for width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            response = page.evaluate("options => axe.run(options)", options)
            wide = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
            if wide > 0:
                found.append(f"{name} ({page.url}, {width} px): the page is {wide} px wider "
                             "than the window: it must reflow (WCAG 1.4.10)")
            assert response["testEngine"]["version"] == axe_version()
            for v in response["violations"]:
                targets = "; ".join(" ".join(n["target"]) for n in v["nodes"])
                line = (f"{name} ({page.url}, {width} px): {v['id']} ({v['impact']}) "
                        f"{v['help']}: {targets}")
                (found if v["impact"] in FAILING else lesser).append(line)

    return check


def test_every_page_meets_wcag_2_2_aa_as_axe_checks_it(
        served: Served, mktflow_api: str, seeded: dict[str, Any], page: Any) -> None:
    from playwright.sync_api import expect

    api = mktflow_api
    work, handoffs = seeded["work"], seeded["handoffs"]
    found: list[str] = []
    lesser: list[str] = []
    check = _checker(page, found, lesser)

    page.goto(f"{api}/sign-in")
    check("sign-in")
    page.get_by_label("Member token", exact=True).fill("not-a-token")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("does not sign anyone in")
    check("sign-in refused")
    page.goto(f"{api}/sign-in/not-a-code")
    check("one-time link")

    page.goto(f"{api}/sign-in")
    sign_in_here(page, served.env, ANA, seeded["tokens"][ANA])
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")
    check("my work")
    for name, path, heading in (
            ("queue", "/inbox/marketing", "Marketing queue"),
            ("handoffs", "/inbox/marketing/handoffs", "Handoffs of marketing"),
            ("handoff", f"/handoffs/{handoffs['to_marketing']}", "Stand drawings"),
            ("step with a form", f"/work/{work['form']}", "Check the launch"),
            ("leads", "/leads", "Sales leads"),
            ("a lead and its forms", f"/leads/L-{seeded['lead']}", "Corner Shop Ltd"),
            ("complaints", "/complaints", "Customer complaints"),
            ("complaint", f"/complaints/C-{seeded['complaint']}", "Corner Shop"),
            ("calendar", "/calendar", "Campaign calendar"),
            ("work reports", "/my-reports", "Work reports"),
            ("meetings", "/meetings", "Meetings"),
            ("a meeting's minutes", f"/meetings/{seeded['meeting']}", seeded["meeting"]),
            ("load", "/inbox/marketing/load", "Marketing: load"),
            ("dashboard", "/dashboards/periods/" + seeded["year"], "Dashboard"),
            ("not found", "/work/999999999", "Work item W-999999999 not found"),
            ("for the head", "/inbox/sales/load", "For the head")):
        page.goto(f"{api}{path}")
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        check(name)
        if name in _SHOTS:  # the docs' Screenshots page shows the routines' pages too
            width, height = WIDTHS[0]
            page.set_viewport_size({"width": width, "height": height})
            _shot(page, _SHOTS[name])

    # the queue and a step's page say where each step stands in the balance of work (seed 000)
    page.goto(f"{api}/inbox/marketing")
    expect(page.get_by_role("row").filter(has_text="Send the samples")).to_contain_text(
        "Important and urgent")
    expect(page.get_by_role("row").filter(has_text="Book the tasting stand")).to_contain_text(
        "Unclassified")
    page.goto(f"{api}/work/{work['overdue']}")
    expect(page.locator("dt:text-is('Importance and urgency') + dd")).to_have_text(
        "Important and urgent")
    # the head of customer service cancels the case on its page, with a reason
    page.goto(f"{api}/complaints/C-{seeded['complaint']}")
    page.get_by_label("Why is the case cancelled?").fill("Lodged twice: see the first case")
    page.get_by_role("button", name="Cancel the case").click()
    expect(page.get_by_role("status").filter(has_text="The case is cancelled.")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel the case")).to_have_count(0)
    expect(page.get_by_role("main")).to_contain_text("Lodged twice: see the first case")
    check("complaint cancelled")

    # the form refused beside its fields, then the signed-out page
    page.goto(f"{api}/work/{work['form']}")
    page.get_by_role("textbox", name="Code").fill("NOT lower case")
    page.get_by_role("button", name="Check answers").click()
    expect(page.get_by_role("alert")).to_contain_text("need another look")
    check("form refused")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signed out")
    check("signed out")

    print(f"axe-core {axe_version()}, tags {', '.join(WCAG_TAGS)}; moderate and minor:",
          *lesser or ["none"], sep="\n  ")
    if found:
        pytest.fail(f"{len(found)} serious or critical WCAG violation(s) or page(s) that do "
                    f"not reflow (axe-core {axe_version()}):\n" + "\n".join(found))


# --- the keyboard walk ------------------------------------------------------------------------

#: What has the keyboard's focus: its tag, id, name (aria-label, else its text or value), its
#: label's text, whether it is inside <main>, whether it shows (in the window, with a size) and
#: how its focus is drawn (``:focus-visible`` and the outline).
_FOCUSED = """() => {
  const el = document.activeElement, s = getComputedStyle(el), r = el.getBoundingClientRect();
  return {tag: el.tagName.toLowerCase(), id: el.id,
          name: (el.getAttribute('aria-label') || el.innerText || el.value || '').trim(),
          label: el.labels && el.labels.length ? el.labels[0].innerText.trim() : '',
          in_main: el.closest('main') !== null,
          shown: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
                 && r.top < innerHeight && r.left < innerWidth,
          focus_visible: el.matches(':focus-visible'), outline: s.outlineStyle,
          outline_px: parseFloat(s.outlineWidth) || 0};
}"""


def _focused(page: Any) -> dict[str, Any]:
    """What has the focus now (``_FOCUSED``)."""
    return dict(page.evaluate(_FOCUSED))


def _tab_to(page: Any, wanted: Callable[[dict[str, Any]], bool], what: str, *,
            limit: int = 80) -> dict[str, Any]:
    """Press Tab until ``wanted(focused)``; every stop on the way must show its focus (an
    outline of 2 px or more, in the window). Fails naming ``what`` after ``limit`` presses."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = _focused(page)
        assert now["focus_visible"] and now["outline"] != "none" and now["outline_px"] >= 2 \
            and now["shown"], f"the keyboard's focus does not show on {page.url}: {now}"
        if wanted(now):
            return now
    pytest.fail(f"{limit} presses of Tab never reached {what} on {page.url}")


def test_a_keyboard_alone_signs_in_claims_answers_and_accepts_a_handoff(
        mktflow_api: str, seeded: dict[str, Any], page: Any) -> None:
    from playwright.sync_api import expect

    api = mktflow_api
    step, offered = f"W-{seeded['work']['walk']}", f"H-{seeded['handoffs']['to_supply']}"
    heading = page.get_by_role("heading", level=1)
    page.goto(f"{api}/sign-in")

    # the first stop skips to the content
    skip = _tab_to(page, lambda f: True, "the skip link")
    assert skip["name"] == "Skip to content", skip
    page.keyboard.press("Enter")
    first = _tab_to(page, lambda f: True, "the first stop after skipping")
    assert first["in_main"], f"after the skip link, Tab goes to {first}, not into the content"

    # sign in with a member token, typed
    _tab_to(page, lambda f: f["id"] == "token", "the Member token field")
    page.keyboard.type(seeded["tokens"][RAJ])
    page.keyboard.press("Enter")
    expect(heading).to_have_text("My work")

    # the department's queue: claim the step, then open it
    _tab_to(page, lambda f: f["name"] == "My department", "the My department link")
    page.keyboard.press("Enter")
    expect(heading).to_have_text("Supply queue")
    _tab_to(page, lambda f: f["name"] == f"Claim {step}", f"the Claim button of {step}")
    page.keyboard.press("Space")
    expect(page.get_by_role("status")).to_contain_text(f"{step} claimed.")
    _tab_to(page, lambda f: f["tag"] == "a" and f["name"].startswith(f"{step} · "),
            f"the link to {step}")
    page.keyboard.press("Enter")
    expect(heading).to_contain_text(step)

    # its form: typed, then Complete
    _tab_to(page, lambda f: f["label"].startswith("Summary"), "the Summary field")
    page.keyboard.type("12 boxes counted")
    page.keyboard.press("Tab")
    assert _focused(page)["label"].startswith("Units"), _focused(page)
    page.keyboard.type("12")
    _tab_to(page, lambda f: f["name"] == "Complete", "the Complete button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(f"{step} completed.")
    expect(page.locator("dl.data")).to_contain_text("12 boxes counted")

    # a handoff offered to supply: accepted from its page
    _tab_to(page, lambda f: f["name"] == "Handoffs", "the Handoffs link")
    page.keyboard.press("Enter")
    expect(heading).to_have_text("Handoffs of supply")
    _tab_to(page, lambda f: f["tag"] == "a" and f["name"].startswith(f"{offered} · "),
            f"the link to {offered}")
    page.keyboard.press("Enter")
    expect(heading).to_contain_text(offered)
    _tab_to(page, lambda f: f["name"] == "Accept", "the Accept button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(f"{offered} accepted.")
