"""Shared by benchmarks 4-7 (flow overhead, hand-back, relay, waiting runs): ``met`` from a
target, percentiles, data folders, one local Prefect server and ``mktflow serve`` per run.

Records are ``bench._kit.record``'s (see ``bench/__main__.py`` for the contract).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def record(name: str, *, figure: float, unit: str, baseline: float, baseline_name: str,
           target: str, database: str, notes: str) -> dict[str, Any]:
    """One result (``bench._kit.record``), ``met`` decided by ``target``: ``"<= 1.3x"`` /
    ``">= 0.7x"`` compare the ratio (figure / baseline), ``"<= 1.5 s"`` the figure itself
    (a target in the figure's unit, e.g. seconds)."""
    from bench._kit import record as kit_record

    op, bound = target.split()[:2]
    value = figure / baseline if bound.endswith("x") else figure
    limit = float(bound.rstrip("x"))
    met = value <= limit if op == "<=" else value >= limit
    return kit_record(name, figure=figure, unit=unit, baseline=baseline,
                      baseline_name=baseline_name, target=target, met=met, database=database,
                      notes=notes)


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def p50(values: list[float]) -> float:
    return float(statistics.median(values))


def write(out: Path, name: str, detail: dict[str, Any]) -> None:
    """The raw measurements behind a module's records, beside its results."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.detail.json").write_text(json.dumps(detail, indent=2) + "\n", "utf-8")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without MKTFLOW_/PREFECT_ variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MKTFLOW_", "PREFECT_"))}
    return env | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT),
                  **extra}


def mktflow(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """``mktflow ARGS`` as a whole process; its stdout (exits with its stderr on failure)."""
    r = subprocess.run([sys.executable, "-m", "mktflow.cli", *args], env=env, text=True,
                       capture_output=True, timeout=timeout, cwd=ROOT)
    if r.returncode != 0:
        raise RuntimeError(f"mktflow {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


@contextmanager
def data_folder(**extra: str) -> Iterator[dict[str, str]]:
    """The environment of a fresh data folder (migrated, demo organisation), removed after;
    its local Prefect server is stopped if one was started."""
    with tempfile.TemporaryDirectory(prefix="mktflow-bench-") as tmp:
        env = clean_env(MKTFLOW_DATA_DIR=tmp, **extra)
        mktflow(env, "db", "upgrade")
        mktflow(env, "org", "load", "--demo")
        try:
            yield env
        finally:
            subprocess.run([sys.executable, "-m", "mktflow.cli", "server", "stop"], env=env,
                           capture_output=True, timeout=120, cwd=ROOT)


@contextmanager
def postgresql_folder() -> Iterator[dict[str, str]]:
    """``data_folder`` whose mktflow database and local Prefect server's database are two
    scratch PostgreSQL databases (``bench._kit.database``), dropped afterwards (issue 22,
    targets 2-3: PostgreSQL for both)."""
    from bench._kit import database

    with database("postgresql") as ours, database("postgresql") as prefects, data_folder(
            MKTFLOW_DATABASE_URL=ours, PREFECT_API_DATABASE_CONNECTION_URL=prefects.replace(
                "postgresql://", "postgresql+asyncpg://", 1)) as env:
        yield env


_ENGINES: dict[str, Any] = {}


def rows(url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of ``sql`` on mktflow's database at ``url`` (SQLite or PostgreSQL), as dicts;
    one engine per URL for the process (a benchmark polls while it times)."""
    from sqlalchemy import text

    from mktflow.config import normalise_database_url
    from mktflow.store.db import engine_for

    if url not in _ENGINES:
        _ENGINES[url] = engine_for(normalise_database_url(url))
    with _ENGINES[url].connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


# --- one data folder, local Prefect server and `mktflow serve` for the whole bench run --------
#
# Starting a local Prefect server costs about 15 s and `mktflow serve` about as much again on
# this machine: the flow benchmarks (4, 5, 7) share one of each per process (quick mode fits
# its budget that way), stopped when the process exits.

_shared: dict[str, Any] = {}


def shared_folder() -> dict[str, str]:
    """The environment of this process's bench data folder, its local Prefect server up."""
    if "env" not in _shared:
        import atexit
        import shutil

        tmp = tempfile.mkdtemp(prefix="mktflow-bench-")
        env = clean_env(MKTFLOW_DATA_DIR=tmp)
        mktflow(env, "db", "upgrade")
        mktflow(env, "org", "load", "--demo")
        mktflow(env, "server", "start")
        _shared["env"] = env

        def cleanup() -> None:
            stop_serve()
            subprocess.run([sys.executable, "-m", "mktflow.cli", "server", "stop"], env=env,
                           capture_output=True, timeout=120, cwd=ROOT)
            shutil.rmtree(tmp, ignore_errors=True)

        atexit.register(cleanup)
    return dict(_shared["env"])


def start_serve() -> subprocess.Popen[bytes]:
    """Start ``mktflow serve --only campaign --no-api`` on the shared folder without waiting
    for it (it boots while another benchmark runs); ``shared_serve`` waits."""
    serve: subprocess.Popen[bytes] | None = _shared.get("serve")
    if serve is not None and serve.poll() is None:
        return serve
    serve = _serve_in(shared_folder())
    _shared["serve"] = serve
    return serve


def _serve_in(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``mktflow serve --only campaign --no-api`` on the data folder ``env``, started (its
    output to the folder's ``serve.log``)."""
    with open(Path(env["MKTFLOW_DATA_DIR"]) / "serve.log", "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "mktflow.cli", "serve", "--only",
                                 "campaign", "--no-api"], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT)


@contextmanager
def serving(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``mktflow serve --only campaign --no-api`` on the data folder ``env`` (not the shared
    one), once it serves (``wait_serving``); Ctrl-C'd afterwards (``interrupt``)."""
    serve = _serve_in(env)
    try:
        wait_serving(serve, Path(env["MKTFLOW_DATA_DIR"]) / "serve.log")
        yield serve
    finally:
        interrupt(serve)


def wait_serving(serve: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    """Return once ``mktflow serve`` (writing to ``log``) said every deployment is served
    (``READY_LINE``: its runner has asked for their runs, so ``mktflow run`` is not refused);
    kill it and raise RuntimeError with the log if it exits or ``timeout`` (s) passes first."""
    import time

    from mktflow.prefect.serving import READY_LINE

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if READY_LINE in log.read_text("utf-8", "replace"):
            return
        if serve.poll() is not None:
            break
        time.sleep(0.25)
    if serve.poll() is None:
        serve.kill()
        serve.wait()
    raise RuntimeError(f"mktflow serve did not start:\n{log.read_text('utf-8', 'replace')}")


def shared_serve() -> subprocess.Popen[bytes]:
    """The shared ``mktflow serve``, once it is serving (started if it was not)."""
    serve = start_serve()
    try:
        wait_serving(serve, Path(shared_folder()["MKTFLOW_DATA_DIR"]) / "serve.log")
    except RuntimeError:
        _shared.pop("serve", None)
        raise
    return serve


def stop_serve() -> None:
    """Ctrl-C the shared ``mktflow serve``, as a person stops it."""
    serve = _shared.pop("serve", None)
    if serve is not None:
        interrupt(serve)


def interrupt(serve: subprocess.Popen[bytes]) -> None:
    """Ctrl-C ``serve`` if it still runs (it stops the local Prefect server it started);
    killed when it has not ended 60 s later."""
    import signal

    if serve.poll() is None:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()


def server_pid(env: dict[str, str]) -> int:
    """The process id of the local Prefect server of the data folder ``env`` names (read as
    ``mktflow server status`` reads it)."""
    from mktflow.config import Settings
    from mktflow.prefect.server import local_status

    return int(local_status(Settings(data_dir=Path(env["MKTFLOW_DATA_DIR"])))["pid"])


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of ``pid``, its live descendants and the children they
    reaped (a forked or spawned flow run's process counts once it has exited and been
    waited for); 0 when ``pid`` is gone."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _tree(pid):
        try:
            text = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / tick


def _tree(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def process_tree(pid: int) -> dict[str, Any]:
    """``pid`` and its descendants now: how many, and their resident memory (MiB)."""
    tree = _tree(pid)
    rss_kb = 0
    for p in tree:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        rss_kb += next((int(line.split()[1]) for line in status.splitlines()
                        if line.startswith("VmRSS:")), 0)
    return {"processes": len(tree), "rss_mib": round(rss_kb / 1024, 1)}


def cpu_share(pid: int, seconds: float) -> float:
    """The CPU cores ``pid`` and its descendants used over the next ``seconds`` (0.5: half
    a core; ``cpu_seconds`` before and after)."""
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return round((cpu_seconds(pid) - before) / (time.monotonic() - started), 3)


# --- the bench campaign: its plan and the answers a driver gives its steps ------------------

#: The campaign's owner (marketing's deputy), the head who approves under her limit, and the
#: activity's owner.
DEPUTY, HEAD, MARCO = "li.na@example.com", "ana.torres@example.com", "marco.rossi@example.com"


def campaign_plan() -> dict[str, Any]:
    """A campaign plan under the marketing head's limit: one activity, one KPI, one budget
    line; plan, approval, activity, tracking and evaluation make its 5 human steps."""
    from datetime import timedelta

    from mktflow.domain import clock

    return {
        "name": "Bench tasting", "goal": "40 new grocers", "target_customers": "grocers",
        "channels": ["tasting"], "start": str(clock.today() + timedelta(days=90)),
        "end": str(clock.today() + timedelta(days=120)),
        "kpis": [{"name": "new customers", "unit": "", "target": 40}],
        "activities": [{"title": "Tasting day", "owner": MARCO, "channel": "tasting",
                        "budget_line": "tasting"}],
        "budget_lines": [{"code": "tasting", "title": "Tastings", "amount": 3000}],
    }


def campaign_answer(step_key: str) -> dict[str, Any]:
    """What a driver submits for a campaign step (within budget, approved)."""
    if step_key.startswith("plan-"):
        return campaign_plan()
    if step_key.startswith("approval-"):
        return {"decision": "approve"}
    if step_key.startswith("activity-"):
        return {"completed": True, "spent": 2800, "results": "12 stores"}
    if step_key.startswith("tracking-"):
        return {"actuals": [{"name": "new customers", "actual": 44}]}
    return {"lessons": "tastings convert"}


# --- the baseline's runner: bare Prefect flows served on the data folder's Prefect server ---


def runner_poll() -> float:
    """The runner's poll interval in ``mktflow serve`` (``MKTFLOW_RUNNER_POLL_S``, seconds)."""
    from mktflow.config import get_settings

    return get_settings().runner_poll_s


def bare_serve(env: dict[str, str], *, limit: int | None = 5) -> subprocess.Popen[bytes]:
    """Start ``python -m bench._bare_flow`` (the bare flows, served by Prefect's ``Runner``) on
    the data folder's Prefect server, polling as often as ``mktflow serve``'s runner, without
    waiting for it (``bare_deployment`` waits). ``limit``: the most runs it runs at once
    (Prefect's default 5; None: no limit, as ``mktflow serve``'s runner)."""
    folder = Path(env["MKTFLOW_DATA_DIR"])
    api_url = json.loads(mktflow(env, "server", "start", "--json"))["api_url"]
    bare_env = {**env, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(folder / "bare-prefect")}
    with open(folder / "bare-serve.log", "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "bench._bare_flow", str(runner_poll()),
                                 "none" if limit is None else str(limit)],
                                env=bare_env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def bare_deployment(proc: subprocess.Popen[bytes], api_url: str, log: Path,
                    name: str = "bare-handback/bench") -> str:
    """The id of the bare flow's deployment ``name``, once its runner registered it and polls;
    RuntimeError with the log when the runner exits or 120 s pass first."""
    import time

    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the bare flow's runner exited: {log.read_text('utf-8')[-2000:]}")
        found = httpx.get(f"{api_url}/deployments/name/{name}")
        if found.status_code == 200:
            time.sleep(2 * runner_poll())  # its runner polls from now on
            return str(found.json()["id"])
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the bare flow {name} was never served")
