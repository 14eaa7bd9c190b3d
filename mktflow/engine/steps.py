"""Completing a human step from any door (CLI, REST API, Prefect UI) ends here.

The engine records the completion first (the database is the truth); then, if a flow run is
waiting for the step, the unit of work's resumer hands it the data (wired in
``mktflow.bootstrap``: the Prefect bridge's hand-back in production, a fake in tests; the
engine never imports the bridge). A resume that fails is not lost: the
step stays done in the database, a warning says so, and ``mktflow process resume`` hands the
data over again.
"""

from __future__ import annotations

import logging
from typing import Any

from mktflow.domain.training import TRAINING_FORM_NAMES
from mktflow.engine import training, work
from mktflow.store.tables import ProcessInstance, WorkItem
from mktflow.store.uow import Resumer, UnitOfWork

__all__ = ["Resumer", "complete_step", "hand_over"]

log = logging.getLogger("mktflow.steps")


def complete_step(
    uow: UnitOfWork, item_id: int, *, actor_email: str, data: dict[str, Any] | None = None
) -> WorkItem:
    """Complete the step through the engine, then resume the flow run waiting for it.

    ``data`` is laid over the step's draft (no data submits the draft): every door offers the
    answer the Prefect UI form shows pre-filled.

    A training step (``mktflow.domain.training.TRAINING_FORM_NAMES``) moves its plan on once
    the answer is committed (``engine.training.settle``: the head's approval step, the
    owners' attendance steps, the attendance written).
    """
    item = work.complete(uow, item_id, actor_email=actor_email, data=data, over_draft=True)
    hand_over(uow, item)
    if item.form_name in TRAINING_FORM_NAMES:  # the plan moves on at once (its own units)
        training.settle(uow)
    return item


def hand_over(uow: UnitOfWork, item: WorkItem) -> None:
    """Resume the flow run waiting for the done step ``item`` with its answer (nothing for a
    step of no process). A resume that fails leaves the step done and says how to hand it over
    again (``mktflow process resume P-n``)."""
    if item.process_id is None:
        return
    with uow:
        process = uow.session.get(ProcessInstance, item.process_id)
        flow_run_id = process.flow_run_id if process else None
    if flow_run_id and uow.resumer is not None:
        try:
            uow.resumer(flow_run_id, item)
        except Exception as exc:  # the step is done; only the hand-over to the flow waits
            log.warning("W-%s is done, but its flow run %s could not be resumed now (%s); "
                        "`mktflow process resume P-%s` hands it over again", item.id,
                        flow_run_id, str(exc).splitlines()[0] if str(exc) else
                        type(exc).__name__, item.process_id)
    elif flow_run_id:
        log.info("W-%s is done; nothing is wired to resume flow run %s: `mktflow process "
                 "resume P-%s` hands it over", item.id, flow_run_id, item.process_id)
