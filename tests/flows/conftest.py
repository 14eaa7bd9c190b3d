"""Flow tests run on one real Prefect server per test session (started once, ~15 s)."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="module")
def flow_db(prefect_server: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A migrated SQLite database with the demo organisation, configured for flows to use."""
    from tests.conftest import _migrated, reset_caches

    path = tmp_path_factory.mktemp("flow-db") / "mktflow.db"
    db = _migrated(f"sqlite:///{path}", "sqlite")
    saved = {k: os.environ.get(k) for k in ("MKTFLOW_DATABASE_URL",
                                            "MKTFLOW_STEP_POLL_INTERVAL_S")}
    os.environ["MKTFLOW_DATABASE_URL"] = db.url
    os.environ["MKTFLOW_STEP_POLL_INTERVAL_S"] = "0.2"
    reset_caches()
    yield db
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_caches()
    db.engine.dispose()
