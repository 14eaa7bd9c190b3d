"""The database as doors see it: bring it to the newest schema, say where it is, check it.

Doors (``mktflow db upgrade``, the API's ``/health``) call these with a unit of work from
``mktflow.bootstrap``; the migrations themselves live in ``mktflow.store``.
"""

from __future__ import annotations

from sqlmodel import select

from mktflow.store import migrate
from mktflow.store.db import safe_url
from mktflow.store.tables import Department
from mktflow.store.uow import UnitOfWork

__all__ = ["check_ready", "current_revision", "location", "upgrade"]


def upgrade(uow: UnitOfWork) -> tuple[str | None, str | None]:
    """Create or migrate mktflow's tables to the newest schema (idempotent).

    Returns the revision before and after.
    """
    return migrate.upgrade(uow.engine)


def current_revision(uow: UnitOfWork) -> str | None:
    """The migration the database is at (None for an empty database)."""
    return migrate.current_revision(uow.engine)


def location(uow: UnitOfWork) -> str:
    """The database's URL with any password masked, for messages."""
    return safe_url(uow.engine.url.render_as_string(hide_password=False))


def check_ready(uow: UnitOfWork) -> None:
    """Raise ConfigError unless the database answers and holds mktflow's tables."""
    with uow:
        uow.session.exec(select(Department.code).limit(1)).first()
