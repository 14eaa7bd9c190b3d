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

What ``mktflow serve`` (``mktflow.prefect.serving``) changes in Prefect's runner:

- ``runner_stopped_by_sigterm``: a ``Runner`` whose SIGTERM takes Ctrl-C's way out (Prefect's
  own handler calls an async stop from inside the running loop, and it is never awaited, so
  serve would not stop);
- ``run_the_flow_object``: the runner runs the served flow object itself in a child process
  (as ``flow.serve()`` does, through its private ``_deployment_registry``) rather than
  ``python -m prefect.engine``, which would import the flow again;
- ``poll_now``: the runner asks for its runs now, between its polls (``mktflow serve`` does on
  each run resumed or scheduled, told by Prefect's event stream: ``serving._wake_on_starts``),
  through the runner's private ``_get_and_submit_flow_runs``, what its poll loop calls;
- ``start_served_runs_with`` and ``run_flow_in_subprocess_on``: a served run's process is
  forked from a fork server that has already imported Prefect's flow engine and the flows,
  instead of a new interpreter importing them (about 1.5 s per resumed run on two cores):
  the runner's ``_starter_direct.run_flow_in_subprocess`` is replaced, and the flow engine's
  ``multiprocessing`` module is swapped for the fork server's context while it starts one;
- ``suspension_observer_in_background``: a served run's process goes on to its Running state
  while Prefect's observer of suspension requested from outside the run connects, instead of
  waiting for it first (applied by the fork server, ``mktflow.prefect.forked``).
"""

from __future__ import annotations

import contextvars
import signal
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from mktflow.domain.errors import ConfigError

__all__ = ["PREFECT_VERSION", "check_version", "poll_now", "run_flow_in_subprocess_on",
           "run_the_flow_object", "runner_stopped_by_sigterm", "sqlite_writes_take_the_lock_first",
           "start_served_runs_with", "suspension_observer_in_background"]

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


def runner_stopped_by_sigterm(**options: Any) -> Any:
    """A Prefect ``Runner(**options)`` whose SIGTERM raises SIGINT (Ctrl-C's way out)."""
    check_version()
    from prefect.runner import Runner

    class TeamRunner(Runner):
        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            """SIGTERM takes Ctrl-C's way out (see the module docstring)."""
            signal.raise_signal(signal.SIGINT)

    return TeamRunner(**options)


def run_the_flow_object(runner: Any, deployment_id: Any, flow: Any) -> None:
    """``runner`` runs ``flow`` itself for the deployment ``deployment_id``."""
    check_version()
    runner._deployment_registry.register_flow(deployment_id, flow)


async def poll_now(runner: Any) -> None:
    """``runner`` asks the API for its runs now and starts those due (as at its poll; a run
    already being started is not started twice). Nothing before the runner has started."""
    check_version()
    if getattr(runner, "_scheduled_run_poller", None) is None or runner.stopping:
        return
    await runner._get_and_submit_flow_runs()


def start_served_runs_with(start: Callable[..., Any]) -> None:
    """Prefect's runner starts each served run with ``start`` (the signature of
    ``prefect.flow_engine.run_flow_in_subprocess``)."""
    check_version()
    import prefect.runner._starter_direct as direct

    direct.run_flow_in_subprocess = start


_SWAP = threading.Lock()


def run_flow_in_subprocess_on(context: Any, flow: Any, *args: Any, **kwargs: Any) -> Any:
    """``prefect.flow_engine.run_flow_in_subprocess(flow, ...)`` with ``context`` (anything
    with ``get_context``) as the flow engine's ``multiprocessing`` while the run starts."""
    check_version()
    import prefect.flow_engine as engine

    with _SWAP:
        spawn = engine.multiprocessing
        engine.multiprocessing = context
        try:
            return engine.run_flow_in_subprocess(flow, *args, **kwargs)
        finally:
            engine.multiprocessing = spawn


def suspension_observer_in_background() -> None:
    """A deployment run's engine starts Prefect's observer of suspension requested from outside
    the run (``prefect._flow_run_suspension.observe_flow_run_suspension``: a thread that opens
    the server's event stream, then reads the run's state) and waits until it is ready before
    it proposes Running. After this change the observer gets ready in a thread of its own while
    the run goes on; the observer is the same, and when it is ready it reads the run's state as
    before, so a suspension asked for meanwhile is still found (at the run's next task instead
    of before its first). mktflow's runs suspend themselves at their steps and are never
    suspended from outside. Measured on served campaigns (PostgreSQL, 2026-12-08): the wait
    was 0.09-0.17 s of the 0.27-0.46 s from a forked run's start to its Running state, on the
    way of every hand-back (issue 22, target 2). Idempotent."""
    check_version()
    import prefect.flow_engine as engine

    observe = engine.observe_flow_run_suspension
    if getattr(observe, "_mktflow_background", False):
        return

    @contextmanager
    def observe_in_background(*args: Any, **kwargs: Any) -> Iterator[None]:
        observing = observe(*args, **kwargs)
        entered: list[bool] = []

        def enter() -> None:  # blocks until the observer is ready, in this thread only
            observing.__enter__()
            entered.append(True)

        # the observer copies the caller's context (its settings: which API it calls)
        starting = threading.Thread(target=contextvars.copy_context().run, args=(enter,),
                                    name="mktflow-suspension-observer", daemon=True)
        starting.start()
        try:
            yield
        finally:
            starting.join()
            if entered:
                observing.__exit__(None, None, None)  # stops the observer, as Prefect does

    observe_in_background._mktflow_background = True  # type: ignore[attr-defined]
    engine.observe_flow_run_suspension = observe_in_background
