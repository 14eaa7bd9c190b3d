"""States, roles and the transition tables of work items and handoffs.

Transitions are data: each row says which action moves an item from which states to which
state, who may do it, whom it tells, and why the rule exists. ``rule_for`` is the only way to
look a row up, and it refuses anything the table does not allow, naming state and action.
``CREATION_RULES`` holds the rows that bring an item into being (create a work item, offer a
handoff): no from-state, only who may; ``creation_rule`` looks them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mktflow.domain.errors import TransitionRefused
from mktflow.domain.words import either, phrase, word

__all__ = [
    "ATTACH_RULE",
    "CREATION_RULES",
    "END_RULE",
    "HANDOFF_RULES",
    "MANAGEMENT",
    "OPEN_HANDOFF_STATES",
    "OPEN_WORK_STATES",
    "READ_RULES",
    "REF_PREFIX",
    "WORK_RULES",
    "Audience",
    "Guard",
    "HandoffKind",
    "HandoffState",
    "Party",
    "ProcessStatus",
    "ReadRule",
    "Readable",
    "Role",
    "Rule",
    "WorkState",
    "creation_rule",
    "read_rule",
    "ref_of",
    "rule_for",
    "target_state",
]


class Role(StrEnum):
    """A member's role in their department."""

    HEAD = "head"
    DEPUTY = "deputy"
    SPECIALIST = "specialist"


class WorkState(StrEnum):
    """Where a human step stands."""

    OPEN = "open"  # in the department's queue, nobody holds it
    CLAIMED = "claimed"  # one member holds it
    DELEGATED = "delegated"  # the holder asked a colleague; the colleague resolves it back
    DONE = "done"
    CANCELLED = "cancelled"


class HandoffState(StrEnum):
    """Where a piece of work passed between departments stands."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DELIVERED = "delivered"
    RETURNED = "returned"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class HandoffKind(StrEnum):
    """A single deliverable, or a responsibility letter that binds a whole project."""

    HANDOFF = "handoff"
    RESPONSIBILITY_LETTER = "responsibility_letter"


class ProcessStatus(StrEnum):
    """Where one run of a business process stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: The department whose members oversee every other (seed 001 §1.1: the company's leaders).
MANAGEMENT = "management"


class Party(StrEnum):
    """Who may perform an action (or see something), relative to the item."""

    MEMBER = "a member of the owning department"
    ASSIGNEE = "the assignee"
    LEAD = "the head of the owning department or its delegate"
    OFFERING = "a member of the offering department"
    RECEIVING = "a member of the receiving department"
    ANY_LEAD = "a department head"  # the head (or active delegate) of any department
    MANAGEMENT = "a member of management"
    PROCESS_OWNER = "the owner of its process"
    INVOLVED = "a member of a department the process involves"
    OWNING_DEPARTMENT = "a member of the process owner's department"


class Audience(StrEnum):
    """Whom a transition tells."""

    DEPARTMENT = "department"  # the owning department's queue
    ASSIGNEE = "assignee"  # the member now holding the item
    OWNER = "owner"  # the member who delegated the item
    OFFERING = "offering"  # the department that offered a handoff
    RECEIVING = "receiving"  # the department a handoff is offered to


class Guard(StrEnum):
    """What a rule checks beyond who may, on steps that decide something (source: issue 10)."""

    #: not a member the step excludes (four eyes: the submitter, earlier approvers)
    FOUR_EYES = "not someone the step excludes (four eyes)"
    #: an approval step: holds a role its authority-matrix rule names, in the organisation as it
    #: is at that moment (not as it was when the step was created)
    APPROVER = "a role the step's authority-matrix rule names, today"
    #: a step that decides something (four eyes or an approval): only where mktflow knows who
    #: is acting, never from a door where the e-mail is typed (the Prefect UI's resume form)
    PROVEN = "an identity mktflow has proven (not typed)"


#: The guards every row that takes or decides a step carries.
DECIDING = (Guard.PROVEN, Guard.FOUR_EYES, Guard.APPROVER)


@dataclass(frozen=True)
class Rule:
    """One allowed transition: action, from-states, to-state, who may, whom it tells, why."""

    action: str
    sources: frozenset[str]
    target: str
    who: tuple[Party, ...]
    why: str
    needs_reason: bool = False
    tells: tuple[Audience, ...] = ()
    #: How a refusal reads when not the usual "only <who> may": a message (``%(actor)s``,
    #: ``%(department)s``, ``%(ref)s``), worded where shown.
    refusal: str = ""
    #: Checked after who may (``Guard``): four eyes, the approver's role, a proven identity.
    guards: tuple[Guard, ...] = ()
    #: The action in the past tense: events (``work.claimed``), reasons and the pages' words.
    past: str = ""


def _rule(
    action: str,
    sources: set[str],
    target: str,
    who: tuple[Party, ...],
    why: str,
    *,
    needs_reason: bool = False,
    tells: tuple[Audience, ...] = (),
    refusal: str = "",
    guards: tuple[Guard, ...] = (),
) -> Rule:
    return Rule(action, frozenset(sources), target, who, why, needs_reason, tells, refusal,
                guards, _PAST[action])


#: Each action in the past tense (``Rule.past``), written once.
_PAST = {
    "claim": "claimed", "release": "released", "assign": "assigned", "reassign": "reassigned",
    "delegate": "delegated", "resolve": "resolved", "complete": "completed",
    "draft": "drafted", "cancel": "cancelled", "update": "updated", "comment": "commented",
    "take_back": "taken_back", "accept": "accepted", "reject": "rejected",
    "deliver": "delivered", "confirm": "confirmed", "return": "returned", "create": "created",
    "offer": "offered", "attach": "attached",
}


W = WorkState
_ACTIVE: set[str] = {W.OPEN, W.CLAIMED, W.DELEGATED}

WORK_RULES: tuple[Rule, ...] = (
    _rule("claim", {W.OPEN}, W.CLAIMED, (Party.MEMBER,),
          "a member takes an unheld step from the department's queue", guards=DECIDING),
    _rule("release", {W.CLAIMED}, W.OPEN, (Party.ASSIGNEE, Party.LEAD),
          "the holder (or the head) gives the step back to the queue"),
    _rule("assign", {W.OPEN, W.CLAIMED}, W.CLAIMED, (Party.LEAD,),
          "the head or delegate decides who does the step", tells=(Audience.ASSIGNEE,)),
    _rule("reassign", {W.CLAIMED, W.DELEGATED}, "=", (Party.LEAD,),
          "the head moves a held step to another member (someone leaves or is away)",
          tells=(Audience.ASSIGNEE,)),
    _rule("delegate", {W.CLAIMED}, W.DELEGATED, (Party.ASSIGNEE,),
          "the holder asks a colleague to do it and stays responsible",
          tells=(Audience.ASSIGNEE,)),
    _rule("resolve", {W.DELEGATED}, W.CLAIMED, (Party.ASSIGNEE,),
          "the colleague hands the step back to its holder for review", tells=(Audience.OWNER,)),
    _rule("complete", {W.CLAIMED}, W.DONE, (Party.ASSIGNEE,),
          "the holder submits the step's data; the process goes on", guards=DECIDING),
    _rule("draft", {W.CLAIMED}, "=", (Party.ASSIGNEE,),
          "the holder keeps a half-filled answer; only who may complete the step may write "
          "it (four eyes: a draft pre-fills the answer that is submitted)", guards=DECIDING),
    _rule("cancel", _ACTIVE, W.CANCELLED, (Party.LEAD,),
          "the head withdraws a step that is no longer needed", needs_reason=True),
    _rule("update", _ACTIVE, "=", (Party.LEAD,),
          "the head changes due time, follow-up or priority"),
    _rule("comment", {*_ACTIVE, W.DONE}, "=", (Party.MEMBER,),
          "anyone in the department may add a note or a link"),
    # no party: no door offers it; only the organisation load, acting as the engine, does it
    _rule("take_back", {W.CLAIMED, W.DELEGATED}, W.OPEN, (),
          "the organisation load takes a step back to its queue from a member who moved to "
          "another department (or delegated it before moving)", tells=(Audience.DEPARTMENT,),
          refusal="%(actor)s may not take %(ref)s back to its queue: only the organisation load "
                  "does, when its holder moves to another department"),
)

H = HandoffState

HANDOFF_RULES: tuple[Rule, ...] = (
    _rule("accept", {H.OFFERED}, H.ACCEPTED, (Party.RECEIVING,),
          "the receiving department takes the work on (signs a responsibility letter)",
          tells=(Audience.OFFERING,)),
    _rule("reject", {H.OFFERED}, H.REJECTED, (Party.RECEIVING,),
          "the receiving department declines, and must say why", needs_reason=True,
          tells=(Audience.OFFERING,)),
    _rule("deliver", {H.ACCEPTED, H.RETURNED}, H.DELIVERED, (Party.RECEIVING,),
          "the receiving department hands over the deliverable", tells=(Audience.OFFERING,)),
    _rule("confirm", {H.DELIVERED}, H.CONFIRMED, (Party.OFFERING,),
          "the offering department accepts the deliverable", tells=(Audience.RECEIVING,)),
    _rule("return", {H.DELIVERED}, H.RETURNED, (Party.OFFERING,),
          "the offering department sends the deliverable back, and must say why",
          needs_reason=True, tells=(Audience.RECEIVING,)),
    _rule("cancel", {H.OFFERED, H.ACCEPTED, H.RETURNED}, H.CANCELLED, (Party.OFFERING,),
          "the offering department withdraws the work, and must say why", needs_reason=True,
          tells=(Audience.RECEIVING,)),
    _rule("update", {H.OFFERED, H.ACCEPTED, H.RETURNED, H.DELIVERED}, "=", (Party.OFFERING,),
          "the offering department changes the due date"),
    _rule("comment", {s.value for s in H}, "=", (Party.OFFERING, Party.RECEIVING),
          "either side may add a note or a link"),
)

#: Rows that bring an item into being: nothing before them, so no from-state; who may, and why.
#: (The process engine itself may always; a created step tells its assignee or its queue.)
CREATION_RULES: tuple[Rule, ...] = (
    _rule("create", set(), W.OPEN, (Party.MEMBER, Party.ANY_LEAD),
          "a member puts a step in their own department's queue; any head may in another's",
          refusal="%(actor)s may not create work for %(department)s: only its members, "
                  "a department head or the process engine may"),
    _rule("offer", set(), H.OFFERED, (Party.OFFERING,),
          "a department passes work to another, with a deliverable and a due date",
          tells=(Audience.RECEIVING,)),
)

#: Who attaches work to a running process, and who ends it (issue 19, "process membership").
#: A work item or handoff given a process must come from someone the process already involves
#: (its owner, a member of a department with a step or a handoff in it, management); anything
#: else could end another department's campaign by cancelling what it attached.
ATTACH_RULE = _rule("attach", set(), "=", (Party.PROCESS_OWNER, Party.INVOLVED, Party.MANAGEMENT),
                    "only someone the process already involves may add work or a handoff to "
                    "it", refusal="%(actor)s may not add work to %(ref)s: only its owner, a member "
                                  "of a department it involves, or management may")
#: Who ends a running process (``mktflow process cancel``): its owner, the head (or delegate)
#: of the owner's department, management. Cancelling one of its steps or handoffs ends the
#: process only when the one cancelling may end it; anyone else is refused (see
#: ``engine.processes``).
END_RULE = _rule("cancel", {ProcessStatus.RUNNING}, ProcessStatus.CANCELLED,
                 (Party.PROCESS_OWNER, Party.LEAD, Party.MANAGEMENT),
                 "a running process is ended by its owner, whoever leads the owner's "
                 "department, or management; it must say why", needs_reason=True,
                 refusal="%(actor)s may not end %(ref)s: only its owner, whoever leads "
                         "%(department)s, or management may")

OPEN_HANDOFF_STATES = frozenset({H.OFFERED, H.ACCEPTED, H.DELIVERED, H.RETURNED})
OPEN_WORK_STATES = frozenset(_ACTIVE)


class Readable(StrEnum):
    """What a door shows (the subjects of the read table)."""

    QUEUE = "queue"
    WORK = "work"
    HANDOFF = "handoff"
    PROCESS = "process"
    PARAMETERS = "parameters"
    LEAD = "lead"
    FUNNEL = "funnel"
    REPORT = "report"
    MINUTES = "minutes"
    COMPLAINT = "complaint"
    WORKLOAD = "workload"
    FORECAST = "forecast"
    TRAINING = "training"


@dataclass(frozen=True)
class ReadRule:
    """Who may see one kind of thing, and why. ``restricted``: it carries market or customer
    data, kept by department (seed 001 §4.2)."""

    subject: Readable
    who: tuple[Party, ...]
    why: str
    restricted: bool = False


#: The read table: who may see what, beside the write tables (issue 19). Branch limits apply
#: as for writes: a branch member sees only what belongs to their branch or to no branch.
#: The history of a work item, a handoff or a process is read by the row of that thing.
READ_RULES: tuple[ReadRule, ...] = (
    ReadRule(Readable.QUEUE, (Party.MEMBER, Party.MANAGEMENT),
             "a department's queue is its own; management oversees every department"),
    ReadRule(Readable.WORK, (Party.MEMBER, Party.PROCESS_OWNER, Party.MANAGEMENT),
             "a step (its form, answer, draft, comments and history) belongs to its "
             "department; the process owner follows their process; management oversees all",
             restricted=True),
    ReadRule(Readable.HANDOFF, (Party.OFFERING, Party.RECEIVING, Party.PROCESS_OWNER,
                                Party.MANAGEMENT),
             "a handoff is a contract between two departments: both sides see it, and the "
             "owner of the process it serves"),
    ReadRule(Readable.PROCESS, (Party.INVOLVED, Party.PROCESS_OWNER, Party.MANAGEMENT),
             "a process (its key, status and the steps and handoffs each reader may see) is "
             "shown to the departments it involves"),
    ReadRule(Readable.PARAMETERS, (Party.OWNING_DEPARTMENT, Party.MANAGEMENT),
             "a process's parameters and result carry customer, order, plan and budget data: "
             "only the owner's department and management see them (seed 001 §4.2)",
             restricted=True),
    ReadRule(Readable.LEAD, (Party.INVOLVED, Party.MANAGEMENT),
             "a lead carries customer data: marketing, which owns it, sees it, and sales once "
             "it is handed over (seed 001 §4.2; 市场营销部 工作流程 1.(2))", restricted=True),
    ReadRule(Readable.FUNNEL, (Party.INVOLVED, Party.MANAGEMENT),
             "the lead funnel (counts per campaign and channel) measures the work of marketing "
             "and sales: both see it, and management"),
    ReadRule(Readable.REPORT, (Party.ASSIGNEE, Party.LEAD, Party.MANAGEMENT),
             "a work report goes upward: the member who wrote it, the head of their department "
             "and management read it, not the member's colleagues (seed 001, 市场部管理制度 4; "
             "管理规定 2.(2))"),
    ReadRule(Readable.MINUTES, (Party.INVOLVED, Party.MANAGEMENT),
             "a planning meeting's minutes (its agenda, decisions and their owners) go to the "
             "company's leaders and the departments concerned: marketing, which holds the "
             "meeting, management and the departments the minutes name read them (seed 001, "
             "市场营销部 工作流程 1.(1) A)"),
    ReadRule(Readable.COMPLAINT, (Party.INVOLVED, Party.MANAGEMENT),
             "a complaint carries customer data: customer service (marketing), which owns the "
             "case, sees it, the department it hands the case to, and management (seed 001 "
             "§4.2; 客户服务部 工作流程 2.(1) C)", restricted=True),
    ReadRule(Readable.WORKLOAD, (Party.LEAD, Party.MANAGEMENT),
             "a department's workload and waiting names what each member holds and how late: "
             "whoever leads the department (its head, or the delegate while the head is away) "
             "and management read it, as the head's load page always was (issue 24, item 3)"),
    ReadRule(Readable.FORECAST, (Party.ANY_LEAD, Party.MANAGEMENT),
             "the department forecast shows every department's load and who would jam: it is "
             "for planning, which heads (or their delegates) and management do (issue 24)"),
    ReadRule(Readable.TRAINING, (Party.ASSIGNEE, Party.LEAD, Party.MANAGEMENT),
             "a member's training needs and appraisal results (and the training they attended "
             "with its effect) are the member's, their head's and management's, as a work "
             "report is (seed 001, 绩效评估 3; issue 23, item 4)"),
)


def read_rule(subject: Readable | str) -> ReadRule:
    """The row of ``READ_RULES`` for ``subject``."""
    for rule in READ_RULES:
        if rule.subject == subject:
            return rule
    raise KeyError(subject)


#: How each kind of item is named to people: W-12, H-3, P-4.
REF_PREFIX: dict[str, str] = {"work": "W", "handoff": "H", "process": "P"}


def ref_of(kind: str, item_id: int | None) -> str:
    """The name people use for item ``item_id`` of ``kind`` (work, handoff, process): ``W-12``."""
    return f"{REF_PREFIX[kind]}-{item_id}"


def rule_for(rules: tuple[Rule, ...], name: str, action: str, state: str) -> Rule:
    """The rule allowing ``action`` from ``state``; refuses naming the item, state and action."""
    known = [r for r in rules if r.action == action]
    if not known:
        raise TransitionRefused(phrase("%(name)s: unknown action %(action)s", name=name,
                                       action=repr(action)))
    for rule in known:
        if state in rule.sources:
            return rule
    allowed = sorted({s for r in known for s in r.sources})
    raise TransitionRefused(phrase(
        "cannot %(action)s %(name)s: it is %(state)s, and %(action)s is allowed only when "
        "%(allowed)s", action=word(action), name=name, state=word(state),
        allowed=either([word(s) for s in allowed])))


def creation_rule(action: str) -> Rule:
    """The row of ``CREATION_RULES`` for ``action`` (``create`` or ``offer``)."""
    for rule in CREATION_RULES:
        if rule.action == action:
            return rule
    raise TransitionRefused(phrase("unknown action %(action)s: nothing is created that way",
                                   action=repr(action)))


def target_state(rule: Rule, current: str) -> str:
    """The state after applying ``rule``; ``=`` keeps the current one."""
    return current if rule.target == "=" else rule.target
