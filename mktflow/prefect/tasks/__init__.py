"""The bridge's Prefect tasks: each wraps one engine handler, takes ids, returns plain values.

``common`` holds what every flow uses (the process, its steps, handoffs, notices) and is
re-exported here (``from mktflow.prefect import tasks; tasks.start_process(...)``); each
process or area has its own module: ``campaign``, ``products`` (new-product development),
``orders``, ``cycles`` (what every cycle shares, and market research), ``reviews`` (the review
cycles) and ``notify`` (the outbox relay and the SLA sweep).
"""

from __future__ import annotations

from mktflow.prefect.tasks.common import (
    ENGINE_TASK,
    answer_problems,
    comment,
    create_step,
    finish_process,
    handoff_action,
    member_department,
    notice_departments,
    offer_handoff,
    process_guard,
    read_step,
    reconcile_ui_answer,
    record_decision,
    record_losing_answer,
    refused_start,
    start_process,
    start_refusal,
    transient,
    uow,
    why_cancelled,
    why_ended,
)

__all__ = [
    "ENGINE_TASK",
    "answer_problems",
    "comment",
    "create_step",
    "finish_process",
    "handoff_action",
    "member_department",
    "notice_departments",
    "offer_handoff",
    "process_guard",
    "read_step",
    "reconcile_ui_answer",
    "record_decision",
    "record_losing_answer",
    "refused_start",
    "start_process",
    "start_refusal",
    "transient",
    "uow",
    "why_cancelled",
    "why_ended",
]
