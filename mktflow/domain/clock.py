"""The one clock: every reading of "now" in mktflow comes from here.

A clock is a callable returning the current moment as a timezone-aware ``datetime`` in UTC
(``Clock``). The process has one clock, the system's unless the wiring installed another
(``mktflow.bootstrap.wire(clock=...)``, or ``installed`` in a test): handlers read it through
their unit of work (``uow.now()``), everything else (page sessions, cycle periods, the demo's
answers, the relay's backoff, new rows' ``created_at``) through ``now()``. Nothing else in
mktflow calls ``datetime.now``, ``date.today`` or ``time.time`` for a business time; elapsed
times (timeouts, polls) are measured with ``time.monotonic``, which no clock moves.

``FrozenClock`` stands still until told to move: tests take "now" from it, so no test depends
on the calendar (a date a test writes is relative to it, or the test freezes it at a date with
the calendar fact it needs).

    from mktflow.domain import clock

    frozen = clock.FrozenClock.at_now()
    with clock.installed(frozen):
        frozen.advance(days=3)
        assert clock.now() == frozen()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

__all__ = ["Clock", "FrozenClock", "install", "installed", "now", "system_clock", "today"]

#: () -> the current moment, timezone-aware, in UTC.
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The machine's time, timezone-aware in UTC."""
    return datetime.now(UTC)


_lock = threading.Lock()
_process_clock: Clock = system_clock


def now() -> datetime:
    """The current moment on the process's clock (UTC, timezone-aware)."""
    return _process_clock()


def today() -> date:
    """Today's date in UTC on the process's clock."""
    return _process_clock().date()


def install(clock: Clock | None) -> Clock:
    """Make ``clock`` the process's clock (None: the system's); returns the one it replaces.

    Called by the wiring (``mktflow.bootstrap.wire``) and by tests; a door never calls it.
    """
    global _process_clock
    with _lock:
        previous, _process_clock = _process_clock, clock or system_clock
    return previous


@contextmanager
def installed(clock: Clock) -> Iterator[Clock]:
    """``clock`` as the process's clock inside the block; the previous one after it."""
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)


class FrozenClock:
    """A clock that stands still until it is moved (``advance``, ``set``); thread-safe.

    ``start`` must be timezone-aware; it is kept in UTC.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"a clock's time needs a time zone: {start.isoformat()}")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    @classmethod
    def at_now(cls) -> FrozenClock:
        """Frozen at the system's time now, to the whole second."""
        return cls(system_clock().replace(microsecond=0))

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def now(self) -> datetime:
        """The clock's time (the same as calling it)."""
        return self()

    def today(self) -> date:
        """The clock's date in UTC."""
        return self().date()

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)``, e.g. ``advance(hours=25)``; the new time."""
        with self._lock:
            self._now += timedelta(**delta)
            return self._now

    def set(self, moment: datetime) -> datetime:
        """Jump to ``moment`` (timezone-aware), forwards or back; the new time."""
        if moment.tzinfo is None:
            raise ValueError(f"a clock's time needs a time zone: {moment.isoformat()}")
        with self._lock:
            self._now = moment.astimezone(UTC)
            return self._now
