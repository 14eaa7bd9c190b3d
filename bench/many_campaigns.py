"""Many processes at once: campaigns started and driven through their steps by concurrent
clients on ``mktflow serve``, against bare Prefect flows of the same shape (issue 22, target 3).

    .venv/bin/python -m bench.many_campaigns [--campaigns 1000] [--clients 20] [--in-flight 1]
        [--budget-s 1800] [--drain-s 600] [--database postgresql|sqlite] [--out bench/results]

On a data folder whose mktflow database and local Prefect server's database are two scratch
PostgreSQL databases (``--database postgresql``, dropped afterwards; ``sqlite``: the shared bench
folder, SQLite for both, as the quick mode runs), ``mktflow serve --only campaign --no-api``
serves the campaign and, on the same Prefect server, Prefect's own ``Runner`` serves a bare flow
(``bench._bare_flow``: ``bare-campaign``, no run limit and the same 0.5 s poll as serve's
runner). Then, one after the other, in one driver process:

* **figure**: ``--clients`` threads, each a client with its share of ``--campaigns``. A client
  loops: it answers every step of its campaigns that is in the queue (open or claimed, not yet
  answered by it), then starts one more campaign while it has some left, fewer than
  ``--in-flight`` under way and the budget lasts, and waits 0.25 s when it did nothing (so at
  most clients x in-flight runs are under way: a start of every campaign at once would have
  serve fork a process for each). A start is what ``mktflow run campaign --detach`` runs,
  ``run_process("campaign", request, detach=True)`` (the request checked, the flow run created
  for the served deployment, the process recorded); an answer is what ``mktflow work complete``
  and the REST API's complete run, ``work.claim`` when the step is open, then
  ``engine.steps.complete_step`` (the engine's transaction, then the resume of the waiting run
  over Prefect's API; a step answered before its run suspended is read from the database when
  the run gets there). The clients call the engine commands in process rather than through
  ``mktflow api serve``: the figure is the orchestration's (engine, Prefect server, serve's
  runner and the runs it forks), as the baseline's client calls Prefect's client in process;
  the REST API's own cost under concurrent members is ``bench.page_load``'s. A client finds its
  steps with one read of its campaigns' open work items (what a member's inbox shows; the inbox
  page's cost is ``bench.inbox``'s). The campaign (``bench._records.campaign_plan``: under the
  marketing head's limit, one activity) has 5 human steps: plan, approval, activity, tracking,
  evaluation; each suspends the run (no process held) and its answer runs the flow again from
  the top in a process forked by serve.
* **baseline**: the same clients and loop on ``bare-campaign``: a start is Prefect's
  ``run_deployment(name, parameters, timeout=0)`` (what ``run_process`` calls to hand a run to
  serve); an answer is ``resume_flow_run(run, run_input={"ok":
  True})`` once the run is paused on its next key, found with one ``read_flow_runs`` of the
  client's runs per loop (a bare flow has no queue: its paused state is where a person sees
  it). The bare flow has as many tasks as a finished campaign's run had (counted on the server)
  and as many suspensions (5), the tasks spread evenly before and between them, results
  persisted, each resume running it again from the top.

Where the two differ: the campaign's tasks do mktflow's work (engine writes, the process
record, steps, the audit trail and outbox) where the bare flow's return their argument; serve
forks each run from a process that has the flows imported where Prefect's ``Runner`` starts a
new interpreter; a campaign's step may be answered before its run suspends (then that
suspension and re-run never happen: the notes give the suspensions per run), a bare run's only
once it is paused; Prefect's ``resume_flow_run`` opens a client per call where mktflow's
resumer keeps one.

Figures, both sides measured the same way from the phase's first start: **process starts/s**
= campaigns started / seconds to the last start's return, **step completions/s** = steps
answered / seconds to the last answer's return; target **>= 0.8x** the bare flows'. When
``--budget-s`` runs out, no more starts are made (the notes say how many were reached) and the
clients answer what was started until every run ended or ``--drain-s`` passed. The notes give
the counts, wall times, load average (mean and max over the phase), the processes that ended
and the CPU seconds per campaign / bare run of serve (its runs included), the bare runner (its
runs included), the local Prefect server, the driver and PostgreSQL: what bounds the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sized
from contextlib import nullcontext
from pathlib import Path
from typing import Any

NAME = "many_campaigns"
ROOT = Path(__file__).resolve().parent.parent
STEPS = 5  # plan, approval, activity, tracking, evaluation
BARE = "bare-campaign/bench"  # the baseline's deployment (bench._bare_flow)
#: How often an idle client looks at its queue again (s).
POLL_S = 0.25


class Tally:
    """What the clients of one phase did, with the monotonic time of each event."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.begin = time.monotonic()
        self.starts: list[float] = []
        self.answers: list[float] = []
        self.ends: dict[str, tuple[float, str]] = {}  # run -> (when, final state)
        self.started_at: dict[str, float] = {}
        self.errors: list[str] = []
        self.calls: dict[str, list[float]] = {"start": [], "answer": []}  # seconds per call
        self.start_stopped_at: float | None = None  # the budget ran out here

    def started(self, run: str, since: float) -> None:
        """A start returned; it was called at ``since`` (monotonic)."""
        with self.lock:
            now = time.monotonic()
            self.starts.append(now)
            self.started_at[run] = now
            self.calls["start"].append(now - since)

    def answered(self, since: float) -> None:
        """An answer returned; it was called at ``since`` (monotonic)."""
        with self.lock:
            now = time.monotonic()
            self.answers.append(now)
            self.calls["answer"].append(now - since)

    def ended(self, run: str, state: str) -> None:
        with self.lock:
            self.ends[run] = (time.monotonic(), state)

    def failed(self, what: str) -> None:
        with self.lock:
            self.errors.append(what[-1500:])

    def summary(self, asked: int) -> dict[str, Any]:
        from bench._records import p50

        last_start = max(self.starts, default=self.begin)
        last_answer = max(self.answers, default=self.begin)
        last = max([last_start, last_answer, *(t for t, _ in self.ends.values())])
        lasted = [t - self.started_at[r] for r, (t, _) in self.ends.items()
                  if r in self.started_at]
        states: dict[str, int] = {}
        for _, state in self.ends.values():
            states[state] = states.get(state, 0) + 1
        return {
            "asked": asked, "started": len(self.starts), "answered": len(self.answers),
            "ended": states, "errors": len(self.errors), "first_errors": self.errors[:5],
            "start_seconds": last_start - self.begin, "answer_seconds": last_answer - self.begin,
            "wall_seconds": last - self.begin,
            "budget_ran_out_s": (self.start_stopped_at - self.begin
                                 if self.start_stopped_at is not None else None),
            "starts_per_s": len(self.starts) / max(last_start - self.begin, 1e-9),
            "answers_per_s": len(self.answers) / max(last_answer - self.begin, 1e-9),
            "run_seconds_p50": p50(lasted) if lasted else None,
            "call_seconds_p50": {k: p50(v) if v else None for k, v in self.calls.items()},
        }


class Load:
    """The 1-minute load average sampled every 2 s while a phase runs."""

    def __init__(self) -> None:
        self.samples = [os.getloadavg()[0]]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.stop.wait(2):
            self.samples.append(os.getloadavg()[0])

    def done(self) -> dict[str, float]:
        self.stop.set()
        self.thread.join()
        return {"mean": sum(self.samples) / len(self.samples), "max": max(self.samples),
                "start": self.samples[0]}


def _clients(n: int, clients: int, budget_s: float, drain_s: float,
             client: Callable[[int, int, Tally, float, float], None]) -> Tally:
    """Run ``clients`` threads of ``client(index, share, tally, start_deadline,
    drain_deadline)``, ``n`` starts shared out among them; their tally."""
    tally = Tally()
    shares = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    start_deadline = tally.begin + budget_s
    drain_deadline = start_deadline + drain_s
    def guarded(i: int, share: int) -> None:
        try:
            client(i, share, tally, start_deadline, drain_deadline)
        except Exception:  # a client that died is counted, with why
            import traceback

            tally.failed(f"client {i} stopped: {traceback.format_exc()[-1500:]}")

    threads = [threading.Thread(target=guarded, args=(i, share), daemon=True)
               for i, share in enumerate(shares) if share]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


def _drive(share: int, in_flight: int, tally: Tally, start_deadline: float,
           drain_deadline: float, live: Sized, look: Callable[[], bool],
           start: Callable[[int], None]) -> None:
    """One client's loop: ``look`` (answer what waits, drop the runs that ended from ``live``;
    whether it answered any), then ``start(n)`` the n-th run while fewer than ``in_flight``
    are ``live``, ``share`` are not made yet and the start deadline has not passed; 0.25 s of
    rest when it did nothing; until its runs ended or the drain deadline passed."""
    made = 0
    while time.monotonic() < drain_deadline:
        acted = bool(live) and look()
        if made < share and len(live) < in_flight and time.monotonic() < start_deadline:
            start(made)
            made += 1
            acted = True
        elif made < share and time.monotonic() >= start_deadline:
            with tally.lock:
                tally.start_stopped_at = tally.start_stopped_at or time.monotonic()
            share = made
        elif made >= share and not live:
            return
        if not acted:
            time.sleep(POLL_S)


def _campaign_client(tag: str, in_flight: int) -> Callable[[int, int, Tally, float, float], None]:
    """A client of mktflow: starts campaigns as ``mktflow run campaign --detach`` does and
    answers their steps as ``mktflow work complete`` does (see the module docstring)."""
    from bench._records import DEPUTY, HEAD, campaign_answer, campaign_plan, rows
    from mktflow import bootstrap
    from mktflow.config import get_settings
    from mktflow.engine import work
    from mktflow.engine.steps import complete_step
    from mktflow.prefect.runner import run_process

    url = get_settings().resolved_database_url()

    def client(index: int, share: int, tally: Tally, start_deadline: float,
               drain_deadline: float) -> None:
        live: dict[int, str] = {}  # process id -> flow run id
        answered: set[int] = set()

        def look() -> bool:
            acted = False
            ids = ", ".join(str(p) for p in live)  # ints of this client's processes
            for step in rows(url, "SELECT id, step_key, state, assignee_email FROM workitem "
                                  f"WHERE process_id IN ({ids}) AND state IN "
                                  "('open', 'claimed') ORDER BY id"):
                if step["id"] in answered:
                    continue
                actor = step["assignee_email"] or HEAD
                since = time.monotonic()
                try:
                    if step["state"] == "open":
                        work.claim(bootstrap.uow(), step["id"], actor_email=actor)
                    complete_step(bootstrap.uow(), step["id"], actor_email=actor,
                                  data=campaign_answer(step["step_key"]))
                except Exception as exc:  # counted; the step is looked at again
                    tally.failed(f"W-{step['id']} {step['step_key']}: {exc!r}")
                    continue
                answered.add(step["id"])
                tally.answered(since)
                acted = True
            for ended in rows(url, "SELECT id, status FROM processinstance WHERE id IN "
                                   f"({ids}) AND status <> 'running'"):
                tally.ended(live.pop(ended["id"]), ended["status"])
            return acted

        def start(n: int) -> None:
            code = f"MANY-{tag}-{index}-{n}"
            since = time.monotonic()
            try:
                info = run_process("campaign", {"code": code, "owner": DEPUTY,
                                                "plan": campaign_plan()}, detach=True)
            except Exception as exc:
                tally.failed(f"start {code}: {exc!r}")
                return
            live[int(info["process_id"])] = str(info["flow_run_id"])
            tally.started(str(info["flow_run_id"]), since)

        _drive(share, in_flight, tally, start_deadline, drain_deadline, live, look, start)

    return client


def _bare_client(deployment: str, tasks: int, in_flight: int
                 ) -> Callable[[int, int, Tally, float, float], None]:
    """A client of Prefect alone: starts the bare flow from its deployment and resumes each
    run with ``resume_flow_run`` once it is paused on its next key."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.objects import FlowRun
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.deployments import run_deployment
    from prefect.flow_runs import resume_flow_run

    def client(index: int, share: int, tally: Tally, start_deadline: float,
               drain_deadline: float) -> None:
        live: set[UUID] = set()
        answered: set[tuple[UUID, str]] = set()

        def look() -> bool:
            acted = False
            # limit and sort given: the sync client sends None for them otherwise, which
            # this server version refuses (422)
            runs = prefect.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(live))),
                limit=len(live), sort=FlowRunSort.ID_DESC)
            for run in runs:
                state = run.state
                if state is None:
                    continue
                if state.is_final():
                    live.discard(run.id)
                    tally.ended(str(run.id), state.type.value.lower())
                    continue
                key = str(state.state_details.pause_key or "")
                if not state.is_paused() or (run.id, key) in answered:
                    continue
                since = time.monotonic()
                try:
                    resume_flow_run(run.id, run_input={"ok": True})
                except Exception as exc:  # counted; asked again at the next look
                    tally.failed(f"{run.id} {key}: {exc!r}")
                    continue
                answered.add((run.id, key))
                tally.answered(since)
                acted = True
            return acted

        def start(n: int) -> None:
            since = time.monotonic()
            try:
                run = run_deployment(deployment, timeout=0,
                                     parameters={"tasks": tasks, "pauses": STEPS})
            except Exception as exc:
                tally.failed(f"start bare {n}: {exc!r}")
                return
            assert isinstance(run, FlowRun)  # the sync call, outside an event loop
            live.add(run.id)
            tally.started(str(run.id), since)

        with get_client(sync_client=True) as prefect:
            _drive(share, in_flight, tally, start_deadline, drain_deadline, live, look, start)

    return client


def _suspensions(api: Any, runs: list[str]) -> list[int]:
    """How many times each of ``runs`` was paused (suspended), from its states."""
    counts = []
    for run in runs:
        states = api.get("/flow_run_states/", params={"flow_run_id": run}).json()
        counts.append(sum(1 for s in states if s["type"] == "PAUSED"))
    return counts


def _task_runs(api: Any, run: str) -> int:
    """The task runs of flow run ``run`` on the Prefect server, once two counts 2 s apart
    agree (at most 30 s): the server records task runs from their runs' events, and under load
    it records them late (a bare run of 21 tasks, whose shape makes 78, was counted 57 at once)."""
    def count() -> int:
        return int(api.post("/task_runs/count",
                            json={"flow_runs": {"id": {"any_": [run]}}}).json())

    last, deadline = count(), time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(2)
        now = count()
        if now == last:
            break
        last = now
    return last


def _tasks_for(task_runs: int) -> int:
    """The bare flow's ``tasks`` whose runs on the server, with ``STEPS`` suspensions and a
    re-run from the top after each, come closest to ``task_runs`` (a task before the k-th
    suspension runs, or is read back, once per re-run from then on)."""
    def runs(tasks: int) -> int:
        per = [tasks // (STEPS + 1) + (1 if i < tasks % (STEPS + 1) else 0)
               for i in range(STEPS + 1)]
        return sum(n * (STEPS + 1 - i) for i, n in enumerate(per))

    return min(range(1, task_runs + 1), key=lambda t: abs(runs(t) - task_runs))


class Cpu:
    """CPU seconds of the processes a phase loads, read before and after it."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before = self._now()

    def _now(self) -> dict[str, float]:
        import resource

        from bench._records import cpu_seconds

        own = resource.getrusage(resource.RUSAGE_SELF)
        now = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        now["driver"] = own.ru_utime + own.ru_stime
        now["postgresql"] = _postgres_cpu()
        return now

    def used(self) -> dict[str, float]:
        after = self._now()
        return {k: round(after[k] - self.before[k], 1) for k in after}


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on the machine (others' sessions too)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" not in text[:64]:
            continue
        fields = text[text.rindex(")") + 2:].split()
        total += sum(int(f) for f in fields[11:15])
    return total / tick


def child(campaigns: int, clients: int, in_flight: int, budget_s: float, drain_s: float,
          deployment: str, pids: str) -> None:
    """In the data folder's environment: both phases, printed as JSON. ``pids``: JSON of the
    processes whose CPU is counted (serve, bare runner, Prefect server)."""
    sys.path.insert(0, str(ROOT))
    import httpx

    from mktflow.prefect.server import connect

    api_url = connect().api_url  # Prefect's client in this process talks to it too
    api = httpx.Client(base_url=api_url, timeout=60)
    import flows.campaign  # noqa: F401  the imports a start needs, before the clock runs

    tag = uuid.uuid4().hex[:6]
    watched = {k: int(v) for k, v in json.loads(pids).items()}
    cpu, load = Cpu(watched), Load()
    campaign = _clients(campaigns, clients, budget_s, drain_s, _campaign_client(tag, in_flight))
    result: dict[str, Any] = {"campaign": {**campaign.summary(campaigns), "cpu_s": cpu.used(),
                                           "load": load.done()}}
    finished = [r for r, (_, state) in campaign.ends.items() if state == "completed"]
    if not finished:
        raise RuntimeError(f"no campaign finished: {result}")
    sample = finished[:10]
    result["campaign"]["suspensions"] = _suspensions(api, sample)
    # the run that suspended at every step: its task runs on the server (each re-run from the
    # top makes a task run, read from the cache, for every task before its step)
    whole = sample[result["campaign"]["suspensions"].index(max(result["campaign"]["suspensions"]))]
    result["campaign"]["task_runs"] = _task_runs(api, whole)
    tasks = _tasks_for(result["campaign"]["task_runs"])
    result["tasks"] = tasks
    asked = campaign.summary(campaigns)["started"]  # as many bare runs as campaigns started
    cpu, load = Cpu(watched), Load()
    bare = _clients(asked, clients, budget_s, drain_s, _bare_client(deployment, tasks, in_flight))
    result["bare"] = {**bare.summary(asked), "cpu_s": cpu.used(), "load": load.done()}
    done = [r for r, (_, state) in bare.ends.items() if state == "completed"]
    result["bare"]["suspensions"] = _suspensions(api, done[:10])
    result["bare"]["task_runs"] = _task_runs(api, done[0]) if done else None
    print(json.dumps(result))


def measure(campaigns: int, clients: int, budget_s: float, drain_s: float,
            database: str, in_flight: int = 1) -> dict[str, Any]:
    """Both phases on ``database`` (``sqlite``: the shared bench folder and its serve;
    ``postgresql``: a folder of its own on two scratch PostgreSQL databases), with the
    machine's load and wall time."""
    sys.path.insert(0, str(ROOT))
    from bench._records import (
        bare_deployment,
        bare_serve,
        interrupt,
        mktflow,
        postgresql_folder,
        server_pid,
        serving,
        shared_folder,
        shared_serve,
    )

    began = time.monotonic()
    shared = database == "sqlite"
    with nullcontext(shared_folder()) if shared else postgresql_folder() as env:
        folder = Path(env["MKTFLOW_DATA_DIR"])
        api_url = json.loads(mktflow(env, "server", "start", "--json"))["api_url"]
        runner = bare_serve(env, limit=None)  # boots while serve does
        try:
            with nullcontext(shared_serve()) if shared else serving(env) as serve:
                bare_deployment(runner, api_url, folder / "bare-serve.log", BARE)
                pids = {"serve": serve.pid, "bare_runner": runner.pid,
                        "prefect_server": server_pid(env)}
                r = subprocess.run(
                    [sys.executable, "-m", "bench.many_campaigns", "--child", str(campaigns),
                     str(clients), str(in_flight), str(budget_s), str(drain_s), BARE,
                     json.dumps(pids)],
                    env=env, cwd=ROOT, text=True, capture_output=True,
                    timeout=2 * (budget_s + drain_s) + 600)
        finally:
            interrupt(runner)
    if r.returncode != 0:
        first = r.stderr.find("Traceback")
        raise RuntimeError(f"many campaigns child failed:\n{r.stderr[max(first, 0):][:3000]}"
                           f"\n...\n{r.stderr[-1500:]}")
    m = dict(json.loads(r.stdout.strip().splitlines()[-1]))
    return {**m, "database": database, "clients": clients, "in_flight": in_flight,
            "budget_s": budget_s,
            "drain_s": drain_s, "total_seconds": time.monotonic() - began}


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """Quick: 1 campaign and 1 bare run by 1 client on the shared bench folder (SQLite, the
    shared serve; most of its time the bare run's 6 new interpreters): it checks that both
    sides run and are recorded, the suite's time being short (its ratios say nothing);
    full: 1,000 of each by 20 clients (one run under way each) on PostgreSQL, starts within 30
    minutes a phase and 10 more to finish (at most 80 minutes)."""
    from bench._records import write

    m = (measure(1, 1, 300, 300, "sqlite") if quick
         else measure(1000, 20, 1800, 600, "postgresql"))
    write(out, NAME, m)
    return records(m)


def records(m: dict[str, Any]) -> list[dict[str, Any]]:
    """The two records (starts/s, step completions/s) of one measurement ``m``."""
    from bench._records import record

    c, b = m["campaign"], m["bare"]
    for what, s in (("campaigns", c), ("bare flows", b)):
        if not s["started"] or not s["answered"]:
            raise RuntimeError(f"{what}: {s['started']} started, {s['answered']} answered; "
                               f"first errors: {s['first_errors']}")

    def side(s: dict[str, Any], what: str) -> str:
        cpu, calls = s["cpu_s"], s.get("call_seconds_p50", {})
        per = max(s["started"], 1)
        reached = (f"{s['started']:,} of {s['asked']:,} started" +
                   (f" (the {m['budget_s']:.0f} s budget ran out after "
                    f"{s['budget_ran_out_s']:.0f} s)" if s["budget_ran_out_s"] else ""))
        ended = ", ".join(f"{n:,} {k}" for k, n in sorted(s["ended"].items())) or "none"
        lasted = f"{s['run_seconds_p50']:.0f} s" if s["run_seconds_p50"] else "n/a"
        return (f"{what}: {reached}, {s['answered']:,} steps answered, ended {ended}, "
                f"{s['errors']} errors; starts over {s['start_seconds']:.0f} s, answers over "
                f"{s['answer_seconds']:.0f} s, wall {s['wall_seconds']:.0f} s; "
                + (f"one start p50 {calls['start']:.2f} s, one answer p50 "
                   f"{calls['answer']:.2f} s; " if calls.get("start") and calls.get("answer")
                   else "")
                + f"a run's start "
                f"-> end p50 {lasted}; suspensions per run {s['suspensions']}; load mean "
                f"{s['load']['mean']:.1f} (max {s['load']['max']:.1f}); CPU s per run: "
                + ", ".join(f"{k} {v / per:.2f}" for k, v in cpu.items()))

    notes = (f"{m['clients']} clients, each with {m['in_flight']} run(s) under way at "
             f"once, {STEPS} steps per run; the bare flow {m['tasks']} tasks, "
             f"task runs on the server per run (re-runs included): campaign "
             f"{c['task_runs']}, bare {b['task_runs']}; "
             f"{side(c, 'campaigns')}. {side(b, 'bare flows')}. Whole run "
             f"{m['total_seconds']:.0f} s")
    kind = m["database"]
    return [
        record(f"{NAME}.starts", figure=c["starts_per_s"], unit="process starts/s",
               baseline=b["starts_per_s"],
               baseline_name=(f"bare Prefect flow served on the same server ({m['tasks']} "
                              f"tasks, {STEPS} suspensions), run_deployment"),
               target=">= 0.8x", database=kind, notes=notes),
        record(f"{NAME}.step_completions", figure=c["answers_per_s"],
               unit="step completions/s", baseline=b["answers_per_s"],
               baseline_name="the same bare flows resumed with resume_flow_run",
               target=">= 0.8x", database=kind, notes=notes),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=1000,
                        help="campaigns to start (and as many bare runs)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--budget-s", type=float, default=1800,
                        help="seconds after which no more are started (each phase)")
    parser.add_argument("--drain-s", type=float, default=600,
                        help="seconds after the budget to finish the runs started")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql",
                        help="mktflow's and the local Prefect server's database")
    parser.add_argument("--out", type=Path,
                        help="also write the records to this folder (bench/results: then "
                             "rewrite the docs' table with python -m bench.report)")
    parser.add_argument("--in-flight", type=int, default=1,
                        help="campaigns a client has under way at once (it starts the next "
                             "when one ends)")
    parser.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        n, c, k, budget, drain, deployment, pids = args.child
        child(int(n), int(c), int(k), float(budget), float(drain), deployment, pids)
        return
    m = measure(args.campaigns, args.clients, args.budget_s, args.drain_s, args.database,
                args.in_flight)
    print(json.dumps(m, indent=2))
    found = records(m)
    for r in found:
        print(f"{r['name']}: {r['figure']} {r['unit']}, baseline {r['baseline']}, ratio "
              f"{r['ratio']} ({'met' if r['met'] else 'MISSED'})")
    if args.out:
        from bench._records import write

        write(args.out, NAME, m)
        (args.out / f"{NAME}.json").write_text(json.dumps(found, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
