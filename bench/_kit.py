"""What every benchmark shares: the result record, scratch databases, the machine, timing.

A result record (one JSON object; a module returns a list of them)::

    {"name": "engine.work_item_life", "figure": 812.0, "unit": "commands/s",
     "baseline": 1530.0, "baseline_name": "SQLAlchemy Core, the same writes",
     "ratio": 0.53, "target": ">= 0.5x", "met": true, "database": "sqlite",
     "machine": "2 cores (AMD EPYC), 23 GiB, load 1.4 at start", "date": "2026-11-29T16:30Z",
     "notes": "10,000 items: create, claim, complete"}

``ratio`` is always ``figure / baseline``; ``target`` says in words which way is good and
``met`` whether this run meets it.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mktflow.domain import clock as clocks

__all__ = [
    "PG_ADMIN_URL",
    "ROOT",
    "database",
    "machine",
    "migrated_engine",
    "percentile",
    "record",
    "timed",
]

ROOT = Path(__file__).resolve().parents[1]
#: The PostgreSQL server the benchmarks create scratch databases on (dropped afterwards).
PG_ADMIN_URL = os.environ.get("MKTFLOW_BENCH_PG",
                              os.environ.get("MKTFLOW_TEST_PG",
                                             "postgresql://postgres@127.0.0.1:5432/test"))
DATABASES = ("sqlite", "postgresql")


def machine() -> str:
    """Cores, CPU model, memory and the load average now: what the figures depend on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                      .splitlines() if line.startswith("MemTotal"))
        memory = f"{round(mem_kb / 1024 / 1024)} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "? GiB"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} cores ({model}), {memory}, load {load:.1f}"


def record(name: str, *, figure: float, unit: str, baseline: float, baseline_name: str,
           target: str, met: bool, database: str, notes: str = "",
           **extra: Any) -> dict[str, Any]:
    """One result record (see the module docstring); ``extra`` keys are kept beside."""
    return {
        "name": name, "figure": round(figure, 4), "unit": unit, "baseline": round(baseline, 4),
        "baseline_name": baseline_name,
        "ratio": round(figure / baseline, 3) if baseline else None,
        "target": target, "met": bool(met), "database": database, "machine": machine(),
        "date": clocks.now().strftime("%Y-%m-%dT%H:%MZ"), "notes": notes, **extra,
    }


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by the inclusive method; p50 is the median."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if p < 100 \
        else max(values)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall times of ``repeat`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, empty database of ``kind`` (sqlite or postgresql); removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="mktflow-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    import psycopg

    name = f"mktflow_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated_engine(url: str, *, org: bool = True) -> Any:
    """An engine on ``url`` with mktflow's tables (and the demo organisation)."""
    from mktflow.config import normalise_database_url
    from mktflow.engine.organisation import load_organisation, read_organisation_file
    from mktflow.store.db import engine_for
    from mktflow.store.migrate import upgrade
    from mktflow.store.uow import UnitOfWork

    engine = engine_for(normalise_database_url(url))
    upgrade(engine)
    if org:
        load_organisation(UnitOfWork(engine), read_organisation_file(None, demo=True),
                          source="demo")
    return engine
