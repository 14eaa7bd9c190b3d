"""Ending the run of a process a cancel ended, over Prefect's REST API (``handback.end_run``):
a suspended run is set Failed with the message and logged; a paused run is woken and left to
fail by itself, or set Failed when nothing wakes; a running or finished run is left alone. And
waking the run of a step cancelled while its process goes on (``handback.wake_run``)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from mktflow.prefect import handback

RUN = "6a1f0c52-8a0e-4a43-9c1b-0d2f1f1f1f1f"
WHY = ("W-7 (Plan) was cancelled by ana.torres@example.com: budget frozen. The process cannot "
       "go on without it.")


class FakePrefect:
    """A flow run's endpoints: its state, ``set_state`` and the log, recording what was sent.

    ``wakes``: a paused run that polls fails by itself once it is set Running (a live process
    holds it); without it nothing answers the wake (its process is gone).
    """

    def __init__(self, kind: str = "PAUSED", *, suspended: bool = True, wakes: bool = True,
                 busy: int = 0) -> None:
        self.state: dict[str, Any] = {"type": kind, "name": kind.title(), "state_details": {
            "pause_key": "plan-1", "pause_reschedule": suspended}}
        self.wakes, self.busy = wakes, busy
        self.sent: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.busy:
            self.busy -= 1
            return httpx.Response(503)
        path = request.url.path
        if path == f"/api/flow_runs/{RUN}":
            return httpx.Response(200, json={"id": RUN, "state": self.state})
        if path == f"/api/flow_runs/{RUN}/set_state":
            body = json.loads(request.content)
            self.sent.append(body)
            self.state = dict(body["state"])
            if body["state"]["type"] == "RUNNING" and self.wakes:
                self.state = {"type": "FAILED", "name": "Failed",
                              "message": f"StepCancelled: {WHY}"}
            return httpx.Response(201, json={"status": "ACCEPT", "details": {}})
        if path == "/api/logs/":
            self.logs.extend(json.loads(request.content))
            return httpx.Response(201)
        return httpx.Response(404)


def _end(fake: FakePrefect) -> bool:
    return handback.end_over_http("http://prefect/api", RUN, WHY,
                                  transport=httpx.MockTransport(fake))


def test_a_suspended_run_is_set_failed_with_the_message_and_logs_it() -> None:
    fake = FakePrefect(busy=2)
    assert _end(fake) is True
    assert fake.sent == [{"state": {"type": "FAILED", "name": "Failed", "message": WHY},
                          "force": True}]
    assert [(entry["level"], entry["message"], entry["flow_run_id"]) for entry in fake.logs] == [
        (40, WHY, RUN)]


def test_a_paused_run_is_woken_without_an_answer_and_fails_by_itself() -> None:
    fake = FakePrefect(suspended=False)
    assert _end(fake) is True
    assert [s["state"]["type"] for s in fake.sent] == ["RUNNING"]
    assert WHY in fake.sent[0]["state"]["message"]
    assert fake.state["type"] == "FAILED" and fake.logs == []


def test_a_paused_run_whose_process_is_gone_is_set_failed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handback, "_settle_s", lambda: 0.3)
    fake = FakePrefect(suspended=False, wakes=False)
    assert _end(fake) is True
    assert [s["state"]["type"] for s in fake.sent] == ["RUNNING", "FAILED"]
    assert fake.state == {"type": "FAILED", "name": "Failed", "message": WHY}


@pytest.mark.parametrize("kind", ["RUNNING", "COMPLETED", "FAILED"])
def test_a_run_not_waiting_is_left_alone(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handback, "_settle_s", lambda: 0.3)
    fake = FakePrefect(kind)
    assert _end(fake) is False
    assert fake.sent == [] and fake.logs == []


def test_a_refused_state_is_an_error_the_cancel_warns_about() -> None:
    def refuses(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/set_state"):
            return httpx.Response(201, json={"status": "ABORT", "details": {
                "reason": "Run is already in terminal state."}})
        return FakePrefect()(request)

    with pytest.raises(RuntimeError, match="refused Failed: Run is already in terminal state"):
        handback.end_over_http("http://prefect/api", RUN, WHY,
                               transport=httpx.MockTransport(refuses))


@pytest.mark.parametrize(("suspended", "woken"), [(True, ("SCHEDULED", "Resuming")),
                                                  (False, ("RUNNING", "Running"))])
def test_a_run_paused_on_a_handed_back_step_is_woken_to_go_on(
        suspended: bool, woken: tuple[str, str]) -> None:
    from mktflow.store.tables import WorkItem

    fake = FakePrefect(suspended=suspended, wakes=False)
    step = WorkItem(id=7, step_key="plan-1", department="supply", title="Act")
    assert handback.wake_over_http("http://prefect/api", RUN, step,
                                   transport=httpx.MockTransport(fake)) is True
    assert [(s["state"]["type"], s["state"]["name"]) for s in fake.sent] == [woken]
    assert "W-7 was cancelled" in fake.sent[0]["state"]["message"] and fake.logs == []
    other = WorkItem(id=8, step_key="plan-2", department="supply", title="Act")
    fake = FakePrefect(suspended=suspended)  # paused on another step: left alone
    assert handback.wake_over_http("http://prefect/api", RUN, other,
                                   transport=httpx.MockTransport(fake)) is False
    assert fake.sent == []
