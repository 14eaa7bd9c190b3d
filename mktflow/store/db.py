"""Database engines: one per URL, SQLite tuned for several writers, deadlines on both databases
(``mktflow.store.deadlines``), errors made readable."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from mktflow.config_env import DEFAULT_DB_CONNECT_TIMEOUT_S, DEFAULT_DB_STATEMENT_TIMEOUT_S
from mktflow.domain.errors import (
    BadInput,
    ConfigError,
    DatabaseTimeout,
    DatabaseUnreachable,
    Unavailable,
)
from mktflow.domain.money import money_json
from mktflow.store import deadlines as limits
from mktflow.store.deadlines import Deadlines

__all__ = ["Deadlines", "database_errors", "deadlines_of", "engine_for", "get_engine",
           "safe_url"]


def safe_url(url: str) -> str:
    """The URL with any password masked (``user:***@``, ``?password=***``), for messages."""
    from mktflow.config_env import mask_url

    return mask_url(url)


def _tune_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE so writers queue instead of failing.

    With a deferred BEGIN, two processes that both read and then write fail with "database is
    locked" (the busy handler cannot help a reader upgrading to writer). Taking the write lock at
    BEGIN makes the second writer wait, then read the first one's result.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


#: Text no driver can take: PostgreSQL refuses NUL, psycopg cannot encode a lone surrogate.
_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")


def _refuse_unsendable_text(engine: Engine) -> None:
    """Refuse a statement whose text parameters hold a NUL or a lone surrogate (BadInput naming
    the parameter), before it reaches the driver: a lookup by such a value (``--as``, a query
    filter) is bad input on both databases, not a driver error on one of them."""

    @event.listens_for(engine, "before_cursor_execute")
    def _check(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any,
               _executemany: bool) -> None:
        rows = parameters if isinstance(parameters, list | tuple) and parameters and \
            isinstance(parameters[0], dict | list | tuple) else [parameters]
        for row in rows:
            items = row.items() if isinstance(row, dict) else enumerate(row or ())
            for name, value in items:
                if isinstance(value, str) and _UNSENDABLE.search(value):
                    field = re.sub(r"_\d+$", "", str(name))
                    raise BadInput(f"{field}: must not contain a NUL character or a lone "
                                   "surrogate (text that is not valid Unicode)")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money_json(value)  # an amount: a number with its two places (domain.money)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def json_dumps(value: Any) -> str:
    """How JSON columns are written: amounts (Decimal) as numbers with their two places."""
    return json.dumps(value, default=_json_default)


#: The deadlines each engine was built with (``database_errors`` names them in its messages).
_DEADLINES: WeakKeyDictionary[Engine, Deadlines] = WeakKeyDictionary()


def engine_for(url: str, *, busy_timeout_s: float = 30.0,
               connect_timeout_s: float = DEFAULT_DB_CONNECT_TIMEOUT_S,
               statement_timeout_s: float = DEFAULT_DB_STATEMENT_TIMEOUT_S) -> Engine:
    """A new engine for ``url`` with its deadlines (seconds; ``mktflow.store.deadlines``);
    creates the folder of a SQLite file."""
    parsed = make_url(url)
    deadlines = Deadlines(connect_s=connect_timeout_s, statement_s=statement_timeout_s)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"the folder of the SQLite database, {folder}, cannot be made "
                    f"({exc.strerror or exc}): set MKTFLOW_DATA_DIR (or MKTFLOW_DATABASE_URL) "
                    "to a place you may write") from None
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s},
                               json_serializer=json_dumps)
        _tune_sqlite(engine, busy_timeout_s)
    else:
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=5, max_overflow=10, json_serializer=json_dumps,
            connect_args=limits.postgresql_connect_args(deadlines, dict(parsed.query)))
    limits.install(engine, deadlines)
    _DEADLINES[engine] = deadlines
    _refuse_unsendable_text(engine)
    return engine


def deadlines_of(engine: Engine) -> Deadlines:
    """The deadlines ``engine`` was built with (the defaults for one built elsewhere)."""
    return _DEADLINES.get(engine) or Deadlines()


@lru_cache(maxsize=8)
def _cached_engine(url: str, busy_timeout_s: float,
                   connect_timeout_s: float = DEFAULT_DB_CONNECT_TIMEOUT_S,
                   statement_timeout_s: float = DEFAULT_DB_STATEMENT_TIMEOUT_S) -> Engine:
    return engine_for(url, busy_timeout_s=busy_timeout_s, connect_timeout_s=connect_timeout_s,
                      statement_timeout_s=statement_timeout_s)


def get_engine(url: str | None = None) -> Engine:
    """The shared engine for ``url``, or for the configured database (read without pydantic
    when the settings are not loaded yet: ``mktflow.config_env.database_settings``)."""
    from mktflow.config_env import database_settings

    quick = database_settings(resolve_url=not url)
    if quick is None:
        from mktflow.config import get_settings

        quick = get_settings().database()
    return _cached_engine(url or quick.url, quick.sqlite_busy_timeout_s, quick.connect_timeout_s,
                          quick.statement_timeout_s)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


#: PostgreSQL's answers that a setting is wrong, not that the server is away: SQLSTATE class 28
#: (invalid authorization: a wrong password, no such role) and 3D000 (no such database).
_MISCONFIGURED_SQLSTATES = ("28", "3D000")


#: The same answers as libpq words them while connecting (psycopg gives no SQLSTATE then).
_MISCONFIGURED_WORDS = re.compile(
    r'database "[^"]*" does not exist|role "[^"]*" does not exist|password authentication '
    r"failed|no pg_hba\.conf entry|authentication failed|unable to open database file")


def _misconfigured(exc: DBAPIError) -> bool:
    """Whether the driver's error says the settings are wrong (PostgreSQL refused the login or
    has no such database; SQLite cannot open its file) rather than that the server is away."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if sqlstate.startswith(_MISCONFIGURED_SQLSTATES):
        return True
    return _MISCONFIGURED_WORDS.search(str(exc.orig or exc)) is not None


@contextmanager
def database_errors(url: str, deadlines: Deadlines | None = None) -> Iterator[None]:
    """Turn driver errors about reaching or finding the schema into one readable error: a
    deadline that passed is DatabaseTimeout (naming its setting), a busy SQLite Unavailable,
    anything else ConfigError naming the database."""
    try:
        yield
    except (OperationalError, ProgrammingError) as exc:
        timeout = limits.timeout_message(exc, deadlines or Deadlines())
        if timeout is not None:
            raise DatabaseTimeout(timeout) from None
        line = _first_line(exc)
        if isinstance(exc, OperationalError) and "database is locked" in line:
            # Names no file: an API caller is told to come back, the operator sees the setting.
            raise Unavailable("the database is busy with another writer (it waited "
                              "MKTFLOW_SQLITE_BUSY_TIMEOUT_S); try again in a moment") from None
        if "no such table" in line or ("does not exist" in line and "relation" in line):
            raise ConfigError(
                f"the database at {safe_url(url)} has no mktflow tables yet: "
                "run `mktflow db upgrade`"
            ) from None
        if isinstance(exc, OperationalError):
            error = ConfigError if _misconfigured(exc) else DatabaseUnreachable
            raise error(f"cannot use the database at {safe_url(url)}: {line}") from None
        raise
    except DBAPIError as exc:
        timeout = limits.timeout_message(exc, deadlines or Deadlines())
        if timeout is not None:
            raise DatabaseTimeout(timeout) from None
        if exc.connection_invalidated:
            raise DatabaseUnreachable(
                f"lost the connection to {safe_url(url)}: {_first_line(exc)}"
            ) from None
        raise
