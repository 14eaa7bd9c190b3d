"""Flow tests run on one real Prefect server per lane of a test session (started once, ~15 s)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="package")
def prefect_server(tmp_path_factory: pytest.TempPathFactory,
                   prefect_pg_template: str) -> Iterator[None]:
    """A real Prefect API server for the flow tests a worker runs in a row (a lane: see
    ``tests/conftest.py``), stopped when the worker goes on to other tests (package scope),
    instead of polling idle until the session ends (about 1 CPU-s a minute; a lane
    ends about half-way through a run of the suite); flow runs skip the exit heartbeat.

    ``prefect server start`` on its own PostgreSQL database rather than Prefect's test harness:
    the harness keeps Prefect's state in SQLite, whose lock made a resume racing a flow's own
    state change fail now and then ("database is locked" in Prefect's state validation), and a
    team runs Prefect on PostgreSQL anyway (docs: Running for a team).
    """
    import socket
    import subprocess
    import sys
    import time

    import httpx
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )

    from tests.conftest import new_pg_database

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = tmp_path_factory.mktemp("prefect-home")
    with new_pg_database(template=prefect_pg_template) as url, \
            open(home / "server.log", "wb") as log:
        # the flow tests run no schedules, automations or work pools: the services that
        # serve those would only take CPU from the other workers while they poll
        idle = {f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false" for name in (
            "SCHEDULER", "LATE_RUNS", "FOREMAN", "TRIGGERS", "REPOSSESSOR")}
        env = {**os.environ, **idle, "PREFECT_HOME": str(home),
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_API_DATABASE_CONNECTION_URL": url.replace(
                   "postgresql://", "postgresql+asyncpg://", 1)}
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        api = f"http://127.0.0.1:{port}/api"
        try:
            deadline = time.monotonic() + 120
            while True:
                assert server.poll() is None, (home / "server.log").read_text("utf-8", "replace")
                try:
                    if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the Prefect server did not answer in 120 s"
                time.sleep(0.5)
            with temporary_settings({PREFECT_API_URL: api,
                                     PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                yield
        finally:
            _drain_prefect_workers()  # the runs' last logs and events, before their server goes
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)
        assert "Traceback" not in (home / "server.log").read_text("utf-8", "replace"), (
            "the Prefect server logged a traceback: see " + str(home / "server.log"))


def _drain_prefect_workers() -> None:
    """Send what Prefect's log and event workers still hold (as its test harness does).

    Only the workers that run are drained: ``APILogWorker.instance()`` would start a new one
    when none runs, and a worker started here, outside the server's settings, starts a
    temporary Prefect server of its own for the rest of the session (3-10 CPU-s each)."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        for worker in (APILogWorker, EventsWorker):
            result = worker.drain_all()
            if inspect.isawaitable(result):
                await result

    run_coro_as_sync(drain())


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


#: The database each flow test module runs its flows on (MKTFLOW_DATABASE_URL of its runs).
#: Each flow test runs once, on one database: what differs between the two databases is the
#: engine's (locks, constraints, types, the relay's wake-up), and every engine command, view,
#: CLI command, API route and page runs on both in ``tests/integration``; the flow tests prove
#: what Prefect adds (suspend, resume, served deployments, retries, artifacts), which is the
#: same on either. The modules are split so that both databases run flows on a real Prefect
#: server: PostgreSQL takes the ones about concurrency and served deployments (as a team runs
#: it), SQLite the rest (as ``make demo`` runs). MKTFLOW_TEST_FLOWS_ON=both runs every flow test
#: on both (docs: Development → Tests).
FLOWS_ON_POSTGRESQL = frozenset({
    "test_one_answer_wins", "test_step_doors", "test_deployment", "test_deployment_reruns",
    "test_order_handling", "test_complaints", "test_notify_flows", "test_cycles",
    "test_reconciler",
})


def flow_databases(module: str) -> list[str]:
    """The databases the flow tests of ``module`` (``test_campaign``) run on: one, or both when
    MKTFLOW_TEST_FLOWS_ON=both."""
    if os.environ.get("MKTFLOW_TEST_FLOWS_ON", "") == "both":
        return ["sqlite", "postgresql"]
    return ["postgresql" if module in FLOWS_ON_POSTGRESQL else "sqlite"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give ``flow_db`` (one per module) and ``cycle_db`` (one per test) their database."""
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "flow_db" in metafunc.fixturenames:
        metafunc.parametrize("flow_db", flow_databases(module), indirect=True, scope="module")
    if "cycle_db" in metafunc.fixturenames:
        metafunc.parametrize("cycle_db", flow_databases(module), indirect=True)


@pytest.fixture(scope="module")
def flow_db(request: pytest.FixtureRequest, prefect_server: None,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A migrated database with the demo organisation that the flows of this module use (the
    module's database: ``flow_databases``)."""
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


@pytest.fixture
def cycle_db(request: pytest.FixtureRequest, prefect_server: None) -> Iterator[Any]:
    """A fresh migrated database per test (cycles are global, so no sharing), of the module's
    database (``flow_databases``)."""
    db = request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
    with configured(db):
        yield db
