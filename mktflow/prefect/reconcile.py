"""The reconciler: runs that stop waiting are put right by mktflow, not by a person.

A step can be done in mktflow while its flow run still waits for it: the door that completed it
lost its connection right after the COMMIT and never handed the answer over (issue 20), or
Prefect was unreachable at that moment. A process can stay ``running`` in mktflow while its run
has ended: the run crashed (its process was killed), or an operator cancelled it in Prefect.
The reconciler compares the two and corrects what differs, every ``MKTFLOW_RECONCILE_INTERVAL_S``
seconds (2 by default) in ``mktflow serve`` (a thread: ``start_in_thread``), or in the
``process-reconciler`` deployment for worker set-ups, and once on demand (``mktflow process
reconcile [--dry-run]``):

========================================  ==================================================
found                                     done (audited on the process, as the engine,
                                          naming the reconciler)
========================================  ==================================================
a run paused on a step that is done        resumed with the step's stored data (the one
                                           resume path, ``handback``)
a run paused while its process has ended   ended with the process's reason (``end_run``)
(a cancel whose hand-over was lost)
a running process's run paused on a step   woken without an answer (``wake_run``): it reads
cancelled while the process goes on (a     the case and waits on its next step
complaint's rejected handoff, the wake
lost)
a running process whose run ended          closed with the run's state and message
(Failed, Crashed, Cancelled, Completed)    (``engine.reconcile.settle_ended_run``)
========================================  ==================================================

Each tick reads only what may have moved, not every process:

* mktflow's side: the audit trail is its change feed (every change writes an entry, in the
  change's transaction): the processes with entries newer than the last one read are watched
  for ``WATCH_TICKS`` ticks (a run may pause a little after its step was answered);
* Prefect's side: the runs that ended since the last tick (``end_time`` after the newest one
  seen, less ``_END_MARGIN_S``), one filter query, matched against mktflow's running processes;
* once every ``FULL_EVERY`` ticks, and at the first tick, every running process (a safety net
  for what both feeds missed: a reconciler that was stopped, a clock that jumped).

A run is resumed by a tick only if the previous tick saw it paused on the same done step: the
door that completed the step hands it over itself within that time, and the reconciler does
not race it (``mktflow process reconcile`` acts at once). Every correction is idempotent:
Prefect accepts one resume of a paused run, and a process is closed only while it is running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from mktflow import bootstrap
from mktflow.config import get_settings
from mktflow.engine import reconcile as engine
from mktflow.prefect import handback
from mktflow.prefect.keys import pause_key

__all__ = ["FULL_EVERY", "WATCH_TICKS", "Correction", "Reconciler", "reconcile_for",
           "resume_if_answered", "start_in_thread"]

log = logging.getLogger("mktflow.reconcile")

#: How many ticks a process stays watched after it last changed.
WATCH_TICKS = 30
#: Every how many ticks every running process is looked at (5 minutes at the default 2 s).
FULL_EVERY = 150
#: How far back of the newest end seen a tick asks Prefect for ended runs, in seconds (runs
#: whose end was written a little out of order are not missed; looking twice is harmless).
_END_MARGIN_S = 60
_FINAL = ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")
_PAGE = 200


@dataclass(frozen=True)
class Correction:
    """One thing the reconciler found: ``action`` is ``resume`` (a run paused on a done step),
    ``wake`` (a running process's run paused on a step cancelled while it goes on), ``end-run``
    (a run paused while its process had ended) or ``close`` (a running process whose run
    ended); ``done`` is False in a dry run, or when another door was faster."""

    process: str
    flow_run_id: str
    action: str
    detail: str
    done: bool

    def row(self) -> dict[str, Any]:
        """The correction as a JSON-ready row."""
        return asdict(self)


class Reconciler:
    """Compares mktflow's processes with their Prefect runs and corrects what differs.

    ``url``: the Prefect API (default: the one mktflow uses, ``handback.api_url``);
    ``transport``: an httpx transport for tests. Not thread-safe: one reconciler per thread.
    """

    def __init__(self, *, url: str | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._url = url
        self._transport = transport
        self._entry: int | None = None  # the last audit entry read; None: not started
        self._ended_after: str | None = None  # Prefect's newest end_time seen (ISO)
        self._watch: dict[int, int] = {}  # process id -> ticks left
        self._suspects: set[tuple[int, str]] = set()  # (process, pause key) seen last tick
        self._ticks = 0

    # --- the two ways to run ------------------------------------------------------------

    def tick(self) -> list[Correction]:
        """One incremental pass (see the module docstring); the corrections made."""
        url = self._api()
        if url is None:
            return []
        uow = bootstrap.engine_uow
        full = self._entry is None or self._ticks % FULL_EVERY == 0
        self._ticks += 1
        if self._entry is None:
            self._entry = engine.latest_entry(uow())
        changed, self._entry = engine.changed_since(uow(), self._entry)
        for process_id in changed:
            self._watch[process_id] = WATCH_TICKS
        candidates = engine.running(uow()) if full else []
        seen = {c.process_id for c in candidates}
        candidates += [c for c in engine.watched(uow(), set(self._watch)) if c.process_id
                       not in seen]
        self._watch = {p: n - 1 for p, n in self._watch.items() if n > 1}
        with self._http(url) as http:
            ended = self._ended_runs(http)
            seen = {c.process_id for c in candidates}
            candidates += [c for c in engine.running_of_runs(uow(), set(ended))
                           if c.process_id not in seen]
            return self._settle(http, url, candidates, ended, dry_run=False, at_once=False)

    def scan_all(self, *, dry_run: bool = False) -> list[Correction]:
        """Every running process, compared with its run now; corrected unless ``dry_run``."""
        url = self._api()
        if url is None:
            from mktflow.domain.errors import ConfigError

            raise ConfigError("no Prefect API is reachable (MKTFLOW_PREFECT_API_URL, "
                              "PREFECT_API_URL or `mktflow server start`): nothing to compare")
        candidates = engine.running(bootstrap.engine_uow())
        with self._http(url) as http:
            return self._settle(http, url, candidates, {}, dry_run=dry_run, at_once=True)

    # --- comparing -----------------------------------------------------------------------

    def _settle(self, http: httpx.Client, url: str, candidates: list[engine.Candidate],
                ended: dict[str, dict[str, Any]], *, dry_run: bool,
                at_once: bool) -> list[Correction]:
        # a running process with no step done or cancelled can only need closing (its run
        # ended): of those runs Prefect is asked only for the ended ones, not for thousands of
        # runs waiting at their first step (issue 22, target 3)
        quiet = {c.flow_run_id for c in candidates
                 if c.status == "running" and not c.done and not c.cancelled}
        asked = [c.flow_run_id for c in candidates if c.flow_run_id not in ended]
        runs = {**self._runs(http, [r for r in asked if r not in quiet]),
                **self._runs(http, [r for r in asked if r in quiet], ended_only=True),
                **ended}
        suspects: set[tuple[int, str]] = set()
        found = []
        for c in candidates:
            run = runs.get(c.flow_run_id)
            state = (run or {}).get("state") or {}
            kind = state.get("type")
            try:
                if kind == "PAUSED":
                    correction = self._paused(url, c, state, suspects, dry_run=dry_run,
                                              at_once=at_once)
                elif kind in _FINAL and c.status == "running":
                    correction = self._ended(c, state, dry_run=dry_run)
                else:
                    correction = None
            except Exception as exc:  # one run's trouble must not stop the others
                log.warning("reconciling %s (flow run %s): %s", c.ref, c.flow_run_id, exc)
                continue
            if correction is not None:
                found.append(correction)
                log.info("%s: %s", c.ref, correction.detail)
        self._suspects = suspects
        return found

    def _paused(self, url: str, c: engine.Candidate, state: dict[str, Any],
                suspects: set[tuple[int, str]], *, dry_run: bool,
                at_once: bool) -> Correction | None:
        """A paused run that need not wait: its process is over (the run is ended), its step
        is done (resumed with the answer), or its step was cancelled while the process goes
        on, a complaint's act step whose handoff was rejected (woken, as the door that
        cancelled it does, ``handback.wake_over_http``, when that door could not)."""
        waiting = (state.get("state_details") or {}).get("pause_key") or ""
        run = c.flow_run_id
        if c.status != "running":
            why = c.reason or f"{c.ref} is {c.status}"
            return self._correct(
                c, waiting, suspects, "end-run", dry_run=dry_run, at_once=at_once,
                would=f"would end flow run {run}: {why}",
                detail=(f"{engine.WHO} ended flow run {run}, which waited at "
                        f"{waiting or 'a step'} although {c.ref} is {c.status}: {why}"),
                act=lambda: handback.end_over_http(url, run, why))
        done = next((i for i in c.done if handback.expects(waiting, pause_key(i.step_key or ""))),
                    None)
        if done is not None:
            return self._correct(
                c, waiting, suspects, "resume", dry_run=dry_run, at_once=at_once,
                item_id=done.id,
                would=f"would resume flow run {run} with W-{done.id} (done by {done.completed_by})",
                detail=(f"{engine.WHO} resumed flow run {run}, which still waited at {waiting} "
                        f"although W-{done.id} was done by {done.completed_by}"),
                act=lambda: handback.resume_over_http(url, run, done, transport=self._transport))
        gone = next((i for i in c.cancelled
                     if handback.expects(waiting, pause_key(i.step_key or ""))), None)
        if gone is None:
            return None
        return self._correct(
            c, waiting, suspects, "wake", dry_run=dry_run, at_once=at_once, item_id=gone.id,
            would=f"would wake flow run {run}, paused at cancelled W-{gone.id}",
            detail=(f"{engine.WHO} woke flow run {run}, which still waited at {waiting} "
                    f"although W-{gone.id} was cancelled and {c.ref} goes on"),
            act=lambda: handback.wake_over_http(url, run, gone, transport=self._transport))

    def _correct(self, c: engine.Candidate, waiting: str, suspects: set[tuple[int, str]],
                 what: str, *, would: str, detail: str, act: Callable[[], bool],
                 dry_run: bool, at_once: bool, item_id: int | None = None
                 ) -> Correction | None:
        """One correction of a paused run (``what``: ``end-run``, ``resume`` or ``wake``):
        with ``dry_run``, only ``would``; a run first seen so is suspected, and corrected at
        the next tick if it still waits (the door may still do it), unless ``at_once``;
        ``act`` does it (True when it did) and the process's history says so (``detail``)."""
        if dry_run:
            return Correction(c.ref, c.flow_run_id, what, would, False)
        if not at_once and (c.process_id, waiting) not in self._suspects:
            self._suspect(suspects, c.process_id, waiting)
            return None
        done = act()
        if done:
            engine.record_handed_back(bootstrap.engine_uow(), c.process_id,
                                      flow_run_id=c.flow_run_id, what=what, reason=detail,
                                      item_id=item_id)
        return Correction(c.ref, c.flow_run_id, what, detail, done)

    def _suspect(self, suspects: set[tuple[int, str]], process_id: int, waiting: str) -> None:
        """Seen paused on what it need not wait for: looked at again next tick (a full sweep
        found it, or its watch ends), and corrected then if it still waits."""
        suspects.add((process_id, waiting))
        self._watch[process_id] = max(self._watch.get(process_id, 0), 2)

    def _ended(self, c: engine.Candidate, state: dict[str, Any], *,
               dry_run: bool) -> Correction:
        name = state.get("name") or str(state.get("type")).capitalize()
        message = state.get("message")
        status = engine.RUN_ENDS[str(state["type"])]
        if dry_run:
            return Correction(c.ref, c.flow_run_id, "close",
                              f"would close {c.ref} as {status}: flow run {c.flow_run_id} "
                              f"is {name} ({message or 'no message'})", False)
        closed = engine.settle_ended_run(bootstrap.engine_uow(), c.process_id,
                                         flow_run_id=c.flow_run_id, state_type=state["type"],
                                         state_name=name, message=message)
        return Correction(c.ref, c.flow_run_id, "close",
                          f"closed {c.ref} as {status}: flow run {c.flow_run_id} is {name} "
                          f"({message or 'no message'})", closed is not None)

    # --- Prefect's side ------------------------------------------------------------------

    def _api(self) -> str | None:
        if self._url is None:
            self._url = handback.api_url()
        return self._url

    def _http(self, url: str) -> AbstractContextManager[httpx.Client]:
        """The process's kept client for ``url`` (``handback.kept_client``)."""
        return handback.kept_client(url, self._transport)

    def _filter(self, http: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
        response = handback._call(http, "POST", "/flow_runs/filter", json=body)
        response.raise_for_status()
        runs: list[dict[str, Any]] = response.json()
        return runs

    def _runs(self, http: httpx.Client, ids: list[str], *, ended_only: bool = False
              ) -> dict[str, dict[str, Any]]:
        """The runs ``ids`` by id (one query per page of ``_PAGE``); ``ended_only``: only
        those in a final state."""
        found: dict[str, dict[str, Any]] = {}
        unique = sorted(set(ids))
        ended = {"state": {"type": {"any_": list(_FINAL)}}} if ended_only else {}
        for start in range(0, len(unique), _PAGE):
            page = unique[start:start + _PAGE]
            for run in self._filter(http, {"flow_runs": {"id": {"any_": page}, **ended},
                                           "limit": _PAGE}):
                found[run["id"]] = run
        return found

    def _ended_runs(self, http: httpx.Client) -> dict[str, dict[str, Any]]:
        """Runs that ended since the newest end seen (none at the first tick: it starts the
        feed, and the full sweep covers what came before)."""
        body: dict[str, Any] = {"flow_runs": {"state": {"type": {"any_": list(_FINAL)}}},
                                "sort": "END_TIME_DESC", "limit": _PAGE}
        first = self._ended_after is None
        if not first:
            body["flow_runs"]["end_time"] = {"after_": self._ended_after}
        runs = self._filter(http, body if not first else {**body, "limit": 1})
        ends = [r["end_time"] for r in runs if r.get("end_time")]
        if ends:
            from datetime import datetime, timedelta

            newest = max(datetime.fromisoformat(e) for e in ends)
            self._ended_after = (newest - timedelta(seconds=_END_MARGIN_S)).isoformat()
        elif first:
            self._ended_after = "1970-01-01T00:00:00+00:00"
        return {} if first else {r["id"]: r for r in runs}


def start_in_thread(interval_s: float | None = None) -> tuple[threading.Thread, threading.Event]:
    """Run a reconciler every ``interval_s`` seconds (default: the setting
    ``reconcile_interval_s``) in a daemon thread until the returned event is set."""
    import contextvars

    interval = interval_s or get_settings().reconcile_interval_s
    stop = threading.Event()
    url = handback.api_url()  # here: the caller's Prefect settings (context variables) apply
    context = contextvars.copy_context()

    def loop() -> None:
        reconciler = Reconciler(url=url)
        while not stop.wait(interval):
            try:
                reconciler.tick()
            except Exception as exc:  # a database or Prefect outage: try again next tick
                log.warning("the reconciler's tick failed (it tries again in %g s): %s",
                            interval, str(exc).splitlines()[0] if str(exc) else exc)

    thread = threading.Thread(target=context.run, args=(loop,), name="mktflow-reconciler",
                              daemon=True)
    thread.start()
    return thread, stop


def resume_if_answered(flow_run_id: str) -> str | None:
    """If the run waits for a step the database already has as done, resume it with that data
    (``mktflow process resume``); if it waits for a step cancelled while its process goes on
    (a complaint's handed-back act step), wake it (``handback.wake_run``). Returns the step's
    reference, or None when the run waits for nothing that is answered or cancelled."""
    from mktflow.engine import queries

    url = handback.api_url()
    if url is None:
        from mktflow.prefect.server import connect

        url = connect().api_url
    with handback.kept_client(url) as http:
        response = handback._call(http, "GET", f"/flow_runs/{flow_run_id}")
        response.raise_for_status()
        state = response.json().get("state") or {}
    if state.get("type") != "PAUSED":
        return None
    waiting = (state.get("state_details") or {}).get("pause_key") or ""
    for item in queries.done_steps_of_run(bootstrap.uow(), flow_run_id):
        if handback.expects(waiting, pause_key(item.step_key or "")):
            handback.resume_over_http(url, flow_run_id, item)
            return f"W-{item.id}"
    for item in queries.done_steps_of_run(bootstrap.uow(), flow_run_id, state="cancelled"):
        if handback.expects(waiting, pause_key(item.step_key or "")):
            handback.wake_over_http(url, flow_run_id, item)
            return f"W-{item.id}"
    return None


def reconcile_for(seconds: float, interval_s: float | None = None) -> dict[str, Any]:
    """Tick a reconciler every ``interval_s`` seconds (default: the setting) for ``seconds``
    (the ``process-reconciler`` deployment's run, started every minute on a work pool);
    returns how many ticks ran and the corrections made, as rows."""
    import time

    interval = interval_s or get_settings().reconcile_interval_s
    reconciler = Reconciler()
    deadline = time.monotonic() + seconds
    ticks, made = 0, []
    while True:
        made += [c.row() for c in reconciler.tick()]
        ticks += 1
        if time.monotonic() + interval > deadline:
            return {"ticks": ticks, "corrections": made}
        time.sleep(interval)
