"""``/complaints``: customer complaints to closure (seed 001, 客户服务部 工作流程 2.(1) C). One
engine command per endpoint (``mktflow.engine.complaints``); each answers the case's open step,
which is also answered at ``/work/{item}/complete``."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request, Response

from mktflow import web
from mktflow.api._deps import Actor, PageOrReader, Uow, wants_html
from mktflow.api._models import (
    AnswerComplaint,
    CancelComplaint,
    CustomerAnswer,
    HandOverComplaint,
    OpenComplaint,
    query_text,
)
from mktflow.api._schemas import problems
from mktflow.domain.complaints import ComplaintState
from mktflow.engine import complaints
from mktflow.engine.views import ComplaintPublic

__all__ = ["router"]

router = APIRouter(prefix="/complaints", tags=["complaints"], responses=problems(401))
#: What a command on a case can be refused with.
_ACTS = problems(403, 404, 409, 422)
#: A case named in a path: ``C-4`` or ``4``.
CaseRef = Path(description="The complaint, e.g. C-4.", json_schema_extra={
    "pattern": r"^(?:[Cc]-?)?[0-9]{1,10}$", "maxLength": 12})


@router.post("", status_code=201, response_model=ComplaintPublic, responses=_ACTS)
def open_(body: OpenComplaint, actor: Actor, uow: Uow, response: Response) -> ComplaintPublic:
    """Open a case in customer service, its respond step due ``due`` (marketing members)."""
    case = complaints.open_complaint(uow, actor_email=actor, source="api", due_at=body.due,
                                     **body.model_dump(exclude={"due"}))
    response.headers["Location"] = f"/complaints/C-{case.id}"
    return complaints.show_complaint(uow, f"C-{case.id}")


@router.get("", response_model=list[ComplaintPublic],
            responses=web.PAGE_RESPONSES | problems(403, 404, 422))
def list_(uow: Uow, request: Request, reader: PageOrReader,
          customer: str | None = query_text("One customer's code: its file's complaints."),
          state: ComplaintState | None = Query(default=None, description="Only cases in this "
                                                                          "state.")
          ) -> list[ComplaintPublic] | Response:
    """The cases the reader may see (customer service's; the acting department's once handed
    to it; management's), newest first (the complaints page, with its form, for a browser)."""
    if wants_html(request.headers.get("accept")):
        return web.complaints_page(request)
    return complaints.list_complaints(uow, reader=reader, customer=customer, state=state)


@router.get("/{item}", response_model=ComplaintPublic,
            responses=web.PAGE_RESPONSES | problems(403, 404, 422))
def show(uow: Uow, request: Request, reader: PageOrReader,
         item: str = CaseRef) -> ComplaintPublic | Response:
    """One case with its open step, its handoff, the customer's answer and its history (the
    case's page for a browser)."""
    if wants_html(request.headers.get("accept")):
        return web.complaint_page(request, item)
    return complaints.show_complaint(uow, item, reader=reader)


@router.post("/{item}/hand-over", response_model=ComplaintPublic, responses=_ACTS)
def hand_over(body: HandOverComplaint, actor: Actor, uow: Uow,
              item: str = CaseRef) -> ComplaintPublic:
    """Hand the case to the department that must act, due ``due`` (customer service)."""
    case = complaints.hand_over(uow, complaints.complaint_number(item), actor_email=actor,
                                to=body.to, request=body.request, due=body.due)
    return complaints.show_complaint(uow, f"C-{case.id}")


@router.post("/{item}/answer", response_model=ComplaintPublic, responses=_ACTS)
def answer(body: AnswerComplaint, actor: Actor, uow: Uow,
           item: str = CaseRef) -> ComplaintPublic:
    """Say what the acting department did (it delivers the case's handoff)."""
    case = complaints.answer(uow, complaints.complaint_number(item), actor_email=actor,
                             done=body.done)
    return complaints.show_complaint(uow, f"C-{case.id}")


@router.post("/{item}/close", response_model=ComplaintPublic, responses=_ACTS)
def close(body: CustomerAnswer, actor: Actor, uow: Uow, item: str = CaseRef) -> ComplaintPublic:
    """Record the customer's answer (customer service): satisfied closes the case; not
    satisfied, with a note, reopens it and tells management."""
    case = complaints.customer_answer(uow, complaints.complaint_number(item), actor_email=actor,
                                      satisfied=body.satisfied, note=body.note)
    return complaints.show_complaint(uow, f"C-{case.id}")


@router.post("/{item}/cancel", response_model=ComplaintPublic, responses=_ACTS)
def cancel(body: CancelComplaint, actor: Actor, uow: Uow,
           item: str = CaseRef) -> ComplaintPublic:
    """Cancel a case that is no longer a complaint, with a reason (the head of customer
    service): its open step and handoff are cancelled and its process ends; a closed case is
    refused (409)."""
    case = complaints.cancel(uow, complaints.complaint_number(item), actor_email=actor,
                             reason=body.reason)
    return complaints.show_complaint(uow, f"C-{case.id}")
