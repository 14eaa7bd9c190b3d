"""The Prefect UI of ``mktflow serve``, in Chromium: the deployments, starting a campaign from
Run → Custom run, answering its first step in the Resume form, and a refused answer."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Served, eventually
from tests.e2e.ui import custom_run_with_json, field, open_deployment, open_resume_form, seen

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DEPLOYMENTS = ("campaign", "new-product-development", "order-handling",
               "sla-sweep", "member-digests", "process-review", "market-research", "budget-review",
               "performance-appraisal", "channel-evaluation", "annual-planning", "training",
               "daily-reports", "report-digest", "write-report", "weekly-reports",
               "monthly-reports", "quarterly-meeting", "annual-meeting", "complaint")
#: The campaign owner of ``mktflow run campaign --example``: the plan step is assigned to her.
OWNER = "olga.petrova@example.com"
#: A member of tech, who may not answer marketing's plan.
OUTSIDER = "hana.kim@example.com"


def _code(example: str) -> str:
    found = re.search(r'"code":\s*"([^"]+)"', example)
    assert found, f"no campaign code in `mktflow run campaign --example`:\n{example}"
    return found.group(1)


def _step(served: Served, department: str, key: str, step: str) -> dict[str, Any] | None:
    """The item of process ``key`` whose step key starts with ``step`` in a department's queue."""
    for item in served.cli_json("inbox", department, "--limit", "200")["rows"]:
        if item.get("process") == key and str(item.get("step_key", "")).startswith(step):
            return dict(item)
    return None


def _runs_for(served: Served, deployment: str, code: str) -> list[str]:
    """The ids of the flow runs of ``deployment`` started for the business key ``code``."""
    deployment_id = served.deployment(deployment)["id"]
    runs = served.prefect("POST", "/flow_runs/filter",
                          {"deployments": {"id": {"any_": [deployment_id]}}})
    return [r["id"] for r in runs if code in json.dumps(r["parameters"])]


def _wait_suspended(served: Served, flow_run_id: str, pause_key: str,
                    timeout: float = 150) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        run = served.flow_run(flow_run_id)
        if run["state"]["type"] in ("FAILED", "CRASHED", "CANCELLED", "COMPLETED"):
            pytest.fail(f"flow run {flow_run_id} ended {run['state']['name']}: "
                        f"{run['state'].get('message')}")
        suspended = run["state"]["name"] == "Suspended"
        return run if suspended and pause_key in run["empirical_policy"]["pause_keys"] else None

    return eventually(probe, timeout=timeout, interval=2,
                      what=f"flow run {flow_run_id} to suspend at step {pause_key}")


def campaign_at_its_plan(served: Served, tmp_path: Path) -> tuple[str, str, dict[str, Any]]:
    """Start the campaign of ``mktflow run campaign --example`` from the command line and wait
    until it is suspended at its plan and the plan is in marketing's queue: (campaign code,
    flow run id, the plan step's inbox row)."""
    example = served.cli("run", "campaign", "--example").stdout
    code = _code(example)
    params = tmp_path / "campaign.json"
    params.write_text(example, "utf-8")
    started = served.cli("run", "campaign", "--params", f"@{params}", "--detach", "--json")
    flow_run_id = json.loads(started.stdout.splitlines()[0])["flow_run_id"]
    _wait_suspended(served, flow_run_id, "plan-1")
    plan = eventually(lambda: _step(served, "marketing", code, "plan-1"), timeout=120,
                      what=f"the plan step of {code} in marketing's queue")
    return code, flow_run_id, plan


def test_the_prefect_ui_lists_every_deployment(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    settings = httpx.get(f"{served.ui_url}/ui-settings", timeout=10).json()
    assert settings["api_url"] == served.prefect_api, (
        f"the UI at {served.ui_url} calls the Prefect API {settings['api_url']}, not its own "
        f"{served.prefect_api}: the local server needs PREFECT_UI_API_URL")
    page.goto(f"{served.ui_url}/deployments")
    expect(page.get_by_text(f"{len(DEPLOYMENTS)} Deployments", exact=True)).to_be_visible(
        timeout=60_000)
    expect(page.get_by_text("Can't connect to Server API")).to_have_count(0)
    search = page.get_by_placeholder("Search deployments")
    for name in DEPLOYMENTS:  # ten to a page: find each one as a person would
        search.fill(name)
        expect(page.get_by_role("link", name=name, exact=True).first).to_be_visible()


def test_a_campaign_started_from_custom_run_is_answered_in_the_resume_form(
        served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    example = served.cli("run", "campaign", "--example").stdout
    code = _code(example)
    open_deployment(page, served.ui_url, "campaign")
    custom_run_with_json(  # pasted as printed
        page, example, lambda: _runs_for(served, "campaign/campaign", code))
    runs = _runs_for(served, "campaign/campaign", code)
    assert len(runs) == 1, f"one Submit, one run: {runs}"
    flow_run_id = runs[0]

    # the run opens its process and waits, suspended, at marketing's plan
    _wait_suspended(served, flow_run_id, "plan-1")
    plan = eventually(lambda: _step(served, "marketing", code, "plan-1"), timeout=120,
                      what=f"the plan step of {code} in marketing's queue")
    assert plan["assignee"] == OWNER
    page.reload()
    expect(page.get_by_text("Suspended", exact=True).first).to_be_visible()

    # the owner answers in the Resume form: the plan as drafted from the request
    dialog = open_resume_form(page, served.ui_url, flow_run_id)
    expect(field(dialog, "Goal (Optional)")).not_to_have_value("")
    field(dialog, "Answered By").fill(OWNER)
    dialog.get_by_role("button", name="Submit", exact=True).click()
    expect(dialog).to_be_hidden()

    # the engine recorded the completion; the approval is next, in marketing's queue
    def completed() -> dict[str, Any] | None:
        view = served.cli_json("work", "show", plan["ref"])
        return view if view["state"] == "done" else None

    done = eventually(completed, timeout=120, interval=2,
                      what=f"{plan['ref']} to be completed through the engine")
    assert done["completed_by"] == OWNER
    history = served.cli_json("history", plan["ref"])
    assert [e for e in history if e["action"] == "complete" and e["actor"] == OWNER], history
    approval = eventually(lambda: _step(served, "marketing", code, "approval-1"), timeout=120,
                          interval=2, what=f"the approval of {code} in marketing's queue")
    assert approval["state"] in ("open", "claimed"), approval
    _wait_suspended(served, flow_run_id, approval["step_key"])


def test_a_refused_answer_is_explained_in_the_run_log_and_the_retry_form(
        served: Served, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    _, flow_run_id, plan = campaign_at_its_plan(served, tmp_path)
    ref = plan["ref"]

    # a member of tech answers marketing's plan, after retyping its goal
    typed_goal = f"Reach 50 grocers ({uuid.uuid4().hex[:6]})"
    dialog = open_resume_form(page, served.ui_url, flow_run_id)
    field(dialog, "Goal (Optional)").fill(typed_goal)
    field(dialog, "Answered By").fill(OUTSIDER)
    dialog.get_by_role("button", name="Submit", exact=True).click()
    expect(dialog).to_be_hidden()
    _wait_suspended(served, flow_run_id, "plan-1-retry-1")
    assert served.cli_json("work", "show", ref)["state"] != "done"

    # the run's log says who was refused on which item, and why
    def refusal_logged() -> str | None:
        logs = served.prefect("POST", "/logs/filter",
                              {"logs": {"flow_run_id": {"any_": [flow_run_id]}}})
        return next((log["message"] for log in logs
                     if ref in log["message"] and OUTSIDER in log["message"]), None)

    message = eventually(refusal_logged, timeout=120, interval=2,
                         what=f"a log line in flow run {flow_run_id} naming {ref}, {OUTSIDER} "
                              "and why the answer was refused")
    page.goto(f"{served.ui_url}/flow-runs/flow-run/{flow_run_id}")
    page.get_by_role("tablist").get_by_text("Logs", exact=True).click()
    expect(page.get_by_text(message.splitlines()[0].strip()[:80]).first).to_be_visible()

    # the retry form states the reason where it is seen, and keeps what was typed
    dialog = open_resume_form(page, served.ui_url, flow_run_id)
    # the reason heads the first field's description (the pause's own description collapses
    # to nothing above long forms in this UI, so it is not where people see it)
    reason = dialog.locator(".schema-form-property__description").filter(
        has_text=re.compile(r"Your earlier answer was refused.*" + re.escape(OUTSIDER))).first
    expect(reason).to_be_attached()
    assert seen(reason), f"the retry form's reason is on the page but not visible: {reason}"
    expect(field(dialog, "Goal (Optional)")).to_have_value(typed_goal)

    # and the item's history has the reason
    history = served.cli_json("history", ref)
    assert [e for e in history if OUTSIDER in (e.get("reason") or "")], history
