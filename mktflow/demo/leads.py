"""The demo's sales leads (seed 001, 市场营销部 工作流程 1.(2) 销售线索的跟踪): marketing gathers
the demo campaign's leads (most from a CSV file, as ``mktflow lead import`` does), qualifies
some into handoffs to sales and disqualifies one; sales accepts them and reports the outcomes,
won with an order or lost with a reason; marketing confirms each. The campaign's KPI
``leads_won`` is then counted from them at its evaluation (``engine.campaigns._with_funnel``).

Every step is the engine command the CLI, the API and the pages call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mktflow import bootstrap
from mktflow.domain.calendars import WorkingDue
from mktflow.engine import handoffs, leads
from mktflow.engine.views import plain

__all__ = ["LEADS_KPI", "work_the_leads"]

#: The funnel KPI the demo campaign is judged by (``domain.leads.FUNNEL_KPIS``).
LEADS_KPI = {"name": "leads_won", "unit": "leads", "target": 2}

MARKETING = "olga.petrova@example.com"
SALES = "carlos.mendez@example.com"  # sales head, HQ
NORTH_SALES = "zhang.wei@example.com"  # sales deputy, north branch

#: The file a tasting day's stand sheet becomes (``mktflow lead import``'s columns).
_STAND_SHEET = """company,contact,channel,region,notes
Green Corner Grocers,buyer@greencorner.example,in-store tasting,north,asked for a price list
Harbour Deli,+34 600 111 222 (Marta),in-store tasting,,wants 50 cases a month
Tea & Co. Kiosk,kiosk@teaco.example,in-store tasting,,sells only loose tea
"""


def work_the_leads(code: str, echo: Callable[[str], None]) -> dict[str, Any]:
    """Run the demo campaign ``code``'s leads to their outcomes; returns the leads (ref, state,
    handoff) and the campaign's funnel as ``mktflow lead funnel --campaign CODE --json``
    shows it."""
    def uow() -> Any:
        return bootstrap.uow()

    echo(f"\n== sales leads of campaign {code}")
    rows = [{**row, "campaign": code} for row in leads.read_csv(_STAND_SHEET)]
    imported = leads.import_leads(uow(), actor_email=MARKETING, rows=rows)["imported"]
    echo(f"   imported {', '.join(imported)} from the tasting days' stand sheet <- {MARKETING}")
    ad = leads.gather(uow(), actor_email=MARKETING, company="Office Bites Catering",
                      contact="orders@officebites.example", channel="social ads", campaign=code)
    echo(f"   gathered L-{ad.id} from the social ads <- {MARKETING}")
    green, harbour, kiosk = (leads.lead_number(r) for r in imported)
    due = WorkingDue("day", 2)
    outcomes = (  # lead, who in sales follows it up, the outcome
        (green, NORTH_SALES, {"outcome": "won", "order": f"SO-{code}-1"}),
        (harbour, SALES, {"outcome": "won", "order": f"SO-{code}-2"}),
        (ad.id, SALES, {"outcome": "lost", "reason": "chose a cheaper supplier"}))
    for lead_id, seller, outcome in outcomes:
        assert lead_id is not None
        lead = leads.qualify(uow(), lead_id, actor_email=MARKETING, due_at=due,
                             note="met at the campaign; follow up within two working days")
        assert lead.handoff_id is not None
        handoffs.accept(uow(), lead.handoff_id, actor_email=seller)
        leads.report_outcome(uow(), lead_id, actor_email=seller, **outcome)
        handoffs.act(uow(), lead.handoff_id, "confirm", actor_email=MARKETING)
        echo(f"   L-{lead_id} qualified -> H-{lead.handoff_id} accepted by {seller}: "
             f"{outcome['outcome']} ({outcome.get('order') or outcome.get('reason')}), "
             "confirmed by marketing")
    leads.disqualify(uow(), kiosk, actor_email=MARKETING,
                     reason="sells only loose tea, not our bottles")
    echo(f"   L-{kiosk} disqualified <- {MARKETING}: sells only loose tea")
    funnel = leads.funnel_report(uow(), campaign=code)
    total = funnel.total
    echo(f"   funnel: {total.gathered} gathered -> {total.qualified} qualified -> "
         f"{total.accepted} accepted -> {total.won} won ({total.lost} lost, "
         f"{total.disqualified} disqualified)")
    return {"campaign": code,
            "leads": [{"lead": x.ref, "state": x.state,
                       "handoff": x.handoff.ref if x.handoff else None}
                      for x in reversed(leads.list_leads(uow(), campaign=code))],
            "funnel": plain(funnel.total)}
