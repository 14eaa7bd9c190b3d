"""mktflow's changes to Prefect live in one module, applied only on the Prefect release they were
written for (issue 21), and the local server's SQLite writes take the lock first (issue 20)."""

from __future__ import annotations

import pytest

from mktflow.domain.errors import ConfigError
from mktflow.prefect import patches


def test_another_prefect_release_is_refused_naming_both_versions() -> None:
    with pytest.raises(ConfigError, match=r"Prefect 3\.8\.8's internals .* Prefect 9\.9\.9 is "
                                          r"installed"):
        patches.check_version("9.9.9")
    patches.check_version(patches.PREFECT_VERSION)


def test_the_installed_prefect_is_the_one_the_changes_were_written_for() -> None:
    import prefect

    assert prefect.__version__ == patches.PREFECT_VERSION


def test_every_transaction_of_the_local_server_begins_immediate() -> None:
    """The change makes Prefect's own ``begin_transaction`` take the write lock at BEGIN: it
    always asks for ``with_for_update`` (BEGIN IMMEDIATE), whatever the endpoint asked."""
    import asyncio

    from prefect.server.database.configurations import (
        SQLITE_BEGIN_MODE,
        AioSqliteConfiguration,
    )

    saved = AioSqliteConfiguration.begin_transaction
    try:
        patches.sqlite_writes_take_the_lock_first()
        patches.sqlite_writes_take_the_lock_first()  # twice: the same change, once
        seen: list[str | None] = []

        class _Session:
            def begin(self) -> _Session:
                return self

            async def __aenter__(self) -> None:
                seen.append(SQLITE_BEGIN_MODE.get())

            async def __aexit__(self, *exc: object) -> None:
                return None

        async def read_then_write() -> None:  # as POST /flow_runs/{id}/resume begins
            config = AioSqliteConfiguration.__new__(AioSqliteConfiguration)
            async with config.begin_transaction(_Session()):  # type: ignore[arg-type]
                pass

        asyncio.run(read_then_write())
        assert seen == ["IMMEDIATE"]
    finally:
        AioSqliteConfiguration.begin_transaction = saved  # type: ignore[method-assign]
