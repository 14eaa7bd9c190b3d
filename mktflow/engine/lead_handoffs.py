"""What moving a lead's handoff does to the lead, in the handoff's own transaction.

A qualified lead goes to sales as a handoff (``engine.leads.qualify``); from then on the
handoff's doors move it (``mktflow handoff accept H-n``, ``POST /handoffs/{id}/deliver``, its
page), and ``mktflow lead outcome`` is the same ``deliver``. So the one place a lead follows its
handoff is here, called by ``handoffs.act`` for every action:

- ``deliver`` is sales' report of the outcome: its ``data`` must be ``{"outcome": "won",
  "order": ...}`` or ``{"outcome": "lost", "reason": ...}`` (``domain.leads.check_outcome``),
  and the lead becomes won or lost (``LEAD_RULES`` win / lose: the receiving department);
- ``return`` is marketing doubting the outcome: the lead is qualified again (``reopen``: the
  offering department) and sales reports anew;
- accept, reject, confirm, cancel leave the lead's state as it is: the funnel reads them from
  the handoff.

Source: seed 001, 市场营销部 工作流程 1.(2) B-C.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from mktflow.domain.actors import Actor, Target, authorize
from mktflow.domain.leads import SALES, LeadOutcome, check_outcome, lead_ref, lead_rule
from mktflow.store.uow import UnitOfWork

if TYPE_CHECKING:
    from mktflow.store.tables import Handoff, Lead

__all__ = ["follow", "lead_of", "lead_target"]


def lead_of(uow: UnitOfWork, handoff_id: int, *, for_update: bool = False) -> Lead | None:
    """The lead handed over by the handoff ``handoff_id``, if it is a lead's. (The business
    tables load here, not when a handoff command starts.)"""
    from mktflow.store.tables import Lead

    query = select(Lead).where(col(Lead.handoff_id) == handoff_id)
    return uow.session.exec(query.with_for_update() if for_update else query).first()


def lead_target(lead: Lead, handoff: Handoff | None = None) -> Target:
    """What the rule rows need of a lead: its owning department and region; once handed over,
    the receiving department (``Party.RECEIVING``) and the offering one (``Party.OFFERING``)
    are the handoff's, and both are involved (the read table)."""
    ref = lead_ref(lead.id)
    if handoff is None:
        return Target(ref=ref, department=lead.department, branch=lead.branch,
                      involved=frozenset({lead.department}))
    return Target(ref=ref, department=handoff.to_department, branch=lead.branch,
                  offering=handoff.from_department,
                  involved=frozenset({lead.department, handoff.to_department}))


def follow(uow: UnitOfWork, handoff: Handoff, action: str, actor: Actor, *,
           data: dict[str, Any] | None) -> Lead | None:
    """Move the lead of ``handoff`` as ``action`` on the handoff does (inside the caller's
    transaction, before the handoff changes); the lead, or None for a handoff of no lead.
    Raises BadInput for an outcome that breaks its rule, TransitionRefused for a lead not in
    the state the action needs, NotAuthorized as the rule row says."""
    if action not in ("deliver", "return") or handoff.id is None \
            or handoff.to_department != SALES or handoff.process_id is not None:
        return None  # a lead goes to sales with a handoff of no process (engine.leads.qualify)
    lead = lead_of(uow, handoff.id, for_update=True)
    if lead is None:
        return None
    ref = lead_ref(lead.id)
    if action == "deliver":
        outcome, order, reason = check_outcome(data)
        rule = lead_rule("win" if outcome is LeadOutcome.WON else "lose", lead.state, ref=ref)
        authorize(actor, rule, lead_target(lead, handoff))
        before = lead.state
        lead.state, lead.order_ref, lead.reason = rule.target, order, reason
        lead.outcome_at = uow.now()
        audit_data: dict[str, Any] = {"outcome": outcome.value, "order": order,
                                      "handoff": f"H-{handoff.id}"}
    else:
        rule = lead_rule("reopen", lead.state, ref=ref)
        authorize(actor, rule, lead_target(lead, handoff))
        before = lead.state
        lead.state, lead.order_ref, lead.reason, lead.outcome_at = rule.target, None, None, None
        audit_data = {"handoff": f"H-{handoff.id}"}
    lead.updated_at = uow.now()
    uow.session.add(lead)
    assert lead.id is not None
    uow.audit(actor=actor.email, entity_type="lead", entity_id=lead.id, action=rule.action,
              from_state=before, to_state=lead.state, reason=lead.reason, data=audit_data)
    return lead
