"""The reconciler on both databases, against a Prefect API that a test plays (issue 20, item 2):
a run paused on a done step is resumed at the second sighting, once; a run paused on a
complaint's act step cancelled by a rejected handoff (the case goes on) is woken, once, when
the rejection's own wake was lost; a process whose run ended
is closed with the run's message, once; each correction is audited as the engine naming the
reconciler; a tick reads only the processes that moved; a dry run changes nothing. The same
reconciler against a real Prefect server and a real cut is in ``tests/flows/test_reconciler``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from mktflow.engine import processes, work
from mktflow.engine.queries import history, show
from mktflow.engine.views import plain
from mktflow.prefect.reconcile import Reconciler
from tests.conftest import CliResult, Db

OLGA = "olga.petrova@example.com"


class FakePrefect:
    """The flow-run endpoints the reconciler uses: ``runs`` maps a run id to its state."""

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.resumed: list[tuple[str, dict[str, Any]]] = []
        self.set: list[tuple[str, str]] = []  # (run, state type) forced with set_state
        self.asked: list[list[str]] = []  # the ids of each filter by id
        self.asked_ended: list[list[str]] = []  # ... of those asking only for ended runs

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        if path == "/flow_runs/filter":
            body = json.loads(request.content)
            wanted = ((body["flow_runs"].get("id") or {}).get("any_"))
            kinds = (((body["flow_runs"].get("state") or {}).get("type") or {}).get("any_"))
            if wanted is not None:
                self.asked.append(sorted(wanted))
                if kinds is not None:
                    self.asked_ended.append(sorted(wanted))
                return httpx.Response(200, json=[
                    self._run(i) for i in wanted
                    if i in self.runs and (kinds is None or self.runs[i]["type"] in kinds)])
            return httpx.Response(200, json=[self._run(i) for i, s in self.runs.items()
                                             if s["type"] in kinds])
        run_id = path.split("/")[2]
        if path.endswith("/set_state"):
            state = json.loads(request.content)["state"]
            self.set.append((run_id, state["type"]))
            self.runs[run_id] = {"type": state["type"], "name": state["name"]}
            return httpx.Response(201, json={"status": "ACCEPT", "details": {}})
        if path.endswith("/resume"):
            if self.runs[run_id]["type"] != "PAUSED":
                return httpx.Response(200, json={"status": "ABORT", "details": {}})
            self.resumed.append((run_id, json.loads(request.content)["run_input"]))
            self.runs[run_id] = {"type": "RUNNING", "name": "Running"}
            return httpx.Response(201, json={"status": "ACCEPT", "details": {}})
        return httpx.Response(200, json=self._run(run_id))

    def _run(self, run_id: str) -> dict[str, Any]:
        final = self.runs[run_id]["type"] in ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")
        return {"id": run_id, "state": self.runs[run_id],
                "end_time": "2026-01-01T00:00:00+00:00" if final else None}

    def paused(self, run_id: str, key: str) -> None:
        self.runs[run_id] = {"type": "PAUSED", "name": "Paused",
                             "state_details": {"pause_key": key, "pause_reschedule": False}}


def _process(db: Db, *, done: bool) -> tuple[int, str, int]:
    """A running process with a flow run and one step (done or claimed): (process, run, step)."""
    run = str(uuid.uuid4())
    p = processes.start_process(db.uow(), process="campaign",
                                business_key=f"REC-{uuid.uuid4().hex[:8]}", owner_email=OLGA,
                                flow_run_id=run)
    item = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="marketing",
                                 title="Plan", process_id=p.id, step_key="plan", assignee=OLGA)
    assert p.id is not None and item.id is not None
    work.claim(db.uow(), item.id, actor_email=OLGA)
    if done:
        work.complete(db.uow(), item.id, actor_email=OLGA, data={"note": "go"})
    return p.id, run, item.id


def _reconciler(fake: FakePrefect) -> Reconciler:
    return Reconciler(url="http://prefect/api", transport=httpx.MockTransport(fake))


def _reconciles(db: Db, process_id: int) -> list[dict[str, Any]]:
    return [e for e in plain(history(db.uow(), f"P-{process_id}")) if e["action"] == "reconcile"]


def test_a_run_paused_on_a_done_step_is_resumed_once_and_audited(
        db: Db, cli: Callable[..., CliResult]) -> None:
    fake = FakePrefect()
    reconciler = _reconciler(fake)
    reconciler.tick()  # starts the feeds
    pid, run, wid = _process(db, done=True)
    fake.paused(run, "plan")
    assert reconciler.tick() == []  # first sighting: the completing door may still hand it
    made = reconciler.tick()
    assert [(c.process, c.action, c.done) for c in made] == [(f"P-{pid}", "resume", True)]
    assert fake.resumed == [(run, {"note": "go", "answered_by": OLGA})]
    assert reconciler.tick() == [] and len(fake.resumed) == 1  # running now: nothing to do
    [entry] = _reconciles(db, pid)
    assert entry["actor"] == "mktflow" and entry["identified_by"] is None
    assert entry["reason"].startswith(f"the reconciler resumed flow run {run}, which still "
                                      f"waited at plan although W-{wid} was done by {OLGA}")


def test_a_run_paused_on_a_handed_back_step_is_woken_once_when_its_wake_was_lost(
        db: Db, cli: Callable[..., CliResult]) -> None:
    from mktflow.bootstrap import Wiring
    from mktflow.config import get_settings
    from mktflow.engine import complaints, handoffs

    fake = FakePrefect()
    reconciler = _reconciler(fake)
    reconciler.tick()  # starts the feeds
    run = str(uuid.uuid4())
    case = complaints.open_complaint(db.uow(), actor_email=OLGA, customer="CUST-REC",
                                     text="Dented boxes", flow_run_id=run)
    assert case.id is not None and case.process_id is not None
    complaints.hand_over(db.uow(), case.id, actor_email=OLGA, to="supply", request="Resend")
    fake.paused(run, "act-1")
    view = complaints.show_complaint(db.uow(), case.id)
    assert view.step is not None and view.handoff is not None
    lost: list[str] = []  # the rejecting door's wake never reaches Prefect
    rejecting = Wiring(settings=get_settings(), database=db.engine,
                       waker=lambda run_id, item: lost.append(run_id)).uow()
    handoffs.reject(rejecting, int(view.handoff[2:]), actor_email="raj.patel@example.com",
                    reason="No stock")
    assert lost == [run] and fake.set == []
    assert reconciler.tick() == []  # first sighting: the rejecting door may still wake it
    made = reconciler.tick()
    assert [(c.process, c.action, c.done) for c in made] == [
        (f"P-{case.process_id}", "wake", True)]
    assert fake.set == [(run, "RUNNING")] and fake.resumed == []
    assert reconciler.tick() == []  # running now: nothing to do
    [entry] = _reconciles(db, case.process_id)
    assert entry["reason"].startswith(f"the reconciler woke flow run {run}, which still "
                                      f"waited at act-1 although {view.step.ref} was cancelled")


def test_a_run_stuck_before_the_reconciler_started_is_resumed_at_its_second_tick(
        db: Db, cli: Callable[..., CliResult]) -> None:
    """The first tick's full sweep finds it; the next tick looks at it again, although
    nothing about it changed since."""
    fake = FakePrefect()
    pid, run, _ = _process(db, done=True)
    fake.paused(run, "plan")
    reconciler = _reconciler(fake)
    assert reconciler.tick() == []
    assert [(c.process, c.action) for c in reconciler.tick()] == [(f"P-{pid}", "resume")]


def test_a_running_process_whose_run_failed_is_closed_with_its_message_once(
        db: Db, cli: Callable[..., CliResult]) -> None:
    fake = FakePrefect()
    reconciler = _reconciler(fake)
    reconciler.tick()
    pid, run, wid = _process(db, done=False)
    fake.runs[run] = {"type": "CRASHED", "name": "Crashed",
                      "message": "Flow run infrastructure exited with non-zero status -9"}
    made = reconciler.tick()
    assert [(c.process, c.action, c.done) for c in made] == [(f"P-{pid}", "close", True)]
    view = plain(show(db.uow(), f"P-{pid}", "process"))
    assert view["status"] == "failed"
    reason = view["result"]["reason"]
    assert reason == (f"the reconciler found flow run {run} Crashed while P-{pid} was still "
                      "running: Flow run infrastructure exited with non-zero status -9")
    # its open step, with the reason
    assert plain(show(db.uow(), f"W-{wid}"))["state"] == "cancelled"
    finish = [e for e in plain(history(db.uow(), f"P-{pid}")) if e["action"] == "finish"]
    assert [(e["actor"], e["to_state"], e["reason"]) for e in finish] == [
        ("mktflow", "failed", reason)]
    assert reconciler.tick() == []  # idempotent
    assert Reconciler(url="http://prefect/api",
                      transport=httpx.MockTransport(fake)).scan_all() == []


def test_a_crashed_cycle_run_fails_its_cycle_run_and_process_and_carries_on(
        db: Db, cli: Callable[..., CliResult]) -> None:
    """A cycle's run killed before its crash hook ran: the reconciler ends it as the hook
    would, so the next cycle run still carries what this one carried in."""
    from mktflow.engine import cycles

    first = cycles.begin_cycle(db.uow(), cycle="process-review", period="2026-07")
    cycles.finish_cycle(db.uow(), first.id, open_items=[{"ref": "H-1"}], summary={})
    run_id = str(uuid.uuid4())
    run = cycles.begin_cycle(db.uow(), cycle="process-review", period="2026-08",
                             flow_run_id=run_id)
    fake = FakePrefect()
    fake.runs[run_id] = {"type": "CRASHED", "name": "Crashed", "message": "killed"}
    made = _reconciler(fake).scan_all()
    assert [(c.process, c.action, c.done) for c in made] == [
        (f"P-{run.process_id}", "close", True)]
    assert plain(show(db.uow(), f"P-{run.process_id}", "process"))["status"] == "failed"
    nxt = cycles.begin_cycle(db.uow(), cycle="process-review", period="2026-09")
    assert nxt.carried == [{"ref": "H-1"}]


def test_a_tick_asks_prefect_only_about_processes_that_moved(
        db: Db, cli: Callable[..., CliResult]) -> None:
    fake = FakePrefect()
    _, quiet_run, _ = _process(db, done=False)
    fake.paused(quiet_run, "plan")
    reconciler = _reconciler(fake)
    reconciler.tick()  # the first tick is a full sweep
    assert quiet_run in fake.asked[-1]
    _, moved_run, _ = _process(db, done=False)
    fake.paused(moved_run, "plan")
    fake.asked.clear()
    reconciler.tick()
    assert fake.asked == [[moved_run]]


def test_a_dry_run_lists_and_changes_nothing_and_the_command_corrects(
        db: Db, cli: Callable[..., CliResult], monkeypatch: Any) -> None:
    fake = FakePrefect()
    pid, run, wid = _process(db, done=True)
    fake.paused(run, "plan-retry-1")  # waiting again after a refused UI answer
    audits = db.count("auditentry")
    made = _reconciler(fake).scan_all(dry_run=True)
    assert [c.row() for c in made] == [{
        "process": f"P-{pid}", "flow_run_id": run, "action": "resume", "done": False,
        "detail": f"would resume flow run {run} with W-{wid} (done by {OLGA})"}]
    assert fake.resumed == [] and db.count("auditentry") == audits
    # the operator's command, on the same API (no second sighting needed: it acts at once)
    monkeypatch.setattr("mktflow.prefect.handback.api_url", lambda: "http://prefect/api")
    real = httpx.Client.__init__

    def through_fake(self: httpx.Client, *args: Any, **kwargs: Any) -> None:
        kwargs["transport"] = httpx.MockTransport(fake)
        real(self, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "__init__", through_fake)
    # the process keeps one client per API URL (handback.client_for): this test's, made anew
    monkeypatch.setattr("mktflow.prefect.handback._CLIENTS", {})
    out = cli("process", "reconcile", "--json")
    assert out.exit_code == 0, out.stderr
    assert [(r["process"], r["action"], r["done"]) for r in out.json()] == [
        (f"P-{pid}", "resume", True)]
    assert len(fake.resumed) == 1 and len(_reconciles(db, pid)) == 1
    again = cli("process", "reconcile")
    assert again.stdout.strip() == ("nothing to reconcile: every running process agrees with "
                                    "its flow run")


def test_a_full_sweep_asks_prefect_for_all_of_a_run_only_when_a_correction_could_follow(
        db: Db, cli: Callable[..., CliResult]) -> None:
    # thousands of runs waiting at their first step: of those, only the ended ones are asked
    # for (issue 22, target 3); a run whose process has a done step is read whole
    fake = FakePrefect()
    _, waiting, _ = _process(db, done=False)
    fake.paused(waiting, "plan")
    pid, stuck, _ = _process(db, done=True)
    fake.paused(stuck, "plan")
    reconciler = _reconciler(fake)
    assert reconciler.tick() == []  # a full sweep: the stuck run is suspected
    assert any(waiting in ids for ids in fake.asked_ended)
    assert not any(stuck in ids for ids in fake.asked_ended)
    assert any(stuck in ids for ids in fake.asked)
    made = reconciler.tick()  # still paused on the done step: resumed
    assert [(c.process, c.action) for c in made] == [(f"P-{pid}", "resume")]
    assert [run for run, _ in fake.resumed] == [stuck]
