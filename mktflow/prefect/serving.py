"""Running the catalog's deployments for a team: ``mktflow serve`` and ``mktflow deploy --pool``.

``serve_team`` serves every deployment from this process (Prefect's runner) together with the
REST API and its pages, which every notification links to, the process reconciler and a
continuous outbox relay (threads of this process, so their deployments are not served); on
Ctrl-C or SIGTERM it stops what it started and leaves the deployments' schedules as they
were. ``deploy_to_pool`` registers the same deployments (those two included) on a Prefect
process work pool for ``prefect worker start``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url

from mktflow.config import Settings, get_settings
from mktflow.domain.errors import ConfigError

__all__ = ["deploy_to_pool", "serve_team", "worker_env"]

Echo = Callable[[str], Any]

#: Settings a worker's flow runs do not take from the deploying machine: where that machine
#: keeps its files and which Prefect server it uses are the worker's own business.
_MACHINE_SETTINGS = frozenset({"data_dir", "prefect_api_url", "prefect_port",
                               "prefect_start_timeout_s"})


def _crons(deployment: Any) -> list[dict[str, str]]:
    """The deployment's cron schedules (the catalog makes no other kind)."""
    return [{"cron": str(getattr(s.schedule, "cron", s.schedule)),
             "timezone": str(getattr(s.schedule, "timezone", ""))}
            for s in deployment.schedules or []]


def _schedule_text(deployment: Any) -> str:
    crons = [f"{c['cron']} ({c['timezone']})" for c in _crons(deployment)]
    return ", ".join(crons) or "on demand"


def _list_deployments(deployments: list[Any], echo: Echo) -> None:
    width = max(len(f"{d.flow_name}/{d.name}") for d in deployments)
    for d in deployments:
        echo(f"  {f'{d.flow_name}/{d.name}':<{width}}  {_schedule_text(d)}")


def _import_flow(entrypoint: str) -> Any:
    """The flow at ``entrypoint`` (``package.module.name``), its module imported if not yet."""
    import importlib

    module, _, name = entrypoint.rpartition(".")
    return getattr(importlib.import_module(module), name)


class _FlowByName:
    """Stands for a served flow in what is sent to a flow run's process: it pickles as its
    entrypoint, which the process imports (the fork server already has). Pickled as it is, a
    flow carries a copy of its function whose annotations no longer resolve (pydantic then
    refuses the parameters)."""

    def __init__(self, entrypoint: str) -> None:
        self.entrypoint = entrypoint

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _import_flow, (self.entrypoint,)


#: What a flow run's process imports before the flow goes on, besides the flows' modules
#: and the database's driver (``_database_modules``): the flow and task engines, graphviz (by
#: Prefect's flow visualisation), sqlite3, anyio's asyncio backend and sockets, the IDNA codec
#: (an HTTP client's first URL), rich's emoji table (Prefect's log handler) and this module
#: (for ``_import_flow``). Read off forked campaign runs, as the modules each imported
#: (``sys.modules`` at its start and end): before these were added, every run of a campaign
#: imported the same 90 modules again (psycopg's alone about 90 ms of CPU on PostgreSQL).
_PRELOAD = ("prefect.flow_engine", "prefect.task_engine", "prefect.utilities.visualization",
            "prefect._internal.observers", "sqlite3", "anyio.streams.memory",
            "anyio.streams.stapled", "anyio.streams.tls", "anyio._backends._asyncio",
            "anyio._core._sockets", "anyio._core._streams", "encodings.idna", "ctypes.util",
            "rich._emoji_codes", "mktflow.demo", "mktflow.prefect.serving")


def _preload(entrypoints: dict[int, str]) -> list[str]:
    """What the fork server imports, in order: ``_PRELOAD``, the database's driver, the served
    flows' modules (``entrypoints``: each flow's module path entrypoint) and, last, what every
    forked run would otherwise do again itself (``mktflow.prefect.forked``: the ORM configured,
    Prefect's suspension observer not waited for)."""
    modules = sorted({e.rpartition(".")[0] for e in entrypoints.values()})
    return [*_PRELOAD, *_database_modules(), *modules, "mktflow.prefect.forked"]


def _database_modules() -> tuple[str, ...]:
    """The SQLAlchemy dialect and the driver of mktflow's database (``psycopg`` and its
    dialect on PostgreSQL): a run's first engine command would import them (psycopg is 77
    modules, about 90 ms of CPU per run). Nothing when the URL names no known dialect (the
    run then says so itself)."""
    from sqlalchemy.engine import make_url

    try:
        dialect = make_url(get_settings().database().url).get_dialect()
        driver = dialect.import_dbapi()
    except Exception:  # a bad URL is the run's to report, with its own message
        return ()
    return dialect.__module__, driver.__name__


class _ForkedFlowRuns:
    """Flow runs started by forking one process that has already imported Prefect's flow
    engine and the served flows (a multiprocessing fork server), not by a new interpreter that
    imports them again (about 1.5 s per run on two cores, paid by every resumed run).

    The fork server is one process for the whole of ``mktflow serve`` (started with it, ended
    when it ends), however many runs wait; each run still gets a process of its own, which
    exits when the run ends or suspends. Where there is no fork server (Windows) the runs are
    spawned, as Prefect does.
    """

    def __init__(self, entrypoints: dict[int, str]) -> None:
        """``entrypoints``: each served flow's (by ``id``) module path entrypoint."""
        import multiprocessing
        import threading

        self._entrypoints = entrypoints
        self._lock = threading.Lock()
        self._context: Any
        if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows
            self._context = multiprocessing.get_context("spawn")  # Prefect's own way
            return
        from multiprocessing import forkserver

        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_preload(entrypoints))
        forkserver.ensure_running()  # now, so a first run does not wait for the imports

    def get_context(self, method: str | None = None) -> Any:
        """What ``prefect.flow_engine`` asks multiprocessing for: the fork server's context."""
        return self._context

    def run_flow_in_subprocess(self, flow: Any, *args: Any, **kwargs: Any) -> Any:
        """``prefect.flow_engine.run_flow_in_subprocess`` (what Prefect's runner calls for a
        served flow), its process forked from the fork server instead of spawned."""
        from mktflow.prefect.patches import run_flow_in_subprocess_on

        sent: Any = _FlowByName(self._entrypoints[id(flow)]) if id(flow) in self._entrypoints \
            else flow
        with self._lock:
            return run_flow_in_subprocess_on(self, sent, *args, **kwargs)


def _run(deployments: list[Any]) -> None:
    """Run Prefect's runner for ``deployments`` until Ctrl-C or SIGTERM (Prefect's internals
    it needs changed are changed in ``mktflow.prefect.patches``, behind its version guard)."""
    from mktflow.prefect import patches

    # pause_on_shutdown=False: Prefect's default pauses every schedule when serve stops,
    # which would silently stop the cycles and the relay for every later runner or worker.
    runner = patches.runner_stopped_by_sigterm(pause_on_shutdown=False, limit=None,
                                               query_seconds=get_settings().runner_poll_s)
    entrypoints: dict[int, str] = {}
    for deployment in deployments:
        flow = _import_flow(str(deployment.entrypoint))  # imported by the catalog already
        entrypoints[id(flow)] = str(deployment.entrypoint)
        deployment_id = runner.add_deployment(deployment)
        assert not inspect.isawaitable(deployment_id)  # sync call outside an event loop
        patches.run_the_flow_object(runner, deployment_id, flow)
    forked = _ForkedFlowRuns(entrypoints)
    patches.start_served_runs_with(forked.run_flow_in_subprocess)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how serve is meant to end
        asyncio.run(_run_and_wake(runner))


async def _run_and_wake(runner: Any) -> None:
    """The runner, woken between its polls by ``_wake_on_starts`` until it stops."""
    wake = asyncio.create_task(_wake_on_starts(runner))
    try:
        await runner.start()
    finally:
        wake.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await wake


#: When to ask for runs after a start event, each pause after the last ask (seconds: at 0,
#: 0.05, ... 0.5 s). Measured on PostgreSQL, the first ask, 13 ms after a resume, often did
#: not find the resumed run yet, which then waited for the poll (issue 22, target 2; the
#: runner does not start a run twice).
_ASK_AFTER_S = (0.0, 0.05, 0.05, 0.05, 0.05, 0.1, 0.2)

#: The events of a run to start: resumed (a suspended run's answer came, from any door: the
#: CLI, the API, a page, the Prefect UI) or scheduled (``mktflow run --detach``, a schedule).
_START_EVENTS = ("prefect.flow-run.Resuming", "prefect.flow-run.Scheduled")


async def _wake_on_starts(runner: Any, retry_s: float = 30.0) -> None:
    """Make the runner ask for its runs as soon as Prefect's event stream says a run was
    resumed or scheduled, instead of at its next poll (``MKTFLOW_RUNNER_POLL_S``, 0.5 s: on
    average a third of a second more per hand-back, before the run's process even starts).
    Prefect's own runner follows cancellations the same way (its websocket to
    ``/api/events/out``). The poll stays: when the stream cannot be had (a server without
    events), or between its reconnections, runs start at the next poll as before; the stream
    is asked again every ``retry_s`` seconds."""
    import logging

    from prefect.events.clients import get_events_subscriber
    from prefect.events.filters import EventFilter, EventNameFilter

    from mktflow.prefect import patches

    log = logging.getLogger("mktflow.serve")
    wanted = EventFilter(event=EventNameFilter(name=list(_START_EVENTS)))
    due = asyncio.Event()  # a burst of events (a schedule makes many runs) is one poll

    async def poll() -> None:
        while True:
            await due.wait()
            due.clear()
            for pause in _ASK_AFTER_S:
                await asyncio.sleep(pause)
                try:
                    await patches.poll_now(runner)
                except Exception as exc:  # the runner's own poll tries again
                    log.info("asking for runs after an event failed: %s", exc)

    poller = asyncio.create_task(poll())
    try:
        while True:
            try:
                async with get_events_subscriber(filter=wanted) as events:
                    async for _event in events:
                        due.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poll still starts every run
                log.info("no event stream from Prefect (%s): runs start at the runner's "
                         "poll", exc)
            await asyncio.sleep(retry_s)
    finally:
        poller.cancel()


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both raise KeyboardInterrupt, from the first moment on, so what
    serve started is stopped either way (asyncio.run then cancels the runner cleanly)."""
    # also when started in the background, where the shell makes it ignore SIGINT
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))


def serve_team(only: list[str] | None = None, *, api: tuple[str, int] | None,
               echo: Echo = print) -> None:
    """Serve the deployments and the REST API (``api``: host and port, None for none) until
    Ctrl-C or SIGTERM, then stop what this call started; schedules stay as they are."""
    from deployments.catalog import build
    from mktflow.api.serving import ApiThread
    from mktflow.notify.relay import mailer_of
    from mktflow.prefect.reconcile import start_in_thread
    from mktflow.prefect.server import connect, stop_local_server, ui_calls

    # refuse a bad time zone before starting anything; the reconciler runs here in a thread
    deployments, missing = build(only, served=True)
    if not deployments:
        raise ConfigError("no flow of the catalog could be loaded; nothing to serve")
    mailer_of(get_settings())  # nor a relay that would send the SMTP password in clear
    _stop_on_signals()
    api_thread = ApiThread(*api) if api else None
    if api_thread is not None:
        api_thread.open()  # a taken port or a missing database is refused before Prefect
    connection = None
    reconciler = None
    relay: Any = None
    try:
        connection = connect()
        if api_thread is not None:  # after connect: a completion resumes runs on its server
            api_thread.start()
        for entry in missing:
            echo(f"not served: {entry.spec.name}: {entry.problem}")
        echo(f"serving {len(deployments)} deployments on {connection.api_url} "
             f"({connection.source}):")
        _list_deployments(deployments, echo)
        echo(f"Prefect UI:   {connection.ui_url}/deployments")
        calls = ui_calls(connection.ui_url) if connection.source == "local server" else None
        if calls and calls != connection.api_url:  # a server started by an older mktflow
            echo(f"warning: this Prefect UI calls {calls}, not its own API: restart the "
                 "server (mktflow server stop, then mktflow serve)")
        if api_thread is not None:
            echo(f"mktflow API:  {api_thread.url}  (item pages /work/N and /handoffs/N, "
                 f"queues /inbox/DEPARTMENT, /openapi.json)")
        reconciler = start_in_thread()
        echo(f"reconciler:   every {get_settings().reconcile_interval_s:g} s (runs waiting on "
             "answered steps, processes whose run ended)")
        relay = _start_relay(echo)
        echo("Ctrl-C stops")
        _say_when_ready(connection.api_url, [d.name for d in deployments], echo)
        _run(deployments)
    except KeyboardInterrupt:  # stopped while starting up
        pass
    finally:
        if reconciler is not None:
            reconciler[1].set()
        if relay is not None and not relay.stop():
            echo("the relay did not stop in time; its messages go out after their lease")
        if api_thread is not None:
            api_thread.stop()
        if connection is not None and connection.source == "local server (started)":
            stop_local_server()
            echo("stopped the local Prefect server this command started")


#: The line ``mktflow serve`` prints once its runner has asked for the runs of every deployment
#: it serves (``_say_when_ready``); scripts that start serve wait for it.
READY_LINE = "ready:        every deployment is served"


def _say_when_ready(api_url: str, names: list[str], echo: Echo,
                    timeout_s: float = 600) -> threading.Thread:
    """Print ``READY_LINE`` once Prefect shows every deployment named in ``names`` READY, that
    is once the runner has asked for its runs: a run handed to one before that (``mktflow
    run``) is refused as not served (``runner.check_served``), and the banner above the line
    is printed before the deployments are even registered. Looks every 0.5 s from a daemon
    thread; says nothing if ``timeout_s`` passes first."""
    import httpx

    def watch() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                found = httpx.post(f"{api_url}/deployments/filter",
                                   json={"deployments": {"name": {"any_": names}}},
                                   timeout=10).json()
                if {d["name"] for d in found if d.get("status") == "READY"} >= set(names):
                    echo(READY_LINE)
                    return
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                pass  # the server is starting, or busy: look again
            time.sleep(0.5)

    thread = threading.Thread(target=watch, name="mktflow-ready", daemon=True)
    thread.start()
    return thread


def _start_relay(echo: Echo) -> Any:
    """Start the continuous outbox relay in a thread of this process (``RelayThread``) and say
    how it is woken; serve therefore does not serve the minute ``outbox-relay`` deployment."""
    from mktflow import bootstrap
    from mktflow.notify.relay import RelayThread, build_relay

    wiring = bootstrap.wiring()
    relay = RelayThread(build_relay(wiring.settings, engine=wiring.database)).start()
    how = ("wakes on every commit that queues a notice (PostgreSQL LISTEN/NOTIFY)"
           if wiring.database.dialect.name == "postgresql"
           else f"looks for new notices every {wiring.settings.relay_wake_poll_s:g} s (SQLite)")
    echo(f"relay:        continuous, {how}")
    return relay


def worker_env(settings: Settings | None = None) -> tuple[dict[str, str], list[str]]:
    """The ``MKTFLOW_*`` environment a pool's flow runs get, and notes on what was left out.

    Always the database and the API URL (links in notices); besides, every setting given in
    this environment, except secrets and the settings of this machine (``_MACHINE_SETTINGS``).
    A database URL with a password is left out: Prefect shows job variables to anyone who
    opens the deployment, so workers must have it in their own environment.
    """
    settings = settings or get_settings()
    env: dict[str, str] = {}
    notes: list[str] = []
    database = settings.resolved_database_url()
    if make_url(database).password:
        notes.append("MKTFLOW_DATABASE_URL has a password, so it is not stored in the "
                     "deployments: set it in every worker's environment")
    else:
        env["MKTFLOW_DATABASE_URL"] = database
    env["MKTFLOW_API_URL"] = settings.api_url
    given = settings.model_fields_set - _MACHINE_SETTINGS - {"database_url", "api_url"}
    for name in sorted(given):
        value = getattr(settings, name)
        if value is None or "Secret" in type(value).__name__:
            continue
        env[f"MKTFLOW_{name.upper()}"] = _env_text(settings, name)
    return env, notes


def _env_text(settings: Settings, name: str) -> str:
    """A setting as the environment variable that gives it back (JSON for lists and maps)."""
    value = settings.model_dump(mode="json", include={name})[name]
    return value if isinstance(value, str) else json.dumps(value)


def _ensure_pool(client: Any, pool: str) -> bool:
    """The process work pool ``pool``, created when missing; True when created here."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    try:
        existing = client.read_work_pool(pool)
    except ObjectNotFound:
        client.create_work_pool(WorkPoolCreate(
            name=pool, type="process",
            base_job_template=ProcessWorker.get_default_base_job_template()))
        return True
    if existing.type != "process":
        raise ConfigError(f"work pool {pool!r} is of type {existing.type!r}; mktflow deploys "
                          "to a process work pool (give another --pool name)")
    return False


def deploy_to_pool(pool: str, only: list[str] | None = None) -> dict[str, Any]:
    """Register the catalog's deployments on the process work pool ``pool`` (created when
    missing) for ``prefect worker start --pool``; returns what was registered."""
    from prefect.client.orchestration import get_client

    from deployments.catalog import build
    from mktflow.prefect.server import connect

    if not pool.strip():
        raise ConfigError("--pool: give the work pool's name")
    env, notes = worker_env()
    deployments, missing = build(only, job_variables={"env": env})
    if not deployments:
        raise ConfigError("no flow of the catalog could be loaded; nothing to deploy")
    connection = connect()
    with get_client(sync_client=True) as client:
        created = _ensure_pool(client, pool)
    registered = []
    for d in deployments:
        deployment_id = d.apply(work_pool_name=pool)
        registered.append({
            "deployment": f"{d.flow_name}/{d.name}", "id": str(deployment_id),
            "entrypoint": d.entrypoint,
            "schedules": _crons(d),
            "parameters": d.parameters, "tags": d.tags, "description": d.description})
    return {"pool": pool, "pool_created": created, "prefect_api": connection.api_url,
            "prefect_source": connection.source, "env": sorted(env), "notes": notes,
            "deployments": registered,
            "not_deployed": [{"deployment": e.spec.name, "why": e.problem} for e in missing],
            "worker_command": f"PREFECT_API_URL={connection.api_url} "
                              f"prefect worker start --pool {pool}"}
