"""Resumes from the Prefect UI on a loaded machine: the local Prefect server on SQLite.

    .venv/bin/python -m bench.resume_load [--runs 20] [--load 4]

The Prefect UI resumes a paused run with ``POST /flow_runs/{id}/resume`` carrying the form's
input. On a busy machine, Prefect's own server on SQLite refuses some of them ("database is
locked", HTTP 503: the person sees "Oops. Something went wrong." and must press Submit again).

Each server is started on a fresh folder and SQLite database; ``--runs`` flow runs (a flow with
one ``pause_flow_run(wait_for_input=...)``, in processes of their own) pause on it; ``--load``
busy-loop processes load the machine (load average >= 4 on 2 cores); then every run is resumed
at once, as that many people pressing Submit together:

* **figure**: resumes answered 2xx by the local server mktflow starts
  (``python -m mktflow.prefect.local_server``, with ``mktflow.prefect.patches``);
* **baseline**: the same against ``prefect server start`` as Prefect ships it.

Share of resumes accepted (1.0: none refused); ratio = figure / baseline; **target: 1.0**
(every resume accepted). The server log's "database is locked" lines are counted too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench._kit import record
from mktflow.notify.testing import free_port

NAME = "resume-load"

_FLOW = '''
import sys
from prefect import flow
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput

class Answer(RunInput):
    note: str = ""

@flow(name="resume-load")
def waits(i: int) -> str:
    return pause_flow_run(wait_for_input=Answer, timeout=900, poll_interval=1).note

if __name__ == "__main__":
    waits(int(sys.argv[1]))
'''


def _env(home: Path, api: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MKTFLOW_"))}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    if api:
        env["PREFECT_API_URL"] = api
    return env


def _wait(what: str, probe: Any, timeout: float, *, fail: bool = True) -> Any:
    """``probe()`` once it is truthy, polled every half second; after ``timeout`` seconds a
    RuntimeError naming ``what`` (or None when not ``fail``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
            if found:
                return found
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            if not fail:
                return None
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


def trial(server: str, runs: int, load: int) -> dict[str, Any]:
    """One server (``mktflow`` or ``prefect``): start it, pause ``runs`` runs, load the
    machine, resume them all at once; what was accepted, refused and logged."""
    module = "mktflow.prefect.local_server" if server == "mktflow" else "prefect"
    with tempfile.TemporaryDirectory(prefix=f"mktflow-resume-{server}-") as tmp:
        home, port = Path(tmp), free_port()
        api = f"http://127.0.0.1:{port}/api"
        (home / "flow.py").write_text(_FLOW, "utf-8")
        log = home / "server.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, *(["server"] if server == "prefect" else []),
                 "start", "--host", "127.0.0.1", "--port", str(port)],
                env=_env(home), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        flows: list[subprocess.Popen[bytes]] = []
        busy: list[subprocess.Popen[bytes]] = []
        try:
            _wait("the Prefect server", lambda: httpx.get(f"{api}/health", timeout=5)
                  .status_code == 200, 180)
            flows = [subprocess.Popen([sys.executable, str(home / "flow.py"), str(i)],
                                      env=_env(home, api), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for i in range(runs)]
            paused = _wait(f"{runs} paused runs", lambda: (lambda r: r if len(r) >= runs
                                                           else None)(httpx.post(
                f"{api}/flow_runs/filter", timeout=30, json={
                    "flow_runs": {"state": {"name": {"any_": ["Paused"]}}}}).json()), 300)
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(load)]
            if busy:
                time.sleep(5)  # let the load average climb before the resumes
            load_at = os.getloadavg()[0]
            statuses: list[int] = []
            accepted_ids: list[str] = []
            lock = threading.Lock()

            def resume(run_id: str) -> None:
                try:
                    status = httpx.post(f"{api}/flow_runs/{run_id}/resume", timeout=120,
                                        json={"run_input": {"note": "answered"}}).status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    statuses.append(status)
                    if 200 <= status < 300:
                        accepted_ids.append(run_id)

            threads = [threading.Thread(target=resume, args=(r["id"],)) for r in paused]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for b in busy:
                b.kill()
            busy = []
            # the runs whose resume was accepted finish; a refused one stays paused and is
            # not waited for (its process is stopped below)
            _wait("the resumed runs to finish", lambda: all(
                httpx.get(f"{api}/flow_runs/{run_id}", timeout=30).json()["state"]["type"]
                in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
                for run_id in accepted_ids), 120, fail=False)
        finally:
            for p in (*busy, *flows):
                p.kill()
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        locked = log.read_text("utf-8", "replace").count("database is locked")
    accepted = sum(1 for s in statuses if 200 <= s < 300)
    return {"server": server, "runs": runs, "accepted": accepted,
            "refused": len(statuses) - accepted, "locked_lines": locked,
            "load": round(load_at, 1)}


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """The bench contract (``python -m bench``): the quick mode pauses 3 runs, adds no load of
    its own and runs both servers at once (it checks the benchmark runs and reports; the suite
    around it is load enough, and busy loops there would slow every other test)."""
    runs, load = (3, 0) if quick else (20, 4)
    if not quick:  # one server at a time: each trial's load is its own
        return _records(trial("mktflow", runs, load), trial("prefect", runs, load), out)
    # quick: the two servers side by side (no load of their own; half the suite's wait)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        ours, bare = pool.map(lambda server: trial(server, runs, load), ("mktflow", "prefect"))
    return _records(ours, bare, out)


def _records(ours: dict[str, Any], bare: dict[str, Any], out: Path) -> list[dict[str, Any]]:
    (out / f"{NAME}.detail.json").write_text(json.dumps([ours, bare], indent=2) + "\n", "utf-8")
    share = ours["accepted"] / ours["runs"]
    # a baseline that refused every resume would divide by nothing: count it as one accepted
    base = max(bare["accepted"], 1) / bare["runs"]
    return [record(
        "resume_load.ui_resumes_accepted", figure=share, unit="share accepted",
        baseline=base, baseline_name="prefect server start as shipped (SQLite)",
        target="1.0 (none refused)", met=ours["refused"] == 0, database="sqlite",
        notes=(f"{ours['runs']} paused runs resumed at once at load {ours['load']} (ours) / "
               f"{bare['load']} (baseline): refused {ours['refused']} vs {bare['refused']}; "
               f"'database is locked' in the log {ours['locked_lines']} vs "
               f"{bare['locked_lines']}"))]


def main(argv: list[str] | None = None) -> None:
    """Run both trials and print the records."""
    parser = argparse.ArgumentParser(prog="python -m bench.resume_load")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--load", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as out:
        print(json.dumps(_records(trial("mktflow", args.runs, args.load),
                                  trial("prefect", args.runs, args.load), Path(out)),
                         indent=2))


if __name__ == "__main__":
    main()
