"""New flow code while a run waits (issue 20, item 8), as deployed: a served run suspends at a
step, the flow's module is changed and served again, the step is answered; the run goes on on
the new code at the step it waited on, reads the answer back, creates nothing twice, and its
process records the new version with an entry in its history. And, on the same served set-up,
one answer wins for a suspended run (issue 20, item 5): a UI answer Prefect accepted while no
runner was up, overtaken by the CLI, is kept as the loser when the run starts again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.flows.support import Departments, wait_paused

pytestmark = pytest.mark.flows

ROOT = Path(__file__).resolve().parents[2]
OLGA = "olga.petrova@example.com"

MODULE = '''
from __future__ import annotations

from prefect import flow

from mktflow.prefect import tasks
from mktflow.prefect.steps import StepForm, human_step


class Brief(StepForm):
    """What the agency is told."""

    note: str


@flow(name="changing", version="{version}")
def changing(key: str) -> dict:
    """One step; {what}."""
    pid = tasks.start_process("changing", key, "{owner}", {{}})
    answer = human_step(pid, "brief", department="marketing", title="Brief the agency",
                        form=Brief, assignee="{owner}")
    tasks.finish_process(pid, "completed")
    return {{"note": answer.form.note, "code": "{version}"}}
'''


@contextmanager
def _serving(folder: Path, log: Path) -> Iterator[None]:
    """The module in ``folder`` served from a subprocess on the test's Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()),
           "PREFECT_RUNNER_POLL_FREQUENCY": "1",
           "PREFECT_LOCAL_STORAGE_PATH": str(folder / "results"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "tests/flows/serve_module.py"),
                                 "changing_flow"], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        with get_client(sync_client=True) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.read_deployment_by_name("changing/changing")
                    break
                except ObjectNotFound:
                    assert proc.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "the deployment never appeared"
                    time.sleep(0.3)
        yield
    finally:
        proc.terminate()
        proc.wait(30)


def _write(folder: Path, version: str, what: str) -> None:
    (folder / "changing_flow.py").write_text(
        MODULE.format(version=version, what=what, owner=OLGA), "utf-8")
    for cached in folder.glob("__pycache__/changing_flow*"):
        cached.unlink()


def test_a_suspended_run_answered_after_a_deploy_goes_on_on_the_new_code(
        flow_db: Any, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from mktflow.engine.queries import history, show

    folder, log = tmp_path / "code", tmp_path / "serve.log"
    folder.mkdir()
    _write(folder, "v1", "the first code")
    key = f"NC-{uuid.uuid4().hex[:8]}"
    with _serving(folder, log):
        run = run_deployment("changing/changing", timeout=0, parameters={"key": key})
        run_id = str(run.id)
        state = wait_paused(run_id, "brief", timeout=90)
        assert state.name == "Suspended", state
    d = Departments(flow_db, key)
    pid = d.process_id()
    assert show(flow_db.uow(), f"P-{pid}", "process").flow_version == "v1"

    _write(folder, "v2", "the code deployed while the run waited")  # a normal Tuesday
    with _serving(folder, log):
        d.answer("brief", OLGA, {"note": "print run of 5,000"})
        with get_client(sync_client=True) as client:
            deadline = time.monotonic() + 120
            while not (state := client.read_flow_run(run.id).state).is_final():
                assert time.monotonic() < deadline, (state, log.read_text()[-3000:])
                time.sleep(0.5)
            assert state.is_completed(), (state, log.read_text()[-3000:])
    view = show(flow_db.uow(), f"P-{pid}", "process")
    # the new code ran (it records "v2"), read the answer back and closed the process
    assert (view.status, view.flow_version) == ("completed", "v2")
    assert len(view.work_items) == 1  # the step was found again, not made twice
    [entry] = [e for e in history(flow_db.uow(), f"P-{pid}") if e.action == "flow-version"]
    assert entry.changes == {"flow_version": ["v1", "v2"]}
    assert entry.reason == f"flow run {run_id} went on on changed flow code"


def test_a_ui_answer_to_a_suspended_run_overtaken_by_the_cli_is_kept_as_the_loser(
        flow_db: Any, tmp_path: Path) -> None:
    """One answer wins (issue 20, item 5) for a suspended run: Prefect accepts the UI's answer
    while no runner is up, the CLI completes the step first in mktflow; the run, started again
    from the top, finds the step done and reads the UI's answer back from Prefect as the
    loser, on record once, never as the step's data."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from mktflow.engine import work
    from mktflow.engine.steps import complete_step
    from tests.flows.support import ui_resume

    lina = "li.na@example.com"
    folder, log = tmp_path / "code", tmp_path / "serve.log"
    folder.mkdir()
    _write(folder, "v1", "one code")
    key = f"NC-{uuid.uuid4().hex[:8]}"
    with _serving(folder, log):
        run = run_deployment("changing/changing", timeout=0, parameters={"key": key})
        wait_paused(str(run.id), "brief", timeout=90)
    d = Departments(flow_db, key)
    item = d.step("brief")
    ui_resume(str(run.id), {"note": "from the UI", "answered_by": lina})  # accepted, unread
    if d.step("brief").state == "open":
        work.claim(flow_db.uow(), item.id, actor_email=OLGA)
    complete_step(flow_db.uow(), item.id, actor_email=OLGA, data={"note": "from the CLI"})
    with _serving(folder, log), get_client(sync_client=True) as client:
        deadline = time.monotonic() + 120
        while not (state := client.read_flow_run(run.id).state).is_final():
            assert time.monotonic() < deadline, (state, log.read_text()[-3000:])
            time.sleep(0.5)
        assert state.is_completed(), (state, log.read_text()[-3000:])
    losers = [e for e in d.history() if e.action == "comment"
              and "refused_answer" in (e.data or {})]
    assert len(losers) == 1, losers
    lost = losers[0].data["refused_answer"]
    assert (lost["by"], lost["door"], lost["data"], lost["lost_to"]) == (
        lina, "Prefect UI resume form", {"note": "from the UI"}, OLGA)
    assert lost["at"]  # when Prefect stored it
    assert d.step("brief").data == {"note": "from the CLI"}
