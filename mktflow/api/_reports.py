"""``/reports``: the members' work reports upward (seed 001, 市场部管理制度 4: the day's work
reported to the head before the end of the working day). One engine command per endpoint
(``mktflow.engine.work_reports``); the daily report step itself is also answered at
``/work/{item}/complete``."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import Field

from mktflow import web
from mktflow.api._deps import Actor, PageOrReader, Reader, Uow, wants_html
from mktflow.api._models import _Body, multiline, query_text
from mktflow.api._schemas import problems
from mktflow.domain.inputs import EMAIL_MAX, MULTILINE_PATTERN
from mktflow.domain.work_reports import TEXT_MAX
from mktflow.engine import work_reports
from mktflow.engine.views import WorkReportPublic

__all__ = ["router"]

router = APIRouter(prefix="/reports", tags=["reports"], responses=problems(401))
#: A report named in a path: ``R-3`` or ``3``.
ReportRef = Path(description="The report, e.g. R-3.", json_schema_extra={
    "pattern": r"^(?:[Rr]-?)?[0-9]{1,10}$", "maxLength": 12})
#: Text that may span lines and says something: at least one character that is not a space
#: (the engine strips the texts, and ``done`` may not be empty).
_SAYS_SOMETHING = (MULTILINE_PATTERN[:-2] + r"[^\s\u0000-\u001f\u007f-\u009f]"
                   + MULTILINE_PATTERN[1:])
Kind = Literal["daily", "weekly", "monthly"]


class SubmitReport(_Body):
    """A work report: what was done, the problems met, what comes next."""

    done: str = Field(min_length=1, max_length=TEXT_MAX, description=(
        "What you did in the period (not only spaces); may span lines."),
        json_schema_extra={"pattern": _SAYS_SOMETHING})
    problems: str = multiline(TEXT_MAX, default="", description="Problems met.")
    next: str = multiline(TEXT_MAX, default="", description="What comes next.")
    kind: Kind = "daily"
    period: date | None = Field(default=None, description=(
        "A day of the period (the day, a day of the week or of the month); today's period "
        "when left out. A period that has not begun is refused."))


@router.post("", status_code=201, response_model=WorkReportPublic,
             responses=problems(403, 404, 409, 422))
def submit(body: SubmitReport, actor: Actor, uow: Uow, response: Response) -> WorkReportPublic:
    """Write the acting member's work report (today's by default): a daily one completes the
    day's report step; a second one for the same period revises it."""
    report = work_reports.submit(
        uow, actor_email=actor, done=body.done, problems=body.problems, next_=body.next,
        kind=body.kind, period=body.period.isoformat() if body.period else None)
    response.headers["Location"] = f"/reports/{report.ref}"
    return report


@router.get("", response_model=list[WorkReportPublic],
            responses=web.PAGE_RESPONSES | problems(403, 422))
def list_(uow: Uow, request: Request,
          reader: PageOrReader,
          department: str | None = query_text("Only this department's reports."),
          member: str | None = query_text("Only this member's reports (e-mail).", EMAIL_MAX),
          kind: Kind | None = Query(default=None, description="Only reports of this kind."),
          period: date | None = Query(default=None, description=(
              "Only reports of the period this day falls in (daily without a kind)."))
          ) -> list[WorkReportPublic] | Response:
    """The work reports the reader may see (their own; their department's for a head; all for
    management), newest period first (the reports page when a browser asks)."""
    if wants_html(request.headers.get("accept")):
        return web.reports_page(request)
    return work_reports.list_reports(uow, reader=reader, department=department, member=member,
                                     kind=kind, period=period.isoformat() if period else None)


@router.get("/{item}", response_model=WorkReportPublic, responses=problems(403, 404, 422))
def show(uow: Uow, reader: Reader, item: str = ReportRef) -> WorkReportPublic:
    """One work report with its texts (the member, their head, management)."""
    return work_reports.show_report(uow, item, reader=reader)
