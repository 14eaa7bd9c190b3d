"""The desk's figures (issue 24, items 3 and 5): a department's workload and waiting
(``/inbox/{department}/workload``), and the dashboards of a campaign and of a period
(``/dashboards/...``): KPI targets against actuals, budget allocated against spent. One
engine query behind each (``mktflow.engine.workload``, ``mktflow.engine.dashboards``); a
browser's ``GET`` of a dashboard is answered by its page (charts beside the numbers), the
workload by the head's load page (``/inbox/{department}/load``).
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request, Response

from mktflow import web
from mktflow.api._deps import PageOrReader, Reader, Uow, wants_html
from mktflow.api._schemas import problems
from mktflow.domain.cycles import PERIOD_PATTERN
from mktflow.domain.inputs import CODE_MAX
from mktflow.engine import dashboards, workload
from mktflow.engine.views import (
    CampaignDashboard,
    DepartmentWorkload,
    PeriodDashboard,
    WorkBalance,
)

__all__ = ["router"]

router = APIRouter(tags=["dashboards"], responses=problems(401, 403, 404, 422))

#: A department's code in a path.
_DEPARTMENT = Path(description="The department's code, e.g. marketing.", min_length=1,
                   max_length=CODE_MAX, pattern=r"^[a-z0-9][a-z0-9_-]*$")


@router.get("/inbox/{department}/workload", response_model=DepartmentWorkload)
def department_workload(
    uow: Uow, reader: Reader, department: str = _DEPARTMENT,
    days: int = Query(default=workload.DEFAULT_DAYS, ge=1, le=workload.MAX_DAYS,
                      description="The waits are of handoffs offered in the last this many "
                                  "days."),
) -> DepartmentWorkload:
    """A department's workload and waiting: open and overdue work per member with the due
    spread, the working hours its work waited on each other department and they on it (by
    stage of the handoff ledger), and who is blocking whom now. For whoever leads the
    department and management (the read table's ``workload`` row)."""
    return workload.department_workload(uow, department, reader=reader, days=days)


@router.get("/dashboards/campaigns/{code}", response_model=CampaignDashboard,
            responses=web.PAGE_RESPONSES)
def campaign_dashboard(
    uow: Uow, request: Request, reader: PageOrReader,
    code: str = Path(description="The campaign's code, e.g. CMP-7.", min_length=1,
                     max_length=100, pattern=r"^[^\s/\x00-\x1f\x7f]+$"),
) -> CampaignDashboard | Response:
    """A campaign's KPI targets against actuals and its budget lines allocated against spent,
    with its evaluation's totals (the campaign's report shows the same figures). For whoever
    may see its process's parameters: the owner's department and management (a browser: the
    dashboard page)."""
    if wants_html(request.headers.get("accept")):
        return web.campaign_dashboard_page(request, code)
    return dashboards.campaign_dashboard(uow, code, reader=reader)


@router.get("/dashboards/periods/{period}", response_model=PeriodDashboard,
            responses=web.PAGE_RESPONSES)
def period_dashboard(
    uow: Uow, request: Request, reader: PageOrReader,
    period: str = Path(description="The period: 2026, 2026-H2, 2026-Q4 or 2026-11.",
                       pattern=f"^{PERIOD_PATTERN}$", max_length=7),
) -> PeriodDashboard | Response:
    """A period's KPIs (targets against actuals, as the performance appraisal judges them) and
    budget lines (allocated against spent, as the budget review does) of the reader's own
    departments; management sees every department's (a browser: the dashboard page)."""
    if wants_html(request.headers.get("accept")):
        return web.period_dashboard_page(request, period)
    return dashboards.period_dashboard(uow, period, reader=reader)


#: A year whose every day the calendar holds: 0001 to 9998 (a period of 9999 ends after it).
_CALENDAR_YEAR = r"(?:000[1-9]|00[1-9]\d|0[1-9]\d{2}|[1-8]\d{3}|9[0-8]\d{2}|99[0-8]\d|999[0-8])"
assert PERIOD_PATTERN.startswith(r"\d{4}")  # the year, then the rest of a period


@router.get("/dashboards/balance/{period}", response_model=WorkBalance,
            responses=web.PAGE_RESPONSES | problems(422))
def work_balance(
    uow: Uow, request: Request, reader: PageOrReader,
    period: str = Path(description="The period: 2026, 2026-H2, 2026-Q4 or 2026-11 (years "
                                   "0001 to 9998: its days must fit the calendar).",
                       pattern=f"^{_CALENDAR_YEAR}{PERIOD_PATTERN[5:]}$", max_length=7),
) -> WorkBalance | Response:
    """The balance of each department's work in a period (seed 000): its work items in the
    four quadrants of importance and urgency, flagged when the important-not-urgent share is
    below the floor; the reader's departments, management every one (a browser: the page)."""
    if wants_html(request.headers.get("accept")):
        return web.work_balance_page(request, period)
    return dashboards.work_balance(uow, period, reader=reader)
