"""The SLA sweep at scale: one ``sla.sweep`` over 1,000,000 open work items of which 10,000 are
overdue (issue 22, target 6: one sweep <= 60 s, its notices written exactly once).

    .venv/bin/python -m bench --only sla_sweep [--quick]
    .venv/bin/python -m bench.sla_sweep [sqlite|postgresql] [TOTAL] [OVERDUE]   # one database

The rows are bulk-loaded as ``bench/inbox.py`` loads them (PostgreSQL ``COPY``, SQLite one
``executemany`` transaction): TOTAL open work items (open, claimed, delegated) in the seven
departments of the demo organisation, OVERDUE of them past their due time (a third 1-20 h late:
level 1; a third 25-70 h: levels 1 and 2; a third 80-500 h: levels 1, 2 and 3), the rest due
later or with no due time. The demo organisation has no branch calendars and no channels, so
lateness is counted in calendar hours and each level raised writes exactly one outbox row.
Quick mode: 20,000 items, 200 overdue.

What is timed is ``mktflow.engine.sla.sweep`` as ``mktflow sla sweep`` calls it (its own unit
of work, the shipped escalation policy), once; then a second sweep (nothing new is due). The
run fails (raises) unless the first sweep wrote exactly one audit entry and one outbox notice
per level reached and the second none. The baseline is the floor, one Core query selecting the
overdue rows (the sweep's own condition), best of three.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench._kit import DATABASES, database, migrated_engine
from bench._records import record
from bench.inbox import DEPARTMENTS, MEMBERS, WORK_COLUMNS, _load, _Statements
from mktflow.domain import clock as clocks

TARGET = "<= 60 s"


def _work_rows(total: int, overdue: int, now: datetime) -> tuple[list[tuple[Any, ...]], int]:
    """``total`` open work items, ``overdue`` of them late; and the levels they have reached
    (the notices one sweep must write)."""
    rng = random.Random(22)
    late = set(rng.sample(range(1, total + 1), overdue))
    rows, levels = [], 0
    for i in range(1, total + 1):
        r = rng.random()
        state = "open" if r < 0.6 else "claimed" if r < 0.95 else "delegated"
        assignee = MEMBERS[i % len(MEMBERS)] if state != "open" else None
        if i in late:
            band = i % 3
            hours = (rng.uniform(1, 20), rng.uniform(25, 70), rng.uniform(80, 500))[band]
            due: datetime | None = now - timedelta(hours=hours)
            levels += band + 1
        else:
            due = None if rng.random() < 0.1 else now + timedelta(hours=rng.randint(1, 5000))
        created = now - timedelta(days=400) + timedelta(seconds=i * 20)
        rows.append((i, DEPARTMENTS[i % 7], f"step {i}", "", state, assignee, "[]",
                     rng.randint(0, 100), due, 0, "ana.torres@example.com", created, created, 1))
    return rows, levels


def _counts(engine: Any) -> tuple[int, int]:
    """(escalation audit entries, outbox rows) now."""
    from mktflow.store.tables import AuditEntry, OutboxMessage

    a, o = AuditEntry.__table__, OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return (int(conn.execute(select(func.count()).select_from(a)
                                 .where(a.c.action == "escalate")).scalar_one()),
                int(conn.execute(select(func.count()).select_from(o)).scalar_one()))


def _plan(engine: Any, calls: list[tuple[str, Any]], kind: str, out: Path) -> None:
    """The sweep's look-up of overdue work items with its plan, in ``out/sla-plan-<kind>.txt``
    (it should read ``ix_workitem_sla``)."""
    explain = "EXPLAIN (ANALYZE, BUFFERS) " if kind == "postgresql" else "EXPLAIN QUERY PLAN "
    lines = [f"# the overdue work items sla.sweep read (its second sweep), with {kind}'s plan", ""]
    with engine.connect() as conn:
        for statement, parameters in calls:
            plan = conn.exec_driver_sql(explain + statement, parameters).fetchall()
            lines += [statement.strip(), f"-- parameters: {parameters!r}", ""]
            lines += [str(r[-1]) for r in plan] + [""]
    out.mkdir(parents=True, exist_ok=True)
    (out / f"sla-plan-{kind}.txt").write_text("\n".join(lines), "utf-8")


def measure(kind: str, total: int, overdue: int, out: Path) -> dict[str, Any]:
    """Load, then one timed sweep, a second one, and the Core floor on a fresh database."""
    from mktflow.engine import sla
    from mktflow.engine.sla import MAX_LEVEL
    from mktflow.store.tables import WorkItem
    from mktflow.store.uow import UnitOfWork

    now = clocks.now()
    with database(kind) as url:
        engine = migrated_engine(url)
        try:
            start = time.perf_counter()
            rows, levels = _work_rows(total, overdue, now)
            _load(engine, "workitem", WORK_COLUMNS, rows)
            del rows
            load_s = time.perf_counter() - start

            w = WorkItem.__table__  # type: ignore[attr-defined]
            floor = select(w.c.id, w.c.department, w.c.assignee_email, w.c.state, w.c.due_at,
                           w.c.escalation_level).where(
                w.c.state.in_(("claimed", "delegated", "open")), w.c.due_at <= clocks.now(),
                w.c.escalation_level < MAX_LEVEL).order_by(w.c.due_at, w.c.id)
            core = []
            with engine.connect() as conn:
                for _ in range(3):
                    t0 = time.perf_counter()
                    found = len(conn.execute(floor).all())
                    core.append(time.perf_counter() - t0)
            assert found == overdue, (found, overdue)

            before = _counts(engine)
            t0 = time.perf_counter()
            first = sla.sweep(UnitOfWork(engine))
            sweep_s = time.perf_counter() - t0
            after = _counts(engine)
            with _Statements(engine) as seen:
                t0 = time.perf_counter()
                second = sla.sweep(UnitOfWork(engine))
                again_s = time.perf_counter() - t0
            final = _counts(engine)
            _plan(engine, [s for s in seen if "FROM workitem" in s[0]][:1], kind, out)
        finally:
            engine.dispose()
    audits, notices = after[0] - before[0], after[1] - before[1]
    if not (len(first.escalations) == audits == notices == levels):
        raise AssertionError(f"first sweep: {len(first.escalations)} escalations, {audits} "
                             f"audit entries, {notices} notices; {levels} levels reached")
    if second.escalations or final != after:
        raise AssertionError(f"second sweep wrote {final[1] - after[1]} notices "
                             f"({len(second.escalations)} escalations)")
    by_level = first.by_level()
    return record(
        "sla_sweep.one_sweep", figure=sweep_s, unit="s", baseline=min(core),
        baseline_name="one Core query selecting the overdue rows (best of 3)", target=TARGET,
        database=kind,
        notes=(f"{total:,} open work items, {overdue:,} overdue: {first.checked:,} checked, "
               f"{notices:,} notices and audit entries written once (level 1: {by_level[1]:,}, "
               f"2: {by_level[2]:,}, 3: {by_level[3]:,}); a second sweep {again_s:.2f} s, "
               f"{second.checked:,} checked, no notice; load {load_s:.0f} s; plan in "
               f"bench/results/sla-plan-{kind}.txt"))


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """Target 6 on both databases (1,000,000 items, 10,000 overdue; quick: 20,000 and 200)."""
    total, overdue = (20_000, 200) if quick else (1_000_000, 10_000)
    return [measure(kind, total, overdue, out) for kind in DATABASES]


if __name__ == "__main__":
    import json
    import sys
    import tempfile

    args = sys.argv[1:]
    folder = Path(tempfile.mkdtemp(prefix="mktflow-sla-"))
    print(json.dumps(measure(args[0] if args else "sqlite",
                             int(args[1]) if len(args) > 1 else 100_000,
                             int(args[2]) if len(args) > 2 else 1_000, folder), indent=2))
    print(f"plan: {folder}", file=sys.stderr)
