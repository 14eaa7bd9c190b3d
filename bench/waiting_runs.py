"""Benchmark 7, many waiting runs: N campaigns suspended at a step under ``mktflow serve``.

    .venv/bin/python -m bench.waiting_runs [--runs 1000] [--real 50] [--batch 20]

``mktflow serve --only campaign --no-api`` runs on a data folder with its local Prefect server
(SQLite for both, the embedded default). Before any run, 1,000 plain work items (as many as the
runs asked, when fewer) are put in the supply queue (which no campaign touches). Then:

1. **idle**: the resident memory and process count of serve and its children, p95 of the
   supply inbox (a page of 50, 50 calls), and the CPU the local Prefect server uses when
   nothing is asked of it (cores, over ``QUIET_S``);
2. ``--real`` campaigns are handed to the served deployment (``run_process(..., detach=True)``,
   what ``mktflow run campaign --detach`` does) in batches of ``--batch``; each batch waits
   until every run of it is suspended at its plan (``plan-1``: Prefect state PAUSED, no process
   held); memory and processes are sampled meanwhile (the peak). Their pace (seconds per run)
   is what 10,000 real ones would cost to start: hours on two cores, so
3. the rest up to ``--runs`` are **seeded**: left as a run suspended at its plan leaves them
   without running their flow: a flow run of the served deployment created straight in the
   real runs' Suspended state (same pause key, same state details), and the process instance
   and plan step that the flow's first tasks make, by the same engine commands with the real
   plan step's fields. Serve's runner and the inbox see them as they see real ones (a
   suspended run is rows in both databases, nothing else). Seeding stops after
   ``SEED_BUDGET_S`` (the records say how many were made);
4. **waiting**: the same measures with every run suspended, plus the marketing inbox
   (a plan step per run); then five real runs are answered with ``mktflow work complete``
   and the time from each commit to its next step (the approval) is recorded: the hand-back
   with all of them waiting.

Figures vs idle: memory ratio (target <= 1.1), process count ratio (target <= 1.0: no process
per waiting run) and the supply inbox p95 ratio (target <= 1.2: unchanged, within the noise of
a shared machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mktflow.domain import clock as clocks

NAME = "waiting-runs"
ROOT = Path(__file__).resolve().parent.parent
HEAD = "ana.torres@example.com"
#: Open items in the supply queue (no campaign touches it; fewer when fewer runs are asked):
#: the inbox timed before and after.
SUPPLY = 1000
#: The most seconds spent seeding waiting runs (the full mode's whole run stays under 25 min).
SEED_BUDGET_S = 720
OWNER = "olga.petrova@example.com"  # the example campaign's owner, assignee of its plan
#: Seconds over which the local Prefect server's CPU is read with nothing asked of it, before
#: any run and with every run waiting (2 s in the quick mode).
QUIET_S = 30


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


def _start_real(api: Any, serve_pid: int, example: dict[str, Any], real: int, batch: int,
                tag: str, peak: dict[str, Any]) -> dict[str, Any]:
    """Hand ``real`` campaigns to the served deployment in batches of ``batch`` and wait until
    each batch is suspended at its plan; ``peak`` (processes, rss_mib) is raised meanwhile."""
    from bench._records import process_tree
    from mktflow.prefect.runner import run_process

    idle_processes = process_tree(serve_pid)["processes"]
    ids: list[str] = []
    batches: list[float] = []
    settle: list[float] = []  # from a batch's last suspension to its last process's exit
    started = time.monotonic()
    while len(ids) < real:
        t0 = time.monotonic()
        mine: list[str] = []
        for _ in range(min(batch, real - len(ids))):
            params = {**example, "code": f"WAIT-{tag}-{len(ids) + len(mine)}"}
            mine.append(_detach(run_process, params))
        deadline = time.monotonic() + 120 + 30 * len(mine)
        while _suspended(api, mine) < len(mine):
            now = process_tree(serve_pid)
            peak.update({k: max(peak[k], now[k]) for k in ("processes", "rss_mib")})
            if time.monotonic() > deadline:
                raise RuntimeError(f"runs not suspended in time: {mine}")
            time.sleep(0.5)
        suspended_at = time.monotonic()
        while process_tree(serve_pid)["processes"] > idle_processes:
            if time.monotonic() > deadline:  # a process per waiting run: measured below
                break
            time.sleep(0.25)
        settle.append(time.monotonic() - suspended_at)
        ids.extend(mine)
        batches.append(time.monotonic() - t0)
    total = time.monotonic() - started
    return {"ids": ids, "start_seconds": total, "batch_seconds": batches,
            "exit_after_suspend_s": settle, "per_run_s": total / max(real, 1)}


def _seed(api: Any, model_run: str, seeded: int, tag: str, budget_s: float
          ) -> dict[str, Any]:
    """``seeded`` more campaigns left as a run suspended at its plan leaves them, without
    running their flow: a flow run of the served deployment created straight in the state of
    the real run ``model_run`` (Suspended, pause key plan-1, to be rescheduled), the process
    instance and its plan-1 step (the engine's commands, with the real run's plan step's
    fields). What serve and the inbox see of them is what they see of a real one. Stops
    creating after ``budget_s`` seconds (the count made is returned)."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from mktflow import bootstrap
    from mktflow.engine import work
    from mktflow.engine.processes import start_process
    real = api.get(f"/flow_runs/{model_run}").json()
    state = real["state"]
    details = {k: v for k, v in (state.get("state_details") or {}).items()
               if k in ("pause_key", "pause_reschedule", "pause_timeout", "untrackable_result")}
    proc = _row("SELECT * FROM processinstance WHERE flow_run_id = :run", run=model_run)
    plan = _row("SELECT * FROM workitem WHERE process_id = :p AND step_key = 'plan-1'",
                p=proc["id"])
    params = _json(proc["params"])
    busy = [0]
    deadline = time.monotonic() + budget_s

    def create(code: str) -> str | None:
        """The Prefect flow run of one seeded campaign (None: out of time)."""
        for attempt in range(20):  # 503: the server's SQLite was busy; asked again
            if time.monotonic() > deadline:
                return None
            try:
                created = api.post(
                    f"/deployments/{real['deployment_id']}/create_flow_run", json={
                        "parameters": {"request": {**params, "code": code}},
                        "name": f"campaign-{code}", "state": {
                            "type": "PAUSED", "name": state["name"], "state_details": details}})
            except httpx.TransportError:  # the server dropped the connection under load
                busy[0] += 1
                time.sleep(0.5 * (attempt + 1))
                continue
            if created.status_code != 503:
                created.raise_for_status()
                return str(created.json()["id"])
            busy[0] += 1
            time.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"{code}: the Prefect server kept refusing the flow run")

    started = time.monotonic()
    codes = [f"SEED-{tag}-{i}" for i in range(seeded)]
    made = 0
    # one thread creates the flow runs while this one writes the engine's rows (two servers)
    with ThreadPoolExecutor(1) as pool:
        for code, run_id in zip(codes, pool.map(create, codes), strict=True):
            if run_id is None or time.monotonic() > deadline + 60:
                continue
            instance = start_process(bootstrap.engine_uow(), process="campaign",
                                     business_key=code, owner_email=proc["owner_email"],
                                     params={**params, "code": code}, flow_run_id=run_id,
                                     branch=proc["branch"])
            work.create_work_item(  # as the flow does: the process engine's own door
                bootstrap.engine_uow(), actor_email="mktflow", department=plan["department"],
                title=plan["title"], form_schema=_json(plan["form_schema"]),
                form_name=plan["form_name"], description=plan["description"] or "",
                assignee=plan["assignee_email"], priority=plan["priority"],
                process_id=instance.id, step_key="plan-1", branch=plan["branch"],
                excluded=_json(plan["excluded"]) or [],
                draft={**_json(plan["draft"]), "code": code} if plan["draft"] else None)
            made += 1
    return {"seeded": made, "seed_seconds": time.monotonic() - started,
            "seed_retries": busy[0],
            "state": state["name"],
            "state_details": details}


def _hand_back(env_api: Any, ids: list[str], n: int) -> list[float]:
    """Answer the plan of ``n`` real runs with ``mktflow work complete`` (a whole process)
    while every run waits; seconds from each commit to its approval step."""
    seconds = []
    for run_id in ids[:n]:
        found = _row("SELECT p.id AS pid, w.id AS ref FROM processinstance p JOIN workitem w ON "
                     "w.process_id = p.id WHERE p.flow_run_id = :run AND w.step_key = 'plan-1'",
                     run=run_id)
        pid, ref = found["pid"], found["ref"]
        subprocess.run([sys.executable, "-m", "mktflow.cli", "work", "complete", f"W-{ref}",
                        "--as", OWNER], check=True, capture_output=True, timeout=120)
        deadline = time.monotonic() + 60
        while True:
            row = _row("SELECT (SELECT completed_at FROM workitem WHERE id = :ref) AS done, "
                       "created_at FROM workitem WHERE process_id = :p AND step_key LIKE "
                       "'approval-%'", ref=ref, p=pid, missing_ok=True)
            if row:
                seconds.append(_at(row["created_at"]) - _at(row["done"]))
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"W-{ref}: the approval never came")
            time.sleep(0.02)
    return seconds


def _row(sql: str, *, missing_ok: bool = False, **params: Any) -> dict[str, Any] | Any:
    """One row of mktflow's database (the data folder's, SQLite or PostgreSQL) as a dict; None
    when there is none and ``missing_ok``."""
    from bench._records import rows
    from mktflow.config import get_settings

    found = rows(get_settings().resolved_database_url(), sql, **params)
    if not found and not missing_ok:
        raise LookupError(f"no row: {sql} {params}")
    return found[0] if found else None


def _json(value: Any) -> Any:
    """A JSON column's value as read: text on SQLite, already parsed on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def _at(text: Any) -> float:
    """Seconds since the epoch of a timestamp column (text on SQLite, a datetime on
    PostgreSQL)."""
    from datetime import UTC, datetime

    value = text if isinstance(text, datetime) else datetime.fromisoformat(text)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def child(serve_pid: int, runs: int, real: int, batch: int, budget_s: int) -> None:
    """In the data folder's environment: the measurements, printed as JSON."""
    sys.path.insert(0, str(ROOT))
    import httpx

    from bench._records import cpu_share, pct, process_tree
    from mktflow import bootstrap
    from mktflow.engine import work
    from mktflow.prefect.server import connect, local_status

    quiet_s = 2 if runs <= SUPPLY else QUIET_S

    api = httpx.Client(base_url=connect().api_url, timeout=60)
    for i in range(min(SUPPLY, runs)):
        work.create_work_item(bootstrap.uow(), actor_email=HEAD, department="supply",
                              title=f"Bench waiting item {i}", priority=i % 100)
    server = local_status()["pid"]
    _inbox_p95("supply", 5)  # warm-up
    idle = {**process_tree(serve_pid), "supply_inbox_p95_ms": _inbox_p95("supply"),
            "server_cores": cpu_share(server, quiet_s)}
    example = json.loads(subprocess.run(
        [sys.executable, "-m", "mktflow.cli", "run", "campaign", "--example"],
        capture_output=True, text=True, check=True).stdout)["request"]
    peak = {"processes": idle["processes"], "rss_mib": idle["rss_mib"]}
    tag = f"{int(clocks.now().timestamp()) % 100000}"
    started = _start_real(api, serve_pid, example, real, batch, tag, peak)
    seeded = _seed(api, started["ids"][0], runs - real, tag, budget_s) \
        if runs > real else {"seeded": 0}
    time.sleep(3)  # a few runner polls with every run waiting
    waiting = {**process_tree(serve_pid), "supply_inbox_p95_ms": _inbox_p95("supply"),
               "marketing_inbox_p95_ms": _inbox_p95("marketing"),
               "server_cores": cpu_share(server, quiet_s)}
    handed = _hand_back(api, started["ids"], min(5, real))
    print(json.dumps({"runs": real + seeded["seeded"], "asked": runs, "real": real,
                      "batch": batch, "seed_budget_s": budget_s,
                      "inbox": _inbox()[0], "idle": idle, "peak": peak, "waiting": waiting,
                      **{k: v for k, v in started.items() if k != "ids"}, **seeded,
                      "hand_back_s": handed,
                      "hand_back_max_s": max(handed) if handed else None,
                      "hand_back_p50_s": pct(handed, 0.5) if handed else None}))


def measure(runs: int, real: int, batch: int, *, database: str = "sqlite",
            budget_s: int = SEED_BUDGET_S) -> dict[str, Any]:
    """The child's measurements, with the Prefect server's. ``sqlite``: serve on the shared
    bench folder (SQLite for mktflow and the local Prefect server, the embedded default);
    ``postgresql``: a folder of its own whose mktflow database and local Prefect server's
    database are two scratch PostgreSQL databases (issue 22, target 3), dropped afterwards."""
    sys.path.insert(0, str(ROOT))
    from bench._records import shared_folder, shared_serve

    if database == "sqlite":
        return _measured(shared_folder(), shared_serve().pid, runs, real, batch, budget_s)
    from bench._records import mktflow, postgresql_folder, serving

    with postgresql_folder() as env:
        mktflow(env, "server", "start")
        with serving(env) as serve:
            return _measured(env, serve.pid, runs, real, batch, budget_s) | {
                "database": "postgresql"}


def _measured(env: dict[str, str], serve_pid: int, runs: int, real: int, batch: int,
              budget_s: int) -> dict[str, Any]:
    """Run the child in the folder ``env`` beside serve ``serve_pid``; its measurements and
    the local Prefect server's memory before and after."""
    from bench._records import process_tree, server_pid

    server = server_pid(env)
    server_before = process_tree(server)
    r = subprocess.run([sys.executable, "-m", "bench.waiting_runs", "--child", str(serve_pid),
                        str(runs), str(real), str(batch), str(budget_s)], env=env, cwd=ROOT,
                       text=True, capture_output=True, timeout=budget_s + 3000)
    if r.returncode != 0:
        raise RuntimeError(f"waiting runs child failed:\n{r.stderr[-3000:]}")
    result = dict(json.loads(r.stdout.strip().splitlines()[-1]))
    result["prefect_server"] = {"before": server_before, "after": process_tree(server)}
    return result


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """Quick: 1 real run and 5 seeded; full: 10,000 waiting runs, 60 of them real (started
    in batches of 20), the rest seeded (see the module docstring)."""
    from bench._records import write

    m = measure(6, 1, 1) if quick else measure(10_000, 60, 20)
    write(out, NAME, m)
    return _records(m)


def _records(m: dict[str, Any]) -> list[dict[str, Any]]:
    """The three records (memory, processes, inbox) of one measurement ``m``."""
    from bench._records import record

    n, idle, wait, peak = m["runs"], m["idle"], m["waiting"], m["peak"]
    kind = m.get("database", "sqlite")
    cost = m["per_run_s"]
    srv = m["prefect_server"]
    how = (f"{n:,} campaigns waiting at plan-1: {m['real']} real (started in batches of "
           f"{m['batch']}: {m['start_seconds']:.0f} s, {cost:.2f} s per run, so 10,000 real "
           f"would take about {cost * 10_000 / 3600:.1f} h), {m['seeded']:,} seeded in "
           f"{m.get('seed_seconds', 0):.0f} s (a flow run created Suspended like a real one's, "
           f"its process and plan step by the engine)"
           + ("" if n >= m["asked"] else f"; {m['asked']:,} asked, the seeding budget of "
              f"{m.get('seed_budget_s', SEED_BUDGET_S)} s ran out"))
    return [
        record(f"{NAME}-memory", figure=wait["rss_mib"], unit="MiB (serve + children)",
               baseline=idle["rss_mib"], baseline_name="the same serve before any run",
               target="<= 1.1x", database=kind,
               notes=(f"{how}; peak while starting {peak['rss_mib']:.0f} MiB; local Prefect "
                      f"server {srv['before']['rss_mib']:.0f} -> "
                      f"{srv['after']['rss_mib']:.0f} MiB")),
        record(f"{NAME}-processes", figure=wait["processes"], unit="processes (serve + children)",
               baseline=idle["processes"],
               baseline_name="the same serve before any run (serve, its fork server and "
                             "multiprocessing's resource tracker)",
               target="<= 1.0x", database=kind,
               notes=(f"{n:,} campaigns waiting: no process per waiting run; peak while "
                      f"starting {peak['processes']} (one per run being started)")),
        record(f"{NAME}-inbox", figure=wait["supply_inbox_p95_ms"], unit="ms (p95)",
               baseline=idle["supply_inbox_p95_ms"],
               baseline_name=f"the same inbox ({min(SUPPLY, m['asked']):,} open items) before "
                             "any run",
               target="<= 1.2x", database=kind,
               notes=(f"supply inbox ({m['inbox']}) p95 over 50 calls with {n:,} campaigns "
                      f"waiting vs before; marketing inbox ({n:,} plan steps) p95 "
                      f"{wait['marketing_inbox_p95_ms']:.1f} ms; with them all waiting, "
                      f"{len(m['hand_back_s'])} real runs answered by `mktflow work complete`: "
                      f"commit -> approval step p50 {m['hand_back_p50_s']:.2f} s, max "
                      f"{m['hand_back_max_s']:.2f} s; the local Prefect server, asked nothing, "
                      f"used {idle.get('server_cores', 0):.2f} cores before any run and "
                      f"{wait.get('server_cores', 0):.2f} with them all waiting")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="waiting runs in all")
    parser.add_argument("--real", type=int, default=50,
                        help="of them, started for real (the rest seeded)")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="mktflow's and the local Prefect server's database")
    parser.add_argument("--seed-budget", type=int, default=SEED_BUDGET_S,
                        help="the most seconds spent seeding")
    parser.add_argument("--out", type=Path,
                        help="also write the records to this folder (bench/results: then "
                             "rewrite the docs' table with python -m bench.report)")
    parser.add_argument("--child", nargs=5, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    m = measure(args.runs, min(args.real, args.runs), args.batch, database=args.database,
                budget_s=args.seed_budget)
    print(json.dumps(m, indent=2))
    if args.out:
        from bench._records import write

        # as ``python -m bench`` names them (SQLite: the same files), then the docs' table
        suffix = "" if args.database == "sqlite" else f"-{args.database}"
        write(args.out, NAME + suffix, m)
        (args.out / f"waiting_runs{suffix.replace('-', '_')}.json").write_text(
            json.dumps(_records(m), indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
