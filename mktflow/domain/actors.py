"""Who is acting: actors (department, branch, the departments they lead), the items they act
on, and the one check of an actor against a rule of the transition tables (``authorize``).

Identity comes from a door (``Door``): the process engine exists only inside flows and sweeps
(``Door.ENGINE``); a member is either proven (a token, a signed-in session, the SSO proxy, the
CLI run by an operator) or typed (the Prefect UI's resume form). Source: issue 10.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from mktflow.domain.errors import NotAuthorized
from mktflow.domain.model import MANAGEMENT, Guard, Party, Readable, ReadRule, Role, Rule
from mktflow.domain.words import Phrase, any_of, either, phrase, slashed, word

__all__ = [
    "EXCLUDED",
    "SYSTEM",
    "Actor",
    "Approval",
    "Door",
    "IdentifiedBy",
    "Target",
    "asks_decision",
    "authorize",
    "authorize_read",
    "head_is_away",
    "holder_refusal",
    "leads_of",
    "may_read",
]


class Door(StrEnum):
    """How the unit of work a command runs in came to know who acts.

    ``ENGINE``: inside flows and sweeps; the only place the process engine (``SYSTEM``) may act.
    ``PROVEN``: a door that proved the member (a member token, a signed-in session, the SSO
    proxy's header, the CLI run by an operator with the database URL).
    ``TYPED``: a door where anyone may type any e-mail (the Prefect UI's resume form): it may
    not take or decide a step that decides something (``Guard.PROVEN``).
    """

    ENGINE = "engine"
    PROVEN = "proven"
    TYPED = "typed"


class IdentifiedBy(StrEnum):
    """How a door knew who acts, in the words every audit entry of its commands records
    (``AuditEntry.identified_by``), so a history tells a proven identity from a typed one.

    The unit of work a door makes carries it (``UnitOfWork.identified_by``) and writes it on
    every entry whose actor is a person; entries of the process engine (``SYSTEM``) and of
    units of work no door made carry none. Only ``PREFECT_FORM`` is not proven
    (``Door.TYPED``); the rest come with ``Door.PROVEN``.
    """

    MEMBER_TOKEN = "member token"
    SESSION = "signed-in session"
    SIGN_IN_LINK = "one-time sign-in link"
    SSO_PROXY = "SSO proxy"
    OPERATOR = "command line (operator)"
    PREFECT_FORM = "typed in the Prefect UI form (not proven)"


@dataclass(frozen=True)
class Actor:
    """A person (or the process engine itself) performing a command."""

    email: str
    department: str = ""
    role: str = Role.SPECIALIST
    branch: str = ""
    is_hq: bool = True
    leads: frozenset[str] = field(default_factory=frozenset)  # departments headed or deputised
    system: bool = False
    proven: bool = True  # False: the e-mail was typed at a door that cannot prove it

    def in_department(self, department: str) -> bool:
        """A member of the department, or the one leading it (head or active delegate)."""
        return self.department == department or department in self.leads


#: The process engine acting on its own behalf (flows creating steps, the SLA sweep).
SYSTEM = Actor(email="mktflow", system=True)


@dataclass(frozen=True)
class Approval:
    """The authority-matrix rule an approval step enforces: the approving department, the roles
    that may decide, the branch deciding locally (None: headquarters) and the chain in words.
    Re-checked against the organisation as it is whenever the step is taken or decided."""

    department: str
    roles: tuple[str, ...]
    branch: str | None = None
    rule: str = ""


@dataclass(frozen=True)
class Target:
    """What authorization needs to know of an item; ``ref`` is how refusals name it."""

    ref: str
    department: str  # owning department (work item) or receiving department (handoff)
    branch: str | None = None
    assignee: str | None = None
    offering: str | None = None  # offering department of a handoff
    excluded: frozenset[str] = frozenset()  # four eyes: who may not take or decide the step
    approval: Approval | None = None  # the authority-matrix rule of an approval step
    asks_decision: bool = False  # the step's form asks for a ``decision`` (accept, go, ...)
    process_owner: str | None = None  # the owner of the process the item belongs to
    #: the process owner's department (``Party.OWNING_DEPARTMENT``)
    owner_department: str | None = None
    #: the departments the process involves: the owner's, and every department with a step in
    #: it or on either side of a handoff of it (``Party.INVOLVED``)
    involved: frozenset[str] = frozenset()

    @property
    def decides(self) -> bool:
        """Whether the step decides something: four eyes apply, it is an approval, or its form
        asks for a decision (accepting a responsibility letter signs it)."""
        return bool(self.excluded) or self.approval is not None or self.asks_decision


def asks_decision(form_schema: dict[str, Any] | None) -> bool:
    """Whether a step's form asks for a ``decision`` (accept, go, approve ...)."""
    return "decision" in ((form_schema or {}).get("properties") or {})


def head_is_away(start: date | None, until: date | None, today: date) -> bool:
    """Whether a head recorded as away from ``start`` until ``until`` is away ``today``.

    No dates at all means the head is not away; one open end means away since / until then.
    """
    if start is None and until is None:
        return False
    return (start is None or start <= today) and (until is None or today <= until)


def leads_of(
    *,
    email: str,
    role: str,
    department: str,
    delegations: list[tuple[str, str, date | None, date | None]],
    today: date,
) -> frozenset[str]:
    """Departments this member leads today: their own if head, plus those they deputise for.

    ``delegations`` lists ``(department, delegate email, away from, away until)``; a delegate
    leads the department while its head is away.
    """
    led = {department} if role == Role.HEAD else set()
    for dept, delegate, start, until in delegations:
        if delegate == email and head_is_away(start, until, today):
            led.add(dept)
    return frozenset(led)


def _is(actor: Actor, party: Party, target: Target) -> bool:
    if party is Party.ASSIGNEE:
        return target.assignee is not None and actor.email == target.assignee
    if party is Party.LEAD:
        return target.department in actor.leads
    if party is Party.ANY_LEAD:
        return bool(actor.leads)
    if party in (Party.MEMBER, Party.RECEIVING):
        return actor.in_department(target.department)
    if party is Party.MANAGEMENT:
        return actor.in_department(MANAGEMENT)
    if party is Party.PROCESS_OWNER:
        return target.process_owner is not None and actor.email == target.process_owner
    if party is Party.INVOLVED:
        return any(actor.in_department(d) for d in target.involved)
    if party is Party.OWNING_DEPARTMENT:
        return target.owner_department is not None and actor.in_department(
            target.owner_department)
    # Party.OFFERING
    return target.offering is not None and actor.in_department(target.offering)


#: Why a member the step excludes is refused (four eyes).
EXCLUDED = phrase("the step excludes them (four eyes: they submitted or already approved what "
                  "it decides, or the authority matrix does not let their role decide it), so "
                  "another member must")


def _approver_refusal(actor: Actor, approval: Approval) -> Phrase | None:
    """Why ``actor`` may not decide an approval of ``approval`` today (None: they may).

    A member of the approving department holding one of the roles; a delegate leading the
    department while its head is away stands in for the head.
    """
    if actor.department == approval.department and actor.role in approval.roles:
        return None
    if Role.HEAD in approval.roles and approval.department in actor.leads:
        return None
    where = phrase("%(role)s in %(department)s", role=word(actor.role),
                   department=actor.department) if actor.department else word("no member")
    return phrase("it is an approval for %(department)s (%(roles)s) under the authority matrix "
                  "(%(rule)s), and %(member)s is %(where)s today",
                  department=approval.department, roles=slashed(approval.roles),
                  rule=approval.rule or word("its rule"), member=actor.email, where=where)


def holder_refusal(actor: Actor, target: Target, *, guards: tuple[Guard, ...] = (
        Guard.FOUR_EYES, Guard.APPROVER)) -> Phrase | None:
    """Why ``actor`` may not hold or decide the step ``target`` (None: they may): the guards a
    rule names, checked against the actor as the organisation is now."""
    if Guard.PROVEN in guards and target.decides and not actor.proven:
        return phrase("it decides something (an approval, four eyes or a decision), and here "
                      "the e-mail %(member)s is typed, not proven: decide it where mktflow knows "
                      "who you are (the item's web page after signing in, the REST API with your "
                      "member token, or the mktflow command line)", member=actor.email)
    if Guard.FOUR_EYES in guards and actor.email in target.excluded:
        return EXCLUDED
    if Guard.APPROVER in guards and target.approval is not None:
        return _approver_refusal(actor, target.approval)
    return None


def authorize(actor: Actor, rule: Rule, target: Target) -> None:
    """Refuse unless ``actor`` is one of the parties ``rule`` names, within their branch, and
    passes the rule's guards (four eyes, the approver's role today, a proven identity)."""
    if actor.system:
        return
    _authorize_party(actor, rule, target)
    why = holder_refusal(actor, target, guards=rule.guards) if rule.guards else None
    if why:
        raise NotAuthorized(phrase("%(actor)s may not %(action)s %(ref)s: %(why)s",
                                   actor=actor.email, action=word(rule.action), ref=target.ref,
                                   why=why))


def may_read(actor: Actor, rule: ReadRule, target: Target) -> bool:
    """Whether ``actor`` may see what ``rule`` covers of ``target`` (the read table)."""
    if actor.system:
        return True
    if not actor.is_hq and target.branch and target.branch != actor.branch:
        return False
    return any(_is(actor, party, target) for party in rule.who)


def authorize_read(actor: Actor, rule: ReadRule, target: Target) -> None:
    """Refuse (NotAuthorized) unless ``actor`` may see what ``rule`` covers of ``target``:
    one of the parties the row names, within their branch. The same words at every door."""
    if may_read(actor, rule, target):
        return
    if not actor.is_hq and target.branch and target.branch != actor.branch:
        raise NotAuthorized(phrase(
            "%(actor)s may not see %(ref)s: it belongs to branch %(branch)s and members of "
            "branch %(own)s see only their branch's", actor=actor.email, ref=target.ref,
            branch=target.branch, own=actor.branch))
    who = any_of([word(p.value) for p in rule.who])
    what = phrase("the parameters of %(ref)s", ref=target.ref) \
        if rule.subject == Readable.PARAMETERS else target.ref
    raise NotAuthorized(phrase(
        "%(actor)s (%(own_department)s) may not see %(what)s: only %(who)s may (%(why)s)",
        actor=actor.email, own_department=actor.department or word("no department"), what=what,
        who=who, why=word(rule.why)))


def _authorize_party(actor: Actor, rule: Rule, target: Target) -> None:
    if not actor.is_hq and target.branch and target.branch != actor.branch:
        raise NotAuthorized(phrase(
            "%(actor)s may not %(action)s %(ref)s: it belongs to branch %(branch)s and members "
            "of branch %(own)s act only within their branch", actor=actor.email,
            action=word(rule.action), ref=target.ref, branch=target.branch, own=actor.branch))
    if any(_is(actor, party, target) for party in rule.who):
        return
    if rule.refusal:
        raise NotAuthorized(Phrase(rule.refusal, {"actor": actor.email,
                                                  "department": target.department,
                                                  "ref": target.ref}))
    who = either([word(p.value) for p in rule.who])
    own = actor.department or word("no department")
    if target.offering is not None:
        raise NotAuthorized(phrase(
            "%(actor)s (%(own_department)s) may not %(action)s %(ref)s (%(from)s -> %(to)s): "
            "only %(who)s may", actor=actor.email, own_department=own, action=word(rule.action),
            ref=target.ref, who=who, **{"from": target.offering, "to": target.department}))
    raise NotAuthorized(phrase(
        "%(actor)s (%(own_department)s) may not %(action)s %(ref)s (%(department)s): only "
        "%(who)s may", actor=actor.email, own_department=own, action=word(rule.action),
        ref=target.ref, department=target.department, who=who))
