"""CLI start-up as whole processes: ``mktflow inbox marketing --json`` and ``mktflow work show
W-1 --json`` against ``python -c pass`` (issue 12, benchmark 3; target: median <= 0.5 s).

    .venv/bin/python -m bench --only cli_start [--quick]

Each command runs as a fresh process of the installed ``mktflow`` script (what a person types),
on a migrated database with the demo organisation and one work item, N times in turn with the
baseline (21; quick: 3). Figures are medians of wall time, start to exit.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._kit import DATABASES, database, migrated_engine, record

TARGET_S = 0.5
COMMANDS = (("inbox", ["inbox", "marketing", "--json"]),
            ("work_show", ["work", "show", "W-1", "--json"]))


_CPU: dict[str, list[float]] = {}


def _wall(argv: list[str], env: dict[str, str], label: str = "") -> float:
    """Wall time of one process, start to exit; its CPU time (user + system) goes to _CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    _CPU.setdefault(label, []).append(after.ru_utime - before.ru_utime
                                      + after.ru_stime - before.ru_stime)
    return elapsed


def measure(kind: str, repeat: int) -> list[dict[str, Any]]:
    """The two commands and the baseline, ``repeat`` times each in turn, on ``kind``."""
    from mktflow.engine import work
    from mktflow.store.uow import UnitOfWork

    script = str(Path(sys.executable).with_name("mktflow"))
    with database(kind) as url, tempfile.TemporaryDirectory(prefix="mktflow-bench-") as data:
        engine = migrated_engine(url)
        work.create_work_item(UnitOfWork(engine), actor_email="ana.torres@example.com",
                              department="marketing", title="Brief")
        driver = "sqlite3" if kind == "sqlite" else "psycopg"
        engine.dispose()
        env = {**os.environ, "MKTFLOW_DATA_DIR": data, "MKTFLOW_DATABASE_URL": url}
        times: dict[str, list[float]] = {name: [] for name, _ in COMMANDS}
        bare: list[float] = []
        _CPU.clear()
        for _ in range(repeat):
            bare.append(_wall([sys.executable, "-c", "pass"], env, "pass"))
            for name, args in COMMANDS:
                times[name].append(_wall([script, *args], env, name))
            # the floor no quick read can go under: Python, the CLI toolkit and SQLAlchemy Core
            # with the database's driver (the settings, pydantic-settings, are not read by these
            # two: mktflow.config_env gives them the database URL)
            _wall([sys.executable, "-c", f"import typer, sqlalchemy, {driver}"], env, "floor")
        baseline = statistics.median(bare)
        results = []
        for name, args in COMMANDS:
            figure = statistics.median(times[name])
            results.append(record(
                f"cli_start.{name}", figure=figure, unit="s (median)", baseline=baseline,
                baseline_name="python -c pass", target=f"<= {TARGET_S} s",
                met=figure <= TARGET_S, database=kind,
                notes=f"`mktflow {' '.join(args)}`, {repeat} runs; "
                      f"min {min(times[name]):.3f} s, max {max(times[name]):.3f} s; CPU "
                      f"(user+sys, median) {statistics.median(_CPU[name]):.3f} s against "
                      f"{statistics.median(_CPU['floor']):.3f} s for importing typer, "
                      f"SQLAlchemy and {driver} alone and "
                      f"{statistics.median(_CPU['pass']):.3f} s for python -c pass"))
        return results


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """Benchmark 3 on both databases."""
    repeat = 3 if quick else 21
    return [r for kind in DATABASES for r in measure(kind, repeat)]
