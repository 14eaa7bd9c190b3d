"""What the departments' pages read: who is signed in, which actions a member may take on an
item now, the handoffs a department is party to, a department's load. Read-only: nothing here
changes or commits anything.

``allowed_actions`` asks the same check every command runs (``transitions.check``, plus the
four-eyes exclusion of a step), so a page offers a button exactly when the command would not be
refused for who is acting or the item's state.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import true
from sqlmodel import col, select

from mktflow.domain.errors import MktflowError, NotFound
from mktflow.domain.model import HANDOFF_RULES, OPEN_WORK_STATES, WORK_RULES, HandoffState
from mktflow.domain.words import on_field, phrase
from mktflow.engine import complaint_handoffs, processes, visibility
from mktflow.engine.common import active_member, actor_for, parse_ref
from mktflow.engine.decisions import FLOW_MOVED, moving_process
from mktflow.engine.handoffs import process_id_for
from mktflow.engine.queries import handoff_view, work_view
from mktflow.engine.transitions import check
from mktflow.engine.views import DepartmentHandoffs, DepartmentLoad, HandoffPublic, MemberLoad
from mktflow.store.tables import Department, Handoff, Member, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = [
    "allowed_actions",
    "department_handoffs",
    "department_load",
    "may_end_process",
    "may_take",
    "members_of",
    "whoami",
]

#: Handoff states in which the receiving department still has to act.
_WITH_RECEIVER = (HandoffState.OFFERED, HandoffState.ACCEPTED, HandoffState.RETURNED)


def whoami(uow: UnitOfWork, email: str) -> dict[str, Any]:
    """The active member ``email`` names: ``{email, name, department, role, branch, leads,
    language}`` (``leads``: departments they head or deputise for today, sorted; ``language``:
    the organisation file's, ``en``/``zh``/``es``/``ru``, or None). Raises NotFound when
    there is no active member with that e-mail."""
    with uow:
        member = active_member(uow.session, email)
        actor = actor_for(uow, member.email)
        return {"email": member.email, "name": member.name, "department": member.department,
                "role": member.role, "branch": member.branch, "leads": sorted(actor.leads),
                "language": member.language}


def members_of(uow: UnitOfWork, department: str) -> list[dict[str, str]]:
    """The active members of a department, ``[{email, name, role}]`` by name."""
    with uow:
        rows = uow.session.exec(select(Member).where(
            col(Member.department) == department, col(Member.active)).order_by(col(Member.name)))
        return [{"email": m.email, "name": m.name, "role": m.role} for m in rows]


def may_take(uow: UnitOfWork, item_id: int, action: str, actor_email: str
             ) -> list[dict[str, str]]:
    """The active members of the item's department to whom ``actor_email`` may ``delegate``
    or ``assign`` work item ``item_id`` now, ``[{email, name, role}]`` by name: the check the
    command runs (four eyes, an approval's roles, branch), so a list offers nobody the engine
    would refuse. Nobody delegates to themselves. Raises NotFound for an unknown item."""
    from mktflow.engine.new_items import eligible  # the command's own check, not a copy of it

    me = actor_email.strip().lower()
    with uow:
        item = uow.session.get(WorkItem, item_id)
        if item is None:
            raise NotFound(phrase("%(ref)s does not exist", ref=f"W-{item_id}"))
        rows = uow.session.exec(select(Member).where(
            col(Member.department) == item.department, col(Member.active))
            .order_by(col(Member.name)))
        out = []
        for m in rows:
            if action == "delegate" and m.email == me:
                continue
            try:
                eligible(uow, item, m.email, action)
            except MktflowError:
                continue
            out.append({"email": m.email, "name": m.name, "role": m.role})
        return out


def may_end_process(uow: UnitOfWork, process_id: int, email: str) -> bool:
    """Whether ``email`` may end process ``process_id`` now (``processes.cancel_process``'s
    rule: running, not a live complaint's; its owner, whoever leads the owner's department, or
    management)."""
    from mktflow.domain.actors import authorize
    from mktflow.domain.model import END_RULE, ProcessStatus

    with uow:
        process = uow.session.get(ProcessInstance, process_id)
        if process is None or process.status != ProcessStatus.RUNNING:
            return False
        from mktflow.engine.complaint_cancel import cancel_refusal

        if cancel_refusal(uow, process) is not None:  # a live case: its own cancel ends it
            return False
        try:
            authorize(actor_for(uow, email), END_RULE,
                      visibility.process_target(uow.session, process))
        except MktflowError:
            return False
        return True


def allowed_actions(uow: UnitOfWork, reference: str, email: str) -> list[str]:
    """The actions ``email`` may take on item ``reference`` (``W-12``, ``H-3``) in its current
    state, in the order of the transition table. Nothing is written (the unit of work is left
    without a commit)."""
    kind, item_id = parse_ref(reference)
    rules = WORK_RULES if kind == "work" else HANDOFF_RULES
    allowed: list[str] = []
    with uow:
        item: WorkItem | Handoff | None = (
            uow.session.get(WorkItem, item_id) if kind == "work"
            else uow.session.get(Handoff, item_id))
        if item is None:
            raise NotFound(phrase("%(ref)s does not exist", ref=reference))
        flow_moved = isinstance(item, Handoff) and moving_process(uow, item) is not None
        # a complaint's handoff is delivered at its page too: it completes the case's act step
        case_moves = isinstance(item, Handoff) and complaint_handoffs.moves_case(uow, item.id)
        for rule in rules:
            if item.state not in rule.sources or rule.action in allowed:
                continue
            try:
                process = (uow.session.get(ProcessInstance, item.process_id)
                           if rule.action == "cancel" and item.process_id is not None else None)
                check(uow, item, rule.action, email, reason="(probe)",
                      who=processes.ender(uow, process, item))  # the command's own check
            except MktflowError:
                continue
            if rule.action in FLOW_MOVED and flow_moved and not (
                    rule.action == "deliver" and case_moves):
                continue  # its process's steps take it (engine.decisions)
            if (rule.action == "complete" and isinstance(item, WorkItem)
                    and email.strip().lower() in item.excluded):
                continue
            allowed.append(rule.action)
    return allowed


def department_handoffs(uow: UnitOfWork, department: str, *, process: str | None = None,
                        state: str | None = None, overdue: bool | None = None,
                        limit: int = 50, recent_limit: int = 10,
                        reader: str | None = None) -> DepartmentHandoffs:
    """The open handoffs a department is party to, overdue first (then by due date), in three
    lists: ``offered_to_us`` (it must accept, deliver or redo them),
    ``awaiting_our_confirmation`` (delivered to it) and ``ours_waiting_on_others`` (it offered
    them; the receiver acts), each at most ``limit`` long with its full length in ``counts``;
    and ``recently_closed``: the last ``recent_limit`` rejected, confirmed or cancelled, newest
    first (so the offering department sees a rejection and its reason).

    ``process`` (a business key or ``P-n``), ``state`` and ``overdue`` narrow the open lists.
    ``reader`` (None: the operator) must be one who may see the department's queue; a branch
    member sees their branch's handoffs and unbranched ones. Raises NotFound for an unknown
    department or process, NotAuthorized for a reader of another department.
    """
    with uow:
        s = uow.session
        branch = visibility.check_queue(visibility.reading_actor(uow, reader), department)
        if s.get(Department, department) is None:
            raise NotFound(on_field("department", phrase("unknown department %(code)s",
                                                         code=repr(department))))
        process_id = process_id_for(uow, process) if process else None
        now = uow.now()
        waiting = [str(x) for x in _WITH_RECEIVER]

        def views(*where: Any) -> list[HandoffPublic]:
            query = select(Handoff).where(*where)
            if branch is not None:
                query = query.where(col(Handoff.branch).is_(None) | (col(Handoff.branch) == branch))
            if process_id is not None:
                query = query.where(col(Handoff.process_id) == process_id)
            if state:
                query = query.where(col(Handoff.state) == state)
            found = [handoff_view(s, h, now) for h in s.exec(query.order_by(col(Handoff.id)))]
            if overdue is not None:
                found = [v for v in found if v.overdue is overdue]
            return sorted(found, key=lambda v: (not v.overdue, v.due or "9999", v.id))

        closed = [str(x) for x in (HandoffState.REJECTED, HandoffState.CONFIRMED,
                                   HandoffState.CANCELLED)]
        recent = s.exec(select(Handoff).where(
            (col(Handoff.to_department) == department)
            | (col(Handoff.from_department) == department),
            col(Handoff.state).in_(closed),
            (col(Handoff.branch).is_(None) | (col(Handoff.branch) == branch))
            if branch is not None else true()).order_by(col(Handoff.updated_at).desc(),
                                                     col(Handoff.id).desc()).limit(recent_limit))
        lists = {
            "offered_to_us": views(col(Handoff.to_department) == department,
                                   col(Handoff.state).in_(waiting)),
            "awaiting_our_confirmation": views(col(Handoff.from_department) == department,
                                               col(Handoff.state) == HandoffState.DELIVERED),
            "ours_waiting_on_others": views(col(Handoff.from_department) == department,
                                            col(Handoff.state).in_(waiting)),
        }
        return DepartmentHandoffs(
            **{name: rows[:limit] for name, rows in lists.items()},
            counts={name: len(rows) for name, rows in lists.items()},
            recently_closed=[handoff_view(s, h, now) for h in recent],
        )


def department_load(uow: UnitOfWork, department: str) -> DepartmentLoad:
    """A department's open work: counts, by member (every active member is listed, holding
    nothing or not) and the items. Raises NotFound for an unknown department."""
    with uow:
        s = uow.session
        if s.get(Department,
                 department) is None:
            raise NotFound(on_field("department", phrase(
                "unknown department %(code)s", code=repr(department))))
        now = uow.now()
        rows = s.exec(select(WorkItem).where(
            col(WorkItem.department) == department,
            col(WorkItem.state).in_(sorted(OPEN_WORK_STATES))).order_by(col(WorkItem.id)))
        items = [work_view(s, w, now) for w in rows]
        held = Counter(i.assignee for i in items if i.assignee)
        late = Counter(i.assignee for i in items if i.assignee and i.overdue)
        members = s.exec(select(Member).where(col(Member.department) == department,
                                              col(Member.active)).order_by(col(Member.name)))
        by_member = [MemberLoad(email=m.email, name=m.name, role=m.role,
                                held=held.pop(m.email, 0), overdue=late.pop(m.email, 0))
                     for m in members]
        # work held by someone outside the department (a delegated colleague) is listed too
        by_member += [MemberLoad(email=e, name=e, role="", held=n, overdue=late.get(e, 0))
                      for e, n in sorted(held.items())]
        return DepartmentLoad(department=department, open=len(items),
                              overdue=sum(1 for i in items if i.overdue),
                              unassigned=sum(1 for i in items if not i.assignee),
                              by_member=by_member, items=items)
