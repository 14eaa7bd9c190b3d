"""Benchmark of the hand-back: how fast an answered step reaches its paused flow run.

    .venv/bin/python bench/handback.py [--steps 5] [--poll SECONDS]

On a fresh data folder (its own SQLite database and local Prefect server, stopped afterwards)
a flow of N one-field human steps runs paused in a child process, like ``mktflow run``. Each
step is answered with ``mktflow work complete W-n --as MEMBER`` (no --data: the draft) as a
whole process. Prints JSON:

* ``work_complete_s``: wall time of that process (start to exit), p50 / p95 / max;
* ``commit_to_exit_s``: from the completion's commit (its completed_at) to the process's exit;
* ``next_step_s``: from a completion's commit to the next step's creation (in its queue).

``--poll`` sets MKTFLOW_STEP_POLL_INTERVAL_S for the paused run (default: mktflow's default).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MEMBER = "olga.petrova@example.com"
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


def _mktflow(env: dict[str, str], *args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "mktflow.cli", *args], env=env, text=True,
                       capture_output=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"mktflow {' '.join(args)}: {r.stderr}")
    return r.stdout


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


def _paused(api_url: str, flow_run_id: str, key: str, timeout: float = 60) -> None:
    """Wait until the run waits for ``key`` (a person answers a step the UI shows paused)."""
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


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3),
            "max": round(ordered[-1], 3), "n": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--poll", type=float, default=None)
    parser.add_argument("--child", nargs=2, metavar=("KEY", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MKTFLOW_", "PREFECT_"))}
        env |= {"MKTFLOW_DATA_DIR": tmp, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PYTHONPATH": str(ROOT)}
        if args.poll is not None:
            env["MKTFLOW_STEP_POLL_INTERVAL_S"] = str(args.poll)
        _mktflow(env, "db", "upgrade")
        _mktflow(env, "org", "load", "--demo")
        api_url = json.loads(_mktflow(env, "server", "start", "--json"))["api_url"]
        key = f"BENCH-{uuid.uuid4().hex[:6]}"
        run = subprocess.Popen([sys.executable, __file__, "--child", key, str(args.steps)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall: list[float] = []
        to_exit: list[float] = []
        next_step: list[float] = []
        previous: dict[str, Any] = {}
        try:
            for i in range(args.steps):
                step = _step(env, key, i)
                if i:
                    next_step.append(_at(step["created_at"]) - _at(previous["completed_at"]))
                _paused(api_url, step["flow_run_id"], f"step-{i}")
                start = time.monotonic()
                _mktflow(env, "work", "complete", f"W-{step['id']}", "--as", MEMBER)
                wall.append(time.monotonic() - start)
                end = time.time()
                previous = _step(env, key, i)
                to_exit.append(end - _at(previous["completed_at"]))
            run.wait(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
            _mktflow(env, "server", "stop")
    print(json.dumps({"steps": args.steps, "poll_interval_s": args.poll,
                      "work_complete_s": _stats(wall), "commit_to_exit_s": _stats(to_exit),
                      "next_step_s": _stats(next_step) if next_step else None}, indent=2))


if __name__ == "__main__":
    main()
