"""The one place where mktflow's parts are wired together, once per process.

Doors (the CLI, the REST API, the Prefect bridge and the flows) never build the engine's
plumbing: they ask this module for a unit of work and call the engine's handlers with it.
What a unit of work carries (the database, the clock, the settings, the resumer that hands a
completed step to its waiting flow run, the ender that ends the run of a process a cancel ended)
is chosen here, from the settings in force, and can be
replaced as a whole (``wire``) by a test or a host process.

    from mktflow import bootstrap
    from mktflow.engine import work

    work.claim(bootstrap.uow(), 12, actor_email="olga.petrova@example.com")
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from mktflow.domain import clock as clocks

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from mktflow.config import Settings
    from mktflow.domain.actors import Door
    from mktflow.domain.clock import Clock
    from mktflow.store.tables import WorkItem
    from mktflow.store.uow import Identification, Resumer, RunEnder, RunWaker, UnitOfWork

__all__ = ["Wiring", "default_ender", "default_resumer", "default_waker", "engine_uow", "reset",
           "uow", "wire", "wiring"]


class Wiring:
    """The engine's dependencies for this process: settings, database, clock, resumer, ender,
    waker.

    ``settings`` None: the process's (``get_settings``), loaded when first read, so a command
    that only reads a page never imports pydantic.
    """

    def __init__(self, *, database: Engine, settings: Settings | None = None,
                 clock: Clock | None = None, resumer: Resumer | None = None,
                 ender: RunEnder | None = None, waker: RunWaker | None = None) -> None:
        self.database = database
        #: None: the process's clock (``mktflow.domain.clock.now``), read at each use.
        self.clock = clock
        #: None: the Prefect bridge's HTTP hand-back (imported only when a unit of work is made).
        self.resumer = resumer
        #: None: the Prefect bridge's HTTP end of a run (imported only when a run is ended).
        self.ender = ender
        #: None: the Prefect bridge's HTTP wake of a run (imported only when a run is woken).
        self.waker = waker
        self._settings = settings

    @property
    def settings(self) -> Settings:
        """The settings in force (the ones given, else ``get_settings()``)."""
        if self._settings is None:
            from mktflow.config import get_settings

            self._settings = get_settings()
        return self._settings

    def uow(self, door: Door | None = None, *,
            identified_by: Identification = None) -> UnitOfWork:
        """A new unit of work on this wiring's database, clock, settings and resumer.

        ``door`` says how its commands know who acts (default ``Door.PROVEN``: a door that
        proved the member); only ``Door.ENGINE`` may act as the process engine.
        ``identified_by`` (``IdentifiedBy``, or a function saying it when an entry is written)
        is how the door knew who acts, recorded on every audit entry of a person; a
        ``Door.TYPED`` unit of work says "typed in the Prefect UI form" by itself.
        """
        from mktflow.domain.actors import Door
        from mktflow.store.uow import UnitOfWork

        resumer = self.resumer or _hand_back_when_needed
        ender = self.ender or _end_run_when_needed
        door = door or Door.PROVEN
        return UnitOfWork(self.database, clock=self.clock or clocks.now, settings=self._settings,
                          resumer=resumer, door=door, ender=ender, identified_by=identified_by,
                          waker=self.waker or _wake_run_when_needed)


def default_resumer() -> Resumer:
    """The production resumer: the bridge's hand-back over plain HTTP to Prefect's API, so a
    CLI process completes a step without paying for a Prefect import."""
    from mktflow.prefect.handback import hand_back

    return hand_back


def _hand_back_when_needed(flow_run_id: str, item: WorkItem) -> None:
    """The production resumer, imported (with httpx) only when a step is really handed back:
    most commands never do, and start faster without it."""
    default_resumer()(flow_run_id, item)


def default_ender() -> RunEnder:
    """The production ender: the bridge's ``end_run`` over plain HTTP to Prefect's API."""
    from mktflow.prefect.handback import end_run

    return end_run


def _end_run_when_needed(flow_run_id: str, message: str) -> None:
    """The production ender, imported only when a cancel really ends a waiting run."""
    default_ender()(flow_run_id, message)


def default_waker() -> RunWaker:
    """The production waker: the bridge's ``wake_run`` over plain HTTP to Prefect's API."""
    from mktflow.prefect.handback import wake_run

    return wake_run


def _wake_run_when_needed(flow_run_id: str, item: WorkItem) -> None:
    """The production waker, imported only when a cancelled step's run is really woken."""
    default_waker()(flow_run_id, item)


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

    return Wiring(database=get_engine())  # the settings are read when first needed


def wire(*, settings: Settings | None = None, database: Engine | None = None,
         clock: Clock | None = None, resumer: Resumer | None = None,
         ender: RunEnder | None = None, waker: RunWaker | None = None) -> Wiring:
    """Replace this process's wiring (a test's database, clock, resumer, ender or waker, a host's
    settings). A ``clock`` given becomes the process's clock (``mktflow.domain.clock``): every
    reading of "now" in the process comes from it, not only the units of work's."""
    global _wiring
    from mktflow.store.db import get_engine

    if clock is not None:
        clocks.install(clock)
    with _lock:
        _wiring = Wiring(settings=settings, database=database or get_engine(),
                         clock=clock, resumer=resumer, ender=ender, waker=waker)
        return _wiring


def reset() -> None:
    """Forget the wiring (and a clock it installed); the next use builds it again from the
    settings, on the system's clock."""
    global _wiring
    with _lock:
        if _wiring is not None and _wiring.clock is not None:
            clocks.install(None)
        _wiring = None


def uow() -> UnitOfWork:
    """A new unit of work on this process's wiring, for a door that proved who acts."""
    return wiring().uow()


def engine_uow() -> UnitOfWork:
    """A new unit of work for the process engine itself (flows' tasks, sweeps): the only kind
    in which the reserved identity ``mktflow`` may act (``Door.ENGINE``)."""
    from mktflow.domain.actors import Door

    return wiring().uow(Door.ENGINE)
