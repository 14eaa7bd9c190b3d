"""Read-only endpoints: the organisation, inboxes, audit trails and processes (the CLI's views)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials

from mktflow import web
from mktflow.api._deps import Actor, Uow, _bearer, identify, wants_html
from mktflow.api._models import AnyRef, CancelProcess, ProcessOrKey, ProcessRef, query_text
from mktflow.api._schemas import problems
from mktflow.domain.desk import FILTER_TEXT_MAX
from mktflow.domain.model import ProcessStatus
from mktflow.engine import queries
from mktflow.engine.common import parse_ref
from mktflow.engine.handoffs import process_id_for
from mktflow.engine.inbox import HANDOFF_STATES, WORK_STATES
from mktflow.engine.processes import cancel_process as end_process
from mktflow.engine.views import (
    HistoryEntry,
    InboxPage,
    OrganisationPublic,
    ProcessPublic,
    ProcessSummary,
)

__all__ = ["router"]


def _reader_unless_page(
    request: Request,
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str | None:
    """Who reads: reads need a credential too (a member token; the shared token in SSO-proxy
    mode, which reads as the operator when it names nobody). A browser asking for a
    department's queue page or a process's page is answered by the pages, which sign people
    in themselves."""
    if wants_html(request.headers.get("accept")) and request.url.path.startswith(
            ("/inbox/", "/processes/")):
        return None
    return identify(request, need_member=False)


#: The member reading (None: the operator; ``engine.visibility``).
Reader = Annotated[str | None, Depends(_reader_unless_page)]

router = APIRouter(tags=["reads"], responses=problems(401, 403))


#: The states an inbox lists, as the engine allows them.
_INBOX_STATES = sorted({str(s) for s in (*WORK_STATES, *HANDOFF_STATES)})


@router.get("/org", response_model=OrganisationPublic)
def organisation(uow: Uow, _reader: Reader) -> OrganisationPublic:
    """Branches, departments (who leads them today) and active members."""
    return queries.organisation(uow)


@router.get("/inbox/{department}", response_model=InboxPage,
            responses=web.PAGE_RESPONSES | problems(404, 422))
def inbox(
    department: str, uow: Uow, request: Request, response: Response, reader: Reader,
    member: str | None = query_text("Only the work items this member "
                                                         "holds (handoffs stay)."),
    state: list[str] | None = Query(
        default=None, description="Only these states (repeatable): open, claimed, delegated, "
                                  "offered, accepted, returned, delivered.",
        json_schema_extra={"items": {"type": "string", "enum": _INBOX_STATES}}),
    overdue: bool | None = Query(default=None, description="true: only overdue items; false: "
                                                           "only those that are not."),
    process: str | None = query_text("Business key or P-n."),
    priority: Literal["", "urgent", "high", "normal", "low"] | None = Query(
        default=None, description="Only this priority band: urgent 90-100, high 70-89, normal "
                                  "30-69, low 0-29 (a handoff counts as 50, normal); empty: "
                                  "any (as the queue page's filter form sends it)."),
    text: str | None = query_text("Only items whose title holds these words (any case).",
                                  FILTER_TEXT_MAX),
    limit: int = Query(default=50, ge=1, le=200, description="Rows per page."),
    cursor: str | None = query_text("next_cursor of the previous page."),
) -> InboxPage | Response:
    """Work items and handoffs waiting for a department, overdue first, then by due time,
    priority and id: one page, with ``next_cursor`` (also as a ``Link: <…>; rel="next"``
    header) when there is more. A browser (``Accept: text/html``) gets the department's queue
    page."""
    if wants_html(request.headers.get("accept")):
        return web.inbox_page(request, department)
    page = queries.inbox_page(uow, department, member=member, states=state, overdue=overdue,
                              process=process, limit=limit, cursor=cursor, reader=reader,
                              priority=priority or None, text=text)
    if page.next_cursor:
        url = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
    return page


@router.get("/history/{reference}", response_model=list[HistoryEntry],
            responses=problems(404, 422))
def history(reference: AnyRef, uow: Uow, reader: Reader) -> list[HistoryEntry]:
    """The audit trail of a work item (W-12), a handoff (H-3) or a process (P-4 or its key):
    a process's lists the entries of the items the reader may see."""
    return queries.history(uow, reference, reader=reader)


@router.get("/processes", response_model=list[ProcessSummary], responses=problems(422))
def processes(
    uow: Uow, reader: Reader,
    status: ProcessStatus | None = Query(default=None, description="Only runs in this status."),
    process: str | None = query_text("Only runs of this process."),
) -> list[ProcessSummary]:
    """The process instances the reader may see, newest first (parameters and result only
    where they may see them)."""
    return queries.process_list(uow, status=status, process=process, reader=reader)


@router.get("/processes/{reference}", response_model=ProcessPublic,
            responses=web.PAGE_RESPONSES | problems(404, 422))
def process(reference: ProcessRef, uow: Uow, reader: Reader, request: Request
            ) -> ProcessPublic | Response:
    """One process instance (P-4 or 4) with the work items and handoffs the reader may see;
    its parameters and result only for the owner's department and management (a browser:
    the process's page, which the campaign calendar links to)."""
    if wants_html(request.headers.get("accept")):
        return web.process_page(request, reference)
    return queries.show_process(uow, parse_ref(reference, "process")[1], reader=reader)


@router.post("/processes/{reference}/cancel", response_model=ProcessPublic,
             responses=problems(403, 404, 409, 422), tags=["processes"])
def cancel_process(reference: ProcessOrKey, body: CancelProcess, actor: Actor, uow: Uow,
                   reader: Reader) -> ProcessPublic:
    """End a running process (P-4 or its key) on purpose: by its owner, whoever leads the
    owner's department, or management, with a reason. Its open steps and handoffs are
    cancelled with the reason; its waiting flow run is ended."""
    with uow:
        process_id = process_id_for(uow, reference)
    assert process_id is not None
    end_process(uow, process_id, actor_email=actor, reason=body.reason)
    return queries.show_process(uow, process_id, reader=actor)
