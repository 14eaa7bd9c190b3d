"""The hand-back over Prefect's REST API (no Prefect import): resumes only a run paused on the
step's key, with the stored data and ``answered_by``; waits out a busy server; leaves a run
that waits for another step alone; hands an unknown run to Prefect's client."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from mktflow.prefect import handback
from mktflow.store.tables import WorkItem

RUN = "6a1f0c52-8a0e-4a43-9c1b-0d2f1f1f1f1f"


def _item() -> WorkItem:
    return WorkItem(id=7, step_key="order-entry-1", department="sales", title="Entry",
                    state="done", created_by="mktflow", data={"customer_code": "C-1"},
                    completed_by="carlos.mendez@example.com")


class FakePrefect:
    """Prefect's flow-run endpoints as the resume needs them, recording what it was sent."""

    def __init__(self, pause_key: str = "order-entry-1", run_status: int = 200,
                 busy: int = 0, rejects: int = 0) -> None:
        self.pause_key, self.run_status, self.busy = pause_key, run_status, busy
        self.rejects = rejects
        self.resumed: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.busy:
            self.busy -= 1
            return httpx.Response(503)
        path = request.url.path
        if path == f"/api/flow_runs/{RUN}":
            state = {"type": "PAUSED", "name": "Paused", "state_details": {
                "pause_key": self.pause_key, "run_input_keyset": {"schema": "k-schema"}}}
            return httpx.Response(self.run_status, json={"id": RUN, "state": state})
        if path == f"/api/flow_runs/{RUN}/input/k-schema":
            return httpx.Response(200, json={})
        if path == f"/api/flow_runs/{RUN}/resume":
            if self.rejects:  # the paused client has not stored its input schema yet
                self.rejects -= 1
                return httpx.Response(200, json={"status": "REJECT", "details": {
                    "reason": "Run input schema not found."}})
            self.resumed.append(json.loads(request.content))
            return httpx.Response(201, json={"status": "ACCEPT", "details": {}})
        return httpx.Response(404)


def test_resumes_the_run_paused_on_the_step_with_its_data() -> None:
    fake = FakePrefect(pause_key="order-entry-1-retry-2", busy=2, rejects=1)
    assert handback.resume_over_http("http://prefect/api", RUN, _item(),
                              transport=httpx.MockTransport(fake))
    assert fake.resumed == [{"run_input": {"customer_code": "C-1",
                                           "answered_by": "carlos.mendez@example.com"}}]


def test_a_run_waiting_for_another_step_is_left_alone() -> None:
    fake = FakePrefect(pause_key="production")
    assert not handback.resume_over_http("http://prefect/api", RUN, _item(),
                              transport=httpx.MockTransport(fake))
    assert fake.resumed == []


def test_a_run_this_api_does_not_know_is_asked_where_prefects_settings_say(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakePrefect(run_status=404)
    with pytest.raises(handback._UseClient):
        handback.resume_over_http("http://prefect/api", RUN, _item(),
                                  transport=httpx.MockTransport(fake))
    calls: list[str] = []

    def over_http(url: str, flow_run_id: str, item: WorkItem) -> bool:
        calls.append(url)
        if url == "http://prefect/api":
            raise handback._UseClient("404")
        return True

    class Connection:
        api_url = "http://profile/api"

    monkeypatch.setattr(handback, "api_url", lambda: "http://prefect/api")
    monkeypatch.setattr(handback, "resume_over_http", over_http)
    monkeypatch.setattr("mktflow.prefect.server.connect", lambda: Connection())
    assert handback.hand_back(RUN, _item()) is True
    assert calls == ["http://prefect/api", "http://profile/api"]


def test_completing_a_step_imports_no_prefect() -> None:
    code = ("import sys; import mktflow.cli, mktflow.engine.steps, mktflow.bootstrap as b; "
            "r = b.default_resumer(); print(r.__module__, 'prefect' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["mktflow.prefect.handback", "False"]


def test_one_client_per_api_for_the_whole_process() -> None:
    """``mktflow serve`` hands back from its API and pages and the reconciler every tick: they
    share one kept client per Prefect API (no certificate store loaded per hand-back)."""
    first = handback.client_for("http://127.0.0.1:4999/api")
    assert handback.client_for("http://127.0.0.1:4999/api") is first
    assert handback.client_for("http://127.0.0.1:5000/api") is not first
    with handback.kept_client("http://127.0.0.1:4999/api") as http:
        assert http is first


def test_a_kept_connection_dropped_under_the_resume_is_asked_again() -> None:
    fake = FakePrefect()
    dropped = [1]

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/resume") and dropped:
            dropped.pop()  # the server's keep-alive ran out as the request went out
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return fake(request)

    assert handback.resume_over_http("http://prefect/api", RUN, _item(),
                                     transport=httpx.MockTransport(server))
    assert fake.resumed == [{"run_input": {"customer_code": "C-1",
                                           "answered_by": "carlos.mendez@example.com"}}]
