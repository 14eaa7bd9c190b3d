"""One typed request body per command; field names match the views the API returns.

The bodies check shape only (types, required fields); every business rule is the engine's.
Times are ISO 8601, read as the CLI reads them: without a zone they are UTC, and a date alone
means the end of that day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonDict

from mktflow.domain.calendars import WORKING_DUE_PATTERN, WorkingDue, parse_due
from mktflow.domain.desk import BULK_MAX, FILTER_TEXT_MAX, VIEW_NAME_MAX
from mktflow.domain.errors import BadInput
from mktflow.domain.inputs import (
    CODE_MAX,
    EMAIL_MAX,
    EMAIL_PATTERN,
    KEY_MAX,
    LINK_MAX,
    LINK_PATTERN,
    LINKS_MAX,
    MULTILINE_PATTERN,
    NAME_MAX,
    ONE_LINE_PATTERN,
    REASON_MAX,
    TEXT_MAX,
    TITLE_MAX,
    json_type,
    parse_time,
)

__all__ = [
    "AnswerComplaint",
    "AssignWork",
    "BulkWork",
    "CancelComplaint",
    "CancelHandoff",
    "CancelWork",
    "Comment",
    "CompleteWork",
    "CreateWork",
    "CustomerAnswer",
    "DelegateWork",
    "DeliverHandoff",
    "DisqualifyLead",
    "GatherLead",
    "HandOverComplaint",
    "LeadOutcomeReport",
    "OfferHandoff",
    "OpenComplaint",
    "QualifyLead",
    "RejectHandoff",
    "ResolveWork",
    "ReturnHandoff",
    "SaveView",
    "UpdateWork",
]


def _time(value: Any) -> Any:
    """Read a time as the CLI does: no zone means UTC, a date alone means the end of that day."""
    if not isinstance(value, str):
        return value
    try:
        return parse_time(value, field="time")
    except BadInput as exc:
        raise ValueError(str(exc).removeprefix("time: ")) from None


Time = Annotated[datetime, BeforeValidator(_time)]


def _due(value: Any) -> datetime | WorkingDue:
    """Read a due time as the CLI does: a time (``_time``) or working time (``parse_due``)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be a time or working time as text, got {json_type(value)}")
    try:
        due = parse_due(value, field="due")
    except BadInput as exc:
        raise ValueError(str(exc).removeprefix("due: ")) from None
    assert due is not None
    return due


#: A due time: ISO 8601 (as ``Time``) or working time in the calendar of the item's branch
#: (``3 working days``, ``2 working hours``, ``end of the working day``).
Due = Annotated[datetime | WorkingDue, PlainValidator(_due), WithJsonSchema({
    "anyOf": [{"type": "string", "format": "date-time"},
              {"type": "string", "pattern": WORKING_DUE_PATTERN}],
    "description": "An ISO 8601 time, or working time counted in the calendar of the item's "
                   "branch: '3 working days', '2 working hours', 'end of the working day'."})]
#: The rules every text is checked by (``mktflow.domain.inputs.check_text``), stated in the
#: document (the checks themselves name the field and the character; pydantic's own pattern
#: engine cannot state "no lone surrogate").
_ONE_LINE: JsonDict = {"pattern": ONE_LINE_PATTERN}
_MULTILINE: JsonDict = {"pattern": MULTILINE_PATTERN}
#: A JSON object of form data: its keys are names (the values are checked by the form).
_DATA: JsonDict = {"propertyNames": {"maxLength": NAME_MAX, "pattern": MULTILINE_PATTERN}}


#: What the document states in words only: JSON Schema has no plain way to say "at every depth"
#: without a recursive schema, which the document's generators and clients handle poorly.
_DATA_DEPTH = (" Keys at every depth follow the same rule as the top-level keys, and text values "
               "at every depth may hold line breaks and tabs but no other control character "
               "(``mktflow.domain.inputs.check_json``).")


def form_data(description: str) -> Any:
    """A ``Field`` for an optional JSON object of form data."""
    return Field(default=None, description=description + _DATA_DEPTH, json_schema_extra=_DATA)


def one_line(max_length: int, min_length: int = 0, **kwargs: Any) -> Any:
    """A ``Field`` for one line of text: at most ``max_length`` characters, no line break
    or control character."""
    return Field(min_length=min_length, max_length=max_length, json_schema_extra=_ONE_LINE,
                 **kwargs)


def multiline(max_length: int, min_length: int = 0, **kwargs: Any) -> Any:
    """A ``Field`` for text that may span lines: no other control character."""
    return Field(min_length=min_length, max_length=max_length, json_schema_extra=_MULTILINE,
                 **kwargs)


def reference(kind: str) -> Any:
    """A path's ``{item}`` or ``{reference}``: a reference of ``kind`` as ``parse_ref`` reads
    it (``W-12``, ``w12`` or ``12``), declared in the document; the door itself says what is
    wrong with one that does not fit."""
    from fastapi import Path

    from mktflow.engine.refs import ref_pattern

    example = {"work": "W-12", "handoff": "H-3", "process": "P-4"}[kind]
    return Path(description=f"The {kind} item, e.g. {example}.",
                json_schema_extra={"pattern": ref_pattern(kind), "maxLength": 42})


WorkRef = Annotated[str, reference("work")]
HandoffRef = Annotated[str, reference("handoff")]
ProcessRef = Annotated[str, reference("process")]


def named(description: str) -> Any:
    """A path's ``{reference}`` that may also be a business key: one line of text."""
    from fastapi import Path

    return Path(description=description, min_length=1, max_length=KEY_MAX,
                json_schema_extra=_ONE_LINE)


def query_text(description: str, max_length: int = KEY_MAX) -> Any:
    """An optional query parameter of one line of text."""
    from fastapi import Query

    return Query(default=None, description=description, max_length=max_length,
                 json_schema_extra=_ONE_LINE)


#: A process named by P-n or its business key.
ProcessOrKey = Annotated[str, named("P-4 or the process's business key.")]
#: An item or a process: W-12, H-3, P-4 or a business key.
AnyRef = Annotated[str, named("W-12, H-3, P-4 or a process's business key.")]

Email = Annotated[str, Field(min_length=3, max_length=EMAIL_MAX, description="A member's e-mail.",
                             json_schema_extra={"pattern": EMAIL_PATTERN})]
Reason = Annotated[str, multiline(REASON_MAX, 1, description="Why; kept in the item's "
                                                             "history (may span lines).")]
#: One line of text: titles, codes, names (no line break or control character).
Title = Annotated[str, one_line(TITLE_MAX, 1, description="One line, no control characters.")]
Code = Annotated[str, one_line(CODE_MAX, 1)]
Text = Annotated[str, multiline(TEXT_MAX)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateWork(_Body):
    """Put a step in a department's queue (or a member's hands)."""

    department: Code = Field(description="Code of the department that owns the step.")
    title: Title
    description: Text = ""
    form_schema: dict[str, Any] | None = form_data(
        "JSON schema the completion data must satisfy.")
    form_name: str | None = one_line(NAME_MAX, default=None)
    assignee: Email | None = None
    priority: int = Field(default=50, ge=0, le=100)
    important: bool | None = Field(default=None, description=(
        "Important work (seed 000); left out: unclassified in the department's balance."))
    urgent: bool | None = Field(default=None, description="Urgent work (seed 000).")
    due: Due | None = None
    follow_up: Time | None = None
    process: str | None = one_line(KEY_MAX, default=None,
                                   description="Business key or P-n of the process.")
    branch: Code | None = None


class CompleteWork(_Body):
    """Submit a held step's answer: its draft with ``data`` laid over it, checked by the form."""

    data: dict[str, Any] | None = form_data(
        "The step's form data; its top-level keys replace the draft's. Without it the draft "
        "is submitted as it is.")


class ResolveWork(_Body):
    """Hand a delegated step back to its holder, with a proposal if any."""

    data: dict[str, Any] | None = form_data("Proposed form data.")


class AssignWork(_Body):
    """Give a step to a member of its department."""

    to: Email


class DelegateWork(_Body):
    """Ask a colleague to do a step you hold."""

    to: Email


class CancelWork(_Body):
    """Withdraw a step that is no longer needed."""

    reason: Reason


class UpdateWork(_Body):
    """Change a step's due time, follow-up time or priority (at least one)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
        for name in ("due", "follow_up", "priority")]})

    due: Due | None = None
    follow_up: Time | None = None
    priority: int | None = Field(default=None, ge=0, le=100)
    reason: str | None = multiline(REASON_MAX, default=None)


class Comment(_Body):
    """Add a note (and links) to an item's history."""

    text: str = multiline(TEXT_MAX, 1)
    links: list[Annotated[str, Field(min_length=1, max_length=LINK_MAX,
                                     json_schema_extra={"pattern": LINK_PATTERN})]] = Field(
        default_factory=list, max_length=LINKS_MAX,
        description="http, https or mailto links only (anything else is refused, 422).")


class OfferHandoff(_Body):
    """Offer work to another department, with a due date and acceptance criteria."""

    #: A responsibility letter names at least one deliverable (the engine's rule, stated).
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "if": {"properties": {"letter": {"const": True}}, "required": ["letter"]},
        "then": {"properties": {"deliverables": {"minItems": 1}}, "required": ["deliverables"]}})

    from_department: Code = Field(description="The offering department.")
    to_department: Code = Field(description="The receiving department.")
    title: Title
    due: Due
    criteria: Text = Field(default="", description="Acceptance criteria (may span lines).")
    deliverables: list[Title] = Field(default_factory=list, max_length=100)
    letter: bool = Field(default=False,
                         description="A responsibility letter binding a whole project.")
    process: str | None = one_line(KEY_MAX, default=None,
                                   description="Business key or P-n of the process.")
    branch: Code | None = None


class RejectHandoff(_Body):
    """Decline offered work, saying why."""

    reason: Reason


class DeliverHandoff(_Body):
    """Hand over the deliverable."""

    data: dict[str, Any] | None = form_data("What is delivered.")


class ReturnHandoff(_Body):
    """Send delivered work back, saying why."""

    reason: Reason


class CancelHandoff(_Body):
    """Withdraw offered or accepted work, saying why."""

    reason: Reason


class CancelProcess(_Body):
    """End a running process on purpose, saying why (its owner, whoever leads the owner's
    department, or management)."""

    reason: Reason


class GatherLead(_Body):
    """A lead marketing gathered (``mktflow lead gather``)."""

    #: A lead from a campaign names the campaign (the engine's rule, stated).
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "if": {"properties": {"source": {"const": "campaign"}}, "required": ["source"]},
        "then": {"required": ["campaign"], "properties": {"campaign": {"type": "string"}}}})

    company: Title = Field(description="The customer or company.")
    contact: Title = Field(description="Who to reach, and how.")
    channel: str = one_line(64, 1, description="Where the lead came in.")
    campaign: str | None = one_line(100, 1, default=None,
                                    description="The campaign's business key (the source).")
    region: Code | None = Field(default=None, description="A branch code.")
    notes: Text = ""
    owner: Email | None = Field(default=None, description="The marketing member who owns it "
                                                          "(default: who gathers it).")
    source: Literal["campaign", "research", "import"] | None = None


class QualifyLead(_Body):
    """Qualify a lead and hand it to sales, due ``due`` (the follow-up deadline)."""

    due: Due
    note: Annotated[str, multiline(REASON_MAX)] = Field(
        default="", description="Key intelligence for sales.")


class DisqualifyLead(_Body):
    """Drop a gathered lead, saying why."""

    reason: Reason


class LeadOutcomeReport(_Body):
    """What came of a lead sales accepted: won with the order, or lost with the reason."""

    #: Won names the order, lost the reason (the engine's rule, ``check_outcome``, stated).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"allOf": [
        {"if": {"properties": {"outcome": {"const": "won"}}},
         "then": {"required": ["order"], "properties": {"order": {"type": "string"}}}},
        {"if": {"properties": {"outcome": {"const": "lost"}}},
         "then": {"required": ["reason"], "properties": {"reason": {"type": "string"}}}}]})

    outcome: Literal["won", "lost"]
    order: str | None = one_line(100, 1, default=None,
                                 description="The order's reference (required when won).")
    reason: str | None = multiline(REASON_MAX, 1, default=None,
                                   description="Why it was lost (required when lost).")


# --- the department's desk ------------------------------------------------------------------


class SaveView(_Body):
    """Save a department queue's filters as a view (the same name again replaces it)."""

    name: str = Field(min_length=1, max_length=VIEW_NAME_MAX, description=(
        "The view's name: one line with at least one character that is not a space."),
        json_schema_extra={"allOf": [_ONE_LINE, {"pattern": r"\S"}]})
    department: Code = Field(description="The department whose queue it filters.")
    shared: bool = Field(default=False, description="Every member of the department sees it.")
    state: Literal["open", "claimed", "delegated"] | None = None
    process: str | None = one_line(KEY_MAX, default=None,
                                   description="Business key or P-n of the process.")
    due: Literal["overdue", "on-time"] | None = Field(default=None,
                                                      description="The due band.")
    holder: Email | None = Field(default=None, description="Only items this member holds.")
    priority: Literal["urgent", "high", "normal", "low"] | None = Field(
        default=None, description="A priority band: urgent 90-100, high 70-89, normal 30-69, "
                                  "low 0-29.")
    text: str | None = Field(default=None, max_length=FILTER_TEXT_MAX, description=(
        "Words the items' titles hold (any case); one line."), json_schema_extra=_ONE_LINE)


#: The inputs a bulk action needs, stated as the engine checks them (``_BULK_NEEDS``).
_BULK_NEEDS: JsonDict = {"allOf": [
    {"if": {"properties": {"action": {"const": "assign"}}},
     "then": {"required": ["to"], "properties": {"to": {"type": "string"}}}},
    {"if": {"properties": {"action": {"const": "cancel"}}},
     "then": {"required": ["reason"], "properties": {"reason": {"type": "string"}}}},
    {"if": {"properties": {"action": {"const": "update"}}},
     "then": {"anyOf": [{"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                        for name in ("due", "follow_up", "priority")]}}]}


class BulkWork(_Body):
    """One action on many work items: each passes or is refused by its own rule."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_BULK_NEEDS)

    action: Literal["claim", "release", "assign", "update", "cancel"] = Field(
        description="claim, release, assign (also reassigns a held item), update (due, "
                    "follow-up, priority) or cancel.")
    items: list[Annotated[str, Field(max_length=42, pattern=r"^(?:[Ww]-?)?[0-9]{1,40}$")]] = Field(
        min_length=1, max_length=BULK_MAX, description=f"The work items (W-12 or 12), at most "
                                                       f"{BULK_MAX}.")
    to: Email | None = Field(default=None, description="assign: who takes the items.")
    due: Due | None = None
    follow_up: Time | None = None
    priority: int | None = Field(default=None, ge=0, le=100)
    reason: str | None = multiline(REASON_MAX, 1, default=None, description=(
        "cancel: why (required); update: why (optional). Kept in each item's history."))

    @model_validator(mode="after")
    def _needs(self) -> BulkWork:
        if self.action == "assign" and self.to is None:
            raise ValueError("to: assign needs the member who takes the items")
        if self.action == "cancel" and self.reason is None:
            raise ValueError("reason: cancel needs a reason, kept in each item's history")
        if self.action == "update" and self.due is None and self.follow_up is None \
                and self.priority is None:
            raise ValueError("due: update needs a new due time, follow-up time or priority")
        return self

    def inputs(self) -> dict[str, Any]:
        """The inputs of the action (``engine.actions``' names)."""
        return {"to": self.to, "due": self.due, "follow_up": self.follow_up,
                "priority": self.priority, "reason": self.reason}


#: A due input as the complaint doors take it: working time or a time, parsed by the engine.
_DUE_TEXT = "Working time ('2 working days', 'end of the working day') or an ISO 8601 time."


class OpenComplaint(_Body):
    """A complaint heard from a customer: a case in customer service
    (``mktflow complaint open``)."""

    customer: str = one_line(100, 1, description="The customer's code (its customer file).")
    text: str = multiline(TEXT_MAX, 1, description="What the customer complains of.")
    order: str | None = one_line(100, 1, default=None, description="The order it is about.")
    customer_name: Title | None = Field(default=None, description="The customer's name, for "
                                                                  "a customer without a file.")
    due: str | None = one_line(60, 1, default=None, description="The response deadline "
                                                               "(default 1 working day). "
                                                               + _DUE_TEXT)


class HandOverComplaint(_Body):
    """Hand the case to the department that must act, as a handoff with a deadline."""

    to: Literal["production", "supply", "finance"]
    request: str = multiline(REASON_MAX, 1, description="What the department must do.")
    due: str | None = one_line(60, 1, default=None, description="By when (default 2 working "
                                                               "days). " + _DUE_TEXT)


class AnswerComplaint(_Body):
    """What the acting department did."""

    done: str = multiline(REASON_MAX, 1, description="What was done.")


class CancelComplaint(_Body):
    """Why a case is cancelled (the head of customer service)."""

    reason: Reason


class CustomerAnswer(_Body):
    """The customer's answer: satisfied closes the case; not satisfied (with a note) reopens
    it and tells management."""

    #: Not satisfied needs a note (the engine's rule, ``check_customer_answer``, stated).
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "if": {"properties": {"satisfied": {"const": False}}},
        "then": {"required": ["note"], "properties": {"note": {"minLength": 1}}}})

    satisfied: bool
    note: str = multiline(REASON_MAX, default="", description="What the customer said "
                                                              "(required when not satisfied).")
