"""Migrations: idempotent on empty and current databases, and in step with the table models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import mktflow.store.tables  # noqa: F401
from mktflow.config import normalise_database_url
from mktflow.store.db import engine_for
from mktflow.store.migrate import current_revision, head_revision, upgrade


def test_upgrade_is_idempotent_on_empty_and_current(pg_url: str, tmp_path: Any) -> None:
    for url in (f"sqlite:///{tmp_path / 'm.db'}", pg_url):
        engine = engine_for(normalise_database_url(url))
        assert current_revision(engine) is None
        assert upgrade(engine) == (None, head_revision())
        assert upgrade(engine) == (head_revision(), head_revision())
        engine.dispose()


def test_models_and_migrations_agree(db: Any) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"tables and migrations differ; write a migration: {diff}"
