"""The one settings class: every knob of mktflow, read from ``MKTFLOW_*`` environment variables.

Nothing else in mktflow reads the environment; code that needs a setting calls ``get_settings()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mktflow.domain.errors import ConfigError

#: SQLAlchemy dialects mktflow installs a driver for, and the driver it picks for a bare URL.
_DEFAULT_DRIVERS = {"postgresql": "psycopg", "postgres": "psycopg", "sqlite": "pysqlite"}


class Settings(BaseSettings):
    """mktflow's configuration; each field is the environment variable ``MKTFLOW_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MKTFLOW_", extra="ignore")

    data_dir: Path = Field(
        default=Path.home() / ".mktflow",
        description="Folder for the default SQLite database and local Prefect server data.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "Any SQLAlchemy URL; empty means a SQLite file in the data folder. "
            "A bare postgresql://user@host:port/db uses the psycopg driver mktflow installs."
        ),
    )
    api_url: str = Field(
        default="http://127.0.0.1:8787",
        description="Base URL where the mktflow REST API is reachable; used in action links.",
    )
    prefect_ui_url: str | None = Field(
        default=None,
        description="Prefect UI base URL for links to flow-run pages (e.g. http://127.0.0.1:4200).",
    )
    sqlite_busy_timeout_s: float = Field(
        default=30.0, description="How long a SQLite writer waits for the write lock, in seconds."
    )

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL to connect to, with mktflow's driver filled in for bare URLs."""
        if not self.database_url:
            return f"sqlite:///{self.data_dir / 'mktflow.db'}"
        return normalise_database_url(self.database_url)


def normalise_database_url(raw: str) -> str:
    """Validate a database URL and give bare ``postgresql://`` URLs the installed driver."""
    try:
        url = make_url(raw.strip())
    except ArgumentError as exc:
        raise ConfigError(
            f"MKTFLOW_DATABASE_URL is not a database URL ({raw!r}): "
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
