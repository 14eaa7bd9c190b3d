"""Alembic environment: mktflow runs migrations itself (``mktflow db upgrade``)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from mktflow.store.tables import register_all

register_all()  # every table on SQLModel.metadata

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run on the connection ``mktflow.store.migrate`` hands over, or on the configured URL."""
    connection = config.attributes.get("connection")
    if connection is None:
        from mktflow.store.db import get_engine

        with get_engine().connect() as conn:
            _run(conn)
    else:
        _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
