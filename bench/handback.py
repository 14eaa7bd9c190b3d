"""Benchmark of the hand-back: how fast an answered step reaches its flow run.

    .venv/bin/python bench/handback.py [--steps 5] [--poll SECONDS]
    .venv/bin/python bench/handback.py --served [--bare] [--steps 3] [--database postgresql]

On a fresh data folder (its own SQLite database and local Prefect server, stopped afterwards)
each step is answered with ``mktflow work complete W-n --as MEMBER`` (no --data: the draft) as a
whole process, once the run waits for it. Two modes:

* paused (default): a flow of N one-field human steps runs paused in a child process, like
  ``mktflow run``; it looks for its answer every ``MKTFLOW_STEP_POLL_INTERVAL_S`` (``--poll``,
  default: mktflow's default);
* ``--served``: ``mktflow serve --only campaign --no-api`` runs as a subprocess, and N campaigns
  are handed to it (``mktflow run campaign --detach``); each suspends at its plan (``plan-1``,
  no process held), and answering it makes Prefect's runner start the run again from the top
  (woken by the resume's event, or at its next poll, every ``MKTFLOW_RUNNER_POLL_S``), which
  creates the approval step. ``--bare`` adds the baseline: a bare Prefect flow served on the
  same server (``bench._bare_flow``), suspended, resumed by ``resume_flow_run``.
  ``--database postgresql`` puts mktflow's database and the local Prefect server's on two
  scratch PostgreSQL databases instead of the folder's SQLite files (issue 22, targets 2-3).

Prints JSON with p50 / p95 / max of:

* ``work_complete_s``: wall time of that process (start to exit);
* ``commit_to_exit_s``: from the completion's commit (its completed_at) to the process's exit;
* ``next_step_s``: from a completion's commit to the next step's creation (in its queue);
* ``next_step_parts_s`` (``--served``): that time split by the run's Prefect states after the
  commit: resumed (Scheduled), the runner took it (Pending), its new process runs the flow
  (Running), step created.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mktflow.domain import clock as clocks

MEMBER = "olga.petrova@example.com"  # the bench steps' assignee; the example campaigns' owner
ROOT = Path(__file__).resolve().parent.parent


def child(key: str, steps: int) -> None:
    """Run the bench flow here until it ends (it pauses at each step)."""
    from prefect import flow
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from mktflow.prefect import tasks
    from mktflow.prefect.server import connect
    from mktflow.prefect.steps import StepForm, human_step

    class Ack(StepForm):
        """One field with a default: the draft is a complete answer."""

        ok: bool = True

    @flow(name="handback-bench")
    def handback_bench(key: str, steps: int) -> None:
        """N steps one after the other, each assigned to the same member."""
        pid = tasks.start_process("handback-bench", key, MEMBER, {"steps": steps})
        for i in range(steps):
            human_step(pid, f"step-{i}", department="marketing", title=f"Bench step {i}",
                       form=Ack, assignee=MEMBER)
        tasks.finish_process(pid, "completed")

    connect()
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        handback_bench(key, steps)


# --- shared by both modes ------------------------------------------------------------------


def _call(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mktflow.cli", *args], env=env, text=True,
                          capture_output=True, timeout=300)


def _mktflow(env: dict[str, str], *args: str) -> str:
    r = _call(env, *args)
    if r.returncode != 0:
        raise SystemExit(f"mktflow {' '.join(args)}: {r.stderr}")
    return r.stdout


@contextmanager
def _data_folder(extra: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """The environment of a fresh data folder (migrated, demo organisation), removed after;
    its local Prefect server is stopped when it was started."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MKTFLOW_", "PREFECT_"))}
        env |= {"MKTFLOW_DATA_DIR": tmp, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PYTHONPATH": str(ROOT), **(extra or {})}
        _mktflow(env, "db", "upgrade")
        _mktflow(env, "org", "load", "--demo")
        try:
            yield env
        finally:
            _mktflow(env, "server", "stop")


def _paused(api_url: str, flow_run_id: str, key: str, timeout: float = 60) -> None:
    """Wait until the run waits for ``key`` (paused or suspended; the UI shows it waiting)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = httpx.get(f"{api_url}/flow_runs/{flow_run_id}").json().get("state") or {}
        if state.get("type") == "PAUSED" and (
                state.get("state_details") or {}).get("pause_key") == key:
            return
        time.sleep(0.02)
    raise SystemExit(f"{flow_run_id} never paused on {key}")


def _at(text: str) -> float:
    value = datetime.fromisoformat(text)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class Figures:
    """The three figures over the answered steps."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.to_exit: list[float] = []
        self.next_step: list[float] = []
        self.parts: dict[str, list[float]] = {}

    def complete(self, env: dict[str, str], ref: str) -> float:
        """Answer ``ref`` with the draft as MEMBER in a process of its own; when it exited."""
        start = time.monotonic()
        _mktflow(env, "work", "complete", ref, "--as", MEMBER)
        self.wall.append(time.monotonic() - start)
        return clocks.now().timestamp()

    def committed(self, exited: float, completed_at: str) -> str:
        """The completion's commit (its completed_at), counted against the process's exit."""
        self.to_exit.append(exited - _at(completed_at))
        return completed_at

    def report(self, **head: Any) -> dict[str, Any]:
        return {**head, "work_complete_s": _stats(self.wall),
                "commit_to_exit_s": _stats(self.to_exit),
                "next_step_s": _stats(self.next_step) if self.next_step else None,
                **({"next_step_parts_s": {k: _stats(v) for k, v in self.parts.items()}}
                   if self.parts else {})}


def _stats(values: list[float]) -> dict[str, float]:
    """p50, p95 (``bench._records.pct``, nearest rank), max and count of ``values`` (called
    after ``main`` or ``run`` put the project on the import path)."""
    from bench._records import p50, pct

    return {"p50": round(p50(values), 3), "p95": round(pct(values, 0.95), 3),
            "max": round(max(values), 3), "n": len(values)}


# --- paused: a flow run in a child process -------------------------------------------------


def _step(env: dict[str, str], key: str, i: int, timeout: float = 120) -> dict[str, Any]:
    """The bench process's step i, once the flow created it (read straight from SQLite)."""
    import sqlite3

    db = Path(env["MKTFLOW_DATA_DIR"]) / "mktflow.db"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT w.id, w.created_at, w.completed_at, p.flow_run_id FROM workitem w JOIN "
                "processinstance p ON p.id = w.process_id WHERE p.business_key = ? AND "
                "w.step_key = ?", (key, f"step-{i}")).fetchone()
        if row:
            return {"id": row[0], "created_at": row[1], "completed_at": row[2],
                    "flow_run_id": row[3]}
        time.sleep(0.02)
    raise SystemExit(f"step {i} never came")


def paused(steps: int, poll: float | None, shared: dict[str, str] | None = None
           ) -> dict[str, Any]:
    """N steps of one run paused in a child process (on ``shared``: that data folder)."""
    extra = {"MKTFLOW_STEP_POLL_INTERVAL_S": str(poll)} if poll is not None else {}
    figures = Figures()
    folder = nullcontext(shared) if shared is not None else _data_folder(extra)
    with folder as env:
        api_url = json.loads(_mktflow(env, "server", "start", "--json"))["api_url"]
        key = f"BENCH-{uuid.uuid4().hex[:6]}"
        run = subprocess.Popen([sys.executable, __file__, "--child", key, str(steps)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            committed = ""
            for i in range(steps):
                step = _step(env, key, i)
                if i:
                    figures.next_step.append(_at(step["created_at"]) - _at(committed))
                _paused(api_url, step["flow_run_id"], f"step-{i}")
                exited = figures.complete(env, f"W-{step['id']}")
                committed = figures.committed(exited, _step(env, key, i)["completed_at"])
            run.wait(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
    if poll is None:  # mktflow's default: the child's environment has no MKTFLOW_ variable
        from mktflow.config import Settings

        poll = Settings.model_fields["step_poll_interval_s"].default
    return figures.report(mode="paused", steps=steps, poll_setting="MKTFLOW_STEP_POLL_INTERVAL_S",
                          poll_interval_s=poll)


# --- served: runs of a served deployment that suspend at each step --------------------------


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``mktflow serve --only campaign --no-api``, once it printed its Prefect UI line."""
    sys.path.insert(0, str(ROOT))
    from bench._records import wait_serving

    with open(log, "wb") as out:
        serve = subprocess.Popen([sys.executable, "-m", "mktflow.cli", "serve", "--only",
                                  "campaign", "--no-api"], env=env, cwd=ROOT,
                                 stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_serving(serve, log, timeout=120)
    except RuntimeError as e:
        raise SystemExit(str(e)) from None
    return serve


def _detach(env: dict[str, str], params: Path, timeout: float = 60) -> dict[str, Any]:
    """Hand a campaign to the served deployment; asked again while it is not READY (exit 2:
    the runner has not polled yet). The ``started`` event: flow run, process, Prefect API."""
    deadline = time.monotonic() + timeout
    while True:
        r = _call(env, "run", "campaign", "--params", f"@{params}", "--detach", "--json")
        if r.returncode == 0:
            return dict(json.loads(r.stdout.splitlines()[0]))
        if r.returncode != 2 or time.monotonic() > deadline:
            raise SystemExit(f"mktflow run campaign --detach: {r.stderr}")
        time.sleep(2)


def _work_item(env: dict[str, str], process: str, wanted: Callable[[dict[str, Any]], bool],
               timeout: float = 120) -> dict[str, Any]:
    """The first work item of ``process`` (``P-n``) that is ``wanted``, once there is one: ref,
    step_key, created_at, completed_at (ISO texts), read straight from the folder's database
    (a ``mktflow process show`` process per look would load the machine while the re-run is
    timed)."""
    process_id = int(process.removeprefix("P-"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _read(env, "SELECT id, step_key, created_at, completed_at FROM workitem "
                          "WHERE process_id = :p ORDER BY id", p=process_id)
        for row in rows:
            item = {"ref": f"W-{row[0]}", "step_key": row[1], "created_at": _iso(row[2]),
                    "completed_at": _iso(row[3])}
            if wanted(item):
                return item
        time.sleep(0.02)
    raise SystemExit(f"{process}: the step never came")


def _read(env: dict[str, str], sql: str, **params: Any) -> list[Any]:
    """Rows of the folder's mktflow database: ``MKTFLOW_DATABASE_URL`` when the folder names
    one (``--database postgresql``), else its SQLite file."""
    from bench._records import rows

    url = env.get("MKTFLOW_DATABASE_URL") or \
        f"sqlite:///{Path(env['MKTFLOW_DATA_DIR']) / 'mktflow.db'}"
    return [tuple(r.values()) for r in rows(url, sql, **params)]


def _iso(value: Any) -> Any:
    """A timestamp column's value as an ISO text (SQLite gives text, PostgreSQL a datetime)."""
    return value.isoformat() if isinstance(value, datetime) else value


@contextmanager
def _folder(database: str) -> Iterator[dict[str, str]]:
    """``_data_folder`` on ``database``: ``postgresql`` puts mktflow's database and the local
    Prefect server's on two scratch PostgreSQL databases (dropped afterwards)."""
    if database == "sqlite":
        with _data_folder() as env:
            yield env
        return
    from bench._records import postgresql_folder

    with postgresql_folder() as env:
        yield env


def _is(ref: str, item: dict[str, Any]) -> bool:
    return bool(item["ref"] == ref)


def _rerun(run: dict[str, Any], committed: str, created: str) -> dict[str, float]:
    """Where the time from the commit to the next step went, by the run's Prefect states
    after the commit: the door's resume call (-> Scheduled "Resuming") -> the runner took it
    (Pending: woken by the event, or at its poll) -> the
    re-run's process runs the flow (Running: started, Prefect and the flow imported) -> the
    flow, run again from the top, created the step."""
    import httpx

    states = httpx.get(f"{run['prefect_api']}/flow_run_states/",
                       params={"flow_run_id": run["flow_run_id"]}).json()
    after = sorted((_at(s["timestamp"]), s["type"]) for s in states
                   if _at(s["timestamp"]) >= _at(committed))
    at = {kind: next(t for t, k in after if k == kind)
          for kind in ("SCHEDULED", "PENDING", "RUNNING")}
    return {"commit_to_resumed": at["SCHEDULED"] - _at(committed),
            "resumed_to_pickup": at["PENDING"] - at["SCHEDULED"],
            "pickup_to_running": at["RUNNING"] - at["PENDING"],
            "running_to_step": _at(created) - at["RUNNING"]}


def served(runs: int, shared: tuple[dict[str, str], subprocess.Popen[bytes]] | None = None
           ) -> dict[str, Any]:
    """N campaigns of the served deployment: each one's plan answered, then its approval
    (on ``shared``: that data folder and its running ``mktflow serve``, left running)."""
    from bench._records import interrupt, runner_poll

    figures = Figures()
    folder_env = nullcontext(shared[0]) if shared is not None else _data_folder()
    with folder_env as env:
        folder = Path(env["MKTFLOW_DATA_DIR"])
        serve = shared[1] if shared is not None else _serve(env, folder / "serve.log")
        try:
            for n in range(runs):
                params = folder / f"campaign-{n}.json"
                params.write_text(_mktflow(env, "run", "campaign", "--example"), "utf-8")
                run = _detach(env, params)
                process = run["process"]
                plan = _work_item(env, process, lambda w: w["step_key"] == "plan-1")
                _paused(run["prefect_api"], run["flow_run_id"], "plan-1")
                exited = figures.complete(env, plan["ref"])
                done = _work_item(env, process, functools.partial(_is, plan["ref"]))
                committed = figures.committed(exited, done["completed_at"])
                approval = _work_item(env, process,
                                      lambda w: w["step_key"].startswith("approval-"))
                created = approval["created_at"]
                figures.next_step.append(_at(created) - _at(committed))
                for part, seconds in _rerun(run, committed, created).items():
                    figures.parts.setdefault(part, []).append(seconds)
        finally:
            if shared is None:
                interrupt(serve)
    return figures.report(mode="served", runs=runs, poll_setting="MKTFLOW_RUNNER_POLL_S",
                          poll_interval_s=runner_poll())


# --- the served hand-back's baseline: a bare Prefect flow, resumed by resume_flow_run -------


def _marks(mark: Path) -> list[float]:
    return [float(line) for line in mark.read_text("utf-8").split()] if mark.exists() else []


def bare(runs: int, env: dict[str, str], proc: subprocess.Popen[bytes] | None = None
         ) -> dict[str, Any]:
    """The baseline of the served hand-back: N runs of a bare Prefect flow served on the same
    Prefect server (``bench._bare_flow``), each suspended at ``step-1`` and resumed by
    Prefect's ``resume_flow_run``; resume call -> its next task started, split like
    ``served``'s (the states after the resume)."""
    import httpx
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from bench._records import bare_deployment, bare_serve, interrupt, runner_poll

    folder = Path(env["MKTFLOW_DATA_DIR"])
    api_url = json.loads(_mktflow(env, "server", "start", "--json"))["api_url"]
    proc = proc or bare_serve(env)
    figures = Figures()
    try:
        deployment = bare_deployment(proc, api_url, folder / "bare-serve.log")
        for n in range(runs):
            mark = folder / f"bare-{n}.marks"
            made = httpx.post(f"{api_url}/deployments/{deployment}/create_flow_run",
                              json={"parameters": {"mark": str(mark)}})
            made.raise_for_status()
            run_id = made.json()["id"]
            _paused(api_url, run_id, "step-1", timeout=120)
            resumed = clocks.now()
            with temporary_settings({PREFECT_API_URL: api_url}):
                resume_flow_run(run_id)
            deadline = time.monotonic() + 120
            while not _marks(mark):
                if time.monotonic() > deadline:
                    raise SystemExit(f"bare run {run_id} never reached its next step")
                time.sleep(0.02)
            at = _marks(mark)[0]
            figures.next_step.append(at - resumed.timestamp())
            created = datetime.fromtimestamp(at, UTC).isoformat()
            run = {"prefect_api": api_url, "flow_run_id": run_id}
            for part, seconds in _rerun(run, resumed.isoformat(), created).items():
                figures.parts.setdefault(part, []).append(seconds)
    finally:
        interrupt(proc)
    return {"mode": "bare", "runs": runs, "poll_interval_s": runner_poll(),
            "next_step_s": _stats(figures.next_step),
            "next_step_parts_s": {k: _stats(v) for k, v in figures.parts.items()}}


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """Benchmark 5 for ``python -m bench``: the paused and the served hand-back, and the
    served one's baseline (a bare Prefect flow served on the same server, ``bare``).

    Quick: 2 paused steps, 1 served campaign, 1 bare run; full: 100 paused steps, 30 served
    campaigns (each costs about 6 s: a detached start, its first run to the plan, the answer,
    the re-run to the approval) and 30 bare runs. Targets: next step p50 <= 1.5 s paused
    (issue 8); served p95 <= 1 s (issue 22, target 2), against the bare flow's p95 in the same
    run; ``work complete`` exits within 1 s of its commit (issue 8).
    """
    sys.path.insert(0, str(ROOT))
    from bench._records import bare_serve, interrupt, record, shared_folder, shared_serve, write

    env = shared_folder()
    booting = bare_serve(env)  # the baseline's runner boots meanwhile
    try:
        pause = paused(2 if quick else 100, None, env)
        serve = served(1 if quick else 30, (env, shared_serve()))
        base = bare(1 if quick else 30, env, booting)
    finally:
        interrupt(booting)
    write(out, "handback", {"paused": pause, "served": serve, "bare": base})
    nxt, srv, bsv = pause["next_step_s"], serve["next_step_s"], base["next_step_s"]
    poll, rpoll = pause["poll_interval_s"], serve["poll_interval_s"]

    def split(parts: dict[str, dict[str, float]]) -> str:
        return ", ".join(f"{k} p50 {v['p50']:.2f} s" for k, v in parts.items())

    return [
        record("handback-paused", figure=nxt["p50"], unit="s (p50)", baseline=poll,
               baseline_name="paused-step poll interval (MKTFLOW_STEP_POLL_INTERVAL_S)",
               target="<= 1.5 s (issue 8)", database="sqlite",
               notes=(f"`work complete` commit -> next step in its queue, paused run, "
                      f"{nxt['n']} steps: p50 {nxt['p50']:.2f} s, p95 {nxt['p95']:.2f} s, max "
                      f"{nxt['max']:.2f} s")),
        record("handback-served", figure=srv["p95"], unit="s (p95)", baseline=bsv["p95"],
               baseline_name=("bare Prefect flow served on the same server (flow.serve's "
                              "Runner, same poll), resume_flow_run -> its next task, p95"),
               target="<= 1 s (issue 22, target 2)", database="sqlite",
               notes=(f"`mktflow work complete` commit -> the approval step in its queue, "
                      f"campaign suspended at its plan under `mktflow serve` (runner poll "
                      f"{rpoll:g} s), {srv['n']} campaigns: p50 {srv['p50']:.2f} s, p95 "
                      f"{srv['p95']:.2f} s, max {srv['max']:.2f} s; "
                      f"{split(serve.get('next_step_parts_s', {}))}. Bare, {bsv['n']} runs: "
                      f"p50 {bsv['p50']:.2f} s, p95 {bsv['p95']:.2f} s, max {bsv['max']:.2f} s; "
                      f"{split(base['next_step_parts_s'])}")),
        record("handback-complete", figure=pause["commit_to_exit_s"]["p50"], unit="s (p50)",
               baseline=pause["work_complete_s"]["p50"],
               baseline_name="the whole `mktflow work complete` process, p50",
               target="<= 1 s (issue 8)", database="sqlite",
               notes=(f"`mktflow work complete` (as a process, paused run): its commit -> its "
                      f"exit, p95 {pause['commit_to_exit_s']['p95']:.2f} s; the whole command "
                      f"p95 {pause['work_complete_s']['p95']:.2f} s")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--served", action="store_true",
                        help="runs of the served campaign deployment, suspended at each step")
    parser.add_argument("--bare", action="store_true",
                        help="with --served: also the baseline, a bare Prefect flow served on "
                             "the same server and resumed by resume_flow_run")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps of the paused run (5); campaigns when --served (3)")
    parser.add_argument("--poll", type=float, default=None,
                        help="MKTFLOW_STEP_POLL_INTERVAL_S of the paused run")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="with --served: mktflow's and the local Prefect server's database")
    parser.add_argument("--child", nargs=2, metavar=("KEY", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if args.served and args.poll is not None:
        parser.error("--poll is the paused run's; mktflow serve's runner polls every "
                     "MKTFLOW_RUNNER_POLL_S (settings)")
    sys.path.insert(0, str(ROOT))  # run as a script: bench._records, bench._bare_flow
    if args.served:
        from bench._records import interrupt

        with _folder(args.database) as env:
            serve = _serve(env, Path(env["MKTFLOW_DATA_DIR"]) / "serve.log")
            try:
                result = {"database": args.database,
                          "served": served(args.steps or 3, (env, serve))}
            finally:
                interrupt(serve)
            if args.bare:
                result["bare"] = bare(args.steps or 3, env)
    else:
        if args.database != "sqlite":
            parser.error("--database is --served's: the paused run reads its SQLite file")
        result = paused(args.steps or 5, args.poll)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
