"""The paged inbox at scale: a page of 50 with 1,000,000 work items in all and 10,000 open in
one department (issue 12, benchmark 2; target p95 <= 20 ms on PostgreSQL, <= 30 ms on SQLite).

    .venv/bin/python -m bench --only inbox [--quick]

The rows are bulk-loaded (PostgreSQL ``COPY``, SQLite ``executemany`` in one transaction):
10,000 open work items in marketing (open, claimed, delegated; a fifth overdue, a tenth with no
due time), 30,000 open in the other departments, the rest done or cancelled everywhere, and
10,000 handoffs of which 200 wait for marketing. Quick mode: 50,000 in all, 2,000 open.

What is timed is ``queries.inbox_page`` as a door calls it (its own unit of work: the
department check, the work-item and handoff queries, the light rows, the cursor): the first
page, a walk through every page by cursor, and the first pages of a member's and of the
overdue filter. The figure is the p95 of all of them; the baseline is the floor, one Core query
of the first page's work items by the same index. The SQL the engine ran for a first page and
a deep page is saved with its plan in ``bench/results/inbox-plan-<database>.txt``.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text

from bench._kit import DATABASES, database, migrated_engine, percentile, record
from mktflow.domain import clock as clocks

TARGET_MS = {"postgresql": 20.0, "sqlite": 30.0}
DEPARTMENTS = ("marketing", "sales", "tech", "production", "supply", "finance", "management")
MEMBERS = ("olga.petrova@example.com", "li.na@example.com", "marco.rossi@example.com",
           "sofia.lopez@example.com")
WORK_COLUMNS = ("id", "department", "title", "description", "state", "assignee_email",
                "excluded", "priority", "due_at", "escalation_level", "created_by",
                "created_at", "updated_at", "version")
HANDOFF_COLUMNS = ("id", "kind", "from_department", "to_department", "title", "criteria",
                   "deliverables", "state", "return_count", "due_at", "escalation_level",
                   "offered_by", "created_at", "updated_at", "version")


def _work_rows(total: int, open_marketing: int, now: datetime) -> list[tuple[Any, ...]]:
    rng = random.Random(12)
    rows = []
    other_open = 3 * open_marketing
    for i in range(1, total + 1):
        if i <= open_marketing:
            dept, r = "marketing", rng.random()
            state = "open" if r < 0.6 else "claimed" if r < 0.95 else "delegated"
        elif i <= open_marketing + other_open:
            dept, state = DEPARTMENTS[1 + i % 6], "open"
        else:
            dept, state = DEPARTMENTS[i % 7], "done" if i % 10 else "cancelled"
        assignee = MEMBERS[i % len(MEMBERS)] if state != "open" else None
        r = rng.random()
        due = (None if r < 0.1 else now - timedelta(hours=rng.randint(1, 2000)) if r < 0.3
               else now + timedelta(hours=rng.randint(1, 5000)))
        created = now - timedelta(days=400) + timedelta(seconds=i * 20)
        rows.append((i, dept, f"step {i}", "", state, assignee, "[]", rng.randint(0, 100),
                     due, 0, "ana.torres@example.com", created, created, 1))
    return rows


def _handoff_rows(total: int, waiting: int, now: datetime) -> list[tuple[Any, ...]]:
    rng = random.Random(13)
    rows = []
    for i in range(1, total + 1):
        if i <= waiting:
            src, dst = DEPARTMENTS[1 + i % 6], "marketing"
            state = ("offered", "accepted", "returned")[i % 3]
        else:
            src, dst = DEPARTMENTS[i % 7], DEPARTMENTS[(i + 1) % 7]
            state = "confirmed"
        due = now + timedelta(hours=rng.randint(-500, 3000))
        created = now - timedelta(days=300) + timedelta(seconds=i * 60)
        rows.append((i, "handoff", src, dst, f"handoff {i}", "", "[]", state, 0, due, 0,
                     "olga.petrova@example.com", created, created, 1))
    return rows


def _load(engine: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
          ) -> None:
    """Bulk-load ``rows``: COPY on PostgreSQL, one executemany transaction on SQLite."""
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            # no statement deadline for the load (as mktflow.store.deadlines.unlimited): a
            # million rows into every index of the table outlast it on a busy machine
            driver: Any = raw.driver_connection
            before, driver.answer_s = getattr(driver, "answer_s", None), None
            cur = raw.cursor()
            cur.execute("SET LOCAL statement_timeout = 0")
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
            raw.commit()
            cur.execute(f"ANALYZE {table}")  # what autovacuum does after a big load
            raw.commit()
            driver.answer_s = before
        else:
            def stamp(v: Any) -> Any:
                if isinstance(v, datetime):
                    return v.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
                return v

            cur = raw.cursor()
            cur.execute("BEGIN")
            cur.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})",
                ([stamp(v) for v in row] for row in rows))
            cur.execute("COMMIT")
    finally:
        raw.close()


def load_department(engine: Any, total: int, open_marketing: int, now: datetime) -> float:
    """Bulk-load the benchmark's rows on a migrated ``engine``: ``total`` work items of which
    ``open_marketing`` open in marketing (three times as many open in the other departments,
    the rest done or cancelled), and handoffs (10,000, or 1,000 for 100,000 items or fewer) of
    which 200 wait for marketing; the seconds it took. ``bench/page_load.py`` loads the same."""
    start = time.perf_counter()
    _load(engine, "workitem", WORK_COLUMNS, _work_rows(total, open_marketing, now))
    _load(engine, "handoff", HANDOFF_COLUMNS,
          _handoff_rows(10_000 if total > 100_000 else 1_000, 200, now))
    return time.perf_counter() - start


class _Statements:
    """The SQL statements (with parameters) an engine call runs."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.seen: list[tuple[str, Any]] = []

    def __enter__(self) -> list[tuple[str, Any]]:
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self.seen

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on)

    def _on(self, _conn: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, parameters))


def _plans(engine: Any, calls: list[tuple[str, Any]], kind: str, out: Path) -> str:
    """The plans of the engine's statements, written to ``out/inbox-plan-<kind>.txt``."""
    lines = [f"# the SQL queries.inbox_page ran, with {kind}'s plan of each", ""]
    with engine.connect() as conn:
        for label, (statement, parameters) in calls:
            explain = ("EXPLAIN (ANALYZE, BUFFERS) " if kind == "postgresql"
                       else "EXPLAIN QUERY PLAN ")
            plan = conn.exec_driver_sql(explain + statement, parameters).fetchall()
            lines += [f"## {label}", statement.strip(), f"-- parameters: {parameters!r}", ""]
            lines += [str(r[-1]) for r in plan] + [""]
    text_ = "\n".join(lines)
    (out / f"inbox-plan-{kind}.txt").write_text(text_, "utf-8")
    return text_


def measure(kind: str, total: int, open_marketing: int, out: Path) -> dict[str, Any]:
    """Load, then time pages on one fresh database of ``kind``."""
    from mktflow.engine import queries
    from mktflow.store.tables import WorkItem
    from mktflow.store.uow import UnitOfWork

    now = clocks.now()
    with database(kind) as url:
        engine = migrated_engine(url)
        try:
            load_s = load_department(engine, total, open_marketing, now)

            def page(**kw: Any) -> Any:
                return queries.inbox_page(UnitOfWork(engine), "marketing", limit=50, **kw)

            for _ in range(5):
                page()  # warm the pool and the caches
            times: list[float] = []

            def timed(**kw: Any) -> Any:
                t0 = time.perf_counter()
                result = page(**kw)
                times.append(time.perf_counter() - t0)
                return result

            for _ in range(50):
                timed()
            first_ms = [t * 1000 for t in times]
            cursor, pages, deep_call = timed().next_cursor, 1, None
            while cursor:
                if pages == 100:
                    with _Statements(engine) as seen:
                        result = timed(cursor=cursor)
                    deep_call = seen
                else:
                    result = timed(cursor=cursor)
                cursor, pages = result.next_cursor, pages + 1
            for _ in range(20):
                timed(member=MEMBERS[0])
                timed(overdue=True)
            with _Statements(engine) as first_call:
                page()
            _plans(engine, [(f"first page, statement {i + 1}", s)
                            for i, s in enumerate(first_call)]
                   + [(f"page 100 (by cursor), statement {i + 1}", s)
                      for i, s in enumerate(deep_call or [])], kind, out)

            w = WorkItem.__table__  # type: ignore[attr-defined]
            floor = (select(w.c.id, w.c.state, w.c.title, w.c.due_at, w.c.priority)
                     .where(w.c.department == "marketing",
                            text("workitem.state IN ('open', 'claimed', 'delegated')"),
                            w.c.due_at < now)
                     .order_by(w.c.due_at, w.c.priority.desc(), w.c.id).limit(51))
            core: list[float] = []
            with engine.connect() as conn:
                for _ in range(50):
                    t0 = time.perf_counter()
                    conn.execute(floor).all()
                    core.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            everything = queries.inbox(UnitOfWork(engine), "marketing")
            unpaged_s = time.perf_counter() - t0
        finally:
            engine.dispose()
    ms = [t * 1000 for t in times]
    p95 = percentile(ms, 95)
    return record(
        "inbox.page_of_50", figure=p95, unit="ms (p95)",
        baseline=percentile([t * 1000 for t in core], 95),
        baseline_name="one Core query of the page (p95)",
        target=f"<= {TARGET_MS[kind]:.0f} ms", met=p95 <= TARGET_MS[kind], database=kind,
        notes=(f"{total:,} work items, {open_marketing:,} open in marketing; {len(ms)} pages: "
               f"first page p50 {statistics.median(first_ms):.1f} ms, all p50 "
               f"{statistics.median(ms):.1f} ms, max {max(ms):.1f} ms, {pages} pages walked; "
               f"the unpaged queries.inbox ({len(everything):,} rows) took {unpaged_s:.2f} s "
               f"once; load {load_s:.0f} s; plan in bench/results/inbox-plan-{kind}.txt"))


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """Benchmark 2 on both databases (1,000,000 rows; quick: 50,000)."""
    total, open_marketing = (50_000, 2_000) if quick else (1_000_000, 10_000)
    return [measure(kind, total, open_marketing, out) for kind in DATABASES]
