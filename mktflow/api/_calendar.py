"""``/calendar``: the campaign calendar of a month or a quarter as the reader may see it, the
member's secret calendar feed URLs, and the feed itself (``/calendar/<secret>.ics``, which its
secret proves: no other credential). One engine query behind every answer
(``mktflow.engine.campaign_calendar``); a browser's ``GET /calendar`` is answered by the page.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from mktflow import web
from mktflow.api._deps import Actor, PageOrReader, Uow, wants_html
from mktflow.api._models import query_text
from mktflow.api._problems import on_validation_error
from mktflow.api._schemas import problems
from mktflow.domain.campaign_calendar import MONTH_PATTERN, QUARTER_PATTERN
from mktflow.engine import campaign_calendar
from mktflow.engine.views import CalendarFeedIssued, CalendarFeedPublic, CalendarPage

__all__ = ["install", "router"]

router = APIRouter(prefix="/calendar", tags=["calendar"])

#: The media type of an iCalendar feed (RFC 5545).
ICS = "text/calendar"


@router.get("", response_model=CalendarPage,
            responses=web.PAGE_RESPONSES | problems(401, 403, 404, 422))
def show(uow: Uow, request: Request,
         reader: PageOrReader,
         month: str | None = Query(default=None, pattern=f"^(?:{MONTH_PATTERN})?$",
                                   description="The month, YYYY-MM (this month when neither "
                                               "month nor quarter is given; not both)."),
         quarter: str | None = Query(default=None, pattern=f"^(?:{QUARTER_PATTERN})?$",
                                     description="The quarter, YYYY-Qn (n from 1 to 4)."),
         department: str | None = query_text("Only this department's entries (a handoff: "
                                             "either side).", max_length=64),
         branch: str | None = query_text("Only this branch's entries, with the whole "
                                         "company's.", max_length=64),
         ) -> CalendarPage | Response:
    """The campaign calendar of a month or a quarter: campaigns, their plan's activities,
    approvals, work items' due times and handoffs' deadlines the reader may see, by day (the
    calendar page when a browser asks)."""
    if wants_html(request.headers.get("accept")):
        return web.calendar_page(request)
    return campaign_calendar.calendar_page(uow, month=month or None, quarter=quarter or None,
                                           reader=reader, department=department or None,
                                           branch=branch or None)


@router.get("/feeds", response_model=list[CalendarFeedPublic],
            responses=problems(401, 403, 404, 422))
def feeds(uow: Uow, actor: Actor) -> list[CalendarFeedPublic]:
    """The acting member's calendar feed URLs, oldest first, never their secrets."""
    return campaign_calendar.list_feeds(uow, actor)


@router.post("/feeds", status_code=201, response_model=CalendarFeedIssued,
             responses=problems(401, 403, 404, 422))
def new_feed(uow: Uow, actor: Actor) -> CalendarFeedIssued:
    """Make a secret calendar feed URL for the acting member: ``url`` is shown this once
    (stored only hashed); subscribe to it in Outlook or Google Calendar."""
    return campaign_calendar.issue_feed(uow, actor)


@router.post("/feeds/{feed}/revoke", response_model=CalendarFeedPublic,
             responses=problems(401, 403, 404, 422))
def revoke_feed(uow: Uow, actor: Actor,
                feed: int = Path(description="The feed's id.", ge=1, le=2**31 - 1)
                ) -> CalendarFeedPublic:
    """Revoke one of the acting member's feed URLs: it answers 404 from now on."""
    return campaign_calendar.revoke_feed(uow, feed, actor_email=actor)


@router.get("/{secret}.ics", response_class=Response, responses={
    200: {"description": "The member's calendar (RFC 5545): one VEVENT per entry from 30 "
                         "days back to 180 days ahead.",
          "content": {ICS: {"schema": {"type": "string"}}}},
    **problems(404, 422)})
def feed(uow: Uow, secret: str = Path(description="The feed's secret (from its URL).")
         ) -> Response:
    """A member's calendar feed, proved by the secret in its URL alone (calendar clients send
    no other credential). An unknown or revoked secret answers 404, whatever the reason."""
    return Response(campaign_calendar.feed_ics(uow, secret), media_type=ICS,
                    headers={"Cache-Control": "private, no-store"})


def install(app: FastAPI) -> None:
    """A browser's ``GET /calendar`` whose query does not fit the document (``month=2026-13``
    typed into the page's form) is answered by the page, which names the field and its rule;
    every other request that does not fit is answered with problem+json as before."""

    async def invalid(request: Request, exc: Exception) -> Response:
        if (request.method == "GET" and request.url.path == "/calendar"
                and wants_html(request.headers.get("accept"))):
            return web.calendar_page(request)
        return await on_validation_error(request, exc)

    app.add_exception_handler(RequestValidationError, invalid)
