"""Engine commands against SQLAlchemy Core doing the same writes, on SQLite and PostgreSQL.

    .venv/bin/python -m bench --only engine [--quick]

Two measures per database (issue 12, benchmark 1), each in commands per second:

* the full life of N handoffs: offer, accept, deliver, confirm (4 commands each);
* the full life of N work items: create, claim, complete (3 commands each).

N is 10,000 (quick: 100). Every engine command is a full transaction: the row locked (``FOR
UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), the actor looked up and the rule
checked, the change, its audit entry and its outbox notices, one commit. The baseline does the
same row writes with plain Core, one transaction per command: lock and read the row, update it
(or insert it), insert one audit row and as many outbox rows as the engine wrote for that
command (counted on a warm-up), commit. Target: engine / Core >= 0.8 on both databases (issue
22, target 4; issue 12 asked for 0.5).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from bench._kit import DATABASES, database, migrated_engine, record
from mktflow.domain import clock as clocks

HEAD = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing
TOM = "tom.berg@example.com"  # tech
TARGET = 0.8

Step = Callable[[Any, int], None]


def _engine_steps(engine: Any) -> tuple[list[tuple[str, Step]], list[tuple[str, Step]]]:
    from mktflow.engine import handoffs, work
    from mktflow.store.uow import UnitOfWork

    due = clocks.now() + timedelta(days=7)
    ids: dict[int, int] = {}

    def h_offer(_e: Any, i: int) -> None:
        made = handoffs.offer(UnitOfWork(engine), actor_email=OLGA, from_department="marketing",
                              to_department="tech", title=f"Prototype {i}", due_at=due)
        assert made.id is not None
        ids[i] = made.id

    def h(action: str, who: str) -> Step:
        return lambda _e, i: getattr(handoffs, action)(UnitOfWork(engine), ids[i],
                                                        actor_email=who)

    wids: dict[int, int] = {}

    def w_create(_e: Any, i: int) -> None:
        made = work.create_work_item(UnitOfWork(engine), actor_email=HEAD,
                                     department="marketing", title=f"step {i}",
                                     priority=i % 100, due_at=due)
        assert made.id is not None
        wids[i] = made.id

    def w_claim(_e: Any, i: int) -> None:
        work.claim(UnitOfWork(engine), wids[i], actor_email=OLGA)

    def w_complete(_e: Any, i: int) -> None:
        work.complete(UnitOfWork(engine), wids[i], actor_email=OLGA, data={"done": True})

    handoff_life: list[tuple[str, Step]] = [("offer", h_offer), ("accept", h("accept", TOM)),
                    ("deliver", h("deliver", TOM)), ("confirm", h("confirm", OLGA))]
    work_life: list[tuple[str, Step]] = [("create", w_create), ("claim", w_claim),
                                         ("complete", w_complete)]
    return handoff_life, work_life


def _core_steps(engine: Any, outbox_rows: dict[str, int]
                ) -> tuple[list[tuple[str, Step]], list[tuple[str, Step]]]:
    """The same writes with Core: one transaction per command."""
    from mktflow.store.tables import AuditEntry, Handoff, OutboxMessage, WorkItem

    w, h = WorkItem.__table__, Handoff.__table__  # type: ignore[attr-defined]
    a, o = AuditEntry.__table__, OutboxMessage.__table__  # type: ignore[attr-defined]
    lockable = engine.dialect.name == "postgresql"
    due = clocks.now() + timedelta(days=7)
    ids: dict[int, int] = {}
    wids: dict[int, int] = {}

    def tell(conn: Any, step: str, event: str, ref: str, department: str, title: str,
             now: datetime) -> None:
        for _ in range(outbox_rows.get(step, 1)):
            conn.execute(insert(o).values(
                id=uuid.uuid4().hex, created_at=now, next_attempt_at=now, event=event,
                department=department, subject=f"{ref} {event}: {title}", status="pending",
                attempts=0, link=f"http://127.0.0.1:8787/{ref}",
                payload={"event": event, "ref": ref, "title": title, "department": department,
                         "actor": OLGA, "link": f"http://127.0.0.1:8787/{ref}"}))

    def audit(conn: Any, kind: str, item_id: int, action: str, before: str | None,
              after: str, now: datetime, actor: str) -> None:
        conn.execute(insert(a).values(at=now, actor=actor, entity_type=kind, entity_id=item_id,
                                      action=action, from_state=before, to_state=after))

    def h_offer(_e: Any, i: int) -> None:
        now = clocks.now()
        with engine.begin() as conn:
            hid = conn.execute(insert(h).values(
                kind="handoff", from_department="marketing", to_department="tech",
                title=f"Prototype {i}", criteria="", deliverables=[], state="offered",
                return_count=0, due_at=due, escalation_level=0, offered_by=OLGA,
                created_at=now, updated_at=now, version=1)).inserted_primary_key[0]
            ids[i] = int(hid)
            audit(conn, "handoff", hid, "offer", None, "offered", now, OLGA)
            tell(conn, "offer", "handoff.offered", f"H-{hid}", "tech", f"Prototype {i}", now)

    def h_step(action: str, before: str, after: str, stamp: str | None) -> Step:
        def step(_e: Any, i: int) -> None:
            now = clocks.now()
            with engine.begin() as conn:
                query = select(h.c.state, h.c.version).where(h.c.id == ids[i])
                row = conn.execute(query.with_for_update() if lockable else query).one()
                assert row.state == before
                values: dict[str, Any] = {"state": after, "updated_at": now,
                                          "version": row.version + 1}
                if stamp:
                    values[stamp] = now
                conn.execute(update(h).where(h.c.id == ids[i]).values(**values))
                audit(conn, "handoff", ids[i], action, before, after, now, TOM)
                tell(conn, action, f"handoff.{after}", f"H-{ids[i]}", "marketing", "Prototype",
                     now)
        return step

    def w_create(_e: Any, i: int) -> None:
        now = clocks.now()
        with engine.begin() as conn:
            wid = conn.execute(insert(w).values(
                department="marketing", title=f"step {i}", description="", state="open",
                excluded=[], priority=i % 100, due_at=due, escalation_level=0, created_by=HEAD,
                created_at=now, updated_at=now, version=1)).inserted_primary_key[0]
            wids[i] = int(wid)
            audit(conn, "work", wid, "create", None, "open", now, HEAD)
            tell(conn, "create", "work.created", f"W-{wid}", "marketing", f"step {i}", now)

    def w_step(action: str, before: str, after: str, extra: Callable[[datetime], dict[str, Any]]
               ) -> Step:
        def step(_e: Any, i: int) -> None:
            now = clocks.now()
            with engine.begin() as conn:
                query = select(w.c.state, w.c.version).where(w.c.id == wids[i])
                row = conn.execute(query.with_for_update() if lockable else query).one()
                assert row.state == before
                conn.execute(update(w).where(w.c.id == wids[i]).values(
                    state=after, updated_at=now, version=row.version + 1, **extra(now)))
                audit(conn, "work", wids[i], action, before, after, now, OLGA)
                tell(conn, action, f"work.{after}", f"W-{wids[i]}", "marketing", "step", now)
        return step

    handoff_life = [("offer", h_offer),
                    ("accept", h_step("accept", "offered", "accepted", "accepted_at")),
                    ("deliver", h_step("deliver", "accepted", "delivered", "delivered_at")),
                    ("confirm", h_step("confirm", "delivered", "confirmed", "closed_at"))]
    work_life = [
        ("create", w_create),
        ("claim", w_step("claim", "open", "claimed", lambda _n: {"assignee_email": OLGA})),
        ("complete", w_step("complete", "claimed", "done", lambda n: {
            "data": {"done": True}, "completed_by": OLGA, "completed_at": n})),
    ]
    return handoff_life, work_life


def _outbox_count(engine: Any) -> int:
    from mktflow.store.tables import OutboxMessage

    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(
            OutboxMessage.__table__)).scalar_one())  # type: ignore[attr-defined]


def _life(steps: list[tuple[str, Step]], engine: Any, n: int, offset: int) -> float:
    """Commands per second of ``n`` lives, step by step (each step over all items)."""
    start = time.perf_counter()
    for _, step in steps:
        for i in range(offset, offset + n):
            step(engine, i)
    return len(steps) * n / (time.perf_counter() - start)


def _fanout(steps: list[tuple[str, Step]], engine: Any, offset: int) -> dict[str, int]:
    """Outbox rows the engine writes per command of each step (one warm-up life)."""
    rows = {}
    for name, step in steps:
        before = _outbox_count(engine)
        step(engine, offset)
        rows[name] = _outbox_count(engine) - before
    return rows


def measure(kind: str, n: int) -> list[dict[str, Any]]:
    """Both lives on one fresh database of ``kind``: the engine, then Core, interleaved."""
    with database(kind) as url:
        engine = migrated_engine(url)
        try:
            e_handoff, e_work = _engine_steps(engine)
            fan = _fanout(e_handoff, engine, 10**6) | _fanout(e_work, engine, 10**6)
            c_handoff, c_work = _core_steps(engine, fan)
            for steps in (e_handoff, e_work, c_handoff, c_work):  # warm both paths
                _life(steps, engine, 20, 10**6 + 1)
            results = []
            for what, engine_steps, core_steps in (("handoff_life", e_handoff, c_handoff),
                                                   ("work_item_life", e_work, c_work)):
                # halves in turn, so a burst of load elsewhere hits both sides alike
                half = max(1, n // 2)
                e1 = _life(engine_steps, engine, half, 0)
                c1 = _life(core_steps, engine, half, 0)
                e2 = _life(engine_steps, engine, n - half, half)
                c2 = _life(core_steps, engine, n - half, half)
                figure, baseline = (e1 + e2) / 2, (c1 + c2) / 2
                lives = ("offer, accept, deliver, confirm" if what == "handoff_life"
                         else "create, claim, complete")
                results.append(record(
                    f"engine.{what}", figure=figure, unit="commands/s", baseline=baseline,
                    baseline_name="SQLAlchemy Core, the same writes", target=f">= {TARGET}x",
                    met=figure / baseline >= TARGET, database=kind,
                    notes=f"{n:,} lives ({lives}); outbox rows per command {fan}"))
            return results
        finally:
            engine.dispose()


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """Benchmark 1 on both databases (N = 10,000; quick: 100)."""
    n = 100 if quick else 10_000
    return [r for kind in DATABASES for r in measure(kind, n)]


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure(sys.argv[1] if len(sys.argv) > 1 else "sqlite", 300), indent=2))
