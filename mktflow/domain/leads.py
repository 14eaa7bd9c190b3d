"""Sales leads: what a lead holds, its states as a table of transitions, the outcome sales
reports, and the funnel (gathered → qualified → accepted → won).

Source: seed 001, 市场部管理制度 四、职责分工 1 (市场营销部 "推进销售线索的跟踪和落地") and
五、工作流程 1.(2) 销售线索的跟踪: A. marketing owns every lead it has gathered; B. it shares
the key intelligence with the sales team promptly and tracks each lead; C. it watches every
sales team's progress and contacts the customer when needed.

A lead's life::

    gather ──> gathered ──qualify──> qualified ──(handoff H-n to sales)──> won | lost
                   │                    └─hand_over (H-n rejected or withdrawn: a new handoff)
                   └──disqualify (reason)──> disqualified

The hand-over itself is a handoff (``HANDOFF_RULES``: offered → accepted | rejected (reason),
accepted → delivered (the outcome) → confirmed | returned): sales accepts or rejects it and
reports the outcome by delivering it; marketing confirms the outcome or returns it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mktflow.domain.errors import BadInput, TransitionRefused
from mktflow.domain.inputs import EMAIL_MAX, REASON_MAX, TEXT_MAX, TITLE_MAX, _problem_char
from mktflow.domain.model import Party, Rule
from mktflow.domain.words import either, on_field, phrase, word

__all__ = [
    "FUNNEL_KPIS",
    "LEAD_FIELDS",
    "LEAD_RULES",
    "MARKETING",
    "SALES",
    "FunnelCounts",
    "LeadOutcome",
    "LeadSource",
    "LeadState",
    "check_outcome",
    "funnel",
    "lead_problems",
    "lead_ref",
    "lead_rule",
]

#: The department that owns every lead (seed 001, 工作流程 1.(2) A).
MARKETING = "marketing"
#: The department a qualified lead is handed to.
SALES = "sales"


def lead_ref(lead_id: int | None) -> str:
    """How people name a lead: ``L-12``."""
    return f"L-{lead_id}"


class LeadSource(StrEnum):
    """Where marketing gathered a lead."""

    CAMPAIGN = "campaign"  # a campaign's business key names it
    RESEARCH = "research"  # market research, an enquiry
    IMPORT = "import"  # a CSV file (``mktflow lead import``)


class LeadState(StrEnum):
    """Where a lead stands on marketing's side; the handoff holds sales' side."""

    GATHERED = "gathered"
    QUALIFIED = "qualified"  # handed to sales (its handoff: offered, accepted, rejected ...)
    DISQUALIFIED = "disqualified"
    WON = "won"
    LOST = "lost"


class LeadOutcome(StrEnum):
    """What sales reports a handed-over lead came to."""

    WON = "won"  # with the order's reference
    LOST = "lost"  # with the reason


L = LeadState


def _row(action: str, sources: set[str], target: str, who: tuple[Party, ...], why: str, past: str,
         *, needs_reason: bool = False, refusal: str = "") -> Rule:
    return Rule(action, frozenset(sources), target, who, why, needs_reason, (), refusal, (),
                past)


#: Who may move a lead, from which state, and why. A lead's ``Target.department`` is its owning
#: department (marketing); the outcome rows are checked on the lead's handoff, whose receiving
#: department is sales (and the handoff's own ``deliver`` row holds too).
LEAD_RULES: tuple[Rule, ...] = (
    _row("gather", set(), L.GATHERED, (Party.MEMBER,),
         "marketing owns every lead it gathers (seed 001, 工作流程 1.(2) A)", "gathered",
         refusal="%(actor)s may not gather a lead for %(department)s: only its members may"),
    _row("qualify", {L.GATHERED}, L.QUALIFIED, (Party.MEMBER,),
         "marketing qualifies its lead and shares it with sales at once (1.(2) B)", "qualified"),
    _row("hand_over", {L.QUALIFIED}, L.QUALIFIED, (Party.MEMBER,),
         "marketing hands a lead sales rejected (or it withdrew) to sales again, once it has "
         "contacted the customer itself (1.(2) C)", "handed over"),
    _row("disqualify", {L.GATHERED}, L.DISQUALIFIED, (Party.MEMBER,),
         "marketing drops a lead that is not worth sales' time, and says why", "disqualified",
         needs_reason=True),
    _row("win", {L.QUALIFIED}, L.WON, (Party.RECEIVING,),
         "sales reports the lead won, with the order's reference", "won"),
    _row("lose", {L.QUALIFIED}, L.LOST, (Party.RECEIVING,),
         "sales reports the lead lost, and says why", "lost", needs_reason=True),
    _row("reopen", {L.WON, L.LOST}, L.QUALIFIED, (Party.OFFERING,),
         "marketing returns an outcome it doubts (it tracks each lead to its outcome, 1.(2) C)",
         "reopened"),
)


def lead_rule(action: str, state: str, *, ref: str) -> Rule:
    """The row allowing ``action`` on a lead that is ``state``; TransitionRefused naming the
    lead, its state and the states the action needs otherwise."""
    known = [r for r in LEAD_RULES if r.action == action]
    if not known:
        raise TransitionRefused(phrase("lead %(ref)s: unknown action %(action)s", ref=ref,
                                       action=repr(action)))
    for rule in known:
        if not rule.sources or state in rule.sources:
            return rule
    allowed = either([word(s) for s in sorted({s for r in known for s in r.sources})])
    raise TransitionRefused(phrase(
        "cannot %(action)s %(name)s: it is %(state)s, and %(action)s is allowed only when "
        "%(allowed)s", action=word(action), name=phrase("lead %(ref)s", ref=ref),
        state=word(state), allowed=allowed))


#: A lead's fields: name -> (required, maximum length, multi-line). ``campaign`` is a
#: campaign's business key; ``region`` a branch code; ``owner`` a marketing member's e-mail.
LEAD_FIELDS: dict[str, tuple[bool, int, bool]] = {
    "company": (True, TITLE_MAX, False),
    "contact": (True, TITLE_MAX, False),
    "channel": (True, 64, False),
    "campaign": (False, 100, False),
    "region": (False, 64, False),
    "notes": (False, TEXT_MAX, True),
    "owner": (False, EMAIL_MAX, False),
}


def lead_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with one lead's fields, as (field, rule) pairs, each rule a message
    (``domain.words``: worded where shown); empty when sound.

    ``values``: field name -> text (None or blank for a field not given). Rules: the required
    fields (company, contact, channel) are not blank; every field is one line (notes may
    break lines), within its length, with no control character; no unknown field.
    """
    problems: list[tuple[str, str]] = [
        (name, phrase("unknown field (the fields are: %(fields)s)",
                      fields=", ".join(LEAD_FIELDS)))
        for name in values if name not in LEAD_FIELDS]
    for name, (required, max_length, multiline) in LEAD_FIELDS.items():
        raw = values.get(name)
        text = "" if raw is None else str(raw).strip()
        if not text:
            if required:
                problems.append((name, phrase("must not be empty")))
            continue
        if len(text) > max_length:
            problems.append((name, phrase("must be at most %(n)s characters, got %(got)s",
                                          n=max_length, got=len(text))))
            continue
        bad = _problem_char(text, multiline)
        if bad:
            problems.append((name, phrase("must not contain %(what)s", what=bad)))
    return problems


def check_outcome(data: Mapping[str, Any] | None) -> tuple[LeadOutcome, str | None, str | None]:
    """Sales' report of a lead's outcome: ``{"outcome": "won", "order": "SO-1"}`` or
    ``{"outcome": "lost", "reason": "..."}``; returns (outcome, order, reason).

    Raises BadInput naming the field and the rule: won needs the order's reference (one line,
    at most 100 characters); lost needs a reason (at most ``REASON_MAX``, 2000).
    """
    data = data or {}
    raw = str(data.get("outcome") or "").strip().lower()
    if raw not in {o.value for o in LeadOutcome}:
        raise BadInput(on_field("outcome", phrase("must be won or lost, got %(got)s",
                                                  got=repr(raw or "nothing"))))
    outcome = LeadOutcome(raw)
    order = str(data.get("order") or "").strip() or None
    reason = str(data.get("reason") or "").strip() or None
    if outcome is LeadOutcome.WON:
        if order is None:
            raise BadInput(on_field("order", phrase(
                "a won lead names the order it became (its reference)")))
        if len(order) > 100 or _problem_char(order, False):
            raise BadInput(on_field("order", phrase(
                "must be one line of at most %(n)s characters", n=100)))
    elif reason is None:
        raise BadInput(on_field("reason", phrase(
            "a lost lead needs a reason (why sales lost it)")))
    if reason is not None and len(reason) > REASON_MAX:
        raise BadInput(on_field("reason", phrase(
            "must be at most %(n)s characters, got %(got)s", n=REASON_MAX, got=len(reason))))
    return outcome, order, reason


#: A campaign KPI named here is measured by the lead funnel, not typed: its actual at the
#: campaign's evaluation is the count of the campaign's leads at that stage (seed 001:
#: a lead's outcome is what a campaign's effect is judged by). KPI name -> funnel stage.
FUNNEL_KPIS: dict[str, str] = {"leads_gathered": "gathered", "leads_qualified": "qualified",
                               "leads_accepted": "accepted", "leads_won": "won"}


@dataclass
class FunnelCounts:
    """One funnel: how many leads were gathered, qualified, accepted by sales and won, beside
    those dropped at each stage, and the conversion between stages (0..1, None when the stage
    before is empty)."""

    gathered: int = 0
    qualified: int = 0
    accepted: int = 0
    won: int = 0
    disqualified: int = 0
    rejected: int = 0
    lost: int = 0
    rates: dict[str, float | None] = field(default_factory=dict)

    def add(self, *, state: str, accepted: bool, rejected: bool) -> None:
        """Count one lead: its state, whether sales accepted its handoff (ever), whether the
        handoff stands rejected."""
        self.gathered += 1
        self.qualified += state in (L.QUALIFIED, L.WON, L.LOST)
        self.disqualified += state == L.DISQUALIFIED
        self.accepted += accepted
        self.rejected += rejected
        self.won += state == L.WON
        self.lost += state == L.LOST

    def finish(self) -> FunnelCounts:
        """Fill in the conversions: qualified/gathered, accepted/qualified, won/accepted and
        won/gathered (4 decimals)."""
        def rate(part: int, whole: int) -> float | None:
            return round(part / whole, 4) if whole else None

        self.rates = {"qualified": rate(self.qualified, self.gathered),
                      "accepted": rate(self.accepted, self.qualified),
                      "won": rate(self.won, self.accepted),
                      "overall": rate(self.won, self.gathered)}
        return self

    def as_dict(self) -> dict[str, Any]:
        """The counts and rates as plain JSON."""
        return {"gathered": self.gathered, "qualified": self.qualified,
                "accepted": self.accepted, "won": self.won, "disqualified": self.disqualified,
                "rejected": self.rejected, "lost": self.lost, "rates": dict(self.rates)}


def funnel(leads: Iterable[Mapping[str, Any]], *, by: str) -> dict[str, FunnelCounts]:
    """Funnels per value of ``by`` (``campaign`` or ``channel``; None groups as ``""``).

    ``leads``: one mapping per lead with ``campaign``, ``channel``, ``state``, ``accepted``
    (bool: sales accepted its handoff at some time) and ``rejected`` (bool: the handoff stands
    rejected). Keys sorted.
    """
    groups: dict[str, FunnelCounts] = {}
    for lead in leads:
        key = str(lead.get(by) or "")
        groups.setdefault(key, FunnelCounts()).add(
            state=str(lead["state"]), accepted=bool(lead["accepted"]),
            rejected=bool(lead["rejected"]))
    return {key: groups[key].finish() for key in sorted(groups)}
