"""Training from appraisal: the rules of training needs, a period's training plan, attendance
and the effect the next appraisal shows (issue 23, item 4).

Source: seed 001, 团队建设规范 5.1 "市场部应定期组织培训活动,提升团队成员的专业技能和综合素质"
(marketing organises training regularly to raise its members' skills); 团队建设 2 "市场部应建立
培训计划" (a training plan); 绩效评估 3 "对绩效不佳人员进行培训或者调整" (those who fall short
are trained or moved); seed 003 §1(1): the plan's goals are linked to each person's appraisal.

- **A training need.** A member's appraisal creates one when a KPI of the period was missed
  (actual short of target), each missed KPI a topic, or when the head signed the appraisal with
  the result ``training`` (``training_need``). A department's appraisal creates none: training
  is for people.
- **The plan.** Each department with needs in a period gets one plan step: sessions, each with
  a topic, its participants (active members), one owner (an active member) and its first and
  last day (``check_sessions``); a plan with no sessions says "no training this period". The
  head of the department approves it or returns it (a new plan step, the old sessions as its
  draft); whoever prepared it may not approve it (four eyes).
- **Attendance.** Each approved session's owner records who attended: only its participants
  (the attendance step's form lists them).
- **The effect.** A member's appraisal shows the sessions they attended since their previous
  appraisal (a session counts when its last day falls after the previous appraisal's period
  and not after this one's) and the change of attainment, in percentage points
  (``attainment_change``).

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = [
    "ATTENDANCE_FORM",
    "ATTENDANCE_FORM_NAME",
    "PLAN_APPROVAL_FORM",
    "PLAN_APPROVAL_FORM_NAME",
    "PLAN_FORM",
    "PLAN_FORM_NAME",
    "TOPIC_MAX",
    "TRAINING_FORM_NAMES",
    "SessionProblem",
    "attainment_change",
    "check_sessions",
    "counts_since",
    "training_need",
]

#: The longest topic of a session, in characters.
TOPIC_MAX = 200
PLAN_FORM_NAME = "TrainingPlan"
PLAN_APPROVAL_FORM_NAME = "TrainingPlanApproval"
ATTENDANCE_FORM_NAME = "TrainingAttendance"
#: The steps whose answers ``engine.training`` records.
TRAINING_FORM_NAMES = frozenset({PLAN_FORM_NAME, PLAN_APPROVAL_FORM_NAME, ATTENDANCE_FORM_NAME})

PLAN_FORM: dict[str, Any] = {
    "type": "object", "required": ["sessions"],
    "properties": {"sessions": {"type": "array", "items": {
        "type": "object", "required": ["topic", "participants", "owner", "starts_on", "ends_on"],
        "properties": {
            "topic": {"type": "string", "minLength": 1, "maxLength": TOPIC_MAX},
            "participants": {"type": "array", "minItems": 1,
                             "items": {"type": "string", "format": "email"}},
            "owner": {"type": "string", "format": "email"},
            "starts_on": {"type": "string", "format": "date"},
            "ends_on": {"type": "string", "format": "date"}},
        "additionalProperties": False}}},
}
PLAN_APPROVAL_FORM: dict[str, Any] = {
    "type": "object", "required": ["decision"],
    "properties": {"decision": {"enum": ["approve", "return"]},
                   "note": {"type": "string"}},
}
ATTENDANCE_FORM: dict[str, Any] = {
    "type": "object", "required": ["attended"],
    "properties": {"attended": {"type": "array", "items": {"type": "string",
                                                           "format": "email"}},
                   "note": {"type": "string"}},
}


def training_need(kpis: Iterable[dict[str, Any]], signed_result: str | None
                  ) -> tuple[str, ...] | None:
    """The topics of a member's training need from their appraisal: the names of the KPIs
    missed (``met`` False), in order; ``("signed: training",)`` when none was missed but the
    head signed the result ``training``; None when the appraisal creates no need.

    ``kpis``: the appraisal's rows (``kpi``, ``met``), as ``engine.reviews.appraise`` writes
    them. Seed 001, 绩效评估 3."""
    missed = tuple(dict.fromkeys(str(k["kpi"]) for k in kpis if k.get("met") is False))
    if missed:
        return missed
    return ("signed: training",) if signed_result == "training" else None


@dataclass(frozen=True)
class SessionProblem:
    """One broken rule of a session: the answer's field path and what is wrong."""

    field: str
    message: str


def check_sessions(sessions: Iterable[dict[str, Any]], *, members: set[str]
                   ) -> list[SessionProblem]:
    """Every problem of a plan's sessions (``sessions.0.ends_on``, counting from 0): a topic
    that says nothing, a participant or owner who is no active member (``members``: the
    active members' e-mails, lower case), a participant named twice, a last day before the
    first day or a date that is not ``YYYY-MM-DD``."""
    out: list[SessionProblem] = []
    for i, s in enumerate(sessions):
        at = f"sessions.{i}"
        if not str(s.get("topic", "")).strip():
            out.append(SessionProblem(f"{at}.topic", "must not be empty"))
        owner = str(s.get("owner", "")).strip().lower()
        if owner not in members:
            out.append(SessionProblem(f"{at}.owner", f"{owner or '(none)'} is not an active "
                                                     "member"))
        seen: set[str] = set()
        for j, raw in enumerate(s.get("participants") or []):
            email = str(raw).strip().lower()
            if email not in members:
                out.append(SessionProblem(f"{at}.participants.{j}",
                                          f"{email} is not an active member"))
            elif email in seen:
                out.append(SessionProblem(f"{at}.participants.{j}", f"{email} is named twice"))
            seen.add(email)
        days = [_day(s.get(k)) for k in ("starts_on", "ends_on")]
        for key, day in zip(("starts_on", "ends_on"), days, strict=True):
            if day is None:
                out.append(SessionProblem(f"{at}.{key}", f"{s.get(key)!r} is not a date "
                                                          "(YYYY-MM-DD)"))
        if days[0] and days[1] and days[1] < days[0]:
            out.append(SessionProblem(f"{at}.ends_on", f"{days[1]} is before the first day "
                                                       f"{days[0]}"))
    return out


def counts_since(ends_on: date, *, previous_end: date | None, end: date) -> bool:
    """Whether a session that ended on ``ends_on`` counts for an appraisal whose period ends
    on ``end`` (exclusive) and whose member's previous appraisal's period ended on
    ``previous_end`` (exclusive; None: no earlier appraisal, every earlier session counts)."""
    return (previous_end is None or ends_on >= previous_end) and ends_on < end


def attainment_change(before: float | None, after: float | None) -> float | None:
    """The change of attainment (shares 0..1) in percentage points, one decimal: 0.5 → 0.75
    is +25.0; None when either appraisal has no attainment."""
    if before is None or after is None:
        return None
    return round((after - before) * 100, 1)


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
