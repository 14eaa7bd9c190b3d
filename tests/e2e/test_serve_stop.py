"""What ``mktflow serve`` tells the operator, and Ctrl-C: it stops what it started, leaves the
schedules as they were, and the local Prefect server keeps its port for the links already sent.

It stops the session's ``mktflow serve``, so it runs after every other test (conftest's
``pytest_collection_modifyitems``).
"""

from __future__ import annotations

import json
import re
import socket

import httpx
import pytest

from tests.e2e.conftest import EVERY_MINUTE_CYCLE, Served, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_serve_prints_where_everything_is(served: Served) -> None:
    printed = served.log.read_text("utf-8", "replace")
    assert f"Prefect UI:   {served.ui_url}/deployments" in printed, printed
    assert f"mktflow API:  {served.api_url}" in printed, printed
    assert re.search(rf"{EVERY_MINUTE_CYCLE}/{EVERY_MINUTE_CYCLE}\s.*\* \* \* \* \* \(UTC\)",
                     printed), printed
    # once its runner has asked for every deployment's runs, serve says so: a run handed to
    # one of them from then on is not refused as not served
    from mktflow.prefect.serving import READY_LINE
    from tests.e2e.conftest import eventually

    eventually(lambda: READY_LINE in served.log.read_text("utf-8", "replace"), timeout=60,
               what=f"mktflow serve to print {READY_LINE!r}")
    # the reconciler and the relay are threads of serve, not deployments it serves
    assert "reconciler:   every 2 s" in printed and "relay:        continuous" in printed
    assert "process-reconciler" not in printed and "outbox-relay" not in printed


def test_the_local_server_looks_for_timed_out_pauses_every_ten_minutes(served: Served) -> None:
    """Prefect's pause-expiry service loads every paused run whole at each look (every 5 s
    as shipped): with thousands of steps waiting it took half a core (issue 22)."""
    from mktflow.prefect.server import PAUSE_EXPIRY_LOOK_S

    shown = httpx.get(f"{served.prefect_api}/admin/settings", timeout=30).json()
    looks = shown["server"]["services"]["pause_expirations"]
    assert looks["enabled"] and looks["loop_seconds"] == PAUSE_EXPIRY_LOOK_S == 600, looks


def test_ctrl_c_stops_the_server_serve_started_and_leaves_schedules_on(served: Served) -> None:
    assert served.stop(), "mktflow serve did not stop within 60 s of Ctrl-C"
    assert "stopped the local Prefect server this command started" in served.log.read_text(
        "utf-8", "replace")
    status = served.cli_json("server", "status")
    assert not status["running"], (
        f"Ctrl-C must stop the local Prefect server `mktflow serve` started: {status}")
    assert not (served.data / "prefect" / "server.json").exists()
    with pytest.raises(httpx.TransportError):  # its REST API stopped with it
        httpx.get(f"{served.api_url}/health", timeout=3)
    assert "Traceback" not in served.server_log.read_text("utf-8", "replace"), (
        f"the Prefect server log has a Traceback: see {served.server_log}")

    started = json.loads(served.cli("server", "start", "--json", timeout=180).stdout)
    try:
        # the same port: links already sent keep working
        assert started["api_url"] == served.prefect_api, started
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
    port = int(served.prefect_api.rsplit(":", 1)[1].split("/")[0])
    assert served.cli_json("server", "status")["port"] == port  # kept for the next start
    with socket.socket() as squatter:  # someone else took the port meanwhile
        # (as servers bind: the stopped server's connections in TIME_WAIT do not count)
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        refused = run_cli(["server", "start"], served.env, check=False, timeout=60)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert f"port {port}" in refused.stderr and "taken by another program" in refused.stderr
