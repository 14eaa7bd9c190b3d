"""Cancelling the step a served run is suspended at ends the run and its process, with the reason.

A campaign run under ``mktflow serve`` suspends at marketing's plan (no process holds it); the
marketing head cancels the plan from the command line. Nothing would ever resume that run, so
the cancel ends it: it leaves Suspended for Failed with a message naming the step, who cancelled
it and why, which the Prefect UI shows in the run's log; the process is ``cancelled`` with that
reason in ``mktflow process show``/``list`` and ``history``, and nothing of it is left in a queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Served, eventually
from tests.e2e.test_prefect_ui import campaign_at_its_plan

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

#: Marketing's head: the lead who may withdraw marketing's steps.
HEAD = "ana.torres@example.com"


def test_cancelling_the_plan_of_a_suspended_campaign_ends_its_run_with_the_reason(
        served: Served, tmp_path: Path, page: Any) -> None:
    from playwright.sync_api import expect

    code, flow_run_id, plan = campaign_at_its_plan(served, tmp_path)
    process = served.cli_json("process", "show", code)
    assert process["status"] == "running"
    reason = f"the {code} budget is frozen"
    served.cli("work", "cancel", plan["ref"], "--as", HEAD, "--reason", reason)
    why = (f"{plan['ref']} ({plan['title']}) was cancelled by {HEAD}: {reason}. The process "
           "cannot go on without it.")

    def ended() -> dict[str, Any] | None:
        state = served.flow_run(flow_run_id)["state"]
        return state if state["type"] not in ("PAUSED", "SCHEDULED", "PENDING", "RUNNING") \
            else None

    state = eventually(ended, timeout=60, interval=1,
                       what=f"flow run {flow_run_id} to leave Suspended after {plan['ref']} "
                            "was cancelled")
    assert (state["type"], state["name"], state["message"]) == ("FAILED", "Failed", why)

    shown = served.cli_json("process", "show", code)
    assert shown["status"] == "cancelled" and shown["result"]["reason"] == why
    assert {w["state"] for w in shown["work_items"]} == {"cancelled"}
    assert all(h["state"] not in ("offered", "accepted", "delivered", "returned")
               for h in shown["handoffs"]), shown["handoffs"]
    text = served.cli("process", "show", code).stdout
    assert f"ended: {why}" in text, text
    listed = [p for p in served.cli_json("process", "list", "--process", "campaign")
              if p["business_key"] == code]
    assert [p["status"] for p in listed] == ["cancelled"]
    finish = [e for e in served.cli_json("history", shown["ref"]) if e["action"] == "finish"]
    assert [(e["actor"], e["to_state"], e["reason"]) for e in finish] == [
        (HEAD, "cancelled", why)]
    queue = served.cli_json("inbox", "marketing", "--limit", "200")["rows"]
    assert not [i for i in queue if i.get("process") == code], queue

    # `mktflow process resume` finds nothing left to end; the run stays as the cancel left it
    again = served.cli_json("process", "resume", code)
    assert again["ended"] is False, again
    assert served.flow_run(flow_run_id)["state"]["type"] == "FAILED"

    page.goto(f"{served.ui_url}/flow-runs/flow-run/{flow_run_id}")
    expect(page.get_by_text("Failed", exact=True).first).to_be_visible()
    page.get_by_role("tablist").get_by_text("Logs", exact=True).click()
    expect(page.get_by_text(why[:80]).first).to_be_visible()
