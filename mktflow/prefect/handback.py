"""The one resume path: handing a completed step to its waiting flow run over Prefect's REST API.

``engine.steps.complete_step`` calls ``hand_back`` after the engine committed the completion;
``mktflow process resume`` and the reconciler (``mktflow.prefect.reconcile``) call it for a
step the database has as done while its run still waits. Importing Prefect costs a CLI process
several seconds, so when the Prefect API can be named without it (mktflow's setting,
``PREFECT_API_URL`` in the environment, or the data folder's local server) nothing of Prefect
is imported: read the run, check that it waits for this step (``expects``: its pause key is the
step's, or a retry of it), ``POST /flow_runs/{id}/resume`` with ``run_input`` (the server stores
it under the pause's keyset, where the paused flow reads it). When that API does not know the
run (401/403/404: a Prefect profile names another server), Prefect's settings name the API
(``server.connect``) and the same calls go there. A run waiting for another step, or already
finished, is left alone: the flow reads this step from the database when it gets to it. The
resume carries the stored data plus the completing member in ``answered_by``; the flow uses
the database's copy anyway. How long a run about to pause is waited for is one setting,
``MKTFLOW_PREFECT_RESUME_SETTLE_S``.

The HTTP client is made once per API URL and kept for the process (``client_for``): a new
``httpx.Client`` loads the certificate store into a fresh SSL context (about 30 ms of CPU on the
2-core machine of the benchmarks), which ``mktflow serve`` paid on every hand-back of its API and
pages and every reconciler tick; a kept client also keeps its connection to the server open. An
``http://`` URL never negotiates TLS (redirects are not followed), so its client loads no
certificates at all, which is what a ``mktflow work complete`` process pays once.

``end_run`` is the other hand-over: a step was cancelled, the engine ended its process
(``processes.end_for_cancelled_item``), and the run waiting for it must end too, with a message
naming the step, who cancelled it and why. The run ends **Failed** with that message in Prefect
(the same state a run gets when it reaches a cancelled step by itself, ``StepCancelled``):
Prefect's *Cancelled* is what its own Cancel button does to a run, and a process whose run
failed because a step was withdrawn reads the same whichever door or moment it happened at;
the business outcome is the process's status, ``cancelled``, in mktflow. How it ends depends
on how the run waits:

* suspended (a deployment run: no process holds it, ``pause_reschedule``): nothing would ever
  wake it, so its state is set to Failed with the message (``force``: a paused run may not
  fail otherwise);
* paused in a process that polls (``mktflow run``, tests): it is woken (state Running, no
  input); the flow's ``wait_for`` finds the step cancelled and fails the run itself with
  ``StepCancelled``. If it is still not over after the settle time (the process that paused it is
  gone), it is set to Failed as a suspended one is;
* running (between steps): left alone, it meets a cancelled step, or ``open_step`` refuses a
  new one, and fails by itself; finished: nothing to do.

``wake_run`` is the third: a step was cancelled while its process goes on (a complaint's act
step when the acting department rejects its handoff: the case goes back to customer service
with a new step). A run paused on that step is woken without an answer, as a resume without
input would (suspended: Scheduled "Resuming", so its deployment runs it again from the top;
paused in a polling process: Running); the flow reads the cancelled step, then its case, and
waits on the next step. A run waiting on another step, running, or finished is left alone.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx

from mktflow.config import get_settings, prefect_env_api_url
from mktflow.prefect.keys import pause_key

if TYPE_CHECKING:
    from mktflow.engine import WorkItem

__all__ = ["api_url", "client_for", "end_over_http", "end_run", "expects", "hand_back",
           "kept_client", "resume_over_http", "wake_over_http", "wake_run"]

log = logging.getLogger("mktflow.resume")
#: Answers Prefect's client retries too: a busy server (SQLite answers 503 under overlapping
#: writes) is asked again after 0.1, 0.2, 0.4 … s.
_BUSY = {429, 502, 503, 504}
_TRIES = 7
#: Transport errors a call is asked again after: a timeout, or a kept connection the server
#: closed under the request (never a refused connection: the server is not there).
_AGAIN = (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


_CLIENTS: dict[str, httpx.Client] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(url: str) -> httpx.Client:
    """The process's HTTP client for the Prefect API at ``url`` (made at first use, then kept;
    httpx clients may be shared between threads). Timeout 10 s; an ``http://`` URL loads no
    certificate store (see the module docstring)."""
    client = _CLIENTS.get(url)
    if client is None:
        with _CLIENTS_LOCK:
            client = _CLIENTS.get(url)
            if client is None:
                verify = not url.lower().startswith("http://")
                client = _CLIENTS[url] = httpx.Client(base_url=url, timeout=10.0,
                                                      verify=verify)
    return client


@contextmanager
def kept_client(url: str, transport: httpx.BaseTransport | None = None
                ) -> Iterator[httpx.Client]:
    """The kept client for ``url``, or (tests) a client of its own over ``transport``."""
    if transport is None:
        yield client_for(url)
        return
    with httpx.Client(base_url=url, timeout=10.0, transport=transport) as http:
        yield http


class _UseClient(Exception):
    """This API does not know the run: ask Prefect's settings which API does."""


def _settle_s() -> float:
    """How long to wait for a run that is about to pause (the step was answered very fast), in
    seconds: the setting ``prefect_resume_settle_s``."""
    return get_settings().prefect_resume_settle_s


def api_url() -> str | None:
    """The Prefect API mktflow uses, when it can be named without importing Prefect."""
    if "prefect" in sys.modules:  # already paid for: ask Prefect, it knows profiles too
        from mktflow.prefect.server import connect

        return connect().api_url
    settings = get_settings()
    if settings.prefect_api_url:
        return settings.prefect_api_url.rstrip("/")
    if url := prefect_env_api_url():
        return url.rstrip("/")
    from mktflow.prefect.server import running_api_url

    return running_api_url(settings)


def _over_http(doing: str, flow_run_id: str, call: Callable[[str], bool]) -> bool:
    """``call(url)`` at the API mktflow knows (``api_url``), and at the one Prefect's settings
    name (``connect``) when there is none or that API does not know the run (``_UseClient``)."""
    url = api_url()
    if url is not None:
        try:
            return call(url)
        except _UseClient as exc:
            log.info("%s %s at %s: %s; asking Prefect's settings", doing, flow_run_id, url, exc)
    from mktflow.prefect.server import connect

    return call(connect().api_url)


def hand_back(flow_run_id: str, item: WorkItem) -> bool:
    """Resume the run waiting for ``item`` (see the module docstring); True when this call
    resumed it, False when it waited for something else, had been resumed by another door, or
    was over."""
    return _over_http("resuming", flow_run_id,
                      lambda url: resume_over_http(url, flow_run_id, item))


def end_run(flow_run_id: str, message: str) -> bool:
    """End the run of a process that a cancel ended (see the module docstring); True when it
    was waiting and was ended or woken, False when it was running or already finished."""
    return _over_http("ending", flow_run_id,
                      lambda url: end_over_http(url, flow_run_id, message))


def wake_run(flow_run_id: str, item: WorkItem) -> bool:
    """Wake the run paused on the cancelled step ``item`` whose process goes on (see the module
    docstring); True when this call woke it, False when it waited for something else or was not
    paused."""
    return _over_http("waking", flow_run_id, lambda url: wake_over_http(url, flow_run_id, item))


def wake_over_http(url: str, flow_run_id: str, item: WorkItem, *,
                   transport: httpx.BaseTransport | None = None) -> bool:
    """Wake the run at ``url`` paused on ``item`` (see ``wake_run``)."""
    key = pause_key(item.step_key or "")
    with kept_client(url, transport) as http:
        state = _paused_state(http, flow_run_id) or {}
        details = state.get("state_details") or {}
        if state.get("type") != "PAUSED" or not expects(details.get("pause_key") or "", key):
            log.info("flow run %s is %s: it meets the cancelled W-%s by itself, if at all",
                     flow_run_id, state.get("name", "unknown"), item.id)
            return False
        message = f"Woken: W-{item.id} was cancelled; the run goes on with the next step"
        if details.get("pause_reschedule"):
            _set_state(http, flow_run_id, "SCHEDULED", "Resuming", message)
        else:
            _set_state(http, flow_run_id, "RUNNING", "Running", message)
        return True


def end_over_http(url: str, flow_run_id: str, message: str, *,
                  transport: httpx.BaseTransport | None = None) -> bool:
    """End the waiting run at ``url`` with ``message`` (see ``end_run``)."""
    with kept_client(url, transport) as http:
        state = _paused_state(http, flow_run_id)
        kind = (state or {}).get("type")
        if kind != "PAUSED":
            log.info("flow run %s is %s: it meets the cancelled step by itself, if at all",
                     flow_run_id, (state or {}).get("name", "unknown"))
            return False
        if not (state or {}).get("state_details", {}).get("pause_reschedule"):
            _set_state(http, flow_run_id, "RUNNING", "Running",
                       f"Woken to end: {message}")
            if _final_within(http, flow_run_id, _settle_s()):
                return True
            log.warning("flow run %s did not end after it was woken: its process is gone; "
                        "setting it Failed", flow_run_id)
        _set_state(http, flow_run_id, "FAILED", "Failed", message)
        _log_to_run(http, flow_run_id, message)
        return True


def _set_state(http: httpx.Client, flow_run_id: str, kind: str, name: str,
               message: str) -> None:
    response = _call(http, "POST", f"/flow_runs/{flow_run_id}/set_state", json={
        "state": {"type": kind, "name": name, "message": message[:5000]}, "force": True})
    response.raise_for_status()
    result = response.json()
    if result.get("status") != "ACCEPT":
        reason = (result.get("details") or {}).get("reason") or result.get("status")
        raise RuntimeError(f"flow run {flow_run_id} refused {name}: {reason}")


def _log_to_run(http: httpx.Client, flow_run_id: str, message: str) -> None:
    """The message as an error line in the run's log (the Prefect UI's Logs tab, where people
    look; a paused run that was woken logs its ``StepCancelled`` there by itself)."""
    from mktflow.domain import clock

    entry = {"name": "mktflow.cancel", "level": logging.ERROR, "message": message,
             "timestamp": clock.now().isoformat(), "flow_run_id": flow_run_id}
    try:
        _call(http, "POST", "/logs/", json=[entry]).raise_for_status()
    except httpx.HTTPError as exc:  # the run is ended: the log line only repeats its message
        log.info("could not log the end of %s in its run: %s", flow_run_id, exc)


def _final_within(http: httpx.Client, flow_run_id: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = _call(http, "GET", f"/flow_runs/{flow_run_id}")
        response.raise_for_status()
        kind = ((response.json().get("state") or {}).get("type"))
        if kind in ("COMPLETED", "FAILED", "CANCELLED", "CRASHED"):
            return True
        time.sleep(0.1)
    return False


def _call(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One API call, asked again while the server is busy or slow to answer.

    A call that timed out may still have been applied: callers look at the run's state before
    each resume, so a resume asked twice reaches the run once. A kept connection the server
    closed as the request went out (its keep-alive ran out) is asked again the same way.
    """
    for attempt in range(_TRIES):
        try:
            response = http.request(method, path, **kwargs)
        except _AGAIN:  # SQLite behind Prefect's server waits on its lock; a dropped connection
            if attempt == _TRIES - 1:
                raise
            continue
        if response.status_code not in _BUSY or attempt == _TRIES - 1:
            return response
        time.sleep(0.1 * 2 ** attempt)
    raise AssertionError("unreachable")


def expects(pause: str, key: str) -> bool:
    """Whether a run paused under ``pause`` waits for the step whose pause key is ``key``
    (the step's own key, or a retry after a refused answer: ``<key>-retry-N``)."""
    return pause == key or pause.startswith(f"{key}-retry-")


def _paused_state(http: httpx.Client, flow_run_id: str) -> dict[str, Any] | None:
    """The run's state once it is paused (or its last state). Its input schema may not be
    stored yet: the resume is then refused ("schema not found") and tried again."""
    deadline = time.monotonic() + _settle_s()
    while True:
        response = _call(http, "GET", f"/flow_runs/{flow_run_id}")
        if response.status_code in (401, 403, 404):
            raise _UseClient(f"GET flow run answered {response.status_code}")
        response.raise_for_status()
        state = response.json().get("state")
        kind = (state or {}).get("type")
        if kind in ("PAUSED", "COMPLETED", "FAILED", "CANCELLED", "CRASHED"):
            return state
        if time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def resume_over_http(url: str, flow_run_id: str, item: WorkItem, *,
                     transport: httpx.BaseTransport | None = None) -> bool:
    """Hand the completed step's data to the flow run at ``url``, if it waits for this step;
    True when this call resumed it. Raises ``_UseClient`` when the API does not know the run,
    RuntimeError when it refused 20 times, httpx errors when it cannot be reached."""
    key = pause_key(item.step_key or "")
    payload = {**(item.data or {}), "answered_by": item.completed_by}
    with kept_client(url, transport) as http:
        for _ in range(20):
            state = _paused_state(http, flow_run_id)
            if state is None or state.get("type") != "PAUSED":
                log.info("flow run %s is %s: nothing to resume", flow_run_id,
                         (state or {}).get("name", "unknown"))
                return False
            waiting = (state.get("state_details") or {}).get("pause_key") or ""
            if not expects(waiting, key):
                log.info("flow run %s waits for %s, not %s: it reads W-%s when it gets there",
                         flow_run_id, waiting, key, item.id)
                return False
            response = _call(http, "POST", f"/flow_runs/{flow_run_id}/resume",
                             json={"run_input": payload})
            response.raise_for_status()
            result = response.json()
            if result.get("status") == "ACCEPT":
                return True
            # ABORT: another door resumed it (the next look sees it running), or the server's
            # own database was busy ("Error validating state: database is locked" on SQLite);
            # REJECT: the paused client has not stored its input schema yet. Look and ask again.
            reason = (result.get("details") or {}).get("reason") or result.get("status")
            log.info("resuming %s: %s", flow_run_id, reason)
            time.sleep(0.2)
        raise RuntimeError(f"flow run {flow_run_id} refused the resume 20 times")
