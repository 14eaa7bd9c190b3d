"""The Prefect UI's start is as strict as ``mktflow run`` (issue 21, item 6), on a real Prefect
server and both databases: a run whose parameters ``mktflow run`` would refuse (an activity
owner who is not a member, a business key another run uses) ends at once, Failed, with the
field and the rule in its state message, no process opened, and no traceback in its log."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.flows


def _log(flow_run_id: str, *, until: str, timeout: float = 20) -> str:
    """The run's log as one text, once it holds ``until`` (the API handler sends batches)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                                    limit=200, offset=0)
            text = "\n".join(log.message for log in logs)
            if until in text or time.monotonic() > deadline:
                return text
            time.sleep(0.5)


def _processes(db: Any, key: str) -> int:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM processinstance WHERE business_key "
                                     "= :k"), {"k": key}).scalar_one())


def test_a_start_mktflow_run_would_refuse_fails_at_once_naming_the_field(flow_db: Any) -> None:
    from flows.campaign import campaign
    from mktflow.engine import processes
    from mktflow.prefect.registry import example

    params = example("campaign", uuid.uuid4().hex[:6])
    request = params.get("request", params)
    bad = copy.deepcopy(request)
    bad["plan"]["activities"][0]["owner"] = "nobody@example.com"
    state = campaign(request=bad, return_state=True)
    assert state.is_failed()
    assert state.message.startswith("campaign parameters: field 'plan.activities.0.owner': ")
    assert "nobody@example.com" in state.message and "not an active member" in state.message
    log = _log(str(state.state_details.flow_run_id), until="not started")
    assert "not started: campaign parameters: field 'plan.activities.0.owner'" in log
    assert "Traceback" not in log
    assert _processes(flow_db, request["code"]) == 0

    taken = processes.start_process(flow_db.uow(), process="campaign",
                                    business_key=request["code"],
                                    owner_email=request["owner"], flow_run_id="another-run")
    state = campaign(request=request, return_state=True)
    assert state.is_failed()
    assert state.message == (f"campaign parameters: field 'code': business key "
                             f"{request['code']!r} is already used by P-{taken.id} "
                             "(campaign, running)")
    log = _log(str(state.state_details.flow_run_id), until="not started")
    assert "Traceback" not in log and _processes(flow_db, request["code"]) == 1
