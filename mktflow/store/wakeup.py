"""Waking relays when the outbox gets a message: PostgreSQL's LISTEN/NOTIFY.

A transaction that writes outbox rows (``UnitOfWork.commit``) or makes a message due again
(``mktflow outbox retry``) also runs ``NOTIFY mktflow_outbox`` (``announce``). PostgreSQL
delivers a notification only when its transaction commits, and drops it when it rolls back:
a relay is woken by a message it can already read, never by one that will not exist. A
continuous relay (``mktflow serve``, ``mktflow outbox relay``) keeps one connection of its own
that LISTENs (``Listener``) and waits on it instead of sleeping its whole poll interval.

A notification says only "look"; the relay then claims what is due as always, so a lost or
repeated notification never loses or repeats a send: at worst the relay looks once more, or
finds it at its next poll. SQLite has no notifications: the relay polls it (see
``mktflow.notify.relay``).
"""

from __future__ import annotations

import logging
import select
import time
from typing import Any

from sqlalchemy import Connection, Engine, text

from mktflow.store.db import deadlines_of
from mktflow.store.deadlines import postgresql_connect_args

__all__ = ["CHANNEL", "Listener", "announce", "listens"]

log = logging.getLogger("mktflow.store.wakeup")

#: The notification channel of the outbox.
CHANNEL = "mktflow_outbox"
_NOTIFY = text(f"NOTIFY {CHANNEL}")


def listens(engine: Engine) -> bool:
    """Whether this database can wake relays (PostgreSQL); False for SQLite."""
    return engine.dialect.name == "postgresql"


def announce(connection: Connection) -> None:
    """Wake every listening relay once this connection's transaction commits (nothing happens
    if it rolls back; on SQLite nothing at all). Several in one transaction arrive as one."""
    if connection.dialect.name == "postgresql":
        connection.execute(_NOTIFY)


class Listener:
    """One PostgreSQL connection of its own, in autocommit, LISTENing on ``CHANNEL``.

    ``wait(timeout_s)`` returns True when woken: a notification came (counted in
    ``notified``), or the connection was just opened again after being lost (what was
    committed meanwhile was announced to nobody, so the relay must look). It returns False
    after ``timeout_s`` seconds without one, or at once when the database cannot be reached
    (the caller then sleeps and polls as it would without notifications). Not thread-safe:
    one listener per relay loop.
    """

    def __init__(self, engine: Engine) -> None:
        url = engine.url.set(drivername="postgresql")
        # the URL's own parameters (sslmode, …) stay in it; the deadlines it does not set are
        # added as the engine adds them (its own ``options`` joined in, so they still win)
        self._conninfo = url.render_as_string(hide_password=False)
        self._args = postgresql_connect_args(deadlines_of(engine), dict(url.query))
        self._conn: Any = None
        self._lost = False  # logged the loss once; logs once more when it is back
        #: Notifications received since this listener was made (tests and benchmarks read it).
        self.notified = 0

    @property
    def listening(self) -> bool:
        """Whether the listening connection is open (False while the database is away)."""
        return self._conn is not None

    def open(self) -> bool:
        """Connect and LISTEN now if not connected; whether it listens."""
        if self._conn is not None:
            return True
        import psycopg

        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, **self._args)
            conn.execute(f"LISTEN {CHANNEL}")
        except Exception as exc:  # the database is away: poll until it is back
            if not self._lost:
                log.warning("the relay cannot listen for new outbox messages (%s); it looks "
                            "for them at its poll interval until it can", _first_line(exc))
                self._lost = True
            return False
        if self._lost:
            log.warning("the relay listens for new outbox messages again")
            self._lost = False
        self._conn = conn
        return True

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` seconds for a notification; True when woken (see the class
        docstring). All notifications already arrived are taken at once (one wake-up)."""
        if self._conn is None:  # listening again: what was committed meanwhile must be looked for
            return self.open()
        deadline = time.monotonic() + max(0.0, timeout_s)
        got = 0
        try:
            while not got:
                left = deadline - time.monotonic()
                # on the socket itself, then read what came without blocking: a connection
                # the server closed shows as readable too, and raises below
                ready, _, _ = select.select([self._conn.fileno()], [], [], max(0.0, left))
                if not ready:
                    break
                pgconn = self._conn.pgconn
                pgconn.consume_input()  # raises once the server has closed the connection
                while pgconn.notifies() is not None:
                    got += 1
        except Exception as exc:  # the connection is lost: drop it, open it next time
            log.info("the relay's listening connection is lost (%s); it opens another",
                     _first_line(exc))
            self.close()
            return True
        self.notified += got
        return got > 0

    def close(self) -> None:
        """Close the listening connection (``wait`` opens it again)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken
                log.debug("closing the listening connection failed", exc_info=True)


def _first_line(exc: BaseException) -> str:
    words = str(exc).strip()
    return words.splitlines()[0] if words else type(exc).__name__
