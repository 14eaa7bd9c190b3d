"""Read-only endpoints: the organisation, inboxes, audit trails and processes (the CLI's views)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from mktflow.api._deps import Uow, reading_member
from mktflow.api._schemas import (
    HistoryEntry,
    InboxHandoff,
    OrganisationPublic,
    ProcessPublic,
    ProcessSummary,
    WorkItemPublic,
    problems,
)
from mktflow.engine import queries

__all__ = ["router"]

#: Reads need a credential too (a member token; the shared token in SSO-proxy mode).
router = APIRouter(tags=["reads"], responses=problems(401),
                   dependencies=[Depends(reading_member)])
#: An inbox holds steps and handoffs, told apart by ``kind``.
InboxEntry = Annotated[WorkItemPublic | InboxHandoff, Field(discriminator="kind")]


@router.get("/org", response_model=OrganisationPublic)
def organisation(uow: Uow) -> dict[str, Any]:
    """Branches, departments (who leads them today) and active members."""
    return queries.organisation(uow)


@router.get("/inbox/{department}", response_model=list[InboxEntry],
            response_model_exclude_unset=True, responses=problems(404, 422))
def inbox(
    department: str, uow: Uow,
    member: str | None = Query(default=None, description="Only what this member holds."),
) -> list[dict[str, Any]]:
    """Open work items and handoffs waiting for a department, overdue first."""
    return queries.inbox(uow, department, member=member)


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
