"""What serve's fork server imports once for every run it forks (``mktflow.prefect.serving``):
a run of a campaign then imports none of it again (issue 22, target 2)."""

from __future__ import annotations

import importlib

import pytest

from mktflow.prefect import serving
from tests.conftest import reset_caches


def test_every_preloaded_module_exists() -> None:
    """The fork server skips a module it cannot import without a word, so a module renamed by
    a Prefect or anyio release would quietly be imported again by every run."""
    for name in serving._PRELOAD:
        importlib.import_module(name)


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://postgres@127.0.0.1:5432/mktflow",
     ("sqlalchemy.dialects.postgresql.psycopg", "psycopg")),
    ("sqlite:////tmp/mktflow.db", ("sqlalchemy.dialects.sqlite.pysqlite", "sqlite3.dbapi2")),
    ("nosuchdb://somewhere/x", ()),
])
def test_the_database_driver_is_preloaded_for_the_configured_database(
        url: str, expected: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MKTFLOW_DATABASE_URL", url)
    reset_caches()
    try:
        assert serving._database_modules() == expected
    finally:
        monkeypatch.undo()
        reset_caches()
