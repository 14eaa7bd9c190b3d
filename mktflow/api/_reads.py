"""Read-only endpoints: the organisation, inboxes, audit trails and processes (the CLI's views)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from mktflow.api._deps import Uow
from mktflow.api._schemas import (
    HistoryEntry,
    InboxPage,
    OrganisationPublic,
    ProcessPublic,
    ProcessSummary,
    problems,
)
from mktflow.engine import queries

__all__ = ["router"]

router = APIRouter(tags=["reads"], responses=problems(401))


@router.get("/org", response_model=OrganisationPublic)
def organisation(uow: Uow) -> dict[str, Any]:
    """Branches, departments (who leads them today) and active members."""
    return queries.organisation(uow)


@router.get("/inbox/{department}", response_model=InboxPage,
            response_model_exclude_unset=True, responses=problems(404, 422))
def inbox(
    department: str, uow: Uow, request: Request, response: Response,
    member: str | None = Query(default=None, description="Only the work items this member "
                                                         "holds (handoffs stay)."),
    state: list[str] | None = Query(
        default=None, description="Only these states (repeatable): open, claimed, delegated, "
                                  "offered, accepted, returned, delivered."),
    overdue: bool | None = Query(default=None, description="true: only overdue items; false: "
                                                           "only those that are not."),
    process: str | None = Query(default=None, description="Business key or P-n."),
    limit: int = Query(default=50, ge=1, le=200, description="Rows per page."),
    cursor: str | None = Query(default=None, description="next_cursor of the previous page."),
) -> dict[str, Any]:
    """Work items and handoffs waiting for a department, overdue first, then by due time,
    priority and id: one page, with ``next_cursor`` (also as a ``Link: <…>; rel="next"``
    header) when there is more."""
    page = queries.inbox_page(uow, department, member=member, states=state, overdue=overdue,
                              process=process, limit=limit, cursor=cursor)
    if page.next_cursor:
        url = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
    return {"rows": page.rows, "next_cursor": page.next_cursor}


@router.get("/history/{reference}", response_model=list[HistoryEntry],
            responses=problems(404, 422))
def history(reference: str, uow: Uow) -> list[dict[str, Any]]:
    """The audit trail of a work item (W-12), a handoff (H-3) or a process (P-4 or its key)."""
    return queries.history(uow, reference)


@router.get("/processes", response_model=list[ProcessSummary], responses=problems(422))
def processes(
    uow: Uow, status: str | None = None,
    process: str | None = Query(default=None, description="Only runs of this process."),
) -> list[dict[str, Any]]:
    """Process instances, newest first."""
    return queries.process_list(uow, status=status, process=process)


@router.get("/processes/{reference}", response_model=ProcessPublic,
            responses=problems(404, 422))
def process(reference: str, uow: Uow) -> dict[str, Any]:
    """One process instance (P-4 or 4) with its work items and handoffs."""
    return queries.show(uow, reference, "process")
