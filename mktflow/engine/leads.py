"""Command handlers and reads for sales leads: gather (one, or a CSV file), qualify (handing the
lead to sales as a handoff with a follow-up deadline), disqualify, report the outcome, and the
funnel per campaign and channel.

Source: seed 001, 市场营销部 工作流程 1.(2) 销售线索的跟踪. Who may do what
is ``domain.leads.LEAD_RULES`` beside the handoff's own rows; who may see a lead or the funnel is
``domain.model.READ_RULES`` (``lead``, ``funnel``). A lead is not a Prefect flow: it is rows and
a handoff (docs/processes/leads.md, "Why a lead is not a flow").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select

from mktflow.domain.actors import Actor, Target, authorize, authorize_read, may_read
from mktflow.domain.calendars import WorkingDue
from mktflow.domain.errors import (
    BadInput,
    FormInvalid,
    NotAuthorized,
    NotFound,
    TransitionRefused,
)
from mktflow.domain.inputs import (
    REASON_MAX,
    check_id,
    check_text,
    format_time,
    normalise_email,
)
from mktflow.domain.leads import (
    FUNNEL_KPIS,
    MARKETING,
    SALES,
    FunnelCounts,
    LeadSource,
    LeadState,
    check_outcome,
    funnel,
    lead_problems,
    lead_ref,
    lead_rule,
)
from mktflow.domain.model import HandoffState, Readable, read_rule
from mktflow.domain.words import Phrase, joined, on_field, phrase, word
from mktflow.engine import handoffs
from mktflow.engine.common import actor_for
from mktflow.engine.lead_handoffs import lead_target
from mktflow.engine.refs import ref_number
from mktflow.engine.views import (
    FunnelFigures,
    LeadFunnel,
    LeadHandoff,
    LeadHistoryEntry,
    LeadPublic,
)
from mktflow.engine.visibility import reading_actor
from mktflow.store.tables import AuditEntry, Branch, Campaign, Handoff, Lead, Member
from mktflow.store.uow import UnitOfWork

__all__ = [
    "allowed_actions",
    "disqualify",
    "funnel_actuals",
    "funnel_report",
    "gather",
    "hand_over",
    "import_leads",
    "lead_view",
    "list_leads",
    "may_gather",
    "qualify",
    "read_csv",
    "report_outcome",
    "show_lead",
]

#: The fields that name something that must exist (a campaign, a branch, a marketing member):
#: one lead naming none that does is NotFound (404), as an unknown department is.
_REFERENCES = frozenset({"campaign", "region", "owner"})

#: How a refusal names a lead not yet gathered.
A_LEAD = phrase("a lead")

#: The most rows one import takes (a larger file is split by whoever exports it).
IMPORT_MAX_ROWS = 5_000


def _lead(uow: UnitOfWork, lead_id: int, *, for_update: bool = False) -> Lead:
    lead = uow.session.get(Lead, check_id(lead_id, lead_ref(lead_id)),
                           with_for_update=for_update)
    if lead is None:
        raise NotFound(phrase("%(ref)s does not exist", ref=lead_ref(lead_id)))
    return lead


def _row_problems(uow: UnitOfWork, actor: Actor, values: dict[str, Any]) -> list[tuple[str, str]]:
    """Everything wrong with one lead's fields, the organisation's and campaigns' rules
    included: (field, rule) pairs, empty when it may be gathered."""
    problems = lead_problems(values)
    if problems:
        return problems
    campaign = (values.get("campaign") or "").strip()
    if campaign and uow.session.exec(select(Campaign.id).where(
            col(Campaign.code) == campaign)).first() is None:
        problems.append(("campaign", phrase("no campaign has the business key %(key)s",
                                            key=repr(campaign))))
    region = (values.get("region") or "").strip()
    if region and uow.session.get(Branch, region) is None:
        problems.append(("region", phrase("no branch has the code %(code)s", code=repr(region))))
    owner = normalise_email(values.get("owner") or "")
    if owner:
        member = uow.session.exec(select(Member).where(col(Member.email) == owner)).first()
        if member is None or not member.active or member.department != MARKETING:
            problems.append(("owner", phrase("%(email)s is not an active member of %(department)s "
                                             "(marketing owns every lead)", email=owner,
                                             department=MARKETING)))
    target = Target(ref=A_LEAD, department=MARKETING, branch=region or None)
    try:
        authorize(actor, lead_rule("gather", "", ref=A_LEAD), target)
    except NotAuthorized as refused:  # reported as the row's own problem (worded: a Phrase)
        said = refused.args[0] if refused.args and isinstance(refused.args[0], str) \
            else str(refused)
        problems.append(("region" if region else "actor", said))
    return problems


def _add(uow: UnitOfWork, actor: Actor, values: dict[str, Any], source: str) -> Lead:
    def text(name: str) -> str:
        return str(values.get(name) or "").strip()

    lead = Lead(source=source, campaign=text("campaign") or None, company=text("company"),
                contact=text("contact"), channel=text("channel"), branch=text("region") or None,
                notes=text("notes"), department=MARKETING,
                owner_email=normalise_email(text("owner")) or actor.email, state=LeadState.GATHERED,
                created_by=actor.email, created_at=uow.now(), updated_at=uow.now())
    uow.session.add(lead)
    uow.session.flush()
    assert lead.id is not None
    uow.audit(actor=actor.email, entity_type="lead", entity_id=lead.id, action="gather",
              to_state=lead.state, data={"source": source, "campaign": lead.campaign,
                                         "channel": lead.channel, "owner": lead.owner_email})
    return lead


def _source(raw: str | None, campaign: str | None) -> str:
    if raw is None:
        return LeadSource.CAMPAIGN if campaign else LeadSource.RESEARCH
    if raw not in {s.value for s in LeadSource}:
        raise BadInput(on_field("source", phrase("must be one of %(choices)s, got %(got)s",
                                                 choices=", ".join(LeadSource), got=repr(raw))))
    if raw == LeadSource.CAMPAIGN and not campaign:
        raise BadInput(on_field("campaign", phrase(
            "a lead from a campaign names the campaign's business key")))
    return raw


def gather(
    uow: UnitOfWork,
    *,
    actor_email: str,
    company: str,
    contact: str,
    channel: str,
    campaign: str | None = None,
    region: str | None = None,
    notes: str = "",
    owner: str | None = None,
    source: str | None = None,
) -> Lead:
    """Marketing records a lead it gathered (seed 001, 工作流程 1.(2) A: it owns every lead).

    ``campaign``: a campaign's business key (the source; ``source`` defaults to ``campaign``
    then, else ``research``); ``region``: a branch code; ``owner``: the marketing member who
    owns it (default: whoever gathers it). Raises FormInvalid listing every field that breaks
    its rule (``errors``: ``{"field", "rule", "message"}``), NotFound naming the field when
    only a campaign, branch or owner named does not exist; NotAuthorized for anyone but a
    member of marketing (of the region's branch, or HQ).
    """
    values = {"company": company, "contact": contact, "channel": channel, "campaign": campaign,
              "region": region, "notes": notes, "owner": owner}
    kind = _source(source, campaign)
    with uow:
        actor = actor_for(uow, actor_email)
        authorize(actor, lead_rule("gather", "", ref=A_LEAD),
                  Target(ref=A_LEAD, department=MARKETING, branch=region or None))
        problems = _row_problems(uow, actor, values)
        message = "; ".join(f"{f}: {r}" for f, r in problems)
        if problems and all(f in _REFERENCES for f, _ in problems):
            named = [on_field(f, r if isinstance(r, Phrase) else word(r)) for f, r in problems]
            raise NotFound(named[0] if len(named) == 1 else joined(named))  # worded per field
        if problems:
            raise FormInvalid(message, [{"field": f, "rule": r, "message": f"{f}: {r}"}
                                        for f, r in problems])
        lead = _add(uow, actor, values, kind)
        uow.commit()
        return lead


def read_csv(text: str) -> list[dict[str, str]]:
    """The rows of a lead file: UTF-8 CSV with a header naming the fields (``company``,
    ``contact``, ``channel``, ``campaign``, ``region``, ``notes``, ``owner``; the first three
    required). Raises BadInput naming the header's problem or the size limit."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [f for f in ("company", "contact", "channel") if f not in header]
    if missing:
        raise BadInput(f"header: the file has no column {', '.join(missing)} (row 1 names the "
                       "fields: company, contact, channel, and optionally campaign, region, "
                       "notes, owner)")
    rows = []
    for row in reader:
        if None in row:
            rows.append({**{(k or "").strip(): v for k, v in row.items() if k},
                         "": phrase("more values than the header has columns")})
        else:
            rows.append({(k or "").strip(): v for k, v in row.items()})
        if len(rows) > IMPORT_MAX_ROWS:
            raise BadInput(f"file: at most {IMPORT_MAX_ROWS} leads per import")
    return rows


def import_leads(uow: UnitOfWork, *, actor_email: str, rows: list[dict[str, Any]],
                 skip_bad: bool = False) -> dict[str, Any]:
    """Gather many leads at once (a CSV file's rows, ``read_csv``), all or nothing.

    Each row is checked as ``gather`` checks one. With a bad row, nothing is imported and
    FormInvalid lists every problem (``errors``: ``{"row", "field", "rule", "message"}``; row 2
    is the first under the header); with ``skip_bad`` the good rows are imported and the bad
    ones reported. Returns ``{"imported": [L-refs], "skipped": [row numbers], "errors": [...]}``.
    """
    with uow:
        actor = actor_for(uow, actor_email)
        errors: list[dict[str, Any]] = []
        good: list[dict[str, Any]] = []
        for number, row in enumerate(rows, start=2):
            extra = row.pop("", None)
            problems = _row_problems(uow, actor, row)
            if extra:
                problems.insert(0, ("row", extra))
            errors += [{"row": number, "field": f, "rule": r,
                        "message": phrase("row %(row)s, %(field)s: %(problem)s", row=number,
                                          field=f, problem=r)}
                       for f, r in problems]
            if not problems:
                good.append(row)
        if not rows:
            raise BadInput("file: it has no leads under its header")
        if errors and not skip_bad:
            raise FormInvalid(
                f"{len({e['row'] for e in errors})} of {len(rows)} rows break a rule; nothing "
                "was imported (--skip-bad imports the others):\n"
                + "\n".join(e["message"] for e in errors), errors)
        imported = [_add(uow, actor, row, LeadSource.IMPORT) for row in good]
        uow.commit()
        return {"imported": [lead_ref(lead.id) for lead in imported],
                "skipped": sorted({e["row"] for e in errors}), "errors": errors}


def qualify(uow: UnitOfWork, lead_id: int, *, actor_email: str,
            due_at: datetime | WorkingDue | None, note: str = "") -> Lead:
    """Marketing qualifies its lead and hands it to sales at once (1.(2) B: 及时与销售团队
    共享关键情报), as a handoff due at ``due_at`` (the follow-up deadline: overdue, the SLA sweep
    escalates it like any handoff; working time, ``WorkingDue``, counts in the lead's region's
    calendar). ``note``: the key intelligence for sales, added to the
    handoff's criteria. Raises BadInput without a deadline; TransitionRefused unless gathered.
    """
    return _to_sales(uow, lead_id, "qualify", actor_email=actor_email, due_at=due_at, note=note)


def hand_over(uow: UnitOfWork, lead_id: int, *, actor_email: str,
              due_at: datetime | WorkingDue | None, note: str = "") -> Lead:
    """Marketing hands a qualified lead to sales again, as a new handoff due at ``due_at``,
    once sales rejected it or marketing withdrew it (after contacting the customer itself,
    1.(2) C). TransitionRefused while its handoff is still with sales or answered."""
    return _to_sales(uow, lead_id, "hand_over", actor_email=actor_email, due_at=due_at,
                     note=note)


#: The states of a lead's handoff from which marketing may hand the lead over again.
_ENDED_WITHOUT_OUTCOME = (HandoffState.REJECTED, HandoffState.CANCELLED)


def _to_sales(uow: UnitOfWork, lead_id: int, action: str, *, actor_email: str,
              due_at: datetime | WorkingDue | None, note: str) -> Lead:
    if due_at is None:
        raise BadInput(on_field("due", phrase("a lead goes to sales with a follow-up deadline")))
    check_text(note, field="note", max_length=REASON_MAX, multiline=True)
    with uow:
        lead = _lead(uow, lead_id, for_update=True)
        actor = actor_for(uow, actor_email)
        ref = lead_ref(lead.id)
        rule = lead_rule(action, lead.state, ref=ref)
        authorize(actor, rule, lead_target(lead))
        if action == "hand_over":
            current = uow.session.get(Handoff, lead.handoff_id) if lead.handoff_id else None
            if current is not None and current.state not in _ENDED_WITHOUT_OUTCOME:
                raise TransitionRefused(phrase(
                    "cannot hand lead %(ref)s over again: its handoff %(handoff)s is "
                    "%(state)s, and a lead is handed over again only when sales rejected it or "
                    "marketing withdrew it", ref=ref, handoff=f"H-{current.id}",
                    state=word(current.state)))
        criteria = "\n".join(x for x in (
            f"Contact: {lead.contact}. Channel: {lead.channel}."
            + (f" Campaign: {lead.campaign}." if lead.campaign else ""),
            lead.notes, note.strip(),
            "Follow up by the due date; report the outcome: won with the order's reference, "
            "or lost with the reason (mktflow lead outcome).") if x)
        handoff = handoffs.offer_within(
            uow, actor_email=actor.email, from_department=lead.department, to_department=SALES,
            title=f"Lead {ref}: {lead.company}"[:300], due_at=due_at,
            criteria=criteria, deliverables=["the outcome: won (order) or lost (reason)"],
            branch=lead.branch)
        before = lead.state
        lead.state, lead.handoff_id, lead.updated_at = rule.target, handoff.id, uow.now()
        lead.qualified_at = lead.qualified_at or uow.now()
        uow.session.add(lead)
        assert lead.id is not None
        uow.audit(actor=actor.email, entity_type="lead", entity_id=lead.id, action=action,
                  from_state=before, to_state=lead.state,
                  data={"handoff": f"H-{handoff.id}",
                        "due": handoff.due_at.isoformat() if handoff.due_at else None})
        uow.commit()
        return lead


def disqualify(uow: UnitOfWork, lead_id: int, *, actor_email: str, reason: str | None) -> Lead:
    """Marketing drops a gathered lead, saying why. BadInput without a reason."""
    if not (reason and reason.strip()):
        raise BadInput(on_field("reason", phrase(
            "disqualify needs a reason (why the lead is not for sales)")))
    check_text(reason, field="reason", max_length=REASON_MAX, multiline=True)
    with uow:
        lead = _lead(uow, lead_id, for_update=True)
        actor = actor_for(uow, actor_email)
        rule = lead_rule("disqualify", lead.state, ref=lead_ref(lead.id))
        authorize(actor, rule, lead_target(lead))
        before = lead.state
        lead.state, lead.reason, lead.updated_at = rule.target, reason.strip(), uow.now()
        uow.session.add(lead)
        assert lead.id is not None
        uow.audit(actor=actor.email, entity_type="lead", entity_id=lead.id,
                  action="disqualify", from_state=before, to_state=lead.state,
                  reason=lead.reason)
        uow.commit()
        return lead


def report_outcome(uow: UnitOfWork, lead_id: int, *, actor_email: str, outcome: str,
                   order: str | None = None, reason: str | None = None) -> Lead:
    """Sales reports what came of a lead it accepted: ``won`` with the order's reference, or
    ``lost`` with the reason. It is the delivery of the lead's handoff (``handoffs.act``
    deliver, which moves the lead: ``lead_handoffs.follow``), so the handoff's rules hold
    too: sales only, after accepting it. Raises BadInput naming the field and rule;
    TransitionRefused for a lead never handed to sales."""
    data = {"outcome": outcome, "order": order, "reason": reason}
    check_outcome(data)  # before reading anything: a bad report is refused as such
    with uow:
        lead = _lead(uow, lead_id)
        handoff_id = lead.handoff_id
        ref = lead_ref(lead.id)
    if handoff_id is None:
        raise TransitionRefused(phrase(
            "cannot report the outcome of lead %(ref)s: it is %(state)s and was never handed "
            "to sales", ref=ref, state=word(lead.state)))
    handoffs.act(uow, handoff_id, "deliver", actor_email=actor_email,
                 data={k: v for k, v in data.items() if v})
    with uow:
        return _lead(uow, lead_id)


# --- reads ------------------------------------------------------------------------------------


#: The commands on one lead a door offers marketing (the outcome is sales' handoff's, at the
#: handoff's own page): ``LEAD_RULES`` rows.
LEAD_COMMANDS = ("qualify", "hand_over", "disqualify")


def allowed_actions(uow: UnitOfWork, reference: str | int, member_email: str) -> list[str]:
    """The commands of ``LEAD_COMMANDS`` that ``member_email`` may run on the lead now (what the
    lead's page shows a form for): the ``LEAD_RULES`` row allows it from the lead's state and
    to the member (a marketing member; of the lead's region's branch, or HQ), and
    ``hand_over`` only once the lead's handoff was rejected or withdrawn. The same checks the
    commands make; NotFound for no such lead or member."""
    lead_id = lead_number(reference)
    with uow:
        lead = _lead(uow, lead_id)
        actor = actor_for(uow, member_email)
        handoff = uow.session.get(Handoff, lead.handoff_id) if lead.handoff_id else None
        allowed = []
        for action in LEAD_COMMANDS:
            try:
                authorize(actor, lead_rule(action, lead.state, ref=lead_ref(lead.id)),
                          lead_target(lead))
            except (TransitionRefused, NotAuthorized):
                continue
            if action == "hand_over" and (handoff is not None
                                          and handoff.state not in _ENDED_WITHOUT_OUTCOME):
                continue
            allowed.append(action)
        return allowed


def may_gather(uow: UnitOfWork, member_email: str) -> bool:
    """Whether ``member_email`` may gather a lead (``LEAD_RULES`` gather: a member of
    marketing; a branch member for their branch's region, which the command checks)."""
    with uow:
        actor = actor_for(uow, member_email)
        try:
            authorize(actor, lead_rule("gather", "", ref=A_LEAD),
                      Target(ref=A_LEAD, department=MARKETING, branch=actor.branch or None))
        except NotAuthorized:
            return False
        return True



def lead_view(lead: Lead, handoff: Handoff | None) -> LeadPublic:
    """One lead: its fields, state, and its handoff's ref, state and due time."""
    assert lead.id is not None  # a stored lead
    return LeadPublic(
        id=lead.id, ref=lead_ref(lead.id), source=lead.source,
        campaign=lead.campaign, company=lead.company, contact=lead.contact,
        channel=lead.channel, region=lead.branch, notes=lead.notes,
        owner=lead.owner_email, department=lead.department, state=lead.state,
        reason=lead.reason, order=lead.order_ref,
        handoff=None if handoff is None else LeadHandoff(
            ref=f"H-{handoff.id}", state=handoff.state, to=handoff.to_department,
            due=format_time(handoff.due_at), escalation_level=handoff.escalation_level,
            reason=handoff.reason if handoff.state == HandoffState.REJECTED else None),
        created_by=lead.created_by, created_at=format_time(lead.created_at),
        qualified_at=format_time(lead.qualified_at), outcome_at=format_time(lead.outcome_at),
    )


def _with_handoffs(uow: UnitOfWork, leads: Iterable[Lead]) -> list[tuple[Lead, Handoff | None]]:
    leads = list(leads)
    ids = [lead.handoff_id for lead in leads if lead.handoff_id is not None]
    found = {h.id: h for h in uow.session.exec(select(Handoff).where(
        col(Handoff.id).in_(ids)))} if ids else {}
    return [(lead, found.get(lead.handoff_id)) for lead in leads]


def show_lead(uow: UnitOfWork, reference: str | int, *, reader: str | None = None
              ) -> LeadPublic:
    """One lead (``L-3`` or 3) as ``lead_view``, with ``history`` (its audit trail and its
    handoff's). NotFound; NotAuthorized for a reader the read table's ``lead`` row does not
    grant (marketing, sales once handed over, management)."""
    lead_id = lead_number(reference)
    with uow:
        actor = reading_actor(uow, reader)
        lead = _lead(uow, lead_id)
        [(lead, handoff)] = _with_handoffs(uow, [lead])
        if actor is not None:
            authorize_read(actor, read_rule(Readable.LEAD), lead_target(lead, handoff))
        return replace(lead_view(lead, handoff), history=_history(uow, lead))


def _history(uow: UnitOfWork, lead: Lead) -> list[LeadHistoryEntry]:
    """The lead's audit trail and its handoff's, oldest first: how marketing tracks the lead
    to its outcome (1.(2) C). Each entry: at, actor, ref (L-n or H-n), action, from and to
    state, reason."""
    whose = col(AuditEntry.entity_type) == "lead"
    entries = [(whose & (col(AuditEntry.entity_id) == lead.id))]
    if lead.handoff_id is not None:
        entries.append((col(AuditEntry.entity_type) == "handoff")
                       & (col(AuditEntry.entity_id) == lead.handoff_id))
    rows = uow.session.exec(select(AuditEntry).where(or_(*entries))
                            .order_by(col(AuditEntry.id)))
    return [LeadHistoryEntry(
        at=format_time(e.at), actor=e.actor,
        ref=lead_ref(e.entity_id) if e.entity_type == "lead" else f"H-{e.entity_id}",
        action=e.action, from_state=e.from_state, to_state=e.to_state, reason=e.reason)
        for e in rows]


def lead_number(reference: str | int) -> int:
    """The id in ``L-3`` (or ``3``); NotFound naming what was given otherwise."""
    number = ref_number(reference, "L")
    if number is None:
        raise NotFound(on_field("lead", phrase(
            "%(given)s names no lead (a lead is named L-<number>)",
            given=repr(str(reference).strip()))))
    return check_id(number, lead_ref(number))


def list_leads(uow: UnitOfWork, *, reader: str | None = None, campaign: str | None = None,
               state: str | None = None, limit: int = 200) -> list[LeadPublic]:
    """The leads ``reader`` may see (newest first, at most ``limit``), of one campaign or in
    one state if given; each as ``lead_view``."""
    if state is not None and state not in {s.value for s in LeadState}:
        raise BadInput(on_field("state", phrase(
            "must be one of %(choices)s, got %(got)s", choices=", ".join(LeadState),
            got=repr(state))))
    with uow:
        actor = reading_actor(uow, reader)
        query = select(Lead).order_by(col(Lead.id).desc())
        if campaign:
            query = query.where(col(Lead.campaign) == campaign)
        if state:
            query = query.where(col(Lead.state) == state)
        rule = read_rule(Readable.LEAD)
        rows = [(lead, h) for lead, h in _with_handoffs(uow, uow.session.exec(query))
                if actor is None or may_read(actor, rule, lead_target(lead, h))]
        return [lead_view(lead, h) for lead, h in rows[:limit]]


def funnel_report(uow: UnitOfWork, *, reader: str | None = None,
                  campaign: str | None = None) -> LeadFunnel:
    """The lead funnel, gathered → qualified → accepted → won, in total, per campaign and per
    channel (``domain.leads.funnel``), of one campaign if given. Counts, not customers: the
    read table's ``funnel`` row (marketing, sales, management). A branch member counts only
    their branch's leads and those of no branch.

    Returns a ``LeadFunnel`` (``by_campaign`` key ``""``: leads of no campaign).
    """
    with uow:
        actor = reading_actor(uow, reader)
        if actor is not None:
            authorize_read(actor, read_rule(Readable.FUNNEL), Target(
                ref="the lead funnel", department=MARKETING,
                involved=frozenset({MARKETING, SALES})))
        query = select(Lead)
        if campaign:
            query = query.where(col(Lead.campaign) == campaign)
        rows = []
        for lead, handoff in _with_handoffs(uow, uow.session.exec(query)):
            if actor is not None and not actor.is_hq and lead.branch not in (None, actor.branch):
                continue
            rows.append({"campaign": lead.campaign, "channel": lead.channel, "state": lead.state,
                         "all": "all",
                         "accepted": handoff is not None and handoff.accepted_at is not None,
                         "rejected": handoff is not None
                         and handoff.state == HandoffState.REJECTED})
        total = funnel(rows, by="all").get("all") or FunnelCounts().finish()
        return LeadFunnel(
            campaign=campaign, total=FunnelFigures(**total.as_dict()),
            by_campaign={k: FunnelFigures(**v.as_dict())
                         for k, v in funnel(rows, by="campaign").items()},
            by_channel={k: FunnelFigures(**v.as_dict())
                        for k, v in funnel(rows, by="channel").items()})


def funnel_actuals(uow: UnitOfWork, campaign: str) -> dict[str, float]:
    """The actuals of the funnel KPIs (``FUNNEL_KPIS``: leads_gathered, leads_qualified,
    leads_accepted, leads_won) of the campaign with business key ``campaign``, counted from its
    leads (inside the caller's open unit of work; a plain read). KPI name -> count."""
    counts = FunnelCounts()
    for lead, handoff in _with_handoffs(uow, uow.session.exec(
            select(Lead).where(col(Lead.campaign) == campaign))):
        counts.add(state=lead.state,
                   accepted=handoff is not None and handoff.accepted_at is not None,
                   rejected=handoff is not None and handoff.state == HandoffState.REJECTED)
    return {kpi: float(getattr(counts, stage)) for kpi, stage in FUNNEL_KPIS.items()}
