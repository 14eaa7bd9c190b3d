"""Loading the organisation (branches, departments, members) and the head's absence.

A load changes who is where, and what people held follows, in the load's one transaction:

- a **leaver** (a member the file no longer names) is deactivated: their tokens are revoked,
  their page sessions end, and what they still hold is listed (``leavers_hold``) for their
  head to move (``work reassign-all`` takes an inactive source);
- a **mover** (a member whose department changed) keeps their tokens, but nothing of the old
  department stays with them (``movers``): each step they hold there goes back to its queue,
  a step a colleague delegated to them goes back to that colleague (as ``resolve`` would), and
  one they delegated to a colleague goes back to the queue (the department decides who is
  responsible now); each with an audit entry and a notice, the reason ``moved from A to B``.
  They are no longer a delegate of the old department, and their page sessions end.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import col, select

from mktflow.domain.actors import SYSTEM, Actor, authorize
from mktflow.domain.errors import (
    BadInput,
    MktflowError,
    NotAuthorized,
    NotFound,
    OrganisationInvalid,
)
from mktflow.domain.inputs import check_email
from mktflow.domain.model import (
    OPEN_HANDOFF_STATES,
    OPEN_WORK_STATES,
    WORK_RULES,
    Audience,
    WorkState,
    rule_for,
)
from mktflow.domain.organisation import OrganisationSpec, parse_organisation
from mktflow.domain.words import on_field, phrase
from mktflow.engine.calendars import known_countries
from mktflow.engine.channels import sync_channels
from mktflow.engine.common import actor_for, ref, target_of
from mktflow.engine.credentials import revoke_member_tokens
from mktflow.engine.new_items import eligible
from mktflow.engine.transitions import record
from mktflow.engine.web_sessions import end_sessions_of
from mktflow.store.tables import Branch, Department, Handoff, Member, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["LoadSummary", "load_organisation", "read_organisation_file", "set_head_away"]

DEMO_FILE = "demo-organisation.yaml"


@dataclass
class LoadSummary:
    """What a load changed."""

    source: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    #: What each member who left still holds: e-mail -> ["W-3 (assigned)", "H-2 (offered)"].
    leavers_hold: dict[str, list[str]] = field(default_factory=dict)
    #: Each member whose department changed: e-mail -> {"from": "supply", "to": "marketing",
    #: "handed_back": ["W-3 (claimed): back in the supply queue", …], "delegate_of":
    #: ["supply"] (departments they no longer lead while the head is away)}.
    movers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The page sessions ended because their member left or moved: e-mail -> session ids.
    sessions_ended: dict[str, list[int]] = field(default_factory=dict)
    spec: OrganisationSpec | None = None

    def as_dict(self) -> dict[str, Any]:
        """The summary for ``--json``."""
        return {"source": self.source, "added": self.added, "updated": self.updated,
                "deactivated": self.deactivated, "leavers_hold": self.leavers_hold,
                "movers": self.movers, "sessions_ended": self.sessions_ended}


def read_organisation_file(path: Path | None, *, demo: bool = False) -> OrganisationSpec:
    """Read and check an organisation file (or the demo organisation that ships)."""
    if demo:
        text = resources.files("mktflow.demo").joinpath(DEMO_FILE).read_text("utf-8")
        source = f"<demo>/{DEMO_FILE}"
    else:
        assert path is not None
        source = str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise BadInput(f"{source}: cannot read the file: {exc.strerror}") from None
        if b"\x00" in raw:
            raise OrganisationInvalid([f"{source}: a binary file, not a YAML or JSON text"])
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise OrganisationInvalid([f"{source}: not UTF-8 text (byte {exc.start}); save it "
                                       "as UTF-8"]) from None
    try:
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise OrganisationInvalid([f"{source}: not valid YAML: {first}"]) from None
    return parse_organisation(raw, source, countries=known_countries())


def _upsert(uow: UnitOfWork, model: type, key: Any, values: dict[str, Any],
            summary: LoadSummary, label: str) -> Any:
    row = None if key is None else uow.session.get(model, key)
    if row is None:
        row = model(**values)
        summary.added.append(label)
    else:
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        for k, v in changed.items():
            setattr(row, k, v)
        if changed:
            summary.updated.append(label)
    uow.session.add(row)
    return row


def load_organisation(uow: UnitOfWork, spec: OrganisationSpec, *, source: str,
                      actor_email: str = "mktflow") -> LoadSummary:
    """Create or update everything the file names; members it no longer names are deactivated
    (leavers), members whose department changed give back what they held there (movers); see
    the module's docstring. ``actor_email`` is who the audit entries name."""
    summary = LoadSummary(source=source, spec=spec)
    with uow:
        delegates_before = {d.code: d.delegate_email for d in uow.session.exec(select(Department))}
        for b in spec.branches:
            calendar = None if b.calendar is None else b.calendar.model_dump(
                mode="json", exclude_defaults=True)
            _upsert(uow, Branch, b.code, {"code": b.code, "name": b.name, "is_hq": b.hq,
                                          "calendar": calendar},
                    summary, f"branch {b.code}")
        for d in spec.departments:
            away = d.head_away
            _upsert(uow, Department, d.code, {
                "code": d.code, "name": d.name,
                "delegate_email": d.delegate.lower() if d.delegate else None,
                "head_away_from": away.from_ if away else None,
                "head_away_until": away.until if away else None,
            }, summary, f"department {d.code}")
        uow.session.flush()
        existing = {m.email: m for m in uow.session.exec(select(Member))}
        named = set()
        moves: dict[str, tuple[str, str]] = {}
        for m in spec.members:
            email = m.email.lower()
            named.add(email)
            values = {"email": email, "name": m.name, "department": m.department,
                      "branch": m.branch, "role": str(m.role), "active": True,
                      "language": m.language}
            row = existing.get(email)
            if row is not None and row.department != m.department:
                moves[email] = (row.department, m.department)
            key = row.id if row is not None else None
            _upsert(uow, Member, key, values, summary, f"member {email}")
        for email, row in existing.items():
            if email not in named and row.active:
                row.active = False
                uow.session.add(row)
                summary.deactivated.append(f"member {email}")
                for token_id in revoke_member_tokens(uow, email):
                    summary.deactivated.append(f"token {token_id} of {email}")
                held = _held_by(uow, email)
                if held:
                    summary.leavers_hold[email] = held
                _end_sessions(uow, summary, email, "left the organisation (no longer in the "
                                                   "organisation file)", actor_email)
        uow.session.flush()
        for email, (old, new) in moves.items():
            summary.movers[email] = {
                "from": old, "to": new,
                "handed_back": _hand_back(uow, email, old, new, actor_email),
                "delegate_of": _no_longer_delegate(uow, email, new, delegates_before)}
            _end_sessions(uow, summary, email, f"moved from {old} to {new}", actor_email)
        channels_added, channels_removed = sync_channels(uow, spec.channels)
        summary.added += channels_added
        summary.deactivated += channels_removed
        uow.audit(actor=actor_email, entity_type="organisation", entity_id=0, action="load",
                  data=summary.as_dict())
        uow.commit()
    return summary


def _end_sessions(uow: UnitOfWork, summary: LoadSummary, email: str, why: str,
                  actor_email: str) -> None:
    """End the page sessions of a member who left or moved; note them in the summary."""
    ended = end_sessions_of(uow, email, why=why, actor=actor_email)
    if ended:
        summary.sessions_ended[email] = ended


def _hand_back(uow: UnitOfWork, email: str, old: str, new: str, actor_email: str
               ) -> list[str]:
    """Give back every open step of another department than ``new`` that the member who moved
    holds or delegated, each with an audit entry and a notice (reason ``moved from old to
    new``); returns what went where: ``["W-3 (claimed): back in the supply queue"]``.

    A step a colleague delegated to them goes back to that colleague (``resolve``) when the
    colleague may still hold it; everything else goes back to its queue, open and unheld
    (``take_back``, a row of the transition table only the engine may use).
    """
    why = f"moved from {old} to {new}"
    loader = replace(SYSTEM, email=actor_email)  # the load acts as the engine, under its name
    handed = []
    items = list(uow.session.exec(
        select(WorkItem).where((col(WorkItem.assignee_email) == email)
                               | (col(WorkItem.owner_email) == email),
                               col(WorkItem.state).in_(sorted(OPEN_WORK_STATES)),
                               col(WorkItem.department) != new)
        .order_by(col(WorkItem.id)).with_for_update()))
    for item in items:
        name, holder = ref(item), item.assignee_email == email
        how = ("claimed" if item.state == WorkState.CLAIMED else
               "delegated to them" if holder else f"delegated by them to {item.assignee_email}")
        delegator = item.owner_email if holder and item.state == WorkState.DELEGATED else None
        if delegator and _may_hold(uow, item, delegator):
            _apply(uow, item, "resolve", loader, why, (Audience.ASSIGNEE,),
                   {"assignee_email": delegator, "owner_email": None})
            handed.append(f"{name} ({how}): back to {delegator}")
        else:
            _apply(uow, item, "take_back", loader, why, None,
                   {"assignee_email": None, "owner_email": None})
            handed.append(f"{name} ({how}): back in the {item.department} queue")
    return handed


def _apply(uow: UnitOfWork, item: WorkItem, action: str, loader: Actor, why: str,
           tells: tuple[Audience, ...] | None, fields: dict[str, Any]) -> None:
    """One row of the transition table, applied by the load (acting as the engine)."""
    rule = rule_for(WORK_RULES, ref(item), action, item.state)
    authorize(loader, rule, target_of(item))
    record(uow, item, rule, loader, reason=why, fields=fields, tells=tells)


def _may_hold(uow: UnitOfWork, item: WorkItem, email: str) -> bool:
    """Whether ``email`` may hold ``item`` now (the check an assignment runs)."""
    try:
        eligible(uow, item, email, "resolve")
    except MktflowError:
        return False
    return True


def _no_longer_delegate(uow: UnitOfWork, email: str, new: str,
                        delegates_before: dict[str, str | None]) -> list[str]:
    """The departments other than ``new`` the member who moved was the delegate of before the
    load; none of them keeps them (a delegate is one of the department's own members)."""
    left = sorted(code for code, delegate in delegates_before.items()
                  if delegate == email and code != new)
    for code in left:
        dept = uow.session.get(Department, code)
        if dept is not None and dept.delegate_email == email:  # a department the file omits
            dept.delegate_email = dept.head_away_from = dept.head_away_until = None
            uow.session.add(dept)
    return left


def _held_by(uow: UnitOfWork, email: str) -> list[str]:
    """The open items a member holds: steps assigned to or delegated by them, handoffs they
    offered or signed that are not closed yet (``W-3 (assigned)``)."""
    held = []
    for item in uow.session.exec(
        select(WorkItem).where((col(WorkItem.assignee_email) == email)
                               | (col(WorkItem.owner_email) == email),
                               col(WorkItem.state).in_(sorted(OPEN_WORK_STATES)))
        .order_by(col(WorkItem.id))
    ):
        how = "assigned" if item.assignee_email == email else "delegated by them"
        held.append(f"W-{item.id} ({how})")
    for handoff in uow.session.exec(
        select(Handoff).where((col(Handoff.offered_by) == email)
                              | (col(Handoff.signed_by) == email),
                              col(Handoff.state).in_(sorted(OPEN_HANDOFF_STATES)))
        .order_by(col(Handoff.id))
    ):
        how = "offered" if handoff.offered_by == email else "signed"
        held.append(f"H-{handoff.id} ({how})")
    return held


def set_head_away(
    uow: UnitOfWork, department: str, *, delegate: str | None, start: date | None,
    until: date | None, actor_email: str,
) -> Department:
    """Record that a department's head is away and who leads meanwhile (None clears it).

    The delegate is an active member of that department (usually its deputy): BadInput
    naming ``delegate`` otherwise; NotFound for an unknown department or member."""
    if start and until and until < start:
        raise BadInput(on_field("until", phrase("%(until)s is before from %(start)s",
                                                until=str(until), start=str(start))))
    with uow:
        dept = uow.session.get(Department, department, with_for_update=True)
        if dept is None:
            raise NotFound(on_field("department", phrase("unknown department %(code)s",
                                                         code=repr(department))))
        actor = actor_for(uow, actor_email)
        if not actor.system and department not in actor.leads and "management" not in actor.leads:
            raise NotAuthorized(phrase(
                "%(actor)s may not set who leads %(department)s: only its head or management "
                "may", actor=actor.email, department=department))
        if delegate:
            delegate_actor = actor_for(uow, check_email(delegate, field="delegate"))
            delegate = delegate_actor.email
            if delegate_actor.department != department:  # docs: "Who may do what"
                raise BadInput(f"delegate: {delegate} is in {delegate_actor.department}, not "
                               f"{department}: a department's delegate is one of its own "
                               "members (usually its deputy)")
            start = start or uow.now().date()  # away from today unless a date is given
        old = {"delegate": dept.delegate_email, "from": str(dept.head_away_from),
               "until": str(dept.head_away_until)}
        dept.delegate_email = delegate
        dept.head_away_from = start if delegate else None
        dept.head_away_until = until if delegate else None
        uow.session.add(dept)
        uow.audit(actor=actor.email, entity_type="department", entity_id=0, action="head_away",
                  data={"department": department, "delegate": delegate, "from": str(start),
                        "until": str(until), "before": old})
        uow.commit()
        return dept
