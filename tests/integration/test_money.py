"""Money is exact (issue 11): Decimal amounts, one rounding rule (half up to the cent), exact
sums and exact thresholds, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from mktflow.domain.errors import BadInput
from mktflow.engine import approvals, budget, campaigns, orders, processes
from tests.dates import date_ahead, days_ahead

HEAD = "ana.torres@example.com"
OLGA = "olga.petrova@example.com"
FINANCE = "grace.liu@example.com"
SALES = "carlos.mendez@example.com"


def _process(db: Any, name: str) -> int:
    p = processes.start_process(db.uow(), process=name, business_key=uuid.uuid4().hex,
                                owner_email=HEAD)
    assert p.id is not None
    return p.id


def _order(db: Any, lines: list[dict[str, Any]]) -> Any:
    number = f"O-{uuid.uuid4().hex[:6]}"
    return orders.record_order(
        db.uow(), process_id=_process(db, "order-handling"), number=number,
        customer={"code": f"C-{number}"}, lines=lines, delivery_date=date_ahead(30),
        sales_email=SALES, branch=None, actor_email=SALES)


def _stored(db: Any, sql: str, **params: Any) -> Any:
    with db.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_one_line_of_2_675_totals_2_68_stored_and_read_exactly(db: Any) -> None:
    order = _order(db, [{"sku": "a", "quantity": 1, "unit_price": 2.675}])
    assert order.total == Decimal("2.68")  # float rounding gave 2.67
    with db.uow() as u:
        from mktflow.store.tables import SalesOrder

        again = u.session.get(SalesOrder, order.id)
        assert again is not None
        assert isinstance(again.total, Decimal) and again.total == Decimal("2.68")
    raw = _stored(db, "SELECT total FROM salesorder WHERE id = :id", id=order.id)
    # PostgreSQL: NUMERIC(14, 2); SQLite: whole cents in an INTEGER (no float on the way)
    assert raw == (268 if db.engine.dialect.name == "sqlite" else Decimal("2.68"))
    for action in ("approve_credit", "schedule", "ship", "invoice", "follow_up"):
        orders.advance(db.uow(), order.id, action, actor_email=SALES, data={"step": action})
    customer = orders.update_customer_file(db.uow(), order.id, actor_email=SALES)
    assert customer.total_ordered == Decimal("2.68")
    assert customer.history[0]["total"] == 2.68  # JSON: a number with its two places


def test_sums_of_many_lines_are_exact(db: Any) -> None:
    # 3 x 1.005 + 0.1 + 0.2 + 997 x 0.01 is 13.285 exactly, 13.29 rounded once half up (in
    # floats 3 x 1.005 is 3.0149999…, and the float total rounded to 13.28)
    lines = [{"sku": "x", "quantity": 3, "unit_price": 1.005},
             {"sku": "y", "quantity": 1, "unit_price": 0.1},
             {"sku": "z", "quantity": 1, "unit_price": 0.2}]
    lines += [{"sku": f"s{i}", "quantity": 1, "unit_price": 0.01} for i in range(997)]
    order = _order(db, lines)
    assert order.total == Decimal("13.29")

    pid = _process(db, "campaign")
    code = f"C-{uuid.uuid4().hex[:6]}"
    plan = {"name": "Spring", "goal": "grow", "target_customers": "grocers",
            "channels": ["ads"], "start": days_ahead(90), "end": days_ahead(120),
            "kpis": [{"name": "leads", "target": 100}],
            "activities": [{"title": "Ads", "owner": OLGA, "budget_line": "ads"}],
            "budget_lines": [{"code": "ads", "title": "Ads", "amount": 1000}]}
    camp = campaigns.record_plan(db.uow(), process_id=pid, code=code, plan=plan,
                                 actor_email=OLGA, owner_email=OLGA)
    assert camp.id is not None
    line_id = campaigns.campaign_figures(db.uow(), camp.id)["activities"][0]["budget_line_id"]
    for i in range(300):  # 150 spends of 0.10 and 150 of 0.20: exactly 45.00
        budget.record_spend(db.uow(), line_id, amount=0.1 if i % 2 else 0.2,
                            key=f"{code}-{i}", actor_email=OLGA)
    (line,) = campaigns.campaign_figures(db.uow(), camp.id)["lines"]
    assert line.spent == Decimal("45.00")
    assert _stored(db, "SELECT sum(amount) FROM spendentry WHERE budget_line_id = :l",
                   l=line_id) == (4500 if db.engine.dialect.name == "sqlite" else Decimal("45.00"))
    assert budget.allocate(db.uow(), line_id, amount="1234.565",
                           actor_email=FINANCE).allocated == Decimal("1234.57")  # half up


def test_thresholds_are_compared_exactly_to_the_cent(db: Any) -> None:
    # credit: "below the auto-approval limit"; 1 x 9999.995 is 10,000.00, not below 10,000
    # (float rounding made it 9,999.99 and approved it automatically)
    order = _order(db, [{"sku": "a", "quantity": 1, "unit_price": 9999.995}])
    assert order.total == Decimal("10000.00")
    check = orders.credit_check_for(db.uow(), order.id, auto_limit=10000)
    assert check["outcome"] == "needs_decision", check
    cheaper = _order(db, [{"sku": "a", "quantity": 1, "unit_price": 9999.994}])
    assert orders.credit_check_for(db.uow(), cheaper.id, auto_limit=10000)["outcome"] == \
        "auto_approved"
    # authority matrix: marketing approves campaigns up to 20,000 (inclusive), to the cent
    def who(amount: Any) -> list[str]:
        chain = approvals.approval_chain(db.uow(), "campaign", amount, None)
        return [s.department for s in chain.stages]

    assert who(20000) == who("20000.00") == who(20000.004) == ["marketing"]
    assert who(20000.005) == who("20000.01") == ["finance", "management"]
    assert approvals.approval_chain(db.uow(), "campaign", 0.1 + 0.2, None).amount == \
        Decimal("0.30")
    with pytest.raises(BadInput, match="amount: must be a finite amount"):
        who(float("nan"))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migration_0009_turns_float_amounts_into_exact_cents_half_up(
        kind: str, tmp_path: Any) -> None:
    import contextlib
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import MetaData, insert

    from mktflow.config import normalise_database_url
    from mktflow.store.db import engine_for
    from mktflow.store.migrate import alembic_config
    from mktflow.store.tables import BudgetLine
    from mktflow.store.uow import UnitOfWork
    from tests.conftest import new_pg_database

    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'old.db'}" if kind == "sqlite"
               else stack.enter_context(new_pg_database()))
        engine = engine_for(normalise_database_url(url))
        stack.callback(engine.dispose)
        cfg = alembic_config()
        with engine.begin() as conn:  # the float release
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006_outbox_drop_dedupe_key")
        old = MetaData()
        old.reflect(engine, only=["budgetline"])
        at = datetime(2026, 11, 2, 9, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(insert(old.tables["budgetline"]).values(
                code="L1", title="Old line", department="marketing", owner_email=OLGA,
                period="2026", planned=2.675, allocated=1.005, spent=-2.675,
                planned_to_date=19999.995, created_at=at, updated_at=at))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0009_money_numeric")
        with UnitOfWork(engine) as u:
            from sqlmodel import select

            (line,) = u.session.exec(select(BudgetLine)).all()
            assert (line.planned, line.allocated, line.spent, line.planned_to_date) == (
                Decimal("2.68"), Decimal("1.01"), Decimal("-2.68"), Decimal("20000.00"))
        with engine.begin() as conn:  # and one step back: floats again
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "-1")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT planned FROM budgetline")).scalar_one() == 2.68
