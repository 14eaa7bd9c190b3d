"""Benchmark 4, flow overhead: the campaign flow answered by a driver vs a bare Prefect flow.

    .venv/bin/python -m bench.flow_overhead [--runs 3]

On a fresh data folder and its local Prefect server (``mktflow server start``; both flows run
on that one server, in one child process, like ``mktflow run``), each pair is timed from the
flow's call to its return:

* **figure**: ``flows.campaign.campaign`` with a plan under the marketing head's limit (plan,
  approval, one activity, tracking, evaluation: 5 human steps). A driver thread waits until the
  run is paused on a step (Prefect API) and answers it the way the CLI and REST API do:
  ``engine.work.claim`` when open, then ``engine.steps.complete_step`` (engine transaction, then
  the resume over HTTP).
* **baseline**: a bare ``@flow`` with as many ``@task`` calls as the campaign's run had (counted
  on the server) and as many ``pause_flow_run(wait_for_input=...)`` with the same poll interval,
  the tasks spread between the pauses; the same driver waits for each pause and resumes it with
  one ``POST /flow_runs/{id}/resume`` carrying the input (what the Prefect UI's form sends).

Seconds per run (median over the runs, the two kinds alternating); ratio = campaign / bare;
**target <= 1.3**. Both pay the same pause poll (``MKTFLOW_STEP_POLL_INTERVAL_S``, mktflow's
default) and the same driver wait; what the campaign adds is mktflow: engine writes, the
process record, step creation and completion, persisted task results.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

NAME = "flow-overhead"
ROOT = Path(__file__).resolve().parent.parent
STEPS = 5  # plan, approval, activity, tracking, evaluation: the pauses of one campaign below


class Paused:
    """Reads a flow run's state from the Prefect API: is it paused on a key?"""

    def __init__(self, api_url: str) -> None:
        import httpx

        self.client = httpx.Client(base_url=api_url, timeout=30)

    def key(self, flow_run_id: str) -> str | None:
        """The pause key the run waits on; None while it runs, or when the server did not
        answer this poll in time (a loaded local server: the next poll asks again)."""
        import httpx

        try:
            state = self.client.get(f"/flow_runs/{flow_run_id}").json().get("state") or {}
        except httpx.TimeoutException:
            return None
        if state.get("type") != "PAUSED":
            return None
        return str((state.get("state_details") or {}).get("pause_key"))

    def task_runs(self, flow_run_id: str) -> int:
        r = self.client.post("/task_runs/count", json={
            "flow_runs": {"id": {"any_": [flow_run_id]}}})
        return int(r.json())


def _in_thread(fn: Any, **params: Any) -> tuple[threading.Thread, dict[str, Any]]:
    import contextvars

    box: dict[str, Any] = {}
    ctx = contextvars.copy_context()

    def go() -> None:
        started = time.perf_counter()
        try:
            box["result"] = ctx.run(fn, **params)
        except BaseException as exc:  # reported by the caller
            box["error"] = exc
        box["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread, box


def campaign_once(api: Paused) -> dict[str, Any]:
    """One campaign run to its end, each step answered once the run waits for it."""
    from bench._records import DEPUTY, HEAD, campaign_answer, campaign_plan
    from flows.campaign import campaign
    from mktflow import bootstrap
    from mktflow.engine import work
    from mktflow.engine.queries import process_list, show
    from mktflow.engine.steps import complete_step
    from mktflow.engine.views import ProcessPublic

    code = f"BENCH-{uuid.uuid4().hex[:8]}"
    thread, box = _in_thread(campaign, request={"code": code, "owner": DEPUTY,
                                                "plan": campaign_plan()})
    answered: set[str] = set()
    flow_run_id, ref = "", ""
    while thread.is_alive():
        if not ref:  # the flow's first task creates the process
            ref = next((p.ref for p in process_list(bootstrap.uow())
                        if p.business_key == code), "")
            time.sleep(0.02)
            continue
        view = show(bootstrap.uow(), ref)
        assert isinstance(view, ProcessPublic)
        flow_run_id = view.flow_run_id or ""
        waiting = [w for w in view.work_items
                   if w.state in ("open", "claimed") and w.step_key not in answered]
        key = api.key(flow_run_id) if flow_run_id and waiting else None
        for item in waiting:
            if item.step_key is None or item.step_key != key:
                continue
            actor = item.assignee or HEAD
            if item.state == "open":
                work.claim(bootstrap.uow(), item.id, actor_email=actor)
            complete_step(bootstrap.uow(), item.id, actor_email=actor,
                          data=campaign_answer(item.step_key))
            answered.add(item.step_key)
        time.sleep(0.02)
    thread.join()
    if "error" in box or box["result"].get("outcome") != "evaluated":
        raise RuntimeError(f"campaign {code}: {box.get('error') or box['result']}")
    return {"seconds": box["seconds"], "steps": len(answered),
            "tasks": api.task_runs(flow_run_id)}


def bare_once(api: Paused, tasks: int, pauses: int, poll: float) -> dict[str, Any]:
    """A bare flow of ``tasks`` trivial tasks and ``pauses`` pauses, resumed by the driver."""
    from prefect import flow, task
    from prefect.context import FlowRunContext
    from prefect.flow_runs import pause_flow_run
    from prefect.input import RunInput

    class Ack(RunInput):
        """One field, like a one-field step."""

        ok: bool = True

    @task
    def work_of(i: int) -> int:
        return i

    box_id: dict[str, str] = {}

    @flow(name="bare-bench")
    def bare(tasks: int, pauses: int) -> int:
        ctx = FlowRunContext.get()
        assert ctx is not None and ctx.flow_run is not None
        box_id["id"] = str(ctx.flow_run.id)
        per = [tasks // (pauses + 1) + (1 if i < tasks % (pauses + 1) else 0)
               for i in range(pauses + 1)]
        total = 0
        for p in range(pauses + 1):
            total += sum(work_of(i) for i in range(per[p]))
            if p < pauses:
                every: Any = poll  # typed int; any number of seconds works (steps.py)
                pause_flow_run(wait_for_input=Ack, key=f"step-{p}", timeout=3600,
                               poll_interval=every)
        return total

    thread, box = _in_thread(bare, tasks=tasks, pauses=pauses)
    answered = 0
    while thread.is_alive():
        run_id = box_id.get("id")
        if run_id and api.key(run_id) == f"step-{answered}":
            # one HTTP call, as mktflow's resumer and the Prefect UI's form make it (Prefect's
            # own resume_flow_run from this thread was slower and erratic: 6.4-9.9 s per run)
            r = api.client.post(f"/flow_runs/{run_id}/resume", json={"run_input": {"ok": True}})
            if r.json().get("status") == "ACCEPT":  # else: its input form is not saved yet
                answered += 1
        time.sleep(0.02)
    thread.join()
    if "error" in box:
        raise RuntimeError(f"bare flow: {box['error']!r}")
    return {"seconds": box["seconds"], "steps": answered,
            "tasks": api.task_runs(box_id["id"])}


def child(runs: int, warm_up: bool) -> None:
    """In the data folder's environment: ``runs`` pairs, printed as JSON."""
    sys.path.insert(0, str(ROOT))
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from mktflow.config import get_settings
    from mktflow.prefect.server import connect

    api = Paused(connect().api_url)
    poll = get_settings().step_poll_interval_s
    campaigns: list[dict[str, Any]] = []
    bares: list[dict[str, Any]] = []
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        if warm_up:  # imports, first connections, the server's caches
            campaign_once(api)
        else:  # quick: at least the imports
            import flows.campaign  # noqa: F401
        for _ in range(runs):
            campaigns.append(campaign_once(api))
            bares.append(bare_once(api, campaigns[-1]["tasks"], campaigns[-1]["steps"], poll))
    print(json.dumps({"campaign": campaigns, "bare": bares, "poll_interval_s": poll,
                      "warm_up": warm_up}))


def measure(runs: int, warm_up: bool = True) -> dict[str, Any]:
    """The bench data folder and its local Prefect server; the child's figures."""
    sys.path.insert(0, str(ROOT))
    from bench._records import shared_folder, start_serve

    env = shared_folder()
    if not warm_up:  # quick: serve (benchmarks 5, 7) boots meanwhile; it runs no flow here
        start_serve()
    r = subprocess.run([sys.executable, "-m", "bench.flow_overhead", "--child", str(runs),
                        *(["--no-warm-up"] if not warm_up else [])], env=env,
                       cwd=ROOT, text=True, capture_output=True, timeout=1800)
    if r.returncode != 0:
        # the first traceback says why; what Prefect logs while exiting comes after it
        first = r.stderr.find("Traceback")
        raise RuntimeError("flow overhead child failed:\n"
                           f"{r.stderr[max(first, 0):][:3000]}\n...\n{r.stderr[-1500:]}")
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """Quick: one pair, no warm-up run; full: 5 pairs after a warm-up campaign."""
    from bench._records import record, write

    m = measure(1, warm_up=False) if quick else measure(5)
    write(out, NAME, m)
    camp = statistics.median(c["seconds"] for c in m["campaign"])
    bare = statistics.median(b["seconds"] for b in m["bare"])
    c0 = m["campaign"][0]
    camps = ", ".join(f"{c['seconds']:.2f}" for c in m["campaign"])
    bares = ", ".join(f"{b['seconds']:.2f}" for b in m["bare"])
    return [record(
        NAME, figure=camp, unit="s per run (median)", baseline=bare,
        baseline_name=f"bare Prefect flow, {c0['tasks']} tasks and {c0['steps']} pauses",
        target="<= 1.3x", database="sqlite",
        notes=(f"campaign with {c0['steps']} human steps answered by a driver "
               f"(claim + complete_step) vs a bare flow with the same task and pause count "
               f"resumed by POST /flow_runs/{{id}}/resume; same local Prefect server, pause poll "
               f"{m['poll_interval_s']:g} s; {len(m['campaign'])} pair(s)"
               f"{' after a warm-up campaign' if m['warm_up'] else ''}: "
               f"campaign {camps} s, bare {bares} s"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-warm-up", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, not args.no_warm_up)
        return
    print(json.dumps(measure(args.runs), indent=2))


if __name__ == "__main__":
    main()
