"""``/leads``: sales leads, marketing → sales (seed 001, 市场营销部 工作流程 1.(2)). One engine
command per endpoint (``mktflow.engine.leads``); sales accepts or rejects a lead's handoff at
``/handoffs/{item}/accept|reject``."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request, Response

from mktflow import web
from mktflow.api._deps import Actor, PageOrReader, Reader, Uow, wants_html
from mktflow.api._models import (
    DisqualifyLead,
    GatherLead,
    LeadOutcomeReport,
    QualifyLead,
    query_text,
)
from mktflow.api._schemas import problems
from mktflow.domain.inputs import due_ahead
from mktflow.domain.leads import LeadState
from mktflow.engine import leads
from mktflow.engine.views import LeadFunnel, LeadPublic

__all__ = ["router"]

router = APIRouter(prefix="/leads", tags=["leads"], responses=problems(401))
#: What a command on a lead can be refused with.
_ACTS = problems(403, 404, 409, 422)
#: A lead named in a path: ``L-3`` or ``3``.
LeadRef = Path(description="The lead, e.g. L-3.", json_schema_extra={
    "pattern": r"^(?:[Ll]-?)?[0-9]{1,10}$", "maxLength": 12})

@router.post("", status_code=201, response_model=LeadPublic, responses=_ACTS)
def gather(body: GatherLead, actor: Actor, uow: Uow, response: Response) -> LeadPublic:
    """Record a lead marketing gathered (marketing members only)."""
    lead = leads.gather(uow, actor_email=actor, **body.model_dump())
    response.headers["Location"] = f"/leads/L-{lead.id}"
    return leads.show_lead(uow, f"L-{lead.id}")


@router.get("", response_model=list[LeadPublic],
            responses=web.PAGE_RESPONSES | problems(403, 422))
def list_(uow: Uow, request: Request,
          reader: PageOrReader,
          campaign: str | None = query_text("Only the leads of this campaign (business key)."),
          state: LeadState | None = Query(default=None, description="Only leads in this "
                                                                      "state.")
          ) -> list[LeadPublic] | Response:
    """The leads the reader may see (marketing's; sales' once handed over), newest first (the
    leads page, with the funnel, when a browser asks)."""
    if wants_html(request.headers.get("accept")):
        return web.leads_page(request)
    return leads.list_leads(uow, reader=reader, campaign=campaign, state=state)

@router.get("/funnel", response_model=LeadFunnel, responses=problems(403, 422))
def funnel(uow: Uow, reader: Reader,
           campaign: str | None = query_text("One campaign's business key.")) -> LeadFunnel:
    """The lead funnel, gathered → qualified → accepted → won, per campaign and channel
    (marketing, sales and management)."""
    return leads.funnel_report(uow, reader=reader, campaign=campaign)

@router.get("/{item}", response_model=LeadPublic,
            responses=web.PAGE_RESPONSES | problems(403, 404, 422))
def show(uow: Uow, request: Request, reader: PageOrReader,
         item: str = LeadRef) -> LeadPublic | Response:
    """One lead with its handoff to sales and its outcome (the lead's page, with marketing's
    forms to qualify, disqualify or hand it over again, for a browser)."""
    if wants_html(request.headers.get("accept")):
        return web.lead_page(request, item)
    return leads.show_lead(uow, item, reader=reader)

@router.post("/{item}/qualify", response_model=LeadPublic, responses=_ACTS)
def qualify(body: QualifyLead, actor: Actor, uow: Uow, item: str = LeadRef) -> LeadPublic:
    """Qualify a lead and hand it to sales, due ``due`` (marketing)."""
    lead = leads.qualify(uow, leads.lead_number(item), actor_email=actor, note=body.note,
                         due_at=due_ahead(body.due, uow.now()))
    return leads.show_lead(uow, f"L-{lead.id}")

@router.post("/{item}/hand-over", response_model=LeadPublic, responses=_ACTS)
def hand_over(body: QualifyLead, actor: Actor, uow: Uow, item: str = LeadRef) -> LeadPublic:
    """Hand a qualified lead to sales again, due ``due``, once sales rejected it or marketing
    withdrew its handoff (marketing)."""
    lead = leads.hand_over(uow, leads.lead_number(item), actor_email=actor, note=body.note,
                           due_at=due_ahead(body.due, uow.now()))
    return leads.show_lead(uow, f"L-{lead.id}")


@router.post("/{item}/disqualify", response_model=LeadPublic, responses=_ACTS)
def disqualify(body: DisqualifyLead, actor: Actor, uow: Uow, item: str = LeadRef) -> LeadPublic:
    """Drop a gathered lead, saying why (marketing)."""
    lead = leads.disqualify(uow, leads.lead_number(item), actor_email=actor, reason=body.reason)
    return leads.show_lead(uow, f"L-{lead.id}")

@router.post("/{item}/outcome", response_model=LeadPublic, responses=_ACTS)
def outcome(body: LeadOutcomeReport, actor: Actor, uow: Uow, item: str = LeadRef) -> LeadPublic:
    """Report what came of a lead sales accepted: won with the order, lost with the reason
    (sales; it delivers the lead's handoff)."""
    lead = leads.report_outcome(uow, leads.lead_number(item), actor_email=actor,
                                outcome=body.outcome, order=body.order, reason=body.reason)
    return leads.show_lead(uow, f"L-{lead.id}")
