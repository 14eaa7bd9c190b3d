"""Shared fixtures: real SQLite files and real PostgreSQL databases, migrated, with the demo org.

``db`` is parametrised over both databases; ``sqlite_db`` and ``pg_db`` pick one. Each kind is
migrated once per test run into a template (a SQLite file; a PostgreSQL template database);
every test then gets its own copy (a file copy; ``CREATE DATABASE … TEMPLATE``, tens of
milliseconds), so tests stay isolated without paying for the migrations each time. PostgreSQL
databases get a unique name and are dropped afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine


def _command_tree_built_once() -> None:
    """typer's ``CliRunner.invoke`` builds the whole click command tree from the Typer app on
    every call (about a sixth of the CPU of the in-process CLI tests); the tree of one app is
    the same every time, so the test processes build it once per app. The command line itself
    (``mktflow.cli.main``) builds it once per process anyway."""
    import functools

    import typer.main
    import typer.testing

    assert typer.testing._get_command is typer.main.get_command, "typer.testing changed"
    typer.testing._get_command = functools.cache(typer.main.get_command)


_command_tree_built_once()

PG_ADMIN_URL = os.environ.get("MKTFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


#: The flow tests' second and third lanes (see ``pytest_xdist_make_scheduler``): about a third
#: of their time each, by the per-test timeline of a whole run (2026-12-07). A new flow test
#: file goes to the first lane; a lane that grows long only makes the run slower, never wrong.
FLOWS_LANES = {
    **{f"tests/flows/{name}.py": "B" for name in (
        "test_new_flow_code", "test_deployment", "test_new_product_development",
        "test_cycles_demo", "test_step_doors", "test_cli_run", "test_notify_flows")},
    **{f"tests/flows/{name}.py": "C" for name in (
        "test_cycles", "test_demo", "test_campaign", "test_answer_rules", "test_order_handling",
        "test_step_ends", "test_reconciler", "test_flow_versions")},
}


#: End-to-end test files that start what they need themselves (no shared ``mktflow serve``):
#: a unit of work each, beside the shared end-to-end unit rather than in its line.
E2E_ON_THEIR_OWN = ("tests/e2e/test_pool_worker.py",)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist (``make test``), every test is a unit of work of its own, except:

    * the end-to-end tests: one unit, run in order by one worker (they share one ``mktflow
      serve``, and the last one stops it); being the largest unit, they start first; those
      that start a set-up of their own (``E2E_ON_THEIR_OWN``) are a unit each, next;
    * the flow tests: three units (lanes), each run in order by one worker. Every worker that
      runs a flow test starts a real Prefect server for its session (``tests/flows/conftest``:
      about 10 s of CPU to start, and a few per cent of a core while it runs); in three lanes,
      three servers serve them all, where any worker would otherwise start its own.

    (``--dist loadgroup`` with ``xdist_group`` marks would say the same, but pytest-xdist 3.8
    renames the test through ``item._nodeid``, which pytest 9 no longer reads.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class Lanes(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(E2E_ON_THEIR_OWN):
                return nodeid.split("::")[0]
            if nodeid.startswith("tests/e2e/"):
                return "tests/e2e"
            if nodeid.startswith("tests/flows/"):
                return f"tests/flows {FLOWS_LANES.get(nodeid.split('::')[0], 'A')}"
            return nodeid

    return Lanes(config, log)


@pytest.fixture(autouse=True, scope="session")
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads or writes the user's data folder or a configured database."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("MKTFLOW_")}
    for key in saved:
        del os.environ[key]
    os.environ["MKTFLOW_DATA_DIR"] = str(tmp_path_factory.mktemp("mktflow-data"))
    yield
    _stop_temporary_prefect_servers()
    for key in [k for k in os.environ if k.startswith("MKTFLOW_")]:
        del os.environ[key]
    os.environ.update(saved)


def _stop_temporary_prefect_servers() -> None:
    """Stop the temporary Prefect servers that flows run without PREFECT_API_URL started.

    Prefect stops them itself at interpreter exit, when pytest has already closed the stream
    its log handler writes to: a "Logging error" traceback after the summary. Stopped here,
    while the session's streams are open, they are gone before that (``stop`` forgets them).
    """
    if "prefect.server.api.server" not in sys.modules:
        return
    from prefect.server.api.server import SubprocessASGIServer

    for server in list(SubprocessASGIServer._instances.values()):
        server.stop()


@pytest.fixture
def clock() -> Iterator[Any]:
    """The process's clock, frozen when the test starts (whole seconds), for every door in this
    process (units of work, the CLI run in-process, the API and pages served from a thread).

    Dates a test writes are relative to it (``clock.now() + timedelta(days=3)``,
    ``clock.today() + timedelta(days=40)``), so no test depends on the calendar; a test that
    needs a calendar fact (a weekday, a month end) ``clock.set``s a date that has it. A
    ``mktflow`` run as a subprocess keeps the system's clock: dates from this one are still
    ahead for it.
    """
    from mktflow.domain import clock as clocks

    frozen = clocks.FrozenClock.at_now()
    with clocks.installed(frozen):
        yield frozen


_CACHED_ENGINES: list[Engine] = []


def _track_cached_engines() -> None:
    """Remember every engine ``get_engine`` caches, so that forgetting them also closes them."""
    from functools import lru_cache

    from mktflow.store import db

    build = db._cached_engine.__wrapped__

    @lru_cache(maxsize=8)
    def tracked(url: str, *timeouts: float) -> Engine:
        engine = build(url, *timeouts)
        _CACHED_ENGINES.append(engine)
        return engine

    db._cached_engine = tracked  # type: ignore[assignment]


_track_cached_engines()


def reset_caches() -> None:
    """Forget cached settings and engines (closing their connections) after changing MKTFLOW_*
    variables."""
    from mktflow.config import get_settings
    from mktflow.store import db

    get_settings.cache_clear()
    db._cached_engine.cache_clear()
    while _CACHED_ENGINES:
        _CACHED_ENGINES.pop().dispose()


@dataclass
class Db:
    """A migrated test database with the demo organisation loaded."""

    url: str
    engine: Engine
    kind: str

    def uow(self, clock: Callable[[], Any] | None = None, resumer: Any = None) -> Any:
        """A fresh unit of work on this database, wired as a process wires it (bootstrap)."""
        from mktflow.bootstrap import Wiring
        from mktflow.config import get_settings

        return Wiring(settings=get_settings(), database=self.engine, clock=clock,
                      resumer=resumer).uow()

    def engine_uow(self) -> Any:
        """A unit of work of the process engine itself (as flows' tasks get one): the only
        kind in which the reserved identity ``mktflow`` may act."""
        from mktflow.bootstrap import Wiring
        from mktflow.config import get_settings
        from mktflow.domain.actors import Door

        return Wiring(settings=get_settings(), database=self.engine).uow(Door.ENGINE)

    def count(self, table: str) -> int:
        """Rows in ``table``."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())

    def wait_until_a_session_waits_on_a_lock(self, what: str, timeout: float = 60.0) -> None:
        """Return once a session of this PostgreSQL database waits for a row another holds
        (``pg_stat_activity``); fails after ``timeout`` s saying ``what`` never got there."""
        import time

        from sqlalchemy import text

        deadline = time.monotonic() + timeout
        with self.engine.connect() as conn:
            while not conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")).scalar():
                assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
                time.sleep(0.05)
                conn.rollback()


def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


@contextmanager
def new_pg_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database with a unique name (empty, or a copy of ``template``)."""
    name = f"mktflow_t_{uuid.uuid4().hex[:12]}"
    try:
        admin = _pg_admin()
    except Exception as exc:  # pragma: no cover - CI starts PostgreSQL first
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield _pg_url_of(name)
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_url_of(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database; dropped after the test."""
    with new_pg_database() as url:
        yield url


def _migrated(url: str, kind: str, *, org: bool = True) -> Db:
    from mktflow.engine.organisation import load_organisation, read_organisation_file
    from mktflow.store.migrate import upgrade
    from mktflow.store.uow import UnitOfWork

    db = _opened(url, kind)
    upgrade(db.engine)
    if org:
        load_organisation(UnitOfWork(db.engine), read_organisation_file(None, demo=True),
                          source="demo")
    return db


def _opened(url: str, kind: str) -> Db:
    from mktflow.config import normalise_database_url
    from mktflow.store.db import engine_for

    return Db(url=url, engine=engine_for(normalise_database_url(url), busy_timeout_s=30),
              kind=kind)


# --- built once per run, shared by every pytest-xdist worker ----------------------------------
#
# Each worker used to migrate its own templates (mktflow's on both databases, Prefect's on
# PostgreSQL for each Prefect server a test starts): the same work six times over. The first
# worker to need one builds it under a lock in the run's folder; the others wait and read its
# name. The controller drops the run's PostgreSQL templates when the run ends.

TEMPLATE_PREFIX = "mktflow_tpl_"


def _run_folder(factory: pytest.TempPathFactory) -> Path:
    """The folder every worker of this run shares (pytest's basetemp; under xdist its parent)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _run_templates(factory: pytest.TempPathFactory) -> str:
    """The name prefix of this run's PostgreSQL templates (the run's folder, hashed)."""
    import hashlib

    return TEMPLATE_PREFIX + hashlib.sha1(str(_run_folder(factory)).encode()).hexdigest()[:10]


def once_per_run(factory: pytest.TempPathFactory, name: str, build: Callable[[], str]) -> str:
    """``build()``'s answer (a path or a database name), built by the first worker that asks
    and read from the run's folder by the others (they wait on an exclusive file lock)."""
    import fcntl

    folder = _run_folder(factory)
    done = folder / f"{name}.built"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            value = build()
            done.write_text(value, "utf-8")
        return done.read_text("utf-8")


def pg_template_database(factory: pytest.TempPathFactory, suffix: str,
                         fill: Callable[[str], None]) -> str:
    """A PostgreSQL template of this run, ``fill``ed (given its URL) once: its name."""
    def build() -> str:
        name = f"{_run_templates(factory)}_{suffix}"
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        fill(_pg_url_of(name))  # leaves no connection open: a template must have none
        return name

    return once_per_run(factory, f"pg-{suffix}", build)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (or a run without workers) drops the run's PostgreSQL templates."""
    if hasattr(session.config, "workerinput"):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None or factory._basetemp is None:  # no test asked for a temporary folder
        return
    prefix = _run_templates(factory)
    try:
        with _pg_admin() as admin:
            names = [row[0] for row in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",))]
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:  # pragma: no cover - PostgreSQL gone: nothing to drop
        pass


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per run, with the demo organisation; tests copy it."""
    def build() -> str:
        path = _run_folder(tmp_path_factory) / "template-mktflow.db"
        path.unlink(missing_ok=True)
        _migrated(f"sqlite:///{path}", "sqlite").engine.dispose()
        return str(path)

    return Path(once_per_run(tmp_path_factory, "sqlite-template", build))


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PostgreSQL database migrated once per run, with the demo organisation: a template."""
    def fill(url: str) -> None:
        _migrated(url, "postgresql").engine.dispose()

    return pg_template_database(tmp_path_factory, "mktflow", fill)


@pytest.fixture(scope="session")
def prefect_pg_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PostgreSQL database with Prefect's tables, migrated once per run: each Prefect server
    a test starts on PostgreSQL gets a copy (``new_pg_database(template=...)``) and starts
    without running Prefect's migrations (about 10 s of CPU each)."""
    import subprocess

    def fill(url: str) -> None:
        env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_HOME": str(_run_folder(tmp_path_factory) / "prefect-template-home"),
               "PREFECT_API_DATABASE_CONNECTION_URL": url.replace(
                   "postgresql://", "postgresql+asyncpg://", 1)}
        done = subprocess.run([sys.executable, "-m", "prefect", "server", "database", "upgrade",
                               "-y"], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    return pg_template_database(tmp_path_factory, "prefect", fill)


def sqlite_copy(template: Path, path: Path) -> Db:
    """A migrated SQLite database at ``path``: a copy of the run's template file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return _opened(f"sqlite:///{path}", "sqlite")


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Db]:
    """A migrated SQLite file with the demo organisation."""
    db = sqlite_copy(sqlite_template, tmp_path / "mktflow.db")
    yield db
    db.engine.dispose()


@pytest.fixture
def pg_db(pg_template: str) -> Iterator[Db]:
    """A migrated PostgreSQL database with the demo organisation (a copy of the template)."""
    with new_pg_database(template=pg_template) as url:
        db = _opened(url, "postgresql")
        yield db
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Db:
    """The same test on a real SQLite file and on a real PostgreSQL database."""
    name = "sqlite_db" if request.param == "sqlite" else "pg_db"
    return request.getfixturevalue(name)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_db(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """One migrated database per test module and kind, for many tests on fresh items."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        db = sqlite_copy(template, tmp_path_factory.mktemp("module-db") / "mktflow.db")
        yield db
        db.engine.dispose()
        return
    with new_pg_database(template=request.getfixturevalue("pg_template")) as url:
        db = _opened(url, "postgresql")
        yield db
        db.engine.dispose()


@dataclass
class CliResult:
    """What a ``mktflow`` command printed and how it exited."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.stdout)


@pytest.fixture
def cli(db: Db, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., CliResult]]:
    """Run ``mktflow`` in-process against ``db``: ``cli("work", "claim", "1", "--as", e)``."""
    from typer.testing import CliRunner

    from mktflow.cli import app

    monkeypatch.setenv("MKTFLOW_DATABASE_URL", db.url)
    reset_caches()
    runner = CliRunner()

    def run(*args: str) -> CliResult:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    yield run
    monkeypatch.delenv("MKTFLOW_DATABASE_URL")
    reset_caches()
