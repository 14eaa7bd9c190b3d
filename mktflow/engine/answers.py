"""Business rules a step's answer must pass besides its form: the second half of the check.

A step's form (a JSON schema) says what shape an answer has; the process's rules say whether
the process can act on it: a campaign plan whose end comes before its start fits the form but
cannot be run. ``complete`` (every door: CLI, REST, pages, the Prefect UI's resume form through
``reconcile_ui_answer``) and the page's *Check answers* run both checks, so an answer that breaks
a rule is refused before the step is done: nothing is written and the flow keeps waiting.

Rules are keyed by the step's form name (``WorkItem.form_name``: the ``StepForm`` class a flow
gives the step, e.g. ``CampaignPlan``); the engine never imports ``flows/``. Each rule reads
the answer (already checked against the form) and, where it needs to, the organisation and the
step's process, and returns ``Problem`` s naming the field path the answer uses
(``activities.0.owner``, counting from 0). Rules are written defensively: a form name may also
be given to a step made by hand (``POST /work``), so a rule skips what is not the shape it
knows rather than fail.

The rules and where they come from (the source documents, seed 000-003, as the docs' page
"The business mktflow serves" describes them):

- ``CampaignPlan``: the timetable runs forwards and the goal has measurable KPIs, each named
  once (seed 001, promotion: "推广活动的执行应有明确的时间表和责任人"; seed 002, measurable
  goals); every activity charges one of the plan's own budget lines, each named once (seed 001
  §3.2, spend within the budget); every activity's owner is an active member (seed 001
  "责任人", DOMAIN "every activity has one owner"; the activity becomes that member's step).
- ``Tracking``: the actuals are of the campaign's own KPIs (seed 001, "及时跟踪推广效果").
- ``Allocations``: finance allocates the project's own budget lines (seed 003, resource
  guarantee: resources allocated to the named plan items before the project goes on).
- ``OrderEntry``: the order's total (each quantity x unit price) is an amount the books can
  hold (``mktflow.domain.money.MONEY_MAX``; seed 003 names order handling a key process):
  recording the order would otherwise fail after the step.
- ``MeetingMinutes``: the meeting was held, it decided something, and each decision has a text,
  an active member as owner, a due date on or after the meeting and not past, and names only
  departments that exist (seed 001, 市场营销部 工作流程 1.(1) A; ``domain.meetings``).
- ``TrainingPlan``: every session's topic says something, its owner and participants are
  active members (each named once) and its last day is not before its first (seed 001,
  团队建设规范 5.1 and 团队建设 2: a training plan; ``mktflow.domain.training``). Who attended
  a session is held to its participants by the attendance step's own form.
- Approval, gate and letter decisions have no rule here: the reason to reject or rework is in
  their form, and who may decide is the authority matrix's check (``engine.transitions``).

A flow keeps its own check after the step as the second line (the organisation may change
between the answer and the flow reading it); what it finds is recorded on the step with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from mktflow.config import get_settings
from mktflow.domain import clock
from mktflow.domain.actors import SYSTEM
from mktflow.domain.campaign import plan_field_problems
from mktflow.domain.errors import FormInvalid
from mktflow.domain.inputs import normalise_email
from mktflow.domain.meetings import minutes_problems
from mktflow.domain.money import MONEY_MAX, exact
from mktflow.domain.training import check_sessions
from mktflow.domain.words import phrase
from mktflow.engine.common import find_member
from mktflow.store.tables import BudgetLine, Campaign, Department, Kpi, Member, Product

__all__ = [
    "AnswerContext",
    "Problem",
    "answer_problems",
    "answer_rule",
    "check_answer",
    "check_request",
    "member_problem",
    "minutes_check",
    "refusal",
    "request_problems",
    "rules_for",
]


@dataclass(frozen=True)
class Problem:
    """One broken rule: the answer's field path (``activities.0.owner``) and what is wrong."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class AnswerContext:
    """What a rule may read besides the answer: the session, and the step's process (or None)."""

    session: Session
    process_id: int | None


#: A rule: (context, answer) -> the problems found (empty when the answer passes).
AnswerRule = Callable[[AnswerContext, dict[str, Any]], list[Problem]]

_RULES: dict[str, list[AnswerRule]] = {}


def answer_rule(form_name: str) -> Callable[[AnswerRule], AnswerRule]:
    """Register a rule for steps whose form is ``form_name`` (a decorator)."""
    def register(rule: AnswerRule) -> AnswerRule:
        _RULES.setdefault(form_name, []).append(rule)
        return rule
    return register


def rules_for(form_name: str | None) -> list[AnswerRule]:
    """The rules registered for ``form_name`` (none for a step without a known form)."""
    return list(_RULES.get(form_name or "", ()))


def answer_problems(session: Session, *, form_name: str | None, process_id: int | None,
                    data: dict[str, Any]) -> list[Problem]:
    """Every problem the rules of ``form_name`` find in ``data`` (checked against the form
    first); empty when the answer passes or the form has no rules."""
    context = AnswerContext(session=session, process_id=process_id)
    return [p for rule in rules_for(form_name) for p in rule(context, data)]


def refusal(ref: str, problems: list[Problem], what: str = "the answer") -> FormInvalid:
    """``FormInvalid`` (a BadInput: 422, exit 2) naming every problem's field path."""
    details: list[dict[str, object]] = [
        {"field": p.field, "rule": "process rule", "message": p.message} for p in problems]
    return FormInvalid(f"{ref}: {what} breaks the process's rules: "
                       + "; ".join(str(p) for p in problems), details)


def check_answer(session: Session, *, ref: str, form_name: str | None, process_id: int | None,
                 data: dict[str, Any]) -> None:
    """Refuse ``data`` (raises FormInvalid naming each field path) if it breaks a rule."""
    problems = answer_problems(session, form_name=form_name, process_id=process_id, data=data)
    if problems:
        raise refusal(ref, problems)


# --- helpers: read an answer without trusting its shape -----------------------------------


def _rows(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """(index, row) of the objects in ``data[key]`` (other entries are skipped)."""
    value = data.get(key) if isinstance(data, dict) else None
    return [(i, row) for i, row in enumerate(value) if isinstance(row, dict)] \
        if isinstance(value, list) else []


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def member_problem(session: Session, email: Any) -> str | None:
    """Why ``email`` cannot own work (None when it names an active member)."""
    if not isinstance(email, str) or not email.strip():
        return phrase("an owner's e-mail is required")
    if email.strip().lower() == SYSTEM.email:
        return phrase("%(email)s is the process engine, not a member", email=email)
    member = find_member(session, email)
    if member is None or not member.active:
        return phrase("%(email)s is not an active member", email=email)
    return None


def _members(session: Session, emails: Iterable[tuple[str, Any]]) -> list[Problem]:
    return [Problem(path, why) for path, email in emails
            if (why := member_problem(session, email)) is not None]


# --- the rules ----------------------------------------------------------------------------


@answer_rule("CampaignPlan")
def campaign_plan(context: AnswerContext, data: dict[str, Any]) -> list[Problem]:
    """A campaign plan: forward timetable, unique measurable KPIs, activities charging the
    plan's own budget lines, and every activity owned by an active member."""
    problems: list[Problem] = []
    start, end = _date(data.get("start")), _date(data.get("end"))
    activities = _rows(data, "activities")
    if start is not None and end is not None:
        for field, message in plan_field_problems(
                start=start, end=end,
                kpi_names=[str(k.get("name")) for _i, k in _rows(data, "kpis")],
                activity_lines=[(str(a.get("title")), str(a.get("budget_line")))
                                for _i, a in activities],
                budget_codes=[str(b.get("code")) for _i, b in _rows(data, "budget_lines")]):
            problems.append(Problem(field, message))
    problems += _members(context.session,
                         ((f"activities.{i}.owner", a.get("owner")) for i, a in activities))
    return problems


@answer_rule("Tracking")
def campaign_tracking(context: AnswerContext, data: dict[str, Any]) -> list[Problem]:
    """KPI actuals name the campaign's own KPIs (the campaign of the step's process)."""
    if context.process_id is None:
        return []
    s = context.session
    camp = s.exec(select(Campaign).where(col(Campaign.process_id) == context.process_id)).first()
    if camp is None:
        return []
    names = [k.name for k in s.exec(select(Kpi).where(col(Kpi.campaign_id) == camp.id)
                                    .order_by(col(Kpi.id)))]
    return [Problem(f"actuals.{i}.name", phrase(
        "%(name)s is not a KPI of campaign %(code)s (it has %(names)s)", name=repr(a.get("name")),
        code=camp.code, names=", ".join(names) or "none"))
            for i, a in _rows(data, "actuals") if names and a.get("name") not in names]


@answer_rule("Allocations")
def project_allocations(context: AnswerContext, data: dict[str, Any]) -> list[Problem]:
    """Allocations name the new-product project's own budget lines."""
    if context.process_id is None:
        return []
    s = context.session
    product = s.exec(select(Product).where(
        col(Product.process_id) == context.process_id)).first()
    if product is None:
        return []
    codes = sorted(b.code for b in s.exec(select(BudgetLine).where(
        col(BudgetLine.plan_id) == product.plan_id)))
    return [Problem(f"allocations.{i}.code", phrase(
        "project %(project)s has no budget line %(code)s (it has %(codes)s)",
        project=product.code, code=repr(a.get("code")), codes=", ".join(codes) or "none"))
            for i, a in _rows(data, "allocations") if codes and a.get("code") not in codes]


@answer_rule("OrderEntry")
def order_entry(context: AnswerContext, data: dict[str, Any]) -> list[Problem]:
    """The order's total (each quantity x unit price, summed) is an amount the books can hold
    (``mktflow.domain.money.MONEY_MAX``)."""
    lines = [(x.get("quantity"), x.get("unit_price")) for _i, x in _rows(data, "lines")]
    if not all(_number(q) and _number(p) for q, p in lines):
        return []
    total = sum((exact(q) * exact(p) for q, p in lines), Decimal(0))
    if abs(total) < MONEY_MAX + Decimal("0.005"):
        return []
    return [Problem("lines", phrase("the order's total %(total)s is more than an amount may be "
                                    "(at most %(most)s)", total=total,
                                    most=format(MONEY_MAX, ",")))]


def minutes_check(session: Session, data: dict[str, Any]) -> list[tuple[str, str]]:
    """``domain.meetings.minutes_problems`` of a minutes answer, with the organisation as it
    is now and today in the schedules' zone: (field path, message) pairs."""
    decisions = data.get("decisions")
    rows = [d for d in decisions if isinstance(d, dict)] if isinstance(decisions, list) else []
    members: dict[str, str | None] = {}
    codes: set[str] = set()
    for d in rows:
        owner = str(d.get("owner") or "").strip().lower()
        if owner:
            member = find_member(session, owner)
            members[normalise_email(owner)] = member.department if member and member.active \
                and owner != SYSTEM.email else None
        named = d.get("departments") or []
        codes.update(str(c) for c in (named if isinstance(named, list) else [named]))
    known = set(session.exec(select(Department.code).where(
        col(Department.code).in_(sorted(codes))))) if codes else set()
    today = clock.now().astimezone(ZoneInfo(get_settings().schedule_tz)).date()
    return minutes_problems(data, today=today, members=members, departments=known)


@answer_rule("MeetingMinutes")
def meeting_minutes(context: AnswerContext, data: dict[str, Any]) -> list[Problem]:
    """Minutes a meeting can send (``minutes_check``)."""
    return [Problem(f, m) for f, m in minutes_check(context.session, data)]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- a process's run parameters -----------------------------------------------------------

#: Per process: the parameters naming members (``*`` stands for each entry of a list), and the
#: form whose rules the draft at ``path`` must pass.
_REQUEST_MEMBERS: dict[str, tuple[str, ...]] = {
    "campaign": ("owner", "plan.activities.*.owner"),
    "new-product-development": ("owner", "gate_approvers.*"),
    "order-handling": ("sales",),
}
_REQUEST_DRAFTS: dict[str, tuple[tuple[str, str], ...]] = {
    "campaign": (("plan", "CampaignPlan"),),
}


def _at(value: Any, path: list[str], trail: str) -> list[tuple[str, Any]]:
    """(field path, value) of every value ``path`` reaches in ``value`` (``*``: each entry)."""
    if not path:
        return [(trail, value)]
    head, rest = path[0], path[1:]
    if head == "*":
        return [hit for i, v in enumerate(value) for hit in _at(v, rest, f"{trail}.{i}")] \
            if isinstance(value, list) else []
    if not isinstance(value, dict) or head not in value:
        return []
    return _at(value[head], rest, f"{trail}.{head}" if trail else head)


def request_problems(session: Session, process: str, params: dict[str, Any]) -> list[Problem]:
    """What in a run's parameters breaks the process's rules: every member it names must be
    an active member (the owner, an activity's owner, a gate approver, ...), and a draft plan
    it carries must pass its form's rules (field paths from the parameters' top)."""
    found: list[Problem] = []
    for spec in _REQUEST_MEMBERS.get(process, ()):
        found += _members(session, _at(params, spec.split("."), ""))
    for key, form_name in _REQUEST_DRAFTS.get(process, ()):
        draft = params.get(key)
        if isinstance(draft, dict):
            found += [Problem(f"{key}.{p.field}", p.message) for p in answer_problems(
                session, form_name=form_name, process_id=None, data=draft)
                if not p.field.endswith(".owner")]  # owners are checked above
    return found


def check_request(session: Session, process: str, params: dict[str, Any]) -> None:
    """Refuse a run's parameters (FormInvalid naming each field) if they break a rule."""
    problems = request_problems(session, process, params)
    if problems:
        raise refusal(f"{process} parameters", problems, "the request")


@answer_rule("TrainingPlan")
def training_plan(context: AnswerContext, data: dict[str, Any]) -> list[Problem]:
    """A training plan's sessions: topics, active owners and participants, forward days."""
    members = {e.lower() for e in context.session.exec(
        select(Member.email).where(col(Member.active)))}
    return [Problem(p.field, p.message) for p in check_sessions(
        [row for _, row in _rows(data, "sessions")], members=members)]
