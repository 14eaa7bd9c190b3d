"""Flow tests run on one real Prefect server per test session (started once, ~15 s)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A real Prefect API server for the whole session; flow runs skip the exit heartbeat."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120), temporary_settings(
        {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    ):
        yield


@contextmanager
def configured(db: Any) -> Iterator[Any]:
    """``db`` as the mktflow database of every flow run in this process (MKTFLOW_DATABASE_URL)."""
    from tests.conftest import reset_caches

    saved = {k: os.environ.get(k) for k in ("MKTFLOW_DATABASE_URL",
                                            "MKTFLOW_STEP_POLL_INTERVAL_S")}
    os.environ["MKTFLOW_DATABASE_URL"] = db.url
    os.environ["MKTFLOW_STEP_POLL_INTERVAL_S"] = "0.2"
    reset_caches()
    try:
        yield db
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_caches()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def flow_db(request: pytest.FixtureRequest, prefect_server: None,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A migrated database with the demo organisation (SQLite file, then PostgreSQL) that the
    flows of this module use: every flow test runs on both."""
    from tests.conftest import _opened, new_pg_database, sqlite_copy

    if request.param == "sqlite":
        db = sqlite_copy(request.getfixturevalue("sqlite_template"),
                         tmp_path_factory.mktemp("flow-db") / "mktflow.db")
        with configured(db):
            yield db
        db.engine.dispose()
        return
    with new_pg_database(template=request.getfixturevalue("pg_template")) as url:
        db = _opened(url, "postgresql")
        with configured(db):
            yield db
        db.engine.dispose()
