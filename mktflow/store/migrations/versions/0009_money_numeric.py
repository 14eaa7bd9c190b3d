"""money: exact amounts, NUMERIC(14, 2) on PostgreSQL and whole cents on SQLite

Every money column (budget lines, spend, approved amounts, product figures, customer and order
totals) was a float. PostgreSQL columns become NUMERIC(14, 2); SQLite has no exact decimal,
so its columns hold cents as INTEGER (``mktflow.store.types.MoneyType``). Existing values are
rounded half up to the cent on the way (a float 2.675 becomes 2.68).

Revision ID: 0009_money_numeric
Revises: 0007_member_tokens
Create Date: 2026-11-29 16:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_money_numeric"
down_revision: str | Sequence[str] | None = "0007_member_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column, nullable) of every amount of money.
MONEY_COLUMNS: list[tuple[str, str, bool]] = [
    ("budgetline", "planned", False),
    ("budgetline", "allocated", False),
    ("budgetline", "spent", False),
    ("budgetline", "planned_to_date", False),
    ("spendentry", "amount", False),
    ("campaign", "approved_amount", True),
    ("product", "forecast_revenue", True),
    ("product", "unit_cost", True),
    ("customer", "total_ordered", False),
    ("salesorder", "total", False),
]


def _tables() -> dict[str, list[tuple[str, bool]]]:
    out: dict[str, list[tuple[str, bool]]] = {}
    for table, column, nullable in MONEY_COLUMNS:
        out.setdefault(table, []).append((column, nullable))
    return out


def upgrade() -> None:
    bind = op.get_bind()
    for table, columns in _tables().items():
        if bind.dialect.name == "sqlite":
            for column, _nullable in columns:
                # cents, half away from zero; the nudge undoes binary 2.67499999… for 2.675
                op.execute(f"UPDATE {table} SET {column} = CAST(ROUND({column} * 100 + "
                           f"(CASE WHEN {column} >= 0 THEN 1e-7 ELSE -1e-7 END)) AS INTEGER) "
                           f"WHERE {column} IS NOT NULL")
            with op.batch_alter_table(table) as batch:
                for column, nullable in columns:
                    batch.alter_column(column, existing_type=sa.Float(),
                                       type_=sa.BigInteger(), existing_nullable=nullable)
        else:
            for column, nullable in columns:
                # float8 -> numeric keeps 15 significant digits (2.675 stays 2.675); PostgreSQL's
                # round(numeric) rounds half away from zero, as mktflow.domain.money does
                op.alter_column(table, column, existing_type=sa.Float(),
                                type_=sa.Numeric(14, 2), existing_nullable=nullable,
                                postgresql_using=f"round({column}::numeric, 2)")


def downgrade() -> None:
    bind = op.get_bind()
    for table, columns in _tables().items():
        if bind.dialect.name == "sqlite":
            with op.batch_alter_table(table) as batch:
                for column, nullable in columns:
                    batch.alter_column(column, existing_type=sa.BigInteger(),
                                       type_=sa.Float(), existing_nullable=nullable)
            for column, _nullable in columns:
                op.execute(f"UPDATE {table} SET {column} = {column} / 100.0 "
                           f"WHERE {column} IS NOT NULL")
        else:
            for column, nullable in columns:
                op.alter_column(table, column, existing_type=sa.Numeric(14, 2),
                                type_=sa.Float(), existing_nullable=nullable,
                                postgresql_using=f"{column}::double precision")
