"""One typed request body per command; field names match the views the API returns.

The bodies check shape only (types, required fields); every business rule is the engine's.
Times are ISO 8601, read as the CLI reads them: without a zone they are UTC, and a date alone
means the end of that day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from mktflow.domain.errors import BadInput
from mktflow.domain.inputs import (
    CODE_MAX,
    EMAIL_MAX,
    KEY_MAX,
    LINK_MAX,
    LINKS_MAX,
    NAME_MAX,
    REASON_MAX,
    TEXT_MAX,
    TITLE_MAX,
    parse_time,
)

__all__ = [
    "AssignWork",
    "CancelHandoff",
    "CancelWork",
    "Comment",
    "CompleteWork",
    "CreateWork",
    "DelegateWork",
    "DeliverHandoff",
    "OfferHandoff",
    "RejectHandoff",
    "ResolveWork",
    "ReturnHandoff",
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
Email = Annotated[str, Field(min_length=3, max_length=EMAIL_MAX,
                             description="A member's e-mail.")]
Reason = Annotated[str, Field(min_length=1, max_length=REASON_MAX,
                              description="Why; kept in the item's history (may span lines).")]
#: One line of text: titles, codes, names (no line break or control character).
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX,
                             description="One line, no control characters.")]
Code = Annotated[str, Field(min_length=1, max_length=CODE_MAX)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateWork(_Body):
    """Put a step in a department's queue (or a member's hands)."""

    department: Code = Field(description="Code of the department that owns the step.")
    title: Title
    description: Text = ""
    form_schema: dict[str, Any] | None = Field(
        default=None, description="JSON schema the completion data must satisfy.")
    form_name: str | None = Field(default=None, max_length=NAME_MAX)
    assignee: Email | None = None
    priority: int = Field(default=50, ge=0, le=100)
    due: Time | None = None
    follow_up: Time | None = None
    process: str | None = Field(default=None, max_length=KEY_MAX,
                                description="Business key or P-n of the process.")
    branch: Code | None = None


class CompleteWork(_Body):
    """Submit a held step's answer: its draft with ``data`` laid over it, checked by the form."""

    data: dict[str, Any] | None = Field(
        default=None, description="The step's form data; its top-level keys replace the "
                                  "draft's. Without it the draft is submitted as it is.")


class ResolveWork(_Body):
    """Hand a delegated step back to its holder, with a proposal if any."""

    data: dict[str, Any] | None = Field(default=None, description="Proposed form data.")


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

    due: Time | None = None
    follow_up: Time | None = None
    priority: int | None = Field(default=None, ge=0, le=100)
    reason: str | None = Field(default=None, max_length=REASON_MAX)


class Comment(_Body):
    """Add a note (and links) to an item's history."""

    text: str = Field(min_length=1, max_length=TEXT_MAX)
    links: list[Annotated[str, Field(max_length=LINK_MAX)]] = Field(
        default_factory=list, max_length=LINKS_MAX,
        description="http, https or mailto links only (anything else is refused, 422).")


class OfferHandoff(_Body):
    """Offer work to another department, with a due date and acceptance criteria."""

    from_department: Code = Field(description="The offering department.")
    to_department: Code = Field(description="The receiving department.")
    title: Title
    due: Time
    criteria: Text = Field(default="", description="Acceptance criteria (may span lines).")
    deliverables: list[Title] = Field(default_factory=list, max_length=100)
    letter: bool = Field(default=False,
                         description="A responsibility letter binding a whole project.")
    process: str | None = Field(default=None, max_length=KEY_MAX,
                                description="Business key or P-n of the process.")
    branch: Code | None = None


class RejectHandoff(_Body):
    """Decline offered work, saying why."""

    reason: Reason


class DeliverHandoff(_Body):
    """Hand over the deliverable."""

    data: dict[str, Any] | None = Field(default=None, description="What is delivered.")


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
