"""What ``mktflow.config.Settings`` needs without pydantic: the environment prefix, the defaults
of the database settings, the URL rules, and a quick reader of the database settings alone.

Importing pydantic-settings costs about 0.15 s of a command's start-up on this machine; a
command that only reads one page (``mktflow inbox``, ``mktflow work show``) needs the database
URL and its timeouts, nothing else. ``database_settings`` reads those the way ``Settings`` does
(same variables, case-insensitive, same defaults, same URL rules: the defaults and rules are
defined here once and ``Settings`` uses them), and hands over to the full settings when they
are already loaded or when a value needs pydantic's validation.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mktflow.domain.errors import ConfigError

__all__ = ["DEFAULT_DATA_DIR", "DEFAULT_DB_CONNECT_TIMEOUT_S", "DEFAULT_DB_STATEMENT_TIMEOUT_S",
           "DEFAULT_SQLITE_BUSY_TIMEOUT_S", "ENV_PREFIX", "DatabaseSettings", "database_settings",
           "mask_url", "normalise_database_url", "resolve_database_url"]

#: Every setting is the environment variable ``MKTFLOW_<NAME>`` (any case).
ENV_PREFIX = "MKTFLOW_"
#: Default of ``Settings.data_dir``: the folder of the default SQLite database.
DEFAULT_DATA_DIR = Path.home() / ".mktflow"
#: Default of ``Settings.sqlite_busy_timeout_s``, in seconds.
DEFAULT_SQLITE_BUSY_TIMEOUT_S = 30.0
#: Default of ``Settings.db_connect_timeout_s``, in seconds.
DEFAULT_DB_CONNECT_TIMEOUT_S = 3.0
#: Default of ``Settings.db_statement_timeout_s``, in seconds.
DEFAULT_DB_STATEMENT_TIMEOUT_S = 30.0
#: The settings an engine is built from (``mktflow.store.db.engine_for``): read by the quick
#: reader without pydantic, or taken from ``Settings``.
_DATABASE_TIMEOUTS = ("sqlite_busy_timeout_s", "db_connect_timeout_s", "db_statement_timeout_s")


class DatabaseSettings(NamedTuple):
    """What the database engine is built from: the resolved URL and its timeouts (seconds)."""

    url: str
    sqlite_busy_timeout_s: float
    connect_timeout_s: float
    statement_timeout_s: float

#: SQLAlchemy dialects mktflow installs a driver for, and the driver it picks for a bare URL.
_DEFAULT_DRIVERS = {"postgresql": "psycopg", "postgres": "psycopg", "sqlite": "pysqlite"}

_SECRET_IN_URL = re.compile(
    r"(?P<key>[?&;](?:[a-z_]*pass(?:word)?|[a-z_]*secret|[a-z_]*token|sslkey)=)[^&;#]*",
    re.IGNORECASE)
_USERINFO_PASSWORD = re.compile(r"^(?P<head>[a-z0-9+.-]+://[^/:@?#]*:)[^@/?#]*(?=@)",
                                re.IGNORECASE)


def mask_url(raw: str) -> str:
    """``raw`` with every secret it may carry masked as ``***``: the password of
    ``user:password@host`` and query parameters such as ``?password=``, ``sslpassword``,
    ``token``. Every URL mktflow prints or puts in a message passes through here."""
    masked = _USERINFO_PASSWORD.sub(lambda m: m["head"] + "***", raw.strip())
    return _SECRET_IN_URL.sub(lambda m: m["key"] + "***", masked)


def normalise_database_url(raw: str) -> str:
    """Validate a database URL and give bare ``postgresql://`` URLs the installed driver."""
    try:
        url = make_url(raw.strip())
    except ArgumentError as exc:
        raise ConfigError(
            f"MKTFLOW_DATABASE_URL is not a database URL ({mask_url(raw)!r}): "
            "expected e.g. postgresql://user@host:5432/db or sqlite:///path/to/file.db"
        ) from exc
    backend = url.get_backend_name()
    if backend not in _DEFAULT_DRIVERS:
        raise ConfigError(
            f"MKTFLOW_DATABASE_URL uses {backend!r}: mktflow supports postgresql and sqlite"
        )
    if "+" not in url.drivername:
        url = url.set(drivername=f"postgresql+{_DEFAULT_DRIVERS[backend]}"
                      if backend.startswith("postgres") else "sqlite")
    return url.render_as_string(hide_password=False)


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """The SQLAlchemy URL to connect to: ``database_url`` normalised, or when it is empty the
    SQLite file ``mktflow.db`` in ``data_dir``."""
    if not database_url:
        return f"sqlite:///{data_dir / 'mktflow.db'}"
    return normalise_database_url(database_url)


def database_settings(*, resolve_url: bool = True) -> DatabaseSettings | None:
    """The database settings as ``Settings`` would give them, read from
    ``MKTFLOW_DATABASE_URL`` and ``MKTFLOW_DATA_DIR`` without importing pydantic.

    None when the full settings must answer: they are already loaded in this process (they
    are then the truth), or a timeout (``MKTFLOW_SQLITE_BUSY_TIMEOUT_S``,
    ``MKTFLOW_DB_CONNECT_TIMEOUT_S``, ``MKTFLOW_DB_STATEMENT_TIMEOUT_S``) is set (a number
    pydantic validates). Raises ConfigError for a database URL that is not one (as ``Settings``
    does); with ``resolve_url`` False the URL is neither read nor checked (returned as "").
    """
    import sys

    if "mktflow.config" in sys.modules:
        return None
    prefix = ENV_PREFIX.lower()
    env = {key.lower()[len(prefix):]: value for key, value in os.environ.items()
           if key.lower().startswith(prefix)}
    if any(name in env for name in _DATABASE_TIMEOUTS):
        return None
    data_dir = Path(env["data_dir"]) if "data_dir" in env else DEFAULT_DATA_DIR
    url = resolve_database_url(env.get("database_url"), data_dir) if resolve_url else ""
    return DatabaseSettings(url, DEFAULT_SQLITE_BUSY_TIMEOUT_S, DEFAULT_DB_CONNECT_TIMEOUT_S,
                            DEFAULT_DB_STATEMENT_TIMEOUT_S)
