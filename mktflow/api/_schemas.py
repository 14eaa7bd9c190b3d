"""What the API answers: one pydantic model per view, and the problem+json body of every error.

The views are exactly the dictionaries ``mktflow.engine.queries`` builds (same keys, same
values); the models only describe them, so ``/openapi.json`` can name every field. Times are
ISO 8601 strings as the engine writes them.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from mktflow.api._problems import PROBLEM_JSON

__all__ = [
    "BranchPublic",
    "DepartmentPublic",
    "FieldError",
    "HandoffPublic",
    "HealthPublic",
    "HistoryEntry",
    "InboxHandoffRow",
    "InboxPage",
    "InboxWorkRow",
    "LeadFunnel",
    "LeadPublic",
    "MemberPublic",
    "OrganisationPublic",
    "Problem",
    "ProcessPublic",
    "ProcessSummary",
    "WorkItemPublic",
    "problems",
]

Json = dict[str, Any]


class _HandoffColumns(BaseModel):
    """What every view of a handoff shows (its inbox row and the whole handoff)."""

    id: int
    ref: str = Field(description="H-<id>")
    kind: Literal["handoff"]
    handoff_kind: str
    state: str
    title: str
    from_department: str
    to_department: str
    department: str = Field(description="The receiving department (as in to_department).")
    branch: str | None
    due: str | None
    escalation_level: int
    overdue: bool
    process: str | None
    process_id: int | None
    return_count: int
    offered_by: str | None
    created_at: str | None
    version: int


class HandoffPublic(_HandoffColumns):
    """Work passed between departments (``H-3``) as people and scripts read it."""

    criteria: str
    deliverables: list[str]
    reason: str | None
    data: Json | None
    signed_by: str | None
    accepted_at: str | None
    delivered_at: str | None
    closed_at: str | None
    due_basis: str | None = Field(
        default=None, description="How a due time given in working time was computed "
                                  "(as on a work item).")


class InboxWorkRow(BaseModel):
    """A human step as an inbox page lists it: the columns a list shows (no form, no data)."""

    id: int
    ref: str = Field(description="W-<id>")
    kind: Literal["work"]
    state: str
    title: str
    department: str
    branch: str | None
    assignee: str | None = Field(description="Who holds the step now.")
    owner: str | None = Field(description="Who delegated it, while it is delegated.")
    priority: int
    due: str | None
    follow_up: str | None
    escalation_level: int
    overdue: bool
    process: str | None = Field(description="Business key of the process it belongs to.")
    process_id: int | None
    step_key: str | None
    form_name: str | None
    created_at: str | None
    version: int


class WorkItemPublic(InboxWorkRow):
    """A human step (``W-12``) as people and scripts read it: the row of an inbox page with
    its description, form, data and who decided it."""

    description: str
    form_schema: Json | None
    data: Json | None
    draft: Json | None
    excluded: list[str] = Field(description="Members who may not complete it (four eyes).")
    approval: dict[str, Any] | None = Field(
        default=None, description="An approval step's authority-matrix rule (department, "
                                  "roles, branch, rule), re-checked when it is taken or decided.")
    decides: bool = Field(
        default=False, description="Whether the step decides something (four eyes, an "
                                   "approval, a decision): only a proven identity takes it.")
    created_by: str | None
    completed_by: str | None
    completed_at: str | None
    due_basis: str | None = Field(
        default=None, description="How a due time given in working time was computed, in "
                                  "words (its branch calendar, the days it skipped and "
                                  "counted); null for a due time given as a time.")


class InboxHandoffRow(_HandoffColumns):
    """A handoff as an inbox page lists it; a delivered one waits for the offering department's
    confirmation (``awaiting``)."""

    step_key: str | None
    awaiting: Literal["confirmation"] | None = Field(
        default=None, description="Present when the offering department has to confirm.")


class InboxPage(BaseModel):
    """One page of an inbox, overdue first, then by due time, priority and id."""

    rows: list[Annotated[InboxWorkRow | InboxHandoffRow, Field(discriminator="kind")]]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page (same filters); null on the last page.")


class ProcessSummary(BaseModel):
    """A process instance (``P-4``) without its items, as lists show it."""

    id: int
    ref: str = Field(description="P-<id>")
    process: str
    business_key: str | None
    status: str
    owner: str | None
    branch: str | None
    flow_run_id: str | None
    params: Json | None
    result: Json | None
    created_at: str | None
    updated_at: str | None
    withheld: list[str] | None = Field(
        default=None, description="Fields withheld from this reader (params, result): only "
                                  "the owner's department and management see them.")


class ProcessPublic(ProcessSummary):
    """A process instance with its work items and handoffs."""

    work_items: list[WorkItemPublic]
    handoffs: list[HandoffPublic]


class HistoryEntry(BaseModel):
    """One line of an audit trail: who did what to which item, and when."""

    id: int
    at: str | None
    actor: str
    identified_by: str | None = Field(
        default=None, description="How the door knew the actor: member token, signed-in "
        "session, one-time sign-in link, SSO proxy, command line (operator), or typed in the "
        "Prefect UI form (not proven); none for the process engine and older entries.")
    item: str = Field(description="W-12, H-3 or P-4 (an organisation entry: its kind and id, "
                                  "e.g. member 7).")
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    data: Json | None
    changes: Json | None


class BranchPublic(BaseModel):
    """A branch of the company."""

    code: str
    name: str
    hq: bool
    calendar: dict[str, Any] | None = Field(
        default=None, description="Its working calendar as the organisation file gives it "
                                  "(country, subdivision, time_zone, week, hours, days_off, "
                                  "working_days); null: calendar hours.")


class DepartmentPublic(BaseModel):
    """A department and who leads it today."""

    code: str
    name: str
    head: str | None
    delegate: str | None
    head_away: bool
    head_away_from: str | None
    head_away_until: str | None


class MemberPublic(BaseModel):
    """An active member."""

    email: str
    name: str
    department: str
    role: str
    branch: str | None


class OrganisationPublic(BaseModel):
    """Branches, departments and active members."""

    branches: list[BranchPublic]
    departments: list[DepartmentPublic]
    members: list[MemberPublic]


class HealthPublic(BaseModel):
    """The API can use its database."""

    status: Literal["ok"]


class FieldError(BaseModel):
    """One broken field of a request or a form."""

    field: str
    rule: str
    message: str
    in_: str | None = Field(default=None, alias="in",
                            description="Where the field was: body, query, path, header.")


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, written for a person."""

    type: str = Field(description="urn:mktflow:problem:<kind>, or about:blank.")
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(
        default=None, description="The broken fields (invalid requests and forms).")


_WHY = {
    400: "The request is wrong.",
    401: "The bearer token is missing or wrong (when MKTFLOW_API_TOKEN is set).",
    403: "The actor may not do this to this item.",
    404: "No such item, department or member.",
    409: "The item's state does not allow this, or someone changed it first.",
    422: "The request or the submitted form data does not fit; errors names the fields.",
    503: "The database cannot be used.",
}


class LeadHandoff(BaseModel):
    """The handoff that passed a lead to sales: its ref, state, receiving department and
    follow-up deadline; the rejection's reason when sales rejected it."""

    ref: str = Field(description="H-<id>")
    state: str
    to: str
    due: str | None
    escalation_level: int
    reason: str | None


class LeadHistoryEntry(BaseModel):
    """One change of a lead (``L-3``) or of its handoff to sales (``H-7``)."""

    at: str
    actor: str
    ref: str
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None


class LeadPublic(BaseModel):
    """A sales lead (``L-3``) as ``mktflow.engine.leads.lead_view`` builds it."""

    id: int
    ref: str = Field(description="L-<id>")
    source: str = Field(description="campaign, research or import")
    campaign: str | None = Field(description="The campaign's business key.")
    company: str
    contact: str
    channel: str
    region: str | None = Field(description="A branch code.")
    notes: str
    owner: str
    department: str
    state: str = Field(description="gathered, qualified, disqualified, won or lost")
    reason: str | None = Field(description="Why it was disqualified or lost.")
    order: str | None = Field(description="The order a won lead became.")
    handoff: LeadHandoff | None
    created_by: str
    created_at: str
    qualified_at: str | None
    outcome_at: str | None
    history: list[LeadHistoryEntry] | None = Field(
        default=None, description="One lead's changes and its handoff's (not in lists).")


class FunnelCounts(BaseModel):
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


class LeadFunnel(BaseModel):
    """The lead funnel in total, per campaign (key ``""``: no campaign) and per channel."""

    campaign: str | None
    total: FunnelCounts
    by_campaign: dict[str, FunnelCounts]
    by_channel: dict[str, FunnelCounts]


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each an ``application/problem+json``."""
    return {status: {"model": Problem,
                     "description": _WHY.get(status, HTTPStatus(status).phrase),
                     "content": {PROBLEM_JSON: {}}}
            for status in statuses}
