"""The one place where mktflow's parts are wired together, once per process.

Doors (the CLI, the REST API, the Prefect bridge and the flows) never build the engine's
plumbing: they ask this module for a unit of work and call the engine's handlers with it.
What a unit of work carries (the database, the clock, the settings, the resumer that hands a
completed step to its waiting flow run) is chosen here, from the settings in force, and can be
replaced as a whole (``wire``) by a test or a host process.

    from mktflow import bootstrap
    from mktflow.engine import work

    work.claim(bootstrap.uow(), 12, actor_email="olga.petrova@example.com")
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mktflow.config import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from mktflow.store.tables import WorkItem
    from mktflow.store.uow import Clock, Resumer, UnitOfWork

__all__ = ["Wiring", "default_resumer", "reset", "uow", "wire", "wiring"]


@dataclass
class Wiring:
    """The engine's dependencies for this process: settings, database, clock and resumer."""

    settings: Settings
    database: Engine
    clock: Clock | None = None
    #: None: the Prefect bridge's HTTP hand-back (imported only when a unit of work is made).
    resumer: Resumer | None = None

    def uow(self) -> UnitOfWork:
        """A new unit of work on this wiring's database, clock, settings and resumer."""
        from mktflow.store.uow import UnitOfWork

        resumer = self.resumer or _hand_back_when_needed
        if self.clock is None:
            return UnitOfWork(self.database, settings=self.settings, resumer=resumer)
        return UnitOfWork(self.database, clock=self.clock, settings=self.settings,
                          resumer=resumer)


def default_resumer() -> Resumer:
    """The production resumer: the bridge's hand-back over plain HTTP to Prefect's API, so a
    CLI process completes a step without paying for a Prefect import."""
    from mktflow.prefect.handback import hand_back

    return hand_back


def _hand_back_when_needed(flow_run_id: str, item: WorkItem) -> None:
    """The production resumer, imported (with httpx) only when a step is really handed back:
    most commands never do, and start faster without it."""
    default_resumer()(flow_run_id, item)


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
         clock: Clock | None = None, resumer: Resumer | None = None) -> Wiring:
    """Replace this process's wiring (a test's database, clock or resumer, a host's settings)."""
    global _wiring
    from mktflow.store.db import get_engine

    with _lock:
        _wiring = Wiring(settings=settings or get_settings(), database=database or get_engine(),
                         clock=clock, resumer=resumer)
        return _wiring


def reset() -> None:
    """Forget the wiring; the next use builds it again from the settings."""
    global _wiring
    with _lock:
        _wiring = None


def uow() -> UnitOfWork:
    """A new unit of work on this process's wiring."""
    return wiring().uow()
