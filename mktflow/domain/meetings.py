"""Planning meetings with minutes: the quarterly and the annual marketing meeting that fixes the
work plan, its decisions, and the minutes sent to management and the departments concerned.

Source: seed 001, 市场部管理制度 五、工作流程 1.(1) A: "召开市场营销会议,确定年度、季度工作计划,
并将会议纪要发送给公司领导和其他有关部门" (hold a marketing meeting that fixes the annual and
quarterly work plan, and send its minutes to the company's leaders and the other departments
concerned).

A meeting is held for a period: a quarter (``2027-Q1``, the quarterly meeting) or a year
(``2027``, the annual meeting). Its minutes record decisions; each decision has a text, one
owner (a member), a due date and the departments it concerns. The minutes go to management,
marketing and every department named in them, and each decision becomes work for its owner.

Pure: standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from mktflow.domain.errors import BadInput
from mktflow.domain.model import MANAGEMENT, HandoffState, WorkState
from mktflow.domain.words import Phrase, on_field, phrase

__all__ = [
    "AGENDA_FORM_NAME",
    "APPROVAL_FORM_NAME",
    "DECISIONS_MAX",
    "MARKETING",
    "MINUTES_FORM_NAME",
    "TEXT_MAX",
    "Decision",
    "DecisionState",
    "MeetingKind",
    "MeetingState",
    "decision_state",
    "decisions_of",
    "meeting_kind",
    "meeting_ref",
    "minutes_problems",
    "recipients",
]

#: The department that holds the meetings (seed 001: 市场营销部).
MARKETING = "marketing"
#: The step forms' names (``WorkItem.form_name``): the agenda, the minutes, the head's approval.
AGENDA_FORM_NAME = "MeetingAgenda"
MINUTES_FORM_NAME = "MeetingMinutes"
APPROVAL_FORM_NAME = "MinutesApproval"
#: The longest decision text, and the most decisions one set of minutes holds.
TEXT_MAX = 2000
DECISIONS_MAX = 50

_QUARTER = re.compile(r"^\d{4}-Q[1-4]$")
_YEAR = re.compile(r"^\d{4}$")


class MeetingKind(StrEnum):
    """Which meeting: the quarterly one fixes a quarter's plan, the annual one a year's."""

    QUARTERLY = "quarterly"
    ANNUAL = "annual"


class MeetingState(StrEnum):
    """Where a meeting stands: its agenda being prepared, its minutes being written, the
    minutes with the head for approval, the minutes sent (its decisions are work)."""

    AGENDA = "agenda"
    MINUTES = "minutes"
    APPROVAL = "approval"
    SENT = "sent"


class DecisionState(StrEnum):
    """Where a decision's work stands, read from its work item or handoff."""

    OPEN = "open"  # nobody has started it (the item in the queue, the handoff offered)
    IN_HAND = "in hand"  # the owner holds it (claimed, delegated, accepted, delivered, returned)
    DONE = "done"  # completed, or the handoff confirmed
    DROPPED = "dropped"  # cancelled, or the handoff rejected
    DRAFT = "draft"  # the minutes are not sent yet: no work exists


def meeting_name(kind: str, period: str) -> Phrase:
    """The meeting as titles name it, ``quarterly marketing meeting 2027-Q1``, a message worded
    where shown."""
    if kind == MeetingKind.ANNUAL:
        return phrase("annual marketing meeting %(period)s", period=period)
    return phrase("quarterly marketing meeting %(period)s", period=period)


def meeting_kind(period: str) -> MeetingKind:
    """The kind of meeting a period names: ``2027-Q1`` quarterly, ``2027`` annual. BadInput
    naming the field otherwise."""
    text = period.strip()
    if _QUARTER.match(text):
        return MeetingKind.QUARTERLY
    if _YEAR.match(text):
        return MeetingKind.ANNUAL
    raise BadInput(on_field("period", phrase(
        "%(given)s is no meeting period (a quarter, e.g. 2027-Q1, or a year, e.g. 2027)",
        given=repr(period))))


def meeting_ref(meeting_id: int | None) -> str:
    """How a meeting is named to people: ``M-3``."""
    return f"M-{meeting_id}"


@dataclass(frozen=True)
class Decision:
    """One decision of the minutes: what, who owns it, by when, which departments it concerns
    (the owner's always among them)."""

    text: str
    owner: str
    due: date
    departments: tuple[str, ...]


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def minutes_problems(data: Mapping[str, Any], *, today: date,
                     members: Mapping[str, str | None],
                     departments: set[str]) -> list[tuple[str, str]]:
    """What makes minutes unfit to send, as (field path, message) pairs counting from 0
    (``decisions.1.owner``); empty when they pass.

    ``data``: the minutes step's answer (``held_on``, ``decisions``: each ``text``, ``owner``,
    ``due``, ``departments``); ``members``: e-mail -> department of the owners it names (None:
    not an active member); ``departments``: the department codes that exist.

    The rules: the meeting has been held (``held_on`` not after ``today``); the minutes record
    at least one decision (a meeting that fixes a plan decides something) and at most
    ``DECISIONS_MAX``; each decision says what (1 to ``TEXT_MAX`` characters), is owned by an
    active member, is due on or after the meeting day and not before today, and names only
    departments that exist.
    """
    problems: list[tuple[str, str]] = []
    held = _date(data.get("held_on"))
    if held is None:
        problems.append(("held_on", "the day the meeting was held is required (YYYY-MM-DD)"))
    elif held > today:
        problems.append(("held_on", f"{held.isoformat()} is after today ({today.isoformat()}): "
                                    "minutes are of a meeting held"))
    decisions = data.get("decisions")
    if not isinstance(decisions, list) or not decisions:
        problems.append(("decisions", "the minutes record at least one decision"))
        return problems
    if len(decisions) > DECISIONS_MAX:
        problems.append(("decisions", f"at most {DECISIONS_MAX} decisions, got "
                                      f"{len(decisions)}"))
    for i, d in enumerate(decisions):
        if not isinstance(d, Mapping):
            problems.append((f"decisions.{i}", "a decision is an object"))
            continue
        text = str(d.get("text") or "").strip()
        if not text:
            problems.append((f"decisions.{i}.text", "must say what was decided"))
        elif len(text) > TEXT_MAX:
            problems.append((f"decisions.{i}.text", f"at most {TEXT_MAX} characters"))
        owner = str(d.get("owner") or "").strip().lower()
        if not owner:
            problems.append((f"decisions.{i}.owner", "every decision has one owner (an e-mail)"))
        elif members.get(owner) is None:
            problems.append((f"decisions.{i}.owner", f"{owner} is not an active member"))
        due = _date(d.get("due"))
        if due is None:
            problems.append((f"decisions.{i}.due", "a due date is required (YYYY-MM-DD)"))
        elif held is not None and due < held:
            problems.append((f"decisions.{i}.due", f"{due.isoformat()} is before the meeting "
                                                   f"({held.isoformat()})"))
        elif due < today:
            problems.append((f"decisions.{i}.due", f"{due.isoformat()} has passed (today is "
                                                   f"{today.isoformat()})"))
        named = d.get("departments") or []
        for code in named if isinstance(named, list) else [named]:
            if str(code) not in departments:
                problems.append((f"decisions.{i}.departments",
                                 f"unknown department {str(code)!r}"))
    return problems


def decisions_of(data: Mapping[str, Any], members: Mapping[str, str | None]) -> list[Decision]:
    """The decisions of minutes that passed ``minutes_problems``; each names its owner's
    department among those it concerns."""
    out = []
    for d in data["decisions"]:
        owner = str(d["owner"]).strip().lower()
        named = [str(c) for c in (d.get("departments") or [])]
        out.append(Decision(text=str(d["text"]).strip(), owner=owner,
                            due=_date(d["due"]) or date.min,
                            departments=tuple(dict.fromkeys([*named, members[owner] or ""]))))
    return out


def recipients(decisions: list[Decision]) -> list[str]:
    """Who the minutes are sent to: management, then every other department a decision names
    (seed 001: 公司领导和其他有关部门), each once; marketing holds the meeting and has them."""
    named = sorted({d for x in decisions for d in x.departments} - {MANAGEMENT, MARKETING, ""})
    return [MANAGEMENT, *named]


_WORK = {WorkState.OPEN: DecisionState.OPEN, WorkState.CLAIMED: DecisionState.IN_HAND,
         WorkState.DELEGATED: DecisionState.IN_HAND, WorkState.DONE: DecisionState.DONE,
         WorkState.CANCELLED: DecisionState.DROPPED}
_HANDOFF = {HandoffState.OFFERED: DecisionState.OPEN, HandoffState.CONFIRMED: DecisionState.DONE,
            HandoffState.REJECTED: DecisionState.DROPPED,
            HandoffState.CANCELLED: DecisionState.DROPPED}


def decision_state(kind: str, state: str) -> DecisionState:
    """A decision's state from its work item's (``kind`` work) or handoff's state: a handoff
    accepted, delivered or returned is in hand; done only once the offering side confirms."""
    if kind == "work":
        return _WORK[WorkState(state)]
    return _HANDOFF.get(HandoffState(state), DecisionState.IN_HAND)
