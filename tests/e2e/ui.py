"""What a person does in the Prefect 3.8 UI, as Playwright steps (role and text selectors where
the UI has them; its schema forms label their fields with a span, not a <label for>), and on
mktflow's own pages (signing in with a member token)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest


def open_deployment(page: Any, ui_url: str, name: str) -> None:
    """Deployments (left navigation) → search → the deployment's page."""
    page.goto(f"{ui_url}/deployments")
    page.get_by_placeholder("Search deployments").fill(name)
    page.get_by_text("1 Deployment", exact=True).wait_for()
    page.get_by_role("link", name=name, exact=True).first.click()
    page.wait_for_url("**/deployments/deployment/**")


def custom_run_with_json(page: Any, text: str) -> None:
    """Run → Custom run → ⋮ → Use JSON input, paste ``text``, Submit; fails with the form's
    complaint if the run is not created."""
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Custom run", exact=True).click()
    page.wait_for_url("**/run**")
    header = page.get_by_role("heading", name="Parameters", exact=True).locator("xpath=..")
    header.get_by_role("button").click()
    page.get_by_text("Use JSON input", exact=True).click()
    page.locator(".schema-input").get_by_role("textbox").fill(text)
    page.get_by_role("button", name="Submit", exact=True).click()
    try:  # the toast "<run name> scheduled to start now"
        page.get_by_text("scheduled to start").first.wait_for(timeout=20_000)
    except Exception as exc:
        # what the JSON view says under the pasted text
        errors = page.locator(".schema-input").inner_text().rsplit("}", 1)[-1]
        pytest.fail("the Custom run form refused the pasted `mktflow run campaign --example` "
                    f"output (it must paste into the JSON view as it is): {errors.strip() or exc}")


def field(scope: Any, label: str) -> Any:
    """The text box of a schema-form field by its label as shown, e.g. ``Goal (Optional)``."""
    return scope.locator(
        f"xpath=.//span[normalize-space()='{label}']"
        "/ancestor::div[contains(concat(' ', @class, ' '), ' p-label ')][1]"
    ).get_by_role("textbox").first


def open_resume_form(page: Any, ui_url: str, flow_run_id: str) -> Any:
    """The flow-run page's Resume button; the dialog with the step's form."""
    page.goto(f"{ui_url}/flow-runs/flow-run/{flow_run_id}")
    page.get_by_role("button", name="Resume").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    return dialog


def seen(locator: Any) -> bool:
    """Whether a person can see ``locator``: scrolled to, with a size, and not covered."""
    locator.scroll_into_view_if_needed()
    return bool(locator.evaluate(
        """el => { const r = el.getBoundingClientRect();
                   if (r.width < 1 || r.height < 1) return false;
                   const hit = document.elementFromPoint(r.x + Math.min(r.width / 2, 20),
                                                         r.y + r.height / 2);
                   return hit !== null && (el === hit || el.contains(hit)); }"""))


def member_token(env: dict[str, str], email: str) -> str:
    """A member token for ``email``, made as an operator would, on the served data."""
    from tests.e2e.conftest import ROOT

    code = ("import sys; from mktflow import bootstrap; "
            "from mktflow.engine.credentials import issue_token; "
            "print(issue_token(bootstrap.uow(), sys.argv[1]).token)")
    done = subprocess.run([sys.executable, "-c", code, email], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def sign_in_here(page: Any, env: dict[str, str], email: str) -> None:
    """On mktflow's sign-in page (where a link lands when nobody is signed in): sign in with a
    member token; the page then goes where the link pointed."""
    from playwright.sync_api import expect

    page.get_by_label("Member token", exact=True).fill(member_token(env, email))
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
