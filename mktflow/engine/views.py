"""What people and scripts read, defined once: the views of work items, handoffs, processes,
inbox pages, audit trails and the organisation, built here and in the engine's readers
(``queries``, ``inbox``), answered by the API as its response models, shown by the pages
and printed by the command line (``plain``).

Each view is a frozen dataclass (``dataclasses.replace`` makes a changed copy); a field's
docstring is its description in the API's OpenAPI document (pydantic reads these classes for
the API; importing this module loads no pydantic, so a quick read starts fast). Times are
ISO 8601 strings in UTC with ``Z`` (``domain.inputs.format_time``); ids are whole numbers;
references are ``W-12``, ``H-3``, ``P-4``.

``work_view`` and ``handoff_view`` take anything with the table's columns as attributes (a
model instance or a Core row) and the business key of its process. ``show_item`` reads one item
with plain Core (``mktflow.store.light``): no ORM, no SQLModel classes, so ``mktflow work show``
starts fast. ``queries.show`` answers through it too.
"""

from __future__ import annotations

import ast
import dataclasses
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from sqlalchemy import bindparam, select

from mktflow.domain.actors import asks_decision
from mktflow.domain.errors import NotFound
from mktflow.domain.inputs import format_time
from mktflow.domain.model import OPEN_WORK_STATES, REF_PREFIX, HandoffState
from mktflow.domain.planning import work_quadrant
from mktflow.domain.words import phrase
from mktflow.engine import visibility
from mktflow.engine.refs import parse_ref
from mktflow.store import light
from mktflow.store.uow import UnitOfWork

__all__ = [
    "AppraisalTrainingPublic",
    "Backtest",
    "BacktestDepartment",
    "Blocker",
    "BranchPublic",
    "BudgetDashboardRow",
    "BulkAnswer",
    "BulkItemAnswer",
    "CalendarDay",
    "CalendarEntry",
    "CalendarFeedIssued",
    "CalendarFeedPublic",
    "CalendarPage",
    "CampaignDashboard",
    "ComplaintHistoryEntry",
    "ComplaintPublic",
    "ComplaintStep",
    "DepartmentBalance",
    "DepartmentDigest",
    "DepartmentForecast",
    "DepartmentHandoffs",
    "DepartmentLoad",
    "DepartmentPublic",
    "DepartmentWorkload",
    "DigestChange",
    "DigestChoicePublic",
    "DigestEntry",
    "ForecastPublic",
    "ForecastRoute",
    "FunnelFigures",
    "HandoffPublic",
    "HistoryEntry",
    "InboxHandoffRow",
    "InboxPage",
    "InboxRow",
    "InboxWorkRow",
    "KpiDashboardRow",
    "LeadFunnel",
    "LeadHandoff",
    "LeadHistoryEntry",
    "LeadPublic",
    "MeetingDecisionPublic",
    "MeetingPublic",
    "MemberDigest",
    "MemberLoad",
    "MemberPublic",
    "MemberTrainingPublic",
    "MemberWorkload",
    "OrganisationPublic",
    "PeriodDashboard",
    "ProcessPublic",
    "ProcessSummary",
    "SavedViewPublic",
    "TrainingNeedPublic",
    "TrainingPlanPublic",
    "TrainingSessionPublic",
    "View",
    "WaitFigures",
    "WorkBalance",
    "WorkItemPublic",
    "WorkReportPublic",
    "field_docs",
    "handoff_view",
    "plain",
    "quadrant_name",
    "show_item",
    "work_view",
]

#: Handoff states in which the receiving department has to act (and can be late).
RECEIVER_ACTS = (HandoffState.OFFERED, HandoffState.ACCEPTED, HandoffState.RETURNED)

Json = dict[str, Any]


_docs_lock = threading.Lock()
_docs: dict[str, dict[str, str]] = {}


def field_docs() -> dict[str, dict[str, str]]:
    """Each view's field docstrings, ``{class name: {field: docstring on one line}}``, read
    from this module's source once per process (``ast``; the first call parses, under a lock).

    Pydantic's own ``use_attribute_docstrings`` parses the module again for every schema it
    builds (154 parses for the API's routes), and ``ast.parse`` in two threads at once fails
    on CPython 3.11.7 ("AST constructor recursion depth mismatch", CPython issue 106905), which
    a served API's lazily built routes did under load. The API calls this once as it is
    created, before it serves."""
    with _docs_lock:
        if not _docs:
            tree = ast.parse(Path(__file__).read_text("utf-8"))
            for node in tree.body:
                if isinstance(node, ast.ClassDef):
                    _docs[node.name] = dict(_attribute_docs(node.body))
        return _docs


def _attribute_docs(body: list[ast.stmt]) -> Iterator[tuple[str, str]]:
    """``(field, docstring)`` for each annotated field followed by a string literal."""
    for stmt, following in pairwise(body):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            yield stmt.target.id, " ".join(following.value.value.split())


def _described(schema: dict[str, Any], cls: type) -> None:
    """The API's document: each property without a description of its own gets its field's
    docstring (the class's, else the nearest base's that declares it), on one line."""
    docs = field_docs()
    for name, field in schema.get("properties", {}).items():
        if "description" in field:
            field["description"] = " ".join(field["description"].split())
            continue
        for base in cls.__mro__:
            if name in docs.get(base.__name__, {}):
                field["description"] = docs[base.__name__][name]
                break


class View:
    """What every view shares (no fields): how pydantic reads it for the API (each field's
    docstring is its description, ``field_docs``) and the fields it has only sometimes
    (``SOMETIMES``: left out of ``plain`` while None, as the command line always printed
    them)."""

    __slots__ = ()
    __pydantic_config__: ClassVar[dict[str, Any]] = {"json_schema_extra": _described}
    SOMETIMES: ClassVar[tuple[str, ...]] = ()


def plain(value: Any) -> Any:
    """``value`` with every view in it as a plain dict (keys in field order), ready for
    ``json.dumps``: what the command line prints with ``--json``. A field a view has only
    sometimes (``awaiting``, ``withheld``: the class's ``SOMETIMES``) is left out while None;
    lists and dicts are walked, anything else is returned as it is."""
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if not isinstance(value, View):
        return value
    sometimes = value.SOMETIMES
    return {f.name: plain(v) for f in dataclasses.fields(value)  # type: ignore[arg-type]
            if (v := getattr(value, f.name)) is not None or f.name not in sometimes}


# --- work items -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxWorkRow(View):
    """A human step as an inbox page lists it: the columns a list shows (no form, no data)."""

    SOMETIMES = ("words",)

    id: int
    ref: str
    """W-<id>"""
    kind: Literal["work"]
    state: str
    title: str
    department: str
    branch: str | None
    assignee: str | None
    """Who holds the step now."""
    owner: str | None
    """Who delegated it, while it is delegated."""
    priority: int
    due: str | None
    follow_up: str | None
    escalation_level: int
    overdue: bool
    process: str | None
    """Business key of the process it belongs to."""
    process_id: int | None
    step_key: str | None
    form_name: str | None
    created_at: str | None
    version: int
    important: bool | None = None
    """Whether its creator said it is important work (seed 000); null: not said."""
    urgent: bool | None = None
    """Whether its creator said it is urgent work; null: not said."""
    quadrant: Literal["important-urgent", "important-not-urgent", "urgent-not-important",
                      "neither"] | None = None
    """Where it falls in the department's balance of work; null (unclassified) when the
    creator said neither; one of the two unsaid counts as no."""
    words: Json | None = None
    """The title as a process wrote it, for a reader in another
    language: ``{"title": {"msgid": "Plan campaign %(code)s", "values": {"code": "SPRING"}}}``
    (a message of mktflow's catalogues and its values); left out for texts people typed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkItemPublic(View):
    """A human step (``W-12``) as people and scripts read it: the row of an inbox page with
    its description, form, data and who decided it."""

    SOMETIMES = ("words",)

    id: int
    ref: str
    """W-<id>"""
    kind: Literal["work"]
    state: str
    title: str
    description: str
    department: str
    branch: str | None
    assignee: str | None
    """Who holds the step now."""
    owner: str | None
    """Who delegated it, while it is delegated."""
    priority: int
    due: str | None
    due_basis: str | None
    """How a due time given in working time was computed, in words (its branch calendar, the
    days it skipped and counted); null for a due time given as a time."""
    follow_up: str | None
    escalation_level: int
    overdue: bool
    process: str | None
    """Business key of the process it belongs to."""
    process_id: int | None
    step_key: str | None
    form_name: str | None
    form_schema: Json | None
    data: Json | None
    draft: Json | None
    excluded: list[str]
    """Members who may not complete it (four eyes)."""
    approval: Json | None = None
    """An approval step's authority-matrix rule (department, roles, branch, rule), re-checked
    when it is taken or decided."""
    decides: bool = False
    """Whether the step decides something (four eyes, an approval, a decision): only a proven
    identity takes it."""
    created_by: str | None
    created_at: str | None
    completed_by: str | None
    completed_at: str | None
    version: int
    important: bool | None = None
    """Whether its creator said it is important work (seed 000); null: not said."""
    urgent: bool | None = None
    """Whether its creator said it is urgent work; null: not said."""
    quadrant: Literal["important-urgent", "important-not-urgent", "urgent-not-important",
                      "neither"] | None = None
    """Where it falls in the department's balance of work; null (unclassified) when the
    creator said neither; one of the two unsaid counts as no."""
    words: Json | None = None
    """The title and description as a process wrote them, for a reader in another
    language: ``{"title": {"msgid": "Plan campaign %(code)s", "values": {"code": "SPRING"}}}``
    (a message of mktflow's catalogues and its values); left out for texts people typed."""


# --- handoffs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxHandoffRow(View):
    """A handoff as an inbox page lists it; a delivered one waits for the offering department's
    confirmation (``awaiting``)."""

    SOMETIMES = ("awaiting", "words")

    id: int
    ref: str
    """H-<id>"""
    kind: Literal["handoff"]
    handoff_kind: str
    state: str
    title: str
    from_department: str
    to_department: str
    department: str
    """The receiving department (as in to_department)."""
    branch: str | None
    due: str | None
    escalation_level: int
    overdue: bool
    process: str | None
    process_id: int | None
    step_key: str | None
    return_count: int
    offered_by: str | None
    created_at: str | None
    version: int
    awaiting: Literal["confirmation"] | None = None
    """Set (to confirmation) when the offering department has to confirm it; otherwise null."""
    words: Json | None = None
    """The title as a process wrote it, for a reader in another
    language: ``{"title": {"msgid": "Plan campaign %(code)s", "values": {"code": "SPRING"}}}``
    (a message of mktflow's catalogues and its values); left out for texts people typed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoffPublic(View):
    """Work passed between departments (``H-3``) as people and scripts read it."""

    SOMETIMES = ("awaiting", "words")

    id: int
    ref: str
    """H-<id>"""
    kind: Literal["handoff"]
    handoff_kind: str
    state: str
    title: str
    from_department: str
    to_department: str
    department: str
    """The receiving department (as in to_department)."""
    branch: str | None
    criteria: str
    deliverables: list[str]
    due: str | None
    due_basis: str | None
    """How a due time given in working time was computed (as on a work item)."""
    escalation_level: int
    overdue: bool
    process: str | None
    process_id: int | None
    reason: str | None
    return_count: int
    data: Json | None
    offered_by: str | None
    signed_by: str | None
    created_at: str | None
    accepted_at: str | None
    delivered_at: str | None
    closed_at: str | None
    version: int
    words: Json | None = None
    """The title and criteria as a process wrote them, for a reader in another
    language: ``{"title": {"msgid": "Plan campaign %(code)s", "values": {"code": "SPRING"}}}``
    (a message of mktflow's catalogues and its values); left out for texts people typed."""
    awaiting: Literal["confirmation"] | None = None
    """Where a department's inbox lists a delivered handoff: the offering department has to
    confirm it. Otherwise null."""


# --- inbox pages ----------------------------------------------------------------------------


class _ByKind:
    """Tells pydantic, when the API builds its schema, that an inbox row's ``kind`` says which
    view it is (a discriminated union: ``oneOf`` with a mapping in the OpenAPI document)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic import Field  # only the API reads the schema: a quick read never does

        return handler.generate_schema(Annotated[source, Field(discriminator="kind")])


#: One row of an inbox page: a work item's or a handoff's, told apart by ``kind``.
InboxRow = Annotated[InboxWorkRow | InboxHandoffRow, _ByKind()]


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxPage(View):
    """One page of an inbox, overdue first, then by due time, priority and id."""

    rows: list[InboxRow]
    next_cursor: str | None
    """Pass as ?cursor= for the next page (same filters); null on the last page."""


# --- processes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessSummary(View):
    """A process instance (``P-4``) without its items, as lists show it."""

    SOMETIMES = ("withheld",)

    id: int
    ref: str
    """P-<id>"""
    process: str
    business_key: str | None
    status: str
    owner: str | None
    branch: str | None
    flow_run_id: str | None
    flow_version: str | None = None
    """The version of the flow code running it (as Prefect names it), once known."""
    params: Json | None
    result: Json | None
    created_at: str | None
    updated_at: str | None
    withheld: list[str] | None = None
    """Fields withheld from this reader (params, result): only the owner's department and
    management see them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessPublic(ProcessSummary):
    """A process instance with its work items and handoffs."""

    work_items: list[WorkItemPublic]
    handoffs: list[HandoffPublic]


# --- audit trails and the organisation ------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry(View):
    """One line of an audit trail: who did what to which item, and when."""

    id: int
    at: str | None
    actor: str
    identified_by: str | None = None
    """How the door knew the actor: member token, signed-in session, one-time sign-in link,
    SSO proxy, command line (operator), or typed in the Prefect UI form (not proven); none for
    the process engine and older entries."""
    item: str
    """W-12, H-3 or P-4 (an organisation entry: its kind and id, e.g. member 7)."""
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    data: Json | None
    changes: Json | None
    words: Json | None = None
    """The messages of the texts the engine or a flow wrote on the entry (a system comment's
    ``text``, a ``reason``): ``{"text": {"msgid": ..., "values": {...}}}``, worded in the
    reader's language on the pages; none for typed texts (``data.text`` and ``reason`` are the
    English)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchPublic(View):
    """A branch of the company."""

    code: str
    name: str
    hq: bool
    calendar: Json | None = None
    """Its working calendar as the organisation file gives it (country, subdivision,
    time_zone, week, hours, days_off, working_days); null: calendar hours."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartmentPublic(View):
    """A department and who leads it today."""

    code: str
    name: str
    head: str | None
    delegate: str | None
    head_away: bool
    head_away_from: str | None
    head_away_until: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberPublic(View):
    """An active member."""

    email: str
    name: str
    department: str
    role: str
    branch: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrganisationPublic(View):
    """Branches, departments and active members."""

    branches: list[BranchPublic]
    departments: list[DepartmentPublic]
    members: list[MemberPublic]


# --- the department's desk: saved views and bulk actions ----------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedViewPublic(View):
    """A saved view of a department's queue (``V-3``, ``mktflow.engine.desk``): its filters
    (None: any), who owns it, whether the department sees it, and whether it is the reader's
    default for that queue."""

    id: int
    ref: str
    """V-<id>"""
    name: str
    department: str
    """The department whose queue it filters."""
    owner: str
    shared: bool
    """True: every member of the department sees it; False: only its owner."""
    state: str | None
    """open, claimed or delegated"""
    process: str | None
    """A process's business key or P-n."""
    due: str | None
    """overdue or on-time"""
    holder: str | None
    """The e-mail of the member holding the items."""
    priority: str | None
    """A priority band: urgent (90-100), high (70-89), normal (30-69) or low (0-29)."""
    text: str | None
    """Words the items' titles hold (any case)."""
    default: bool
    """It is the reader's default view of this queue."""
    may_change: bool
    """The reader may change or delete it."""
    url: str
    """The queue page with these filters."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkItemAnswer(View):
    """What became of one work item of a bulk action: done, or refused by its own rule."""

    ref: str
    """W-<id>, as the request named it when it names no work item."""
    ok: bool
    state: str | None
    """The item's state after the action (None when refused)."""
    message: str
    """What was done, or the rule's refusal."""
    status: int
    """The HTTP status a single action would have answered: 200, or 403, 404, 409, 422."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkAnswer(View):
    """A bulk action's answer: per item, in the order asked, done or refused."""

    action: str
    done: int
    """How many items it was done to."""
    refused: int
    """How many were refused."""
    items: list[BulkItemAnswer]


# --- sales leads ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LeadHandoff(View):
    """The handoff that passed a lead to sales: its ref, state, receiving department and
    follow-up deadline; the rejection's reason when sales rejected it."""

    ref: str
    """H-<id>"""
    state: str
    to: str
    due: str | None
    escalation_level: int
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LeadHistoryEntry(View):
    """One change of a lead (``L-3``) or of its handoff to sales (``H-7``)."""

    at: str | None
    actor: str
    ref: str
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LeadPublic(View):
    """A sales lead (``L-3``) as people and scripts read it (``mktflow.engine.leads``)."""

    SOMETIMES = ("history",)

    id: int
    ref: str
    """L-<id>"""
    source: str
    """campaign, research or import"""
    campaign: str | None
    """The campaign's business key."""
    company: str
    contact: str
    channel: str
    region: str | None
    """A branch code."""
    notes: str
    owner: str
    department: str
    state: str
    """gathered, qualified, disqualified, won or lost"""
    reason: str | None
    """Why it was disqualified or lost."""
    order: str | None
    """The order a won lead became."""
    handoff: LeadHandoff | None
    created_by: str
    created_at: str | None
    qualified_at: str | None
    outcome_at: str | None
    history: list[LeadHistoryEntry] | None = None
    """One lead's changes and its handoff's (not in lists)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintStep(View):
    """The open step of a case: respond (customer service), act (the acting department) or
    customer (customer service records the customer's answer)."""

    ref: str
    """W-<id>"""
    kind: str
    """respond, act or customer"""
    department: str
    state: str
    due: str | None
    escalation_level: int
    key: str = ""
    """its step key in the case's process: ``respond-1``, ``act-1-back-1`` (``step_key``)"""


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintHistoryEntry(View):
    """One change of a case (``C-4``), of one of its steps (``W-9``) or of its handoff to the
    acting department (``H-7``)."""

    at: str | None
    actor: str
    ref: str
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintPublic(View):
    """A customer complaint, a case in customer service (``C-4``), as people and scripts read
    it (``mktflow.engine.complaints``)."""

    SOMETIMES = ("history",)

    id: int
    ref: str
    """C-<id>"""
    customer: str
    """The customer's code (its customer file)."""
    customer_name: str
    customer_open_complaints: int
    """The customer file's open cases, this one included while it is open."""
    order: str | None
    """The order it is about."""
    text: str
    """What the customer complains of."""
    source: str
    """order, page, api, cli or prefect"""
    department: str
    """Customer service: the department that owns the case."""
    region: str | None
    """A branch code."""
    state: str
    """open, handed_over, answered or closed"""
    round: int
    """1, and one more each time a customer who is not satisfied reopens it."""
    escalation_level: int
    """How many times the customer was not satisfied (management is told each time)."""
    respond_due: str | None
    """The response deadline of the current round."""
    acting_department: str | None
    request: str | None
    """What customer service asked of the acting department."""
    handoff: str | None
    """H-<id>: the handoff to the acting department."""
    handoff_state: str | None
    handoff_due: str | None
    done: str | None
    """What the acting department did."""
    satisfied: bool | None
    """The customer's last answer."""
    customer_note: str | None
    process: str | None
    """P-<id>: the process whose steps carry the case."""
    step: ComplaintStep | None
    """The open step (none once closed)."""
    opened_by: str
    created_at: str | None
    closed_at: str | None
    history: list[ComplaintHistoryEntry] | None = None
    """The case's changes, its steps' and its handoffs' (not in lists)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FunnelFigures(View):
    """One funnel: leads at each stage, those dropped at each, and the conversions (0..1,
    null when the stage before is empty)."""

    gathered: int
    qualified: int
    accepted: int
    won: int
    disqualified: int
    rejected: int
    lost: int
    rates: dict[str, float | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class LeadFunnel(View):
    """The lead funnel in total, per campaign (key ``""``: no campaign) and per channel."""

    campaign: str | None
    total: FunnelFigures
    by_campaign: dict[str, FunnelFigures]
    by_channel: dict[str, FunnelFigures]


# --- what a department's pages show ---------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartmentHandoffs(View):
    """The open handoffs a department is party to, each list overdue first and at most a page
    long (``counts``: each list's whole length, by the list's name), and the last ones closed
    (rejected, confirmed or cancelled), newest first."""

    offered_to_us: list[HandoffPublic]
    """It must accept, deliver or redo them."""
    awaiting_our_confirmation: list[HandoffPublic]
    """Delivered to it: it confirms or returns them."""
    ours_waiting_on_others: list[HandoffPublic]
    """It offered them; the receiver acts."""
    counts: dict[str, int]
    recently_closed: list[HandoffPublic]


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLoad(View):
    """What one member holds of a department's open work (``held``, ``overdue``: counts)."""

    email: str
    name: str
    role: str
    """Empty for someone outside the department (a delegated colleague)."""
    held: int
    overdue: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartmentLoad(View):
    """A department's open work: how much, how much overdue and unassigned (counts), by
    member (every active member, holding something or not, then anyone outside it who holds
    some), and the items themselves."""

    department: str
    open: int
    overdue: int
    unassigned: int
    by_member: list[MemberLoad]
    items: list[WorkItemPublic]


# --- the desk's figures: workload and waiting, dashboards -----------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberWorkload(View):
    """One member's open work in a department and when it falls due: every open item the
    member holds is in exactly one band (``overdue`` + ``due_within_day`` + ``due_within_week``
    + ``due_later`` + ``no_due`` = ``open``). Counts of items."""

    email: str
    name: str
    open: int
    overdue: int
    """Past its due time now."""
    due_within_day: int
    """Due in the next 24 hours."""
    due_within_week: int
    """Due in more than 24 hours and at most 7 days."""
    due_later: int
    """Due in more than 7 days."""
    no_due: int
    """No due time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitFigures(View):
    """How long the work of one department (``waiting``) waited on another (``on``) at one
    stage of the handoff ledger, in working hours of each handoff's calendar: ``accept``
    (offered to accepted, rejected or withdrawn), ``deliver`` (accepted to delivered),
    ``rework`` (returned to delivered again), ``confirm`` (delivered to confirmed or returned:
    the receiving department waits on the offering one). A wait still running counts up to
    now."""

    waiting: str
    on: str
    stage: Literal["accept", "deliver", "rework", "confirm"]
    waits: int
    """Waits measured (a handoff returned twice has two ``rework`` and three ``confirm``)."""
    still_waiting: int
    """Of those, still running now."""
    hours: float
    """Working hours of every wait, summed."""
    median_hours: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Blocker(View):
    """Who holds open handoffs another department's work waits on (who is blocking whom)."""

    department: str
    """The department holding them."""
    member: str | None
    """The member holding them: whoever accepted (to deliver or rework), whoever offered
    (to confirm); None while nobody has taken the offer on (its queue)."""
    waiting: str
    """The department whose work waits."""
    handoffs: int
    hours: float
    """Working hours waited so far, summed over these handoffs."""
    longest: str
    """The handoff waiting longest (H-<id>)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartmentWorkload(View):
    """A department's workload and waiting (``mktflow.engine.workload``): its open work by
    member with the due spread, what its work waited on each other department and they on it
    (handoffs offered since ``since``), and who blocks whom now."""

    department: str
    generated_at: str
    since: str
    """YYYY-MM-DD: the waits are of handoffs offered on or after this day."""
    open: int
    overdue: int
    unassigned: int
    members: list[MemberWorkload]
    """Every active member (holding something or not), then anyone outside the department
    holding some of its work (a delegated colleague)."""
    waits: list[WaitFigures]
    """Every department pair and stage with the department on one side, by pair then stage."""
    blocking: list[Blocker]
    """Open handoffs with the department on one side, grouped by holder and waiting
    department, the longest total wait first."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiDashboardRow(View):
    """One KPI's target against its actual. ``achievement``: actual / target (target / actual
    when lower is better), a ratio; ``gap_pct``: how far from the target in percent of it
    (negative: short); both None until an actual is recorded."""

    name: str
    unit: str
    department: str | None
    """The department owning it (a period's KPIs; None on a campaign's)."""
    owner: str | None
    target: float
    actual: float | None
    achievement: float | None
    gap_pct: float | None
    met: bool | None
    """None: no actual recorded yet."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetDashboardRow(View):
    """One budget line: money allocated against spent (amounts with two decimals).
    ``remaining`` is allocated - spent (negative: overspent)."""

    SOMETIMES = ("words",)

    code: str
    title: str
    department: str | None
    allocated: float
    spent: float
    remaining: float
    planned: float | None
    """A period's lines: the plan's amount (None on a campaign's)."""
    planned_to_date: float | None
    over_plan_pct: float | None
    """A period's lines: spent over plan to date, in percent (the budget review's)."""
    flags: str
    """A period's lines: what the budget review would ask about (empty: nothing)."""
    words: Json | None = None
    """The flags as messages and their values (``{"flags": {"msgid": ..., "values": ...}}``),
    for a reader in another language; left out when there are none."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignDashboard(View):
    """A campaign's KPI targets against actuals and its budget allocated against spent: the
    figures of its evaluation (``domain.campaign.evaluate``, as the campaign flow's artifact
    shows them). ``utilisation``: spent / allocated, a ratio; ``cost_per_result``: spent per
    unit of the first KPI's actual."""

    code: str
    name: str
    status: str
    process: str | None
    """P-<id> of its process."""
    kpis: list[KpiDashboardRow]
    lines: list[BudgetDashboardRow]
    allocated: float
    spent: float
    variance: float
    """Allocated - spent (negative: overspent)."""
    utilisation: float | None
    cost_per_result: float | None
    kpis_met: int
    goal_met: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodDashboard(View):
    """A period's KPIs (targets against actuals, as the performance appraisal reads them) and
    budget lines (allocated against spent, as the budget review reads them) that the reader
    may see: each row belongs to its department."""

    period: str
    """2026, 2026-H2, 2026-Q4 or 2026-11."""
    kpis: list[KpiDashboardRow]
    lines: list[BudgetDashboardRow]
    allocated: float
    spent: float
    kpis_met: int
    kpis_measured: int
    """KPIs with an actual recorded."""
# --- the department forecast ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartmentForecast(View):
    """One department's expected load over the quarter (``mktflow.engine.forecast``): hours,
    shares from 0 to 1, weeks counted from 1."""

    department: str
    people: int
    """Who serves: its active members (one if it has none)."""
    steps: int
    """Steps expected to arrive in the quarter (mean over the runs)."""
    utilisation: float
    """Share of its people's hours spent serving, over the quarter."""
    wait_p50_hours: float
    """Median wait of a step for a free person (hours)."""
    wait_p95_hours: float
    """95th-percentile wait (hours)."""
    utilisation_by_week: list[float]
    queue_by_week: list[float]
    """Mean number of steps waiting, per week."""
    jam: bool
    """At or above 85 % busy, or its 95th-percentile wait above the threshold."""
    jam_week: int | None
    """The first week (1-based) it is jammed; None when it is not."""
    jam_starts_on: str | None
    """That week's first day (ISO date)."""
    jam_reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestDepartment(View):
    """One department in the back-test: the mean wait the ledger measured last quarter and the
    one the model gives replaying last quarter's starts (hours)."""

    department: str
    measured_steps: int
    measured_mean_wait_hours: float
    simulated_mean_wait_hours: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Backtest(View):
    """The model checked against history: last quarter's starts replayed through the model
    fitted on last quarter. ``mape``: the mean absolute percentage error of the departments'
    mean waits (a fraction; None when no wait was measured)."""

    history_from: str
    """The measured quarter's first day (ISO date)."""
    history_until: str
    """Its last day (ISO date)."""
    processes: int
    departments: list[BacktestDepartment]
    mape: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ForecastRoute(View):
    """The steps one process kind puts on the departments, in order (``department:step``),
    and where the route comes from: ``history`` (the most common route last quarter) or
    ``definition`` (the flow's, when last quarter had none of its kind)."""

    process: str
    source: str
    steps: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ForecastPublic(View):
    """What the coming quarter will cost the departments: the plan simulated over the model
    the last complete quarter's ledger gives, and the model's back-test."""

    quarter: str
    starts_on: str
    ends_on: str
    """The quarter's last day (ISO date)."""
    seed: int
    threshold_hours: float
    plan: dict[str, list[int]]
    """Starts per month of each planned kind (campaign, new_product, order)."""
    background: int
    """Other work carried over from last quarter as it came (other processes, steps of no
    process)."""
    routes: list[ForecastRoute]
    departments: list[DepartmentForecast]
    jams: list[str]
    """The jammed departments, earliest jam first."""
    backtest: Backtest


# --- building a work item's and a handoff's view --------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return format_time(value)  # the one time rule: UTC with Z (domain.inputs)


# --- the campaign calendar ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarEntry(View):
    """One dated thing on the campaign calendar (``mktflow.engine.campaign_calendar``): a
    campaign's dates, one of its plan's activities, a work item's due time (an approval is a
    work item with an authority-matrix rule) or a handoff's deadline."""

    SOMETIMES = ("words",)

    uid: str
    """Stable across reads and feeds: ``<kind>-<id>@mktflow`` (e.g. ``handoff-3@mktflow``)."""
    kind: Literal["campaign", "activity", "approval", "work", "handoff"]
    ref: str
    """What it belongs to: P-<id> (a campaign, an activity), W-<id> or H-<id>."""
    title: str
    all_day: bool
    """True: ``start`` and ``end`` are dates (YYYY-MM-DD, ``end`` the last day, inclusive);
    False: ``start`` is the due time (ISO 8601, UTC) and ``end`` is None."""
    start: str
    end: str | None
    state: str
    department: str | None
    """The department doing it (a handoff's: the receiving one)."""
    from_department: str | None
    """A handoff's offering department; None for everything else."""
    branch: str | None
    """None: the whole company."""
    process: str | None
    """The business key of its process (CMP-7)."""
    owner: str | None
    """The member it is assigned to or owned by, if any."""
    link: str
    """The path of its page: /work/<id>, /handoffs/<id> or /processes/P-<id>."""
    words: Json | None = None
    """A work item's or handoff's title as a process wrote it (as on the item); left out
    otherwise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarDay(View):
    """The entries of one day on the agenda: what starts (or is due) that day; an entry
    begun before the period is listed on its first day."""

    date: str
    """YYYY-MM-DD"""
    entries: list[CalendarEntry]


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarPage(View):
    """The campaign calendar of one month or quarter as the reader may see it."""

    period: str
    """2026-05 or 2026-Q2"""
    kind: Literal["month", "quarter"]
    start: str
    """The first day, YYYY-MM-DD."""
    end: str
    """The last day, YYYY-MM-DD (inclusive)."""
    previous: str
    next: str
    department: str | None
    """The department filter asked for (None: every department)."""
    branch: str | None
    """The branch filter asked for (None: every branch)."""
    entries: list[CalendarEntry]
    """Every entry overlapping the period, by start then uid."""
    days: list[CalendarDay]
    """The same entries grouped by day (only days with entries)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarFeedPublic(View):
    """A member's calendar feed URL, never its secret. ``state``: active or revoked."""

    id: int
    member: str
    state: Literal["active", "revoked"]
    created_at: str | None
    revoked_at: str | None
    last_used_at: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarFeedIssued(View):
    """A calendar feed URL just made: ``url`` holds the secret, shown this once."""

    id: int
    member: str
    url: str
    """``{MKTFLOW_API_URL}/calendar/<secret>.ics``: subscribe to it in a calendar client."""
    created_at: str | None


# --- daily digests -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestChoicePublic(View):
    """How a member is told of changes addressed to them personally: ``each`` (one notice
    per change) or ``daily`` (held, one digest each working day at ``at`` in ``zone``)."""

    member: str
    mode: Literal["each", "daily"]
    at: str
    """The digest's time of day, HH:MM, in ``zone`` (kept while the mode is each)."""
    zone: str
    """The member's working calendar's time zone (their branch's, else the schedules')."""
    calendar: str
    """The working calendar whose working days get a digest."""
    department_digest: bool
    """Whether the daily digest carries the department's part (the member heads it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestEntry(View):
    """One open work item or handoff in a digest, with the band it falls in."""

    SOMETIMES = ("words",)

    ref: str
    """W-<id> or H-<id>"""
    kind: Literal["work", "handoff"]
    title: str
    state: str
    band: Literal["overdue", "due soon", "open"]
    """overdue: past due; due soon: due by the end of the next working day; open: the rest."""
    due: str | None
    department: str
    """A work item's department; a handoff's as ``from → to``."""
    holder: str | None
    """Who holds a work item (None: nobody yet); a handoff is held by its receiving
    department."""
    link: str
    """mktflow's page of it: ``{MKTFLOW_API_URL}/work/<id>`` or ``/handoffs/<id>``."""
    words: Json | None = None
    """Its title as a process wrote it (as on the work item); left out for a typed title."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestChange(View):
    """One notice held for the digest: what changed, when."""

    ref: str | None
    subject: str
    at: str
    link: str | None
    event: str | None = None
    """The notice's event (``work.assigned``), to say its subject in the reader's language."""
    fill: Json | None = None
    """What its subject is made of (the notice's ``ref``, ``title`` and its ``words``, the
    department, due time, reason ...: ``i18n.notices.SUBJECT_KEYS``), so the relay says it in
    the member's language; ``subject`` is the English."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartmentDigest(View):
    """A head's department part of the digest: the department's open work items and the open
    handoffs it is party to (overdue first), and who holds what."""

    department: str
    counts: dict[str, int]
    """overdue, due soon, open (entries of each band) and unassigned (work items)."""
    entries: list[DigestEntry]
    by_member: list[MemberLoad]


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberDigest(View):
    """A member's daily digest (what ``mktflow digest preview`` shows and the outbox sends):
    their open items and handoffs by band, the changes held for it, and for a head the
    department's part."""

    member: str
    day: str
    """The local day it is of, YYYY-MM-DD."""
    zone: str
    counts: dict[str, int]
    """overdue, due soon, open (the member's entries of each band) and changes."""
    entries: list[DigestEntry]
    """Work items the member holds and open handoffs they offered, overdue first."""
    changes: list[DigestChange]
    """The notices addressed to the member that were held for this digest, oldest first."""
    department: DepartmentDigest | None
    """The department's part, for its head; None for everyone else."""
    link: str
    """The member's My work page."""


def quadrant_name(important: bool | None, urgent: bool | None) -> Any:
    """A work item's quadrant as its views show it (``domain.planning.work_quadrant``)."""
    found = work_quadrant(important, urgent)
    return None if found is None else str(found)


def work_view(item: Any, process: str | None, now: datetime | None = None) -> WorkItemPublic:
    """A work item (``W-12``) with its form, draft and data; ``process`` is its business key;
    ``overdue`` only with ``now`` (due before it and still open)."""
    return WorkItemPublic(
        id=item.id, ref=f"{REF_PREFIX['work']}-{item.id}", kind="work",
        state=item.state, title=item.title, description=item.description,
        words=getattr(item, "words", None),
        department=item.department, branch=item.branch,
        assignee=item.assignee_email, owner=item.owner_email,
        priority=item.priority, due=_iso(item.due_at), due_basis=item.due_basis,
        follow_up=_iso(item.follow_up_at), escalation_level=item.escalation_level,
        overdue=bool(now and item.due_at and item.due_at < now
                     and item.state in OPEN_WORK_STATES),
        process=process, process_id=item.process_id,
        step_key=item.step_key, form_name=item.form_name,
        form_schema=item.form_schema, data=item.data, draft=item.draft,
        excluded=item.excluded,
        approval={k: v for k, v in item.approval.items() if k != "rule_words"}
        if item.approval else None,
        # only proven identities may take or decide it (domain.actors.Target.decides)
        decides=bool(item.excluded) or item.approval is not None
        or asks_decision(item.form_schema),
        created_by=item.created_by, created_at=_iso(item.created_at),
        completed_by=item.completed_by, completed_at=_iso(item.completed_at),
        version=item.version, important=item.important, urgent=item.urgent,
        quadrant=quadrant_name(item.important, item.urgent),
    )


def handoff_view(h: Any, process: str | None, now: datetime | None = None) -> HandoffPublic:
    """A handoff (``H-3``) with its criteria, deliverables and data; ``overdue`` only with
    ``now`` (due before it while the receiving department has to act)."""
    return HandoffPublic(
        id=h.id, ref=f"{REF_PREFIX['handoff']}-{h.id}", kind="handoff",
        handoff_kind=h.kind, state=h.state,
        title=h.title, from_department=h.from_department,
        to_department=h.to_department, department=h.to_department, branch=h.branch,
        criteria=h.criteria, words=getattr(h, "words", None), deliverables=h.deliverables,
        due=_iso(h.due_at),
        due_basis=h.due_basis,
        escalation_level=h.escalation_level,
        overdue=bool(now and h.due_at and h.due_at < now and h.state in RECEIVER_ACTS),
        process=process, process_id=h.process_id,
        reason=h.reason, return_count=h.return_count, data=h.data,
        offered_by=h.offered_by, signed_by=h.signed_by,
        created_at=_iso(h.created_at), accepted_at=_iso(h.accepted_at),
        delivered_at=_iso(h.delivered_at), closed_at=_iso(h.closed_at),
        version=h.version,
    )


def _one(table: Any) -> Any:
    p = light.processinstance
    return (select(table, p.c.business_key.label("process_key"),
                   p.c.owner_email.label("process_owner"))
            .select_from(table.outerjoin(p, p.c.id == table.c.process_id))
            .where(table.c.id == bindparam("item_id")))


_READ = {"work": _one(light.workitem), "handoff": _one(light.handoff)}


def show_item(uow: UnitOfWork, reference: str, default_kind: str | None = None, *,
              reader: str | None = None) -> WorkItemPublic | HandoffPublic:
    """One work item or handoff by reference (``W-12``, ``H-3``; a bare number of
    ``default_kind``), as ``reader`` may see it (None: the operator; ``engine.visibility``).
    Raises BadInput for a malformed reference (or a process's), NotFound when there is no such
    item, NotAuthorized when the reader may not see it."""
    kind, item_id = parse_ref(reference, default_kind)
    if kind not in _READ:
        raise NotFound(phrase("%(ref)s: show_item reads work items and handoffs",
                             ref=reference))
    with uow:
        actor = visibility.reading_actor(uow, reader)
        row = uow.reader().execute(_READ[kind], {"item_id": item_id}).first()
        if row is None:
            raise NotFound(phrase("%(ref)s does not exist", ref=reference))
        visibility.check_item(actor, kind, row, process_owner=row.process_owner)
        if kind == "work":
            return work_view(row, row.process_key, uow.now())
        return handoff_view(row, row.process_key, uow.now())


# --- planning meetings ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingDecisionPublic(View):
    """One decision of a meeting's minutes and where its work stands
    (``mktflow.engine.meetings``)."""

    number: int
    """1, 2, ... in the minutes' order."""
    text: str
    owner: str
    """The e-mail of the member who owns it."""
    owner_department: str
    due: str
    """YYYY-MM-DD: the day it is due (its work is due at the end of it)."""
    departments: list[str]
    """The departments it concerns (the owner's among them)."""
    work: str | None
    """The work it became once the minutes were sent: W-<id> (an owner in marketing) or
    H-<id> (a handoff to the owner's department); None before."""
    state: str
    """draft (minutes not sent), open, in hand, done or dropped: its work's state."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingPublic(View):
    """A planning meeting (``M-3``): the quarterly or annual marketing meeting that fixes the
    work plan, with its agenda, minutes and decisions (``mktflow.engine.meetings``)."""

    id: int
    ref: str
    """M-<id>"""
    kind: str
    """quarterly or annual"""
    period: str
    """The quarter (2027-Q1) or the year (2027) whose plan it fixes."""
    state: str
    """agenda, minutes, approval (with the head) or sent."""
    process: str | None
    """The process of its cycle run (P-<id>), where its steps are."""
    agenda: str
    held_on: str | None
    """YYYY-MM-DD"""
    attendees: str
    summary: str
    minutes_by: str | None
    """Who recorded the minutes."""
    approved_by: str | None
    """The head who approved the minutes."""
    approved_at: str | None
    sent_to: list[str]
    """The departments the minutes were sent to (management and those named)."""
    sent_at: str | None
    decisions: list[MeetingDecisionPublic]
    done: int
    """How many of its decisions are done."""


# --- work reports ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkReportPublic(View):
    """A member's work report (``R-3``) as people and scripts read it
    (``mktflow.engine.work_reports``)."""

    id: int
    ref: str
    """R-<id>"""
    member: str
    """The e-mail of the member whose report it is."""
    department: str
    kind: str
    """daily, weekly or monthly"""
    period: str
    """The day (2026-12-07), the ISO week (2026-W50) or the month (2026-12)."""
    period_start: str
    """The period's first day (YYYY-MM-DD)."""
    done: str
    problems: str
    next: str
    step: str | None
    """The daily report step it answers (W-<id>), if any."""
    due_at: str | None
    """When it was due: the end of the member's working day (daily reports)."""
    late: bool
    """Submitted after it was due."""
    submitted_by: str
    """The member, or mktflow for a weekly or monthly report gathered from daily ones."""
    submitted_at: str | None


# --- training from appraisal ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingNeedPublic(View):
    """A member's training need, created by their appraisal (``mktflow.engine.training``)."""

    id: int
    period: str
    """The appraisal's period (2026-Q3)."""
    member: str
    department: str
    topics: list[str]
    """The KPIs missed, or ``signed: training`` when the head signed that result."""
    attainment: float | None
    """The appraisal's share of KPIs met, 0..1."""
    covered: bool
    """Whether an approved session of the period's plan names the member."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingSessionPublic(View):
    """One session of a training plan."""

    id: int
    topic: str
    owner: str
    """The e-mail of the member who holds the session and records attendance."""
    participants: list[str]
    starts_on: str
    """First day (YYYY-MM-DD)."""
    ends_on: str
    """Last day (YYYY-MM-DD)."""
    attended: list[str] | None
    """Who attended, as the owner recorded it; None until recorded."""
    attendance_step: str | None
    """The owner's attendance step (W-<id>), once the plan is approved."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingPlanPublic(View):
    """A department's training plan for a period (``mktflow.engine.training``)."""

    id: int
    period: str
    department: str
    status: str
    """preparing (its step is open), submitted (the head decides) or approved."""
    prepare_step: str | None
    """The step that prepares it (W-<id>)."""
    approval_step: str | None
    """The head's approval step (W-<id>), once submitted."""
    prepared_by: str | None
    approved_by: str | None
    approved_at: str | None
    returns: int
    """How many times the head returned it."""
    sessions: list[TrainingSessionPublic]


@dataclass(frozen=True, slots=True, kw_only=True)
class AppraisalTrainingPublic(View):
    """One appraisal of a member, with the training attended since the previous one."""

    period: str
    attainment: float | None
    """Share of KPIs met, 0..1."""
    result: str | None
    """What the head signed: reward, training, adjustment or none (None: not signed yet)."""
    attainment_change: float | None
    """Change since the previous appraisal, in percentage points (None without one)."""
    training: list[TrainingSessionPublic]
    """Sessions the member attended since the previous appraisal."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberTrainingPublic(View):
    """A member's appraisals, training needs and training attended, as the member, their
    head and management read it (read table row ``training``)."""

    member: str
    department: str
    appraisals: list[AppraisalTrainingPublic]
    """Newest first."""
    needs: list[TrainingNeedPublic]


# --- the balance of a department's work -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartmentBalance(View):
    """A department's work items of a period in seed 000's four quadrants
    (``mktflow.engine.dashboards.work_balance``)."""

    department: str
    important_urgent: int
    important_not_urgent: int
    """The icing on the cake: future planning (seed 000)."""
    urgent_not_important: int
    """Timely help: today's fires (seed 000)."""
    neither: int
    unclassified: int
    """Items whose creator said neither importance nor urgency; left out of the shares."""
    important_not_urgent_share: float
    """Of the classified items, 0..1."""
    below_floor: bool
    finding: str | None
    """What the process review reports when the department is below the floor."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkBalance(View):
    """The balance of each department's work in a period, as the reader may see it."""

    period: str
    start: str
    """First day (YYYY-MM-DD) of the period."""
    end: str
    """First day after the period."""
    floor: float
    """The least important-not-urgent share (MKTFLOW_IMPORTANT_NOT_URGENT_FLOOR), 0..1."""
    departments: list[DepartmentBalance]
