"""Stuck must not need a person (issue 20, item 2), on a real Prefect server and a real fault.

PostgreSQL through the fault proxy (``tests/faults.py``): ``mktflow work complete W-n`` commits,
its answer is lost and the database is unreachable right after (exit 3: nobody knows), so the
run is never handed the answer. With the database back, the reconciler (as ``mktflow serve``
runs it, in a thread) resumes the run, nobody running ``mktflow process resume``; a process
whose run failed without closing it is closed with the run's message.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mktflow.prefect.steps import StepForm
from tests.conftest import CliResult, Db, reset_caches
from tests.faults import FaultProxy
from tests.flows.support import Departments, flow_run_id_of, start_flow, wait_paused

pytestmark = pytest.mark.flows

OLGA = "olga.petrova@example.com"
CHANGE = "INSERT INTO auditentry"


class Brief(StepForm):
    """What the agency is told."""

    note: str


def _flow() -> Any:
    from prefect import flow

    from mktflow.prefect import tasks
    from mktflow.prefect.steps import human_step

    @flow(name="reconciled")
    def reconciled(key: str) -> dict[str, Any]:
        """One step, then the end."""
        pid = tasks.start_process("reconciled", key, OLGA, {})
        answer = human_step(pid, "brief", department="marketing", title="Brief the agency",
                            form=Brief, assignee=OLGA)
        tasks.finish_process(pid, "completed")
        return {"note": answer.form.note, "by": answer.by}

    return reconciled


def _broken_flow() -> Any:
    from prefect import flow

    from mktflow.prefect import tasks

    @flow(name="reconciled-broken")
    def reconciled_broken(key: str) -> None:
        """Opens its process and fails without closing it (no guard)."""
        tasks.start_process("reconciled", key, OLGA, {})
        raise RuntimeError("the printer caught fire")

    return reconciled_broken


@pytest.fixture
def proxied(prefect_server: None, pg_template: str) -> Iterator[tuple[Db, FaultProxy]]:
    """A PostgreSQL database reached only through a fault proxy, as every flow run and command
    of this process uses it; short deadlines; a fast reconciler interval."""
    from tests.conftest import _opened, new_pg_database

    names = ("MKTFLOW_DATABASE_URL", "MKTFLOW_STEP_POLL_INTERVAL_S",
             "MKTFLOW_DB_CONNECT_TIMEOUT_S", "MKTFLOW_DB_OUTCOME_CHECK_S")
    saved = {k: os.environ.get(k) for k in names}
    with new_pg_database(template=pg_template) as url, FaultProxy.for_url(url) as proxy:
        os.environ.update({"MKTFLOW_DATABASE_URL": proxy.url(url),
                           "MKTFLOW_STEP_POLL_INTERVAL_S": "0.2",
                           "MKTFLOW_DB_CONNECT_TIMEOUT_S": "2",
                           "MKTFLOW_DB_OUTCOME_CHECK_S": "2"})
        reset_caches()
        db = _opened(url, "postgresql")  # the test's own look, beside the proxy
        try:
            yield db, proxy
        finally:
            db.engine.dispose()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            reset_caches()


def _mktflow(*args: str) -> CliResult:
    from typer.testing import CliRunner

    from mktflow.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def reconciler() -> Iterator[None]:
    """The reconciler as ``mktflow serve`` runs it: a thread ticking every
    ``MKTFLOW_RECONCILE_INTERVAL_S`` (2 s by default)."""
    from mktflow.prefect.reconcile import start_in_thread

    thread, stop = start_in_thread()
    yield
    stop.set()
    thread.join(10)


def test_a_run_whose_answer_was_lost_after_commit_is_resumed_by_the_reconciler(
        proxied: tuple[Db, FaultProxy], reconciler: None) -> None:
    db, proxy = proxied
    key = f"RC-{uuid.uuid4().hex[:8]}"
    run = start_flow(_flow(), key=key)
    d = Departments(db, key, run)
    item = d.step("brief")
    fid = flow_run_id_of(db, key)
    wait_paused(fid, "brief")
    proxy.cut_after_commit(matching=CHANGE, then="refuse")  # and the database is gone
    lost = _mktflow("work", "complete", f"W-{item.id}", "--as", OLGA,
                    "--data", '{"note": "print run of 5,000"}')
    assert lost.exit_code == 3, (lost.stdout, lost.stderr)
    assert proxy.count("cut") == 1
    assert d.step("brief").state == "done"  # it committed; the run was never told
    assert wait_paused(fid, "brief", timeout=5)
    started = time.monotonic()
    proxy.pass_through()  # the database is back; nobody runs `mktflow process resume`
    assert run.result(timeout=120) == {"note": "print run of 5,000", "by": OLGA}
    print(f"\nstuck for {time.monotonic() - started:.1f} s after the database came back")
    [entry] = [e for e in d.history() if e.action == "reconcile"]
    assert entry.actor == "mktflow"
    assert entry.reason.startswith(f"the reconciler resumed flow run {fid}, which still "
                                      f"waited at brief although W-{item.id} was done by "
                                      f"{OLGA}")
    assert [e.action for e in d.history()].count("complete") == 1


def test_a_process_whose_run_failed_without_closing_it_is_closed_by_the_reconciler(
        proxied: tuple[Db, FaultProxy], reconciler: None) -> None:
    from mktflow.engine.queries import show

    db, _proxy = proxied
    key = f"RC-{uuid.uuid4().hex[:8]}"
    run = start_flow(_broken_flow(), key=key)
    with pytest.raises(RuntimeError, match="printer"):
        run.result(timeout=60)
    d = Departments(db, key)
    pid = d.process_id()
    deadline = time.monotonic() + 60
    while show(db.uow(), f"P-{pid}", "process").status == "running":
        assert time.monotonic() < deadline, "the reconciler never closed the process"
        time.sleep(0.2)
    view = show(db.uow(), f"P-{pid}", "process")
    assert view.status == "failed"
    assert f"found flow run {flow_run_id_of(db, key)} Failed while P-{pid} was still " \
           "running" in view.result["reason"]
    assert "the printer caught fire" in view.result["reason"]
