"""Who is acting: actors (department, branch, the departments they lead), the items they act
on, and the one check of an actor against a rule of the transition tables (``authorize``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from mktflow.domain.errors import NotAuthorized
from mktflow.domain.model import Party, Role, Rule

__all__ = ["SYSTEM", "Actor", "Target", "authorize", "head_is_away", "leads_of"]


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

    def in_department(self, department: str) -> bool:
        """A member of the department, or the one leading it (head or active delegate)."""
        return self.department == department or department in self.leads


#: The process engine acting on its own behalf (flows creating steps, the SLA sweep).
SYSTEM = Actor(email="mktflow", system=True)


@dataclass(frozen=True)
class Target:
    """What authorization needs to know of an item; ``ref`` is how refusals name it."""

    ref: str
    department: str  # owning department (work item) or receiving department (handoff)
    branch: str | None = None
    assignee: str | None = None
    offering: str | None = None  # offering department of a handoff


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
    # Party.OFFERING
    return target.offering is not None and actor.in_department(target.offering)


def authorize(actor: Actor, rule: Rule, target: Target) -> None:
    """Refuse unless ``actor`` is one of the parties ``rule`` names, within their branch."""
    if actor.system:
        return
    if not actor.is_hq and target.branch and target.branch != actor.branch:
        raise NotAuthorized(
            f"{actor.email} may not {rule.action} {target.ref}: it belongs to branch "
            f"{target.branch} and members of branch {actor.branch} act only within their branch"
        )
    if any(_is(actor, party, target) for party in rule.who):
        return
    if rule.refusal:
        raise NotAuthorized(rule.refusal.format(actor=actor.email, department=target.department,
                                                ref=target.ref))
    who = " or ".join(p.value for p in rule.who)
    depts = target.department if target.offering is None else (
        f"{target.offering} -> {target.department}"
    )
    raise NotAuthorized(
        f"{actor.email} ({actor.department or 'no department'}) may not {rule.action} "
        f"{target.ref} ({depts}): only {who} may"
    )
