"""What ``mktflow serve`` does by itself: a cycle overridden to every minute runs and publishes
its report; the continuous relay serve runs in a thread (not a scheduled deployment) tells a
department through a real webhook, and the link in that notice opens."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

import httpx
import pytest

from tests.dates import days_ahead
from tests.e2e.conftest import EVERY_MINUTE_CYCLE, Delivery, Receiver, Served, eventually
from tests.e2e.ui import sign_in_here

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_a_one_minute_cron_override_runs_the_cycle_and_publishes_its_report(
        served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    deployment = f"{EVERY_MINUTE_CYCLE}/{EVERY_MINUTE_CYCLE}"
    listed = {row["deployment"]: row for row in served.cli_json("serve", "--list")}
    assert listed[deployment]["cron"] == "* * * * *", listed[deployment]
    deployment_id = served.deployment(deployment)["id"]

    def completed_scheduled_run() -> dict[str, Any] | None:
        runs = served.prefect("POST", "/flow_runs/filter", {
            "deployments": {"id": {"any_": [deployment_id]}},
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}})
        return next((r for r in runs if r.get("auto_scheduled")), None)

    run = eventually(completed_scheduled_run, timeout=200, interval=5,
                     what=f"the scheduler to create a run of {deployment} that completes")
    artifacts = served.prefect("POST", "/artifacts/filter",
                               {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})
    report = f"{EVERY_MINUTE_CYCLE}-report"
    assert report in {a["key"] for a in artifacts}, artifacts

    page.goto(f"{served.ui_url}/flow-runs/flow-run/{run['id']}")
    expect(page.get_by_text("Completed", exact=True).first).to_be_visible()
    page.get_by_role("tablist").get_by_text("Artifacts", exact=True).click()
    expect(page.get_by_text(report).first).to_be_visible()

    # seen once is enough: the rest of the session runs the cycle once a year, not each minute
    # (a run each minute is a flow process each minute beside every later test); the schedule
    # stays active and the deployment unpaused, as test_serve_stop expects of Ctrl-C
    (schedule,) = served.deployment(deployment)["schedules"]
    served.prefect("PATCH", f"/deployments/{deployment_id}/schedules/{schedule['id']}",
                   {"schedule": {"cron": "0 0 1 1 *", "timezone": "UTC"}})


def _signed(delivery: Delivery, secret: str) -> bool:
    timestamp = delivery.headers["x-mktflow-timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + delivery.body,
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, delivery.headers["x-mktflow-signature"])


def test_serves_continuous_relay_delivers_a_handoff_notice_whose_link_opens(
        served: Served, receiver: Receiver, page: Any) -> None:
    from playwright.sync_api import expect

    title = f"Prototype bottle {uuid.uuid4().hex[:6]}"
    offered = served.cli_json("handoff", "offer", "--from", "marketing", "--to", "tech",
                              "--title", title, "--due", days_ahead(90), "--criteria",
                              "drop-tested", "--as", "olga.petrova@example.com")
    ref = offered.get("ref") or f"H-{offered['id']}"

    def notice() -> Delivery | None:
        return next((d for d in receiver.received()
                     if d.headers.get("x-mktflow-event") == "handoff.offered"
                     and d.json().get("ref") == ref), None)

    # no minute schedule to wait for: serve's relay wakes on the commit (seconds, not a minute;
    # how fast is measured by bench/notice_latency.py, not here)
    assert "outbox-relay/outbox-relay" not in {
        row["deployment"] for row in served.cli_json("serve", "--list")}
    delivery = eventually(notice, timeout=60, interval=0.5,
                          what=f"mktflow serve's continuous relay to deliver the {ref} notice "
                               f"to {receiver.url}")
    assert delivery.path == "/hooks/tech"
    assert _signed(delivery, served.hook_secret), delivery.headers
    body = delivery.json()
    assert title in body["subject"] and body["link"], body
    link = body["link"]

    try:
        # as a mail client opens it (a script without a member token gets 401 JSON)
        response: httpx.Response | None = httpx.get(link, headers={"Accept": "text/html"},
                                                    timeout=15, follow_redirects=True)
    except httpx.ConnectError:
        response = None
    if response is None:
        pytest.fail(f"nothing answers at the notice's link {link}: `mktflow serve` must serve "
                    "what its notifications link to (mktflow's REST API and pages on "
                    "MKTFLOW_API_URL's port)")
    assert response.status_code == 200, (link, response.status_code, response.text[:500])

    opened = page.goto(link)
    assert opened is not None and opened.status == 200, link
    # the departments' pages sign the person in first, then show the handoff
    sign_in_here(page, served.env, "hana.kim@example.com")  # tech's head
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
