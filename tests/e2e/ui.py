"""What a person does in the Prefect 3.8 UI, as Playwright steps (role and text selectors where
the UI has them; its schema forms label their fields with a span, not a <label for>), and on
mktflow's own pages (signing in with a member token)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest


def open_deployment(page: Any, ui_url: str, name: str) -> None:
    """Deployments (left navigation) → search → the deployment's page."""
    page.goto(f"{ui_url}/deployments")
    page.get_by_placeholder("Search deployments").fill(name)
    page.get_by_text("1 Deployment", exact=True).wait_for()
    page.get_by_role("link", name=name, exact=True).first.click()
    page.wait_for_url("**/deployments/deployment/**")


def custom_run_with_json(page: Any, text: str, created: Callable[[], object]) -> None:
    """Run → Custom run → ⋮ → Use JSON input, paste ``text``, Submit, until ``created()`` (the
    server's word) says the run exists; fails with what the form shows if it does not.

    A person whose Submit shows nothing presses it again, and so does this, once, and only when
    the server has no such run: the page ignores a second submit while the first one's create is
    in flight. Under load the form's parameter check (a round trip to the server) can take
    seconds."""
    complaints: list[str] = []
    page.on("console", lambda msg: complaints.append(msg.text) if msg.type == "error" else None)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Custom run", exact=True).click()
    page.wait_for_url("**/run**")
    header = page.get_by_role("heading", name="Parameters", exact=True).locator("xpath=..")
    header.get_by_role("button").click()
    page.get_by_text("Use JSON input", exact=True).click()
    editor = page.locator(".schema-input").get_by_role("textbox")
    editor.fill(text)
    assert json.loads(editor.input_value()) == json.loads(text), "the JSON view lost the paste"
    submit = page.get_by_role("button", name="Submit", exact=True)
    for press in (1, 2):
        submit.click()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if created():
                return
            page.wait_for_timeout(500)
        if press == 1:
            print(f"Submit showed nothing in 30 s (url {page.url}); pressing it again")
    # what the JSON view says under the pasted text, and what the page logged
    shown = page.locator(".schema-input").inner_text().rsplit("}", 1)[-1].strip()
    pytest.fail("the Custom run form did not create a run from the pasted `mktflow run campaign "
                f"--example` output (it must paste into the JSON view as it is); the form shows "
                f"{shown or 'no complaint'}; console errors: {complaints or 'none'}; "
                f"page at {page.url}")


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


def sign_in_here(page: Any, env: dict[str, str], email: str, token: str | None = None) -> None:
    """On mktflow's sign-in page (where a link lands when nobody is signed in): sign in with a
    member token (``token``, else a new one for ``email``); the page then goes where the link
    pointed."""
    from playwright.sync_api import expect

    page.get_by_label("Member token", exact=True).fill(token or member_token(env, email))
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
