"""How long the database may take: connect and statement deadlines on both databases.

A database that stops answering must not hold a command, a request or ``/health`` for as long
as it is away. Each engine ``mktflow.store.db.engine_for`` builds gets these deadlines
(``Deadlines``, from ``MKTFLOW_DB_CONNECT_TIMEOUT_S`` and ``MKTFLOW_DB_STATEMENT_TIMEOUT_S``):

PostgreSQL (psycopg)
    * connecting: libpq's ``connect_timeout`` (whole seconds, at least 2), for the whole
      exchange up to a ready connection;
    * each statement: the server's ``statement_timeout`` (``options=-c statement_timeout=…``),
      so a slow statement is cancelled by the server with a clear error;
    * each exchange with the server, on the client: a server or network that answers nothing
      at all (a stalled network whose kernel still acknowledges, a stopped server) cannot
      cancel anything, so the client gives the connection up when an exchange (a statement, a
      COMMIT, a ping) has waited ``statement + connect`` seconds (``answer_s``), and a pooled
      connection's check before use after ``connect`` seconds (``ping_s``). psycopg's own
      wait with a ``timeout`` does the waiting (``_Guarded.wait``); the connection is closed,
      so SQLAlchemy sees a disconnect and the pool opens a fresh one next time;
    * the network: TCP keepalives on idle connections, and ``tcp_user_timeout`` (data left
      unacknowledged for ``answer_s`` ends the connection).

SQLite
    * connecting opens a file: nothing to wait for; the wait for the write lock is
      ``MKTFLOW_SQLITE_BUSY_TIMEOUT_S`` (``mktflow.store.db``);
    * each statement: interrupted (``sqlite3`` progress handler) once it has run for
      ``statement`` seconds.

Migrations run without a statement deadline (``unlimited``): building an index on a large
table may take longer than any command should.

The errors these raise are turned into ``DatabaseTimeout`` (exit 1, HTTP 503 + Retry-After)
naming the deadline and its setting by ``timeout_message``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, event

from mktflow.config_env import DEFAULT_DB_CONNECT_TIMEOUT_S, DEFAULT_DB_STATEMENT_TIMEOUT_S

__all__ = ["Deadlines", "install", "postgresql_connect_args", "timeout_message", "unlimited"]

#: What the client-side guard says when it gives a connection up (``timeout_message`` reads it).
_NO_ANSWER = "the database did not answer within"
#: The ``Connection.info`` key of a SQLite connection's running statement's deadline.
_SQLITE_DEADLINE = "mktflow_statement_deadline"
#: The ``Connection.info`` key that lifts the statement deadline (migrations).
_UNLIMITED = "mktflow_unlimited"
#: SQLite VM instructions between two looks at the clock (cheap: about a microsecond each).
_SQLITE_CHECK_EVERY = 10_000


@dataclass(frozen=True)
class Deadlines:
    """The database's deadlines, in seconds (``MKTFLOW_DB_CONNECT_TIMEOUT_S``,
    ``MKTFLOW_DB_STATEMENT_TIMEOUT_S``)."""

    connect_s: float = DEFAULT_DB_CONNECT_TIMEOUT_S
    statement_s: float = DEFAULT_DB_STATEMENT_TIMEOUT_S

    @property
    def connect_whole_s(self) -> int:
        """The connect deadline as libpq counts it: whole seconds, at least 2."""
        return max(2, math.ceil(self.connect_s))

    @property
    def ping_s(self) -> float:
        """How long a pooled connection's check before use may take (a round trip)."""
        return float(self.connect_whole_s)

    @property
    def answer_s(self) -> float:
        """How long the client waits for any answer before it gives the connection up: the
        statement deadline plus time for the server's own cancel to arrive."""
        return self.statement_s + self.connect_whole_s


def postgresql_connect_args(deadlines: Deadlines, query: dict[str, Any]) -> dict[str, Any]:
    """libpq parameters for ``deadlines``; a parameter the URL's query already sets is left to
    it (``options`` are joined: the URL's come last, so they win)."""
    answer_ms = int(deadlines.answer_s * 1000)
    wanted: dict[str, Any] = {
        "connect_timeout": deadlines.connect_whole_s,
        "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
        "keepalives_count": 3, "tcp_user_timeout": answer_ms,
    }
    args = {name: value for name, value in wanted.items() if name not in query}
    statement = f"-c statement_timeout={int(deadlines.statement_s * 1000)}"
    own = query.get("options")
    args["options"] = f"{statement} {own}" if own else statement
    return args


@cache
def _guarded_class() -> Any:
    """psycopg's connection, giving up an exchange that waited longer than its deadline."""
    import psycopg
    from psycopg import errors

    wait_timeout: type[BaseException] = getattr(errors, "_WaitTimeout", errors.OperationalError)

    class _Guarded(psycopg.Connection):
        """A psycopg connection whose every wait (statement, COMMIT, ping) has a deadline:
        ``answer_s`` seconds (None: none), set by the pool's events."""

        answer_s: float | None = None

        def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
            limit = self.answer_s
            if limit is None or len(args) > 1 or kwargs.get("timeout") is not None:
                return super().wait(gen, *args, **kwargs)
            kwargs["timeout"] = limit
            try:
                return super().wait(gen, *args, **kwargs)
            except wait_timeout:
                self.close()  # mid-exchange: nothing else can be sent on it
                raise psycopg.OperationalError(
                    f"{_NO_ANSWER} {limit:g} s; the connection was closed") from None

    return _Guarded


def install(engine: Engine, deadlines: Deadlines) -> None:
    """Put ``deadlines`` on ``engine``'s connections (see the module docstring)."""
    if engine.dialect.name == "postgresql":
        _guard_postgresql(engine, deadlines)
    elif engine.dialect.name == "sqlite":
        _guard_sqlite(engine, deadlines)


def _guard_postgresql(engine: Engine, deadlines: Deadlines) -> None:
    guarded = _guarded_class()

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return guarded.connect(*cargs, **cparams)

    def _answer(dbapi_conn: Any, *_args: Any) -> None:
        if dbapi_conn is not None:
            dbapi_conn.answer_s = deadlines.answer_s

    def _idle(dbapi_conn: Any, record: Any) -> None:
        # The next exchange of an idle connection is the pool's check before use: a round trip.
        if dbapi_conn is not None:
            dbapi_conn.answer_s = deadlines.ping_s
        record.info.pop(_UNLIMITED, None)

    event.listen(engine, "connect", _answer)
    event.listen(engine, "checkout", _answer)
    event.listen(engine, "checkin", _idle)


def _guard_sqlite(engine: Engine, deadlines: Deadlines) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, record: Any) -> None:
        deadline = record.info[_SQLITE_DEADLINE] = [math.inf]
        dbapi_conn.set_progress_handler(lambda: time.monotonic() > deadline[0],
                                        _SQLITE_CHECK_EVERY)

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Connection, *_args: Any) -> None:
        deadline = conn.info.get(_SQLITE_DEADLINE)
        if deadline is not None:
            deadline[0] = (math.inf if conn.info.get(_UNLIMITED)
                           else time.monotonic() + deadlines.statement_s)

    @event.listens_for(engine, "checkin")
    def _idle(_dbapi_conn: Any, record: Any) -> None:
        record.info.pop(_UNLIMITED, None)
        if _SQLITE_DEADLINE in record.info:
            record.info[_SQLITE_DEADLINE][0] = math.inf


@contextmanager
def unlimited(conn: Connection) -> Iterator[None]:
    """No statement deadline on ``conn`` inside the block (migrations); call it inside a
    transaction (PostgreSQL's ``SET LOCAL`` lasts until it ends)."""
    conn.info[_UNLIMITED] = True
    dbapi = conn.connection.dbapi_connection
    before = getattr(dbapi, "answer_s", None)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        dbapi.answer_s = None  # type: ignore[union-attr]
    try:
        yield
    finally:
        conn.info.pop(_UNLIMITED, None)
        if conn.dialect.name == "postgresql" and not conn.invalidated:
            dbapi.answer_s = before  # type: ignore[union-attr]


def timeout_message(exc: BaseException, deadlines: Deadlines) -> str | None:
    """What a person is told when ``exc`` (a driver error, as SQLAlchemy wraps it) is one of
    these deadlines passing; None when it is not. Names the setting, never the host."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    kind = type(orig).__name__
    if kind == "ConnectionTimeout" or text.startswith("connection timeout expired"):
        return (f"the database did not accept a connection within "
                f"{deadlines.connect_whole_s} s (MKTFLOW_DB_CONNECT_TIMEOUT_S): it is down, "
                "restarting or unreachable; nothing was done, try again in a moment")
    if text.startswith(_NO_ANSWER):
        waited = text[len(_NO_ANSWER):].split(";")[0].strip()
        return (f"the database did not answer within {waited} (MKTFLOW_DB_STATEMENT_TIMEOUT_S "
                "plus MKTFLOW_DB_CONNECT_TIMEOUT_S, or the latter for a check before use): "
                "the network or the server is stalled; try again in a moment")
    if (kind == "QueryCanceled" and "statement timeout" in text) or (
            kind == "OperationalError" and text == "interrupted"):
        return (f"a statement ran longer than {deadlines.statement_s:g} s "
                "(MKTFLOW_DB_STATEMENT_TIMEOUT_S) and was stopped; nothing was changed, try "
                "again in a moment")
    return None
