"""Resuming the flow run that waits for a completed step.

``engine.steps.complete_step`` calls ``resume_flow_run_for`` after the engine has committed the
completion. The run is resumed only if it waits for *this* step (its pause key is the step's);
a run waiting for another step, or already finished, is left alone: the flow reads this step
from the database when it gets to it. The resume carries the stored data plus the completing
member in ``answered_by``; the flow uses the database's copy anyway.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any
from uuid import UUID

from mktflow.prefect.keys import pause_key

if TYPE_CHECKING:
    from mktflow.engine import WorkItem

__all__ = ["resume_flow_run_for", "resume_if_answered", "wait_until_paused"]

log = logging.getLogger("mktflow.resume")

#: How long to wait for a run that is about to pause (the step was answered very fast).
_SETTLE_S = 15.0


def _expects(state: Any, key: str) -> bool:
    current = state.state_details.pause_key or ""
    return current == key or current.startswith(f"{key}-retry-")


def wait_until_paused(client: Any, flow_run_id: str, timeout: float) -> Any:
    """The run's state once it is paused with its input schema stored (or its last state)."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.read_flow_run(UUID(flow_run_id)).state
        if state is not None and state.is_paused():
            keys = state.state_details.run_input_keyset or {}
            try:
                client.read_flow_run_input(UUID(flow_run_id), keys["schema"])
                return state
            except Exception:  # the client saves the schema just after pausing
                pass
        elif state is not None and state.is_final():
            return state
        if time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def resume_flow_run_for(flow_run_id: str, item: WorkItem) -> None:
    """Hand the completed step's data to the flow run, if it waits for this step."""
    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run

    from mktflow.prefect.server import connect

    connect()
    key = pause_key(item.step_key or "")
    payload = {**(item.data or {}), "answered_by": item.completed_by}
    with get_client(sync_client=True) as client:
        for _ in range(20):
            state = wait_until_paused(client, flow_run_id, _SETTLE_S)
            if state is None or not state.is_paused():
                log.info("flow run %s is %s: nothing to resume", flow_run_id,
                         state.name if state else "unknown")
                return
            if not _expects(state, key):
                log.info("flow run %s waits for %s, not %s: it reads W-%s when it gets there",
                         flow_run_id, state.state_details.pause_key, key, item.id)
                return
            try:
                resume_flow_run(UUID(flow_run_id), run_input=payload)
                return
            except RuntimeError as exc:  # "schema not found" right after pausing: try again
                log.warning("resuming %s: %s", flow_run_id, exc)
                time.sleep(0.2)
            except Exception as exc:
                if type(exc).__name__ == "NotPausedError":
                    return  # resumed meanwhile (another door)
                raise


def resume_if_answered(flow_run_id: str) -> str | None:
    """If the run waits for a step the database already has as done, resume it with that data.

    This is the retry for a resume that could not reach Prefect when the step was completed:
    the database is the truth, so the data is there to hand over again. Returns the step's
    reference, or None when the run waits for nothing that is answered.
    """
    from prefect.client.orchestration import get_client

    from mktflow import bootstrap
    from mktflow.engine import queries
    from mktflow.prefect.server import connect

    connect()
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    if state is None or not state.is_paused():
        return None
    waiting = (state.state_details.pause_key or "").split("-retry-")[0]
    for item in queries.done_steps_of_run(bootstrap.uow(), flow_run_id):
        if pause_key(item.step_key or "") == waiting:
            resume_flow_run_for(flow_run_id, item)
            return f"W-{item.id}"
    return None
