"""Where mktflow changes Prefect's own behaviour: each change here, nowhere else, checked against
the Prefect version it was written for.

mktflow is pinned to one Prefect release (``PREFECT_VERSION``); a change reaches into that
release's internals, so ``check_version`` refuses to apply any of them on another release
(``ConfigError`` naming both versions) instead of patching code that may no longer be there.

- ``sqlite_writes_take_the_lock_first``: the local Prefect server on SQLite answers "database is
  locked" (HTTP 503) when two requests write at once and one of them began by reading, as
  resuming a paused run from the Prefect UI does (``POST /flow_runs/{id}/resume``): SQLite
  refuses to upgrade a read transaction to a write while another connection writes, at once,
  whatever the busy timeout. Measured here: 15 of 20 resumes refused at load 4-7
  (``bench/resume_load.py``). Every transaction the server begins (``begin_transaction``)
  takes the write lock at ``BEGIN IMMEDIATE`` instead, waiting up to the busy timeout (60 s)
  for the other writer: 0 of 20 refused. Only the local server of the embedded defaults runs
  it (``python -m mktflow.prefect.local_server``); Prefect on PostgreSQL needs none of it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from mktflow.domain.errors import ConfigError

__all__ = ["PREFECT_VERSION", "check_version", "sqlite_writes_take_the_lock_first"]

#: The Prefect release whose internals the changes below were written against.
PREFECT_VERSION = "3.8.8"


def check_version(installed: str | None = None) -> None:
    """Refuse (ConfigError) unless the installed Prefect is ``PREFECT_VERSION``."""
    if installed is None:
        import prefect

        installed = prefect.__version__
    if installed != PREFECT_VERSION:
        raise ConfigError(
            f"mktflow changes Prefect {PREFECT_VERSION}'s internals (mktflow/prefect/patches.py) "
            f"and Prefect {installed} is installed: install prefect=={PREFECT_VERSION} "
            "(constraints.txt), or re-check each change against the new release before "
            "raising PREFECT_VERSION")


def sqlite_writes_take_the_lock_first() -> None:
    """Every transaction Prefect's server begins on SQLite starts with ``BEGIN IMMEDIATE``
    (see the module docstring). Idempotent."""
    check_version()
    from prefect.server.database.configurations import AioSqliteConfiguration

    current = AioSqliteConfiguration.begin_transaction
    if getattr(current, "_mktflow_immediate", False):
        return
    original = current

    @asynccontextmanager
    async def begin_transaction(self: Any, session: Any, with_for_update: bool = False
                                ) -> AsyncGenerator[Any, None]:
        async with original(self, session, with_for_update=True) as transaction:
            yield transaction

    begin_transaction._mktflow_immediate = True  # type: ignore[attr-defined]
    AioSqliteConfiguration.begin_transaction = begin_transaction  # type: ignore[method-assign]
