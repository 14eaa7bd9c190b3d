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

from mktflow.config import normalise_database_url
from mktflow.store.db import engine_for
from mktflow.store.migrate import current_revision, head_revision, upgrade
from mktflow.store.tables import register_all

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
    register_all()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"tables and migrations differ; write a migration: {diff}"


def _old_release_organisation(engine: Any) -> None:
    """The demo organisation written into the 0003 schema as that release wrote it (today's
    loader writes columns added since, such as a branch's calendar)."""
    from sqlalchemy import MetaData, insert

    from mktflow.engine.organisation import read_organisation_file

    spec = read_organisation_file(None, demo=True)
    old = MetaData()
    old.reflect(engine, only=["branch", "department", "member"])
    with engine.begin() as conn:
        for b in spec.branches:
            conn.execute(insert(old.tables["branch"]).values(code=b.code, name=b.name,
                                                             is_hq=b.hq))
        for d in spec.departments:
            conn.execute(insert(old.tables["department"]).values(
                code=d.code, name=d.name, delegate_email=d.delegate))
        for m in spec.members:
            conn.execute(insert(old.tables["member"]).values(
                email=m.email, name=m.name, department=m.department, branch=m.branch,
                role=str(m.role), active=True))


def _old_release_rows(engine: Any) -> tuple[int, int]:
    """A claimed work item (created by Ana, claimed by Olga) and an offered handoff, with their
    audit entries, written into the 0003 schema as that release wrote them."""
    from sqlalchemy import MetaData, insert

    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    old = MetaData()
    old.reflect(engine, only=["workitem", "handoff", "auditentry"])
    stamps = {"created_at": at, "updated_at": at, "version": 1, "escalation_level": 0}
    with engine.begin() as conn:
        item_id = conn.execute(insert(old.tables["workitem"]).values(
            department="marketing", title="Old brief", description="", state="claimed",
            assignee_email=OLGA, excluded=[], priority=50, created_by=ANA,
            due_at=datetime(2027, 1, 5, 9, tzinfo=UTC), **stamps)).inserted_primary_key[0]
        handoff_id = conn.execute(insert(old.tables["handoff"]).values(
            kind="handoff", from_department="marketing", to_department="tech",
            title="Old prototype", criteria="", deliverables=[], state="offered",
            return_count=0, offered_by=OLGA, **stamps)).inserted_primary_key[0]
        for actor, entity, entity_id, action, to_state in [
                (ANA, "work", item_id, "create", "open"), (OLGA, "work", item_id, "claim",
                                                          "claimed"),
                (OLGA, "handoff", handoff_id, "offer", "offered")]:
            conn.execute(insert(old.tables["auditentry"]).values(
                at=at, actor=actor, entity_type=entity, entity_id=entity_id, action=action,
                to_state=to_state))
    return int(item_id), int(handoff_id)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrade_keeps_the_data_of_a_populated_older_revision(kind: str, tmp_path: Any) -> None:
    from alembic import command

    from mktflow.engine import queries, work
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
        # today's models have columns added since: write the rows the old release wrote
        _old_release_organisation(engine)
        item_id, handoff_id = _old_release_rows(engine)

        assert upgrade(engine) == ("0003_business", head_revision())

        shown = queries.show(UnitOfWork(engine), f"W-{item_id}")
        assert (shown.state, shown.assignee, shown.due) == (
            "claimed", OLGA, "2027-01-05T09:00:00Z")
        assert queries.show(UnitOfWork(engine), f"H-{handoff_id}").state == "offered"
        assert [e.action for e in queries.history(UnitOfWork(engine), f"W-{item_id}")] == [
            "create", "claim"]
        # the upgraded database takes new commands, including on the tables added since
        assert work.complete(UnitOfWork(engine), item_id, actor_email=OLGA,
                             data={}).state == "done"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM cyclerun")).scalar_one() == 0


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_0029_keeps_the_comments_and_words_a_flows_comment(kind: str, tmp_path: Any) -> None:
    """Migration 0029 adds ``auditentry.words``: a comment written before keeps its text and
    reads as stored (no message); a comment a flow writes after it keeps its message there and
    reads in Chinese; a typed one keeps none."""
    from alembic import command
    from sqlalchemy import MetaData, insert

    from mktflow.domain.actors import Door
    from mktflow.domain.words import phrase
    from mktflow.engine import queries, work
    from mktflow.i18n.words import worded
    from mktflow.store.migrate import alembic_config
    from mktflow.store.uow import UnitOfWork
    from tests.conftest import new_pg_database

    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'old.db'}" if kind == "sqlite"
               else stack.enter_context(new_pg_database()))
        engine = engine_for(normalise_database_url(url))
        stack.callback(engine.dispose)
        cfg = alembic_config()
        with engine.begin() as conn:  # the release before 0029
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0028_sla_indexes")
        _old_release_organisation(engine)
        item_id, _ = _old_release_rows(engine)
        old = MetaData()
        old.reflect(engine, only=["auditentry"])
        assert "words" not in old.tables["auditentry"].c
        with engine.begin() as conn:
            conn.execute(insert(old.tables["auditentry"]).values(
                at=datetime(2026, 11, 3, 9, tzinfo=UTC), actor="mktflow", entity_type="work",
                entity_id=item_id, action="comment", reason="goal: is required",
                data={"text": "Asked again: goal: is required", "links": []}))

        assert upgrade(engine) == ("0028_sla_indexes", head_revision())

        work.comment(UnitOfWork(engine, door=Door.ENGINE), item_id, actor_email="mktflow",
                     text=phrase("Asked again: %(problems)s", problems="goal"))
        work.comment(UnitOfWork(engine), item_id, actor_email=OLGA, text="done, see the brief")
        before, flows_, typed = [e for e in queries.history(UnitOfWork(engine), f"W-{item_id}")
                                 if e.action == "comment"]
        assert before.data == {"text": "Asked again: goal: is required", "links": []}
        assert before.words is None and typed.words is None
        assert flows_.data["text"] == "Asked again: goal"  # type: ignore[index]
        chinese = worded(flows_.words["text"], "zh")  # type: ignore[index]
        assert chinese == "要求重新填写：goal"  # noqa: RUF001 (Chinese punctuation)
