"""Customer complaints to closure: what a case holds, its states as a table of transitions, the
forms of its three steps, and the rule for the customer's answer.

Source: seed 001, 市场部管理制度 四、职责分工 2 (客户服务部: "收集客户反馈并及时反馈给公司相关部门,
推动问题的解决" — collect the customers' feedback, pass it promptly to the departments
concerned and push the problem to its solution) and 五、工作流程 2.(1) C ("负责协助处理客户的
抱怨或问题,并带领相应团队进行解决" — help handle the customers' complaints and problems and
lead the team concerned to solve them).

Customer service is a part of marketing in seed 001 (市场部 下设 市场营销部、客户服务部、业务培训部)
and in the demo organisation (marketing's members do "planning, promotion, research and customer
service"), so a case belongs to ``CUSTOMER_SERVICE``, the marketing department.

A case's life (one *round* per pass; its steps are work items keyed ``<step>-<round>``, and
``<step>-<round>-back-<n>`` after the round's ``n``-th hand-back: ``step_key``)::

    open ──hand_over (respond step)──> handed_over ──answer (act step)──> answered
      ^ ^                                  │                               │
      │ └──hand_back (handoff rejected)────┘                               │
      └──reopen (customer not satisfied, with a note; escalates)───────────┤
                                                       closed <──close (satisfied)

    open | handed_over | answered ──cancel (customer service's head, with a reason)──> cancelled

- ``open``: customer service holds the case's *respond* step, due at the response deadline
  (working time, default ``RESPONSE_DUE``); overdue, the SLA sweep escalates it as any step;
- ``hand_over``: customer service names the department that must act (``ACTING``), what it
  asks and by when: a handoff to that department, and its *act* step, both due then;
- ``answer``: the acting department says what it did (the handoff is delivered);
- ``hand_back``: the acting department rejects the handoff, with a reason (at any door:
  ``mktflow handoff reject``, the API, its page): its act step is cancelled with that reason
  and the case is customer service's again, in the same round, with a new respond step that
  names the department and its reason, so customer service hands it to another department, or
  to the same one with a better request;
- ``close`` / ``reopen``: customer service records the customer's answer (the *customer* step):
  satisfied closes the case; not satisfied, with a note, reopens it for a new round and
  escalates it: its escalation level rises and management is told. A case is closed only by a
  satisfied customer.
- ``cancel``: the head of customer service (or the head's delegate) withdraws a case that is no
  longer a complaint (lodged twice, withdrawn by the customer), with a reason: its open step
  and its handoff are cancelled, its process ends, the customer file counts one open case
  fewer. A closed case is not cancelled.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mktflow.domain.errors import BadInput, TransitionRefused
from mktflow.domain.inputs import REASON_MAX, TEXT_MAX, _problem_char
from mktflow.domain.model import Party, Rule
from mktflow.domain.words import either, on_field, phrase, word

__all__ = [
    "ACTING",
    "ACTING_DUE",
    "COMPLAINT_FORMS",
    "COMPLAINT_RULES",
    "CUSTOMER_SERVICE",
    "FORM_NAMES",
    "RESPONSE_DUE",
    "ActForm",
    "ComplaintSource",
    "ComplaintState",
    "CustomerAnswerForm",
    "RespondForm",
    "StepKind",
    "check_customer_answer",
    "check_opening",
    "complaint_ref",
    "complaint_rule",
    "parse_step_key",
    "step_key",
]

#: The department that owns customer relations and every case (seed 001: 客户服务部, a part of
#: marketing; the demo organisation's marketing department does customer service).
CUSTOMER_SERVICE = "marketing"
#: The departments a case may be handed to, the ones that act on what customers complain of.
ACTING: tuple[str, ...] = ("production", "supply", "finance")
#: The response deadline when none is given: customer service answers within a working day.
RESPONSE_DUE = "1 working day"
#: What the acting department has when customer service gives no deadline.
ACTING_DUE = "2 working days"


def complaint_ref(complaint_id: int | None) -> str:
    """How people name a case: ``C-4``."""
    return f"C-{complaint_id}"


class ComplaintSource(StrEnum):
    """Where a complaint came in."""

    ORDER = "order"  # the order follow-up (flows/order_handling.py)
    PAGE = "page"  # the Complaints page
    API = "api"  # POST /complaints
    CLI = "cli"  # mktflow complaint open
    PREFECT = "prefect"  # the complaint deployment's Run form


class ComplaintState(StrEnum):
    """Where a case stands."""

    OPEN = "open"  # with customer service: the respond step
    HANDED_OVER = "handed_over"  # with the acting department: its handoff and act step
    ANSWERED = "answered"  # the department acted; customer service asks the customer
    CLOSED = "closed"  # the customer is satisfied
    CANCELLED = "cancelled"  # withdrawn by customer service's head, with a reason


class StepKind(StrEnum):
    """The case's three steps, in the order of a round."""

    RESPOND = "respond"  # customer service: which department acts, what, by when
    ACT = "act"  # the acting department: what was done
    CUSTOMER = "customer"  # customer service: the customer's answer


def step_key(kind: StepKind | str, round_: int, back: int = 0) -> str:
    """The step key of a case's step in its process: ``respond-1``, ``act-1``,
    ``customer-2``; ``respond-1-back-1``, ``act-1-back-1`` after the round's first hand-back
    (``back``: how many times the round's handoff was rejected; a key is unique per process)."""
    return f"{kind}-{round_}" + (f"-back-{back}" if back else "")


def parse_step_key(key: str | None) -> tuple[StepKind, int, int] | None:
    """``(kind, round, back)`` of a case's step key (``step_key``'s inverse), or None for a
    key that is no case step's (work a person attached to the case's process has none)."""
    parts = (key or "").split("-")
    try:
        if len(parts) == 2:
            return StepKind(parts[0]), int(parts[1]), 0
        if len(parts) == 4 and parts[2] == "back":
            return StepKind(parts[0]), int(parts[1]), int(parts[3])
    except ValueError:
        pass
    return None


C = ComplaintState


def _row(action: str, sources: set[str], target: str, who: tuple[Party, ...], why: str,
         past: str, *, needs_reason: bool = False) -> Rule:
    return Rule(action, frozenset(sources), target, who, why, needs_reason, (), "", (), past)


#: Who may move a case, from which state, and why. A case's ``Target.department`` is customer
#: service; ``answer`` is checked with the acting department as the receiving one.
COMPLAINT_RULES: tuple[Rule, ...] = (
    _row("open", set(), C.OPEN, (Party.MEMBER,),
         "customer service collects the customers' feedback (seed 001, 客户服务部 职责)",
         "opened"),
    _row("hand_over", {C.OPEN}, C.HANDED_OVER, (Party.MEMBER,),
         "customer service passes the problem to the department concerned and leads it to a "
         "solution (工作流程 2.(1) C)", "handed over"),
    _row("answer", {C.HANDED_OVER}, C.ANSWERED, (Party.RECEIVING,),
         "the department that must act says what it did", "answered"),
    _row("hand_back", {C.HANDED_OVER}, C.OPEN, (Party.RECEIVING,),
         "a department that rejects the handoff gives the case back to customer service, which "
         "leads the case to a solution (工作流程 2.(1) C) and hands it on again",
         "handed back", needs_reason=True),
    _row("close", {C.ANSWERED}, C.CLOSED, (Party.MEMBER,),
         "a case is closed only when the customer says they are satisfied", "closed"),
    _row("reopen", {C.ANSWERED}, C.OPEN, (Party.MEMBER,),
         "a customer who is not satisfied reopens the case, and management is told",
         "reopened", needs_reason=True),
    _row("cancel", {C.OPEN, C.HANDED_OVER, C.ANSWERED}, C.CANCELLED, (Party.LEAD,),
         "the head of customer service withdraws a case that is no longer a complaint, and "
         "says why; a case the customer is satisfied with stays closed", "cancelled",
         needs_reason=True),
)


def complaint_rule(action: str, state: str, *, ref: str) -> Rule:
    """The row allowing ``action`` on a case that is ``state``; TransitionRefused naming the
    case, its state and the states the action needs otherwise."""
    known = [r for r in COMPLAINT_RULES if r.action == action]
    if not known:
        raise TransitionRefused(phrase("complaint %(ref)s: unknown action %(action)s", ref=ref,
                                       action=repr(action)))
    for rule in known:
        if not rule.sources or state in rule.sources:
            return rule
    allowed = either([word(s.replace("_", " ")) for s in sorted(
        {s for r in known for s in r.sources})])
    raise TransitionRefused(phrase(
        "cannot %(action)s %(name)s: it is %(state)s, and %(action)s is allowed only when "
        "%(allowed)s", action=word(action.replace("_", " ")),
        name=phrase("complaint %(ref)s", ref=ref), state=word(state.replace("_", " ")),
        allowed=allowed))


def _line(value: str | None, field: str, max_length: int, *, required: bool,
          multiline: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise BadInput(on_field(field, phrase("must not be empty")))
        return None
    if len(text) > max_length:
        raise BadInput(on_field(field, phrase("must be at most %(n)s characters, got %(got)s",
                                              n=max_length, got=len(text))))
    bad = _problem_char(text, multiline)
    if bad:
        raise BadInput(on_field(field, phrase("must not contain %(what)s", what=bad)))
    return text


def check_opening(*, customer: str | None, text: str | None, order: str | None = None
                  ) -> tuple[str, str, str | None]:
    """A complaint as it comes in: the customer's code (one line, at most 100 characters),
    what the customer complains of (not empty, at most ``TEXT_MAX``, line breaks allowed), the
    order it is about if any (one line, at most 100). Returns them stripped; BadInput naming
    the field and the rule."""
    code = _line(customer, "customer", 100, required=True)
    said = _line(text, "text", TEXT_MAX, required=True, multiline=True)
    number = _line(order, "order", 100, required=False)
    assert code is not None and said is not None
    return code, said, number


def check_customer_answer(satisfied: bool | None, note: str | None) -> tuple[bool, str | None]:
    """The customer's answer: satisfied (True) or not, and a note, which a customer who is not
    satisfied must have (what they still want; at most ``REASON_MAX``). BadInput otherwise."""
    if satisfied is None:
        raise BadInput(on_field("satisfied", phrase(
            "say whether the customer is satisfied (true or false)")))
    if not satisfied and not (note or "").strip():
        raise BadInput(on_field("note", phrase(
            "a customer who is not satisfied needs a note (what they still want)")))
    text = _line(note, "note", REASON_MAX, required=False, multiline=True)
    return satisfied, text


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RespondForm(_Form):
    """Customer service hands the case to the department that must act."""

    to: Literal["production", "supply", "finance"] = Field(
        description="The department that must act.")
    request: str = Field(min_length=1, max_length=REASON_MAX,
                         description="What the department is asked to do.")
    due: str = Field(default=ACTING_DUE, max_length=60,
                     description="By when: working time ('2 working days') or a time.")


class ActForm(_Form):
    """The acting department says what it did."""

    done: str = Field(min_length=1, max_length=REASON_MAX, description="What was done.")


class CustomerAnswerForm(_Form, json_schema_extra={
        "if": {"properties": {"satisfied": {"const": False}}},
        "then": {"properties": {"note": {"minLength": 1}}, "required": ["note"]}}):
    """Customer service records the customer's answer: satisfied closes the case; not
    satisfied (with a note) reopens it."""

    satisfied: bool = Field(description="Whether the customer is satisfied.")
    note: str = Field(default="", max_length=REASON_MAX,
                      description="What the customer said (required when not satisfied).")


#: Each step's form name on its work item: what ``work.complete`` knows a case's step by.
FORM_NAMES: dict[StepKind, str] = {StepKind.RESPOND: "ComplaintRespond",
                                   StepKind.ACT: "ComplaintAct",
                                   StepKind.CUSTOMER: "ComplaintCustomerAnswer"}

#: Each step's form, by kind (the engine stores its JSON schema on the step).
COMPLAINT_FORMS: dict[StepKind, type[_Form]] = {
    StepKind.RESPOND: RespondForm, StepKind.ACT: ActForm,
    StepKind.CUSTOMER: CustomerAnswerForm}
