"""The flow version a process runs on, as Prefect gives it to a real run (issue 20, item 8)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.flows

OLGA = "olga.petrova@example.com"


def test_the_process_records_the_flow_version_its_run_runs_on(flow_db: Any) -> None:
    """Prefect's ``flow.version`` (here given; by default a hash of the flow's source) is on
    the process from its start (issue 20, item 8)."""
    from prefect import flow

    from mktflow.engine.queries import show
    from mktflow.prefect import tasks

    @flow(name="versioned", version="2026.12-b")
    def versioned(key: str) -> int:
        """Opens its process and closes it."""
        pid = tasks.start_process("versioned", key, OLGA, {})
        tasks.finish_process(pid, "completed")
        return pid

    pid = versioned(key=f"FV-{uuid.uuid4().hex[:8]}")
    assert show(flow_db.uow(), f"P-{pid}", "process").flow_version == "2026.12-b"
