"""Benchmark 7, many waiting runs: N campaigns suspended at a step under ``mktflow serve``.

    .venv/bin/python -m bench.waiting_runs [--runs 200] [--batch 10]

``mktflow serve --only campaign --no-api`` runs on a data folder with its local Prefect server
(SQLite for both, the embedded default). Before any run, N plain work items are put in the
supply queue (which no campaign touches). Then:

1. **idle**: the resident memory and process count of serve and its children, and p95 of the
   supply inbox (``engine.queries.inbox``, 50 calls);
2. N campaigns are handed to the served deployment (``run_process(..., detach=True)``, what
   ``mktflow run campaign --detach`` does) in batches; each batch waits until every run of it
   is suspended at its plan (``plan-1``: Prefect state PAUSED, no process held); memory and
   processes are sampled meanwhile (the peak);
3. **waiting**: the same three measures with N runs suspended, plus the marketing inbox (N plan
   items).

Figures vs idle: memory ratio (target <= 1.1), process count ratio (target <= 1.0: no process
per waiting run) and the supply inbox p95 ratio (target <= 1.2: unchanged, within the noise of
a shared machine). The per-run start cost (seconds from hand-over to suspended, per run, in
batches) is what bounds N here: 10,000 runs would take that times 10,000.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

NAME = "waiting-runs"
ROOT = Path(__file__).resolve().parent.parent
HEAD = "ana.torres@example.com"


def _inbox() -> tuple[str, Any]:
    """The inbox a person reads: the paged one (a page of 50) where the engine has it."""
    from mktflow import bootstrap

    try:
        from mktflow.engine.inbox import inbox_page  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from mktflow.engine.queries import inbox

        return "queries.inbox (every open item)", lambda d: inbox(bootstrap.uow(), d)
    return "inbox_page (first page of 50)", lambda d: inbox_page(bootstrap.uow(), d)


def _inbox_p95(department: str, calls: int = 50) -> float:
    from bench._records import pct

    call = _inbox()[1]
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        call(department)
        timings.append(time.perf_counter() - started)
    return pct(timings, 0.95) * 1000


def _suspended(client: Any, ids: list[str]) -> int:
    n = 0
    for run_id in ids:
        state = client.get(f"/flow_runs/{run_id}").json().get("state") or {}
        if state.get("type") == "PAUSED" and (
                state.get("state_details") or {}).get("pause_key") == "plan-1":
            n += 1
    return n


def _detach(run_process: Any, params: dict[str, Any], timeout: float = 60) -> str:
    """Hand one campaign to the served deployment (asked again while serve has not polled)."""
    from mktflow.domain.errors import ConfigError

    deadline = time.monotonic() + timeout
    while True:
        try:
            return str(run_process("campaign", params, detach=True)["flow_run_id"])
        except ConfigError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def child(serve_pid: int, runs: int, batch: int) -> None:
    """In the data folder's environment: the measurements, printed as JSON."""
    sys.path.insert(0, str(ROOT))
    import httpx

    from bench._records import process_tree
    from mktflow import bootstrap
    from mktflow.engine import work
    from mktflow.prefect.runner import run_process
    from mktflow.prefect.server import connect

    api = httpx.Client(base_url=connect().api_url, timeout=30)
    for i in range(runs):
        work.create_work_item(bootstrap.uow(), actor_email=HEAD, department="supply",
                              title=f"Bench waiting item {i}", priority=i % 100)
    _inbox_p95("supply", 5)  # warm-up
    idle = {**process_tree(serve_pid), "supply_inbox_p95_ms": _inbox_p95("supply")}
    example = json.loads(subprocess.run(
        [sys.executable, "-m", "mktflow.cli", "run", "campaign", "--example"],
        capture_output=True, text=True, check=True).stdout)["request"]
    peak = dict(idle)
    ids: list[str] = []
    batches: list[float] = []
    settle: list[float] = []  # from a batch's last suspension to its last process's exit
    tag = f"{int(time.time()) % 100000}"
    started = time.monotonic()
    while len(ids) < runs:
        t0 = time.monotonic()
        mine: list[str] = []
        for _ in range(min(batch, runs - len(ids))):
            params = {**example, "code": f"WAIT-{tag}-{len(ids) + len(mine)}"}
            mine.append(_detach(run_process, params))
        deadline = time.monotonic() + 120 + 30 * len(mine)
        while _suspended(api, mine) < len(mine):
            now = process_tree(serve_pid)
            peak = {k: max(peak[k], now[k]) for k in ("processes", "rss_mib")} | {
                "supply_inbox_p95_ms": 0.0}
            if time.monotonic() > deadline:
                raise RuntimeError(f"runs not suspended in time: {mine}")
            time.sleep(0.5)
        suspended_at = time.monotonic()
        while process_tree(serve_pid)["processes"] > idle["processes"]:
            if time.monotonic() > deadline:  # a process per waiting run: measured below
                break
            time.sleep(0.25)
        settle.append(time.monotonic() - suspended_at)
        ids.extend(mine)
        batches.append(time.monotonic() - t0)
    total = time.monotonic() - started
    time.sleep(3)  # the runner polls every 2 s
    waiting = {**process_tree(serve_pid), "supply_inbox_p95_ms": _inbox_p95("supply"),
               "marketing_inbox_p95_ms": _inbox_p95("marketing")}
    print(json.dumps({"runs": runs, "batch": batch, "inbox": _inbox()[0], "idle": idle,
                      "peak": peak, "waiting": waiting, "start_seconds": total,
                      "batch_seconds": batches, "exit_after_suspend_s": settle,
                      "per_run_s": total / runs}))


def measure(runs: int, batch: int) -> dict[str, Any]:
    """Serve on the shared bench folder; the child's measurements, with the Prefect server's."""
    sys.path.insert(0, str(ROOT))
    from bench._records import process_tree, shared_folder, shared_serve

    env = shared_folder()
    serve = shared_serve()
    server_pid = json.loads((Path(env["MKTFLOW_DATA_DIR"]) / "prefect" / "server.json")
                            .read_text("utf-8"))["pid"]
    server_before = process_tree(server_pid)
    r = subprocess.run([sys.executable, "-m", "bench.waiting_runs", "--child", str(serve.pid),
                        str(runs), str(batch)], env=env, cwd=ROOT, text=True,
                       capture_output=True, timeout=7200)
    if r.returncode != 0:
        raise RuntimeError(f"waiting runs child failed:\n{r.stderr[-3000:]}")
    result = dict(json.loads(r.stdout.strip().splitlines()[-1]))
    result["prefect_server"] = {"before": server_before, "after": process_tree(server_pid)}
    return result


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """Quick: 1 run; full: 100 in batches of 10 (each run costs seconds to start: see the
    module docstring)."""
    from bench._records import record, write

    m = measure(1, 1) if quick else measure(100, 10)
    write(out, NAME, m)
    n, idle, wait, peak = m["runs"], m["idle"], m["waiting"], m["peak"]
    cost = m["per_run_s"]
    srv = m["prefect_server"]
    bound = (f"{n} runs took {m['start_seconds']:.0f} s to start and suspend ({cost:.2f} s per "
             f"run in batches of {m['batch']}: each is a new process importing Prefect and the "
             f"flow); 10,000 would take about {cost * 10_000 / 3600:.1f} h at that rate")
    return [
        record(f"{NAME}-memory", figure=wait["rss_mib"], unit="MiB (serve + children)",
               baseline=idle["rss_mib"], baseline_name="the same serve before any run",
               target="<= 1.1x", database="sqlite",
               notes=(f"{n} campaigns suspended at plan-1; peak while starting "
                      f"{peak['rss_mib']:.0f} MiB; local Prefect server "
                      f"{srv['before']['rss_mib']:.0f} -> {srv['after']['rss_mib']:.0f} MiB. "
                      + bound)),
        record(f"{NAME}-processes", figure=wait["processes"], unit="processes (serve + children)",
               baseline=idle["processes"], baseline_name="the same serve before any run",
               target="<= 1.0x", database="sqlite",
               notes=(f"{n} campaigns suspended: no process per waiting run; peak while "
                      f"starting {peak['processes']} (one per run being started)")),
        record(f"{NAME}-inbox", figure=wait["supply_inbox_p95_ms"], unit="ms (p95)",
               baseline=idle["supply_inbox_p95_ms"],
               baseline_name=f"the same inbox ({n} open items) before any run",
               target="<= 1.2x", database="sqlite",
               notes=(f"supply inbox ({m['inbox']}) p95 over 50 calls with {n} campaigns "
                      "suspended vs before; "
                      f"marketing inbox ({n} plan items) p95 "
                      f"{wait['marketing_inbox_p95_ms']:.1f} ms")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(json.dumps(measure(args.runs, args.batch), indent=2))


if __name__ == "__main__":
    main()
