"""Schema migrations: ``mktflow db upgrade`` brings any database to the newest schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from mktflow.store.db import database_errors, deadlines_of
from mktflow.store.deadlines import unlimited

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]


def alembic_config() -> Config:
    """Alembic's configuration pointing at the migrations inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def head_revision() -> str | None:
    """The newest migration the installed package has."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    with database_errors(str(engine.url), deadlines_of(engine)), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


#: The PostgreSQL advisory lock that lets one ``db upgrade`` at a time migrate a database.
_UPGRADE_LOCK = 0x6D6B7466  # "mktf"


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Migrate to the newest schema; idempotent. Returns (revision before, revision after).

    Two upgrades at once on one PostgreSQL database take turns (a transaction-scoped advisory
    lock): the second waits, then finds the schema current. SQLite's write lock (BEGIN
    IMMEDIATE) does the same for a SQLite file. No statement deadline applies
    (``MKTFLOW_DB_STATEMENT_TIMEOUT_S``): a migration of a large table may take long.
    """
    cfg = alembic_config()
    with database_errors(str(engine.url), deadlines_of(engine)), engine.begin() as conn, \
            unlimited(conn):
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        before = MigrationContext.configure(conn).get_current_revision()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, current_revision(engine)
