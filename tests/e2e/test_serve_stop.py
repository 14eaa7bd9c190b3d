"""Ctrl-C on ``mktflow serve`` stops what it started and leaves the schedules as they were.

It stops the session's ``mktflow serve``, so it runs after every other test (conftest's
``pytest_collection_modifyitems``).
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import Served

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_ctrl_c_stops_the_server_serve_started_and_leaves_schedules_on(served: Served) -> None:
    assert served.stop(), "mktflow serve did not stop within 60 s of Ctrl-C"
    status = served.cli_json("server", "status")
    assert not status["running"], (
        f"Ctrl-C must stop the local Prefect server `mktflow serve` started: {status}")
    assert "Traceback" not in served.server_log.read_text("utf-8", "replace"), (
        f"the Prefect server log has a Traceback: see {served.server_log}")

    started = json.loads(served.cli("server", "start", "--json", timeout=180).stdout)
    try:
        deployments = httpx.post(f"{started['api_url']}/deployments/filter", json={},
                                 timeout=30).json()
        assert len(deployments) >= 10, deployments
        paused = sorted(d["name"] for d in deployments if d.get("paused"))
        assert not paused, f"Ctrl-C paused these deployments on the server: {paused}"
        off = sorted(d["name"] for d in deployments
                     for s in d.get("schedules") or [] if not s.get("active", True))
        assert not off, f"Ctrl-C turned these schedules off: {off}"
    finally:
        served.cli("server", "stop")
