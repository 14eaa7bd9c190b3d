"""Migrations: idempotent on empty and current databases, and in step with the table models."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import mktflow.store.tables  # noqa: F401
from mktflow.config import normalise_database_url
from mktflow.store.db import engine_for
from mktflow.store.migrate import current_revision, head_revision, upgrade

ANA = "ana.torres@example.com"
OLGA = "olga.petrova@example.com"


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


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrade_keeps_the_data_of_a_populated_older_revision(kind: str, tmp_path: Any) -> None:
    from alembic import command

    from mktflow.engine import handoffs, queries, work
    from mktflow.engine.organisation import load_organisation, read_organisation_file
    from mktflow.store.migrate import alembic_config
    from mktflow.store.uow import UnitOfWork
    from tests.conftest import new_pg_database

    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'old.db'}" if kind == "sqlite"
               else stack.enter_context(new_pg_database()))
        engine = engine_for(normalise_database_url(url))
        stack.callback(engine.dispose)
        cfg = alembic_config()
        with engine.begin() as conn:  # the release before the cycles' tables
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0003_business")
        load_organisation(UnitOfWork(engine), read_organisation_file(None, demo=True),
                          source="demo")
        item = work.create_work_item(UnitOfWork(engine), actor_email=ANA,
                                     department="marketing", title="Old brief",
                                     due_at=datetime(2027, 1, 5, 9, tzinfo=UTC))
        work.claim(UnitOfWork(engine), item.id, actor_email=OLGA)
        h = handoffs.offer(UnitOfWork(engine), actor_email=OLGA, from_department="marketing",
                           to_department="tech", title="Old prototype", due_at=None)

        assert upgrade(engine) == ("0003_business", head_revision())

        shown = queries.show(UnitOfWork(engine), f"W-{item.id}")
        assert (shown["state"], shown["assignee"], shown["due"]) == (
            "claimed", OLGA, "2027-01-05T09:00:00+00:00")
        assert queries.show(UnitOfWork(engine), f"H-{h.id}")["state"] == "offered"
        assert [e["action"] for e in queries.history(UnitOfWork(engine), f"W-{item.id}")] == [
            "create", "claim"]
        # the upgraded database takes new commands, including on the tables added since
        assert work.complete(UnitOfWork(engine), item.id, actor_email=OLGA,
                             data={}).state == "done"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM cyclerun")).scalar_one() == 0
