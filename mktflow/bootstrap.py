"""The one place where mktflow's parts are wired together, once per process.

Doors (the CLI, the REST API, the Prefect bridge and the flows) never build the engine's
plumbing: they ask this module for a unit of work and call the engine's handlers with it.
What a unit of work carries (the database, the clock, the settings) is chosen here, from the
settings in force, and can be replaced as a whole (``wire``) by a test or a host process.

    from mktflow import bootstrap
    from mktflow.engine import work

    work.claim(bootstrap.uow(), 12, actor_email="olga.petrova@example.com")
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mktflow.config import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from mktflow.store.uow import Clock, UnitOfWork

__all__ = ["Wiring", "reset", "uow", "wire", "wiring"]


@dataclass
class Wiring:
    """The engine's dependencies for this process: settings, database and clock."""

    settings: Settings
    database: Engine
    clock: Clock | None = None
    extras: dict[str, object] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        """A new unit of work on this wiring's database, clock and settings."""
        from mktflow.store.uow import UnitOfWork

        if self.clock is None:
            return UnitOfWork(self.database)
        return UnitOfWork(self.database, clock=self.clock)


_lock = threading.Lock()
_wiring: Wiring | None = None


def wiring() -> Wiring:
    """This process's wiring: the one ``wire`` set, else one from the settings in force.

    Without ``wire`` nothing is kept here: settings and engines are cached where they are
    built (``get_settings``, ``get_engine``), so clearing those caches rewires the process.
    """
    with _lock:
        if _wiring is not None:
            return _wiring
    from mktflow.store.db import get_engine

    return Wiring(settings=get_settings(), database=get_engine())


def wire(*, settings: Settings | None = None, database: Engine | None = None,
         clock: Clock | None = None) -> Wiring:
    """Replace this process's wiring (a test's database or clock, a host's settings)."""
    global _wiring
    from mktflow.store.db import get_engine

    with _lock:
        _wiring = Wiring(settings=settings or get_settings(), database=database or get_engine(),
                         clock=clock)
        return _wiring


def reset() -> None:
    """Forget the wiring; the next use builds it again from the settings."""
    global _wiring
    with _lock:
        _wiring = None


def uow() -> UnitOfWork:
    """A new unit of work on this process's wiring."""
    return wiring().uow()
