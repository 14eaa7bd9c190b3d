"""What a person may not cancel apart from its complaint case: the case's handoff, a step or
its process while the case is live (seed 001, 市场部管理制度 五、工作流程 2.(1) C: a case ends
only when the customer is satisfied, or when customer service's head withdraws it). Kept apart
from ``complaint_steps`` so that the commands that cancel (``work``, ``handoffs``,
``processes``, ``tasklist``) can ask without importing what moves a case."""

from __future__ import annotations

from sqlmodel import col, select

from mktflow.domain.complaints import FORM_NAMES, ComplaintState, complaint_ref
from mktflow.domain.words import phrase, word
from mktflow.engine.common import ref
from mktflow.store.tables import Complaint, Handoff, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["cancel_refusal"]


def cancel_refusal(uow: UnitOfWork, item: Handoff | WorkItem | ProcessInstance) -> str | None:
    """Why a person may not cancel ``item`` on its own (the handoff, a step or the process of a
    case not closed or cancelled: cancelling it would end the case's process and leave the case
    as it is), or None (a plain read, inside an open unit of work). The process's cancel
    (``mktflow process cancel``) is refused rather than made to cancel the case: a case has one
    cancel, with its own rule (the head of customer service) and its customer file's count."""
    if isinstance(item, ProcessInstance):
        process_id = item.id
    elif isinstance(item, WorkItem) and item.form_name not in FORM_NAMES.values():
        return None
    else:
        process_id = item.process_id
    if process_id is None:
        return None
    case = uow.session.exec(select(Complaint).where(
        col(Complaint.process_id) == process_id)).first()
    if case is None or case.state in (ComplaintState.CLOSED, ComplaintState.CANCELLED):
        return None
    cref = complaint_ref(case.id)
    return phrase("cannot cancel %(ref)s: it carries complaint %(case)s, which would stay "
                  "%(state)s; the head of customer service cancels the case with it (mktflow "
                  "complaint cancel %(case)s --reason ...)", ref=ref(item), case=cref,
                  state=word(case.state.replace("_", " ")))
