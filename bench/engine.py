"""Benchmark of the work engine: commands per second and inbox latency, on SQLite and PostgreSQL.

    .venv/bin/python bench/engine.py [--items 2000] [--pg postgresql://postgres@127.0.0.1:5432/test]

Each command is a full engine transaction (lock, rule check, change, audit entry, outbox
notice, commit). The PostgreSQL run creates a scratch database and drops it afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mktflow.config import normalise_database_url
from mktflow.engine import queries, work
from mktflow.engine.organisation import load_organisation, read_organisation_file
from mktflow.store.db import engine_for
from mktflow.store.migrate import upgrade
from mktflow.store.uow import UnitOfWork

HEAD, OLGA = "ana.torres@example.com", "olga.petrova@example.com"


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


@contextmanager
def pg_url(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"mktflow_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rate(label: str, n: int, fn: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    per_s = n / (time.perf_counter() - start)
    print(f"  {label:<28} {per_s:8.0f} /s")
    return per_s


def run(kind: str, url: str, items: int) -> None:
    engine = engine_for(normalise_database_url(url))
    upgrade(engine)
    load_organisation(UnitOfWork(engine), read_organisation_file(None, demo=True), source="demo")
    ids: list[int] = []
    print(f"{kind}: {items} work items")

    def create(i: int) -> None:
        item = work.create_work_item(UnitOfWork(engine), actor_email=HEAD,
                                     department="marketing", title=f"step {i}", priority=i % 100)
        assert item.id is not None
        ids.append(item.id)

    rate("create work item", items, create)
    rate("claim", items // 2, lambda i: work.claim(UnitOfWork(engine), ids[i], actor_email=OLGA))
    rate("complete", items // 2,
         lambda i: work.complete(UnitOfWork(engine), ids[i], actor_email=OLGA, data={}))
    timings = []
    for _ in range(20):
        start = time.perf_counter()
        entries = queries.inbox(UnitOfWork(engine), "marketing")
        timings.append(time.perf_counter() - start)
    median_ms = statistics.median(timings) * 1000
    print(f"  {f'inbox ({len(entries)} open items)':<28} {median_ms:8.1f} ms (median)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with sqlite_url() as url:
        run("sqlite", url, args.items)
    with pg_url(args.pg) as url:
        run("postgresql", url, args.items)


if __name__ == "__main__":
    main()
