"""``/meetings``: the quarterly and annual planning meetings of marketing and their minutes
(seed 001, 市场营销部 工作流程 1.(1) A). Reads only: the meeting's steps (agenda, minutes, the
head's approval) and each decision's work are acted on at ``/work/{item}`` and
``/handoffs/{item}`` (``mktflow.engine.meetings``)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Query, Request, Response

from mktflow import web
from mktflow.api._deps import PageOrReader, Uow, wants_html
from mktflow.api._schemas import problems
from mktflow.engine import meetings
from mktflow.engine.views import MeetingPublic

__all__ = ["router"]

router = APIRouter(prefix="/meetings", tags=["meetings"], responses=problems(401))
#: A meeting named in a path: ``M-3`` or ``3``.
MeetingRef = Path(description="The meeting, e.g. M-3.", json_schema_extra={
    "pattern": r"^(?:[Mm]-?)?[0-9]{1,10}$", "maxLength": 12})


@router.get("", response_model=list[MeetingPublic],
            responses=web.PAGE_RESPONSES | problems(403, 422))
def list_(uow: Uow, request: Request, reader: PageOrReader,
          kind: Literal["quarterly", "annual"] | None = Query(
              default=None, description="Only meetings of this kind.")
          ) -> list[MeetingPublic] | Response:
    """The meetings the reader may see (marketing, management, the departments their minutes
    name), newest period first, each with its decisions' states (the meetings page when a
    browser asks)."""
    if wants_html(request.headers.get("accept")):
        return web.meetings_page(request)
    return meetings.list_meetings(uow, reader=reader, kind=kind)


@router.get("/{item}", response_model=MeetingPublic,
            responses=web.PAGE_RESPONSES | problems(403, 404, 422))
def show(uow: Uow, request: Request, reader: PageOrReader,
         item: str = MeetingRef) -> MeetingPublic | Response:
    """One meeting: agenda, minutes, approval, where they were sent, and each decision with
    its owner, due date, work and state (the meeting's page when a browser asks)."""
    if wants_html(request.headers.get("accept")):
        return web.meeting_page(request, item)
    return meetings.show_meeting(uow, item, reader=reader)
