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


@pytest.mark.parametrize("change", [
    lambda: patches.runner_stopped_by_sigterm(),
    lambda: patches.run_the_flow_object(object(), "id", object()),
    lambda: patches.start_served_runs_with(print),
    lambda: patches.run_flow_in_subprocess_on(object(), object()),
    patches.sqlite_writes_take_the_lock_first,
    patches.suspension_observer_in_background,
])
def test_every_change_is_refused_on_another_prefect_release(
        change: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """serve's changes to Prefect's runner live here too (issue 21): none is applied on a
    release it was not written for, and nothing was changed when it is refused."""
    import prefect
    import prefect.runner._starter_direct as direct

    before = direct.run_flow_in_subprocess
    monkeypatch.setattr(prefect, "__version__", "9.9.9")
    with pytest.raises(ConfigError, match=r"Prefect 9\.9\.9 is installed"):
        change()  # type: ignore[operator]
    assert direct.run_flow_in_subprocess is before


def test_serving_changes_prefect_only_through_the_patches_module() -> None:
    from pathlib import Path

    import mktflow.prefect.serving as serving

    text = Path(serving.__file__).read_text("utf-8")
    for internal in ("_starter_direct", "_deployment_registry", "engine.multiprocessing",
                     "handle_sigterm"):
        assert internal not in text


def test_a_run_goes_on_while_its_suspension_observer_gets_ready(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The flow engine's observer of outside suspension requests gets ready in a thread of its
    own: the run goes on at once, in the same context the observer sees, and at its end the
    observer is stopped as Prefect stops it, once it was ready."""
    import contextlib
    import contextvars
    import threading
    from collections.abc import Iterator

    import prefect.flow_engine as engine

    ready, events = threading.Event(), []
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="none")

    @contextlib.contextmanager
    def slow_observer(flow_run_id: str, request: object) -> Iterator[None]:
        events.append(("started", flow_run_id, marker.get()))
        ready.wait(10)  # Prefect's: until the event stream answers
        try:
            yield
        finally:
            events.append(("stopped", flow_run_id, marker.get()))

    monkeypatch.setattr(engine, "observe_flow_run_suspension", slow_observer)
    patches.suspension_observer_in_background()
    patches.suspension_observer_in_background()  # twice: one change
    marker.set("the run's")
    with engine.observe_flow_run_suspension("run-1", object()):
        assert not ready.is_set()  # the run went on before the observer was ready
        ready.set()
    assert events == [("started", "run-1", "the run's"), ("stopped", "run-1", "the run's")]
