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


def test_the_fork_server_configures_the_orm_last_so_no_forked_run_does() -> None:
    """A forked run starts from the fork server's memory: the ORM's mappers configured there
    (``mktflow.prefect.forked``, imported after the flows' modules) are configured in every
    run. Checked in a new interpreter, as the fork server is one."""
    import subprocess
    import sys

    preload = serving._preload({1: "flows.campaign.campaign"})
    assert preload[-2:] == ["flows.campaign", "mktflow.prefect.forked"]
    probe = ("from sqlalchemy import inspect\n"
             "from mktflow.store.tables import WorkItem\n"
             "before = inspect(WorkItem).configured\n"
             "import mktflow.prefect.forked\n"
             "print(before, inspect(WorkItem).configured)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.split() == ["False", "True"], done.stderr[-2000:]
