"""The recurring cycles' part of ``mktflow demo``: run every scheduled flow once, then answer
the steps they handed out as the demo organisation's members would.

Imports Prefect (it runs flows); only ``mktflow.demo.runner`` imports it, inside ``run_demo``.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select

from mktflow import bootstrap
from mktflow.demo.members import hq_branches, pick_member
from mktflow.domain.cycles import CYCLES
from mktflow.domain.errors import MktflowError
from mktflow.domain.model import Role
from mktflow.domain.training import ATTENDANCE_FORM_NAME, PLAN_FORM_NAME
from mktflow.engine import reviews, training, work
from mktflow.engine.common import ref
from mktflow.engine.forms import example_data
from mktflow.engine.notices import head_of
from mktflow.engine.steps import complete_step
from mktflow.store.tables import Member, ProcessInstance, TrainingPlan, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["run_cycles", "training_outcome"]

SALES_HEAD = "carlos.mendez@example.com"
MARKETING_HEAD = "ana.torres@example.com"

#: Two marketing members' KPIs for the period the appraisal reads: Olga misses one (a training
#: need the training cycle plans for), Marco meets his. (owner, name, target, actual)
MEMBER_KPIS = (
    ("olga.petrova@example.com", "stores listed", 40.0, 31.0),
    ("olga.petrova@example.com", "tasting days held", 12.0, 12.0),
    ("marco.rossi@example.com", "stores listed", 25.0, 27.0),
)

#: Three distributors: one strong, one weak on every criterion, one in between.
DISTRIBUTORS = (
    ("D-NORTH", "Northern Wholesale", "north",
     {"sales": 126000, "target": 120000, "days_late": 2, "coverage": 0.9, "complaints": 0}),
    ("D-SOUTH", "Southern Traders", "south",
     {"sales": 48000, "target": 100000, "days_late": 45, "coverage": 0.3, "complaints": 6}),
    ("D-CITY", "City Cash & Carry", "hq",
     {"sales": 81000, "target": 90000, "days_late": 10, "coverage": 0.6, "complaints": 1}),
)


def _uow() -> UnitOfWork:
    return bootstrap.uow()  # carries the resumer that hands each answered step to its run


def _seed_distributors(period: str) -> None:
    """The demo's distributors and their figures for the period channel evaluation scores."""
    for code, name, branch, figures in DISTRIBUTORS:
        with suppress(MktflowError):  # already on the books from an earlier demo
            reviews.add_distributor(_uow(), code=code, name=name, owner_email=SALES_HEAD,
                                    actor_email=SALES_HEAD, branch=branch)
        reviews.record_distributor_figures(_uow(), code=code, period=period, figures=figures,
                                           actor_email=SALES_HEAD)


def _seed_member_kpis(period: str) -> None:
    """The marketing members' KPIs of the period the appraisal reads, set by their head."""
    for owner, name, target, actual in MEMBER_KPIS:
        reviews.record_member_kpi(_uow(), owner_email=owner, name=name, period=period,
                                  target=target, actual=actual, actor_email=MARKETING_HEAD)


def _open_cycle_steps() -> list[WorkItem]:
    with _uow() as u:
        return list(u.session.exec(
            select(WorkItem).join(ProcessInstance,
                                  col(WorkItem.process_id) == col(ProcessInstance.id))
            .where(col(ProcessInstance.process).in_(sorted(CYCLES)),
                   col(WorkItem.state).in_(["open", "claimed"]))
            .order_by(col(WorkItem.id))))


def _answer_steps(echo: Callable[[str], None]) -> int:
    """Answer every open step of the cycles with the smallest data its form accepts, and the
    steps those answers open (a training plan's approval), for up to three rounds."""
    with _uow() as u:
        members = list(u.session.exec(select(Member).where(col(Member.active))
                                      .order_by(col(Member.id))))
    hq = hq_branches()
    answered = 0
    for _ in range(3):
        steps = _open_cycle_steps()
        if not steps:
            break
        answered += _answer_round(steps, members, hq, echo)
    return answered


def _answer_round(steps: list[WorkItem], members: list[Member], hq: set[str],
                  echo: Callable[[str], None]) -> int:
    answered = 0
    for item in steps:
        assert item.id is not None
        actor = pick_member(item, members, hq)
        if item.form_name == PLAN_FORM_NAME:  # the deputy prepares, so the head approves
            actor = next((m.email for m in members if m.department == item.department
                          and m.role != Role.HEAD and m.email not in item.excluded), actor)
        if item.state == "open":
            work.claim(_uow(), item.id, actor_email=actor)
        complete_step(_uow(), item.id, actor_email=actor, data=_cycle_answer(item))
        echo(f"   {ref(item)} {item.department:<10} {item.title[:60]:<60} <- {actor}")
        answered += 1
    return answered


def _cycle_answer(item: WorkItem) -> dict[str, Any]:
    """The demo's answer to a cycle's step: a training plan with one session a week ahead per
    need's topic (its member the participant, the department's head the owner), every
    participant at their session; any other step the smallest data its form accepts."""
    if item.form_name == PLAN_FORM_NAME:
        from mktflow.domain import clock

        with _uow() as u:
            plan = u.session.exec(select(TrainingPlan).where(
                col(TrainingPlan.prepare_item_id) == item.id)).one()
        needs = training.list_needs(_uow(), period=plan.period, department=plan.department)
        first = clock.today() + timedelta(days=7)
        with _uow() as u:
            owner = head_of(u, plan.department) or MARKETING_HEAD
        return {"sessions": [
            {"topic": topic, "participants": [n.member], "owner": owner,
             "starts_on": first.isoformat(), "ends_on": (first + timedelta(days=1)).isoformat()}
            for n in needs for topic in n.topics]}
    if item.form_name == ATTENDANCE_FORM_NAME:
        schema = item.form_schema or {}
        return {"attended": list(schema["properties"]["attended"]["items"]["enum"])}
    return example_data(item.form_schema)


def _gist(result: Any) -> str:
    if not isinstance(result, dict):
        return str(result)
    shown = {k: v for k, v in result.items() if isinstance(v, int | float | str) and v != ""}
    return ", ".join(f"{k}={v}" for k, v in list(shown.items())[:6])


def _run_reports(flows: dict[str, Any], echo: Callable[[str], None]) -> list[dict[str, Any]]:
    """The work reports' day, as it goes: the morning's report steps (on the last working day
    of the default working day, so a demo run at the weekend has reports too), every member but
    one writing their report, the evening's digest naming the one missing, and that week and
    month gathered for management."""
    from mktflow.domain.work_reports import (
        ReportKind,
        default_working_day,
        period_label,
        period_start,
        previous_working_day,
    )
    from mktflow.engine import work_reports

    calendar = default_working_day(_uow().settings.schedule_tz)
    today = work_reports.today_for(_uow())
    day = today if calendar.is_working_day(today) else previous_working_day(calendar, today)
    results = []

    def run(name: str, **params: Any) -> None:
        result = flows[name](**params)
        echo(f"\n== {name}: {_gist(result)}")
        results.append({"flow": name, "result": result})

    run("daily-reports", day=day)
    with _uow() as u:
        steps = list(u.session.exec(select(WorkItem).where(
            col(WorkItem.step_key).startswith(f"report/daily/{day.isoformat()}/"),
            col(WorkItem.state) == "claimed").order_by(col(WorkItem.id))))
    for item in steps[:-1]:  # the last one forgets: the digest names them
        assert item.assignee_email is not None
        work_reports.submit(_uow(), actor_email=item.assignee_email, period=day.isoformat(),
                            done=f"Worked on {item.department}'s plan for the week",
                            problems="None", next_="Carry on tomorrow")
        echo(f"   {ref(item)} {item.department:<10} daily report <- {item.assignee_email}")
    run("report-digest", day=day)
    for kind in (ReportKind.WEEKLY, ReportKind.MONTHLY):
        run(f"{kind}-reports", period=period_label(kind, period_start(kind, day)))
    return results


#: The planning meetings' flows: they wait for people, so the demo answers their steps.
MEETINGS = ("quarterly-meeting", "annual-meeting")


def _meeting_answer(item: WorkItem, today: date) -> dict[str, Any]:
    """The demo's answer to a meeting's step: the agenda as pre-filled, minutes with two
    decisions (one for a marketing specialist, one handed to sales), the head's approval."""
    key = item.step_key or ""
    if key == "agenda":
        return {"agenda": (item.draft or {}).get("agenda") or "The work plan."}
    if key.startswith("approval-"):
        return {"decision": "approve"}
    return {"held_on": today.isoformat(), "attendees": "Ana Torres, Li Na, Olga Petrova",
            "summary": "The plan's priorities agreed; two decisions.", "decisions": [
                {"text": "Run the spring trade-fair campaign",
                 "owner": "olga.petrova@example.com",
                 "due": (today + timedelta(days=30)).isoformat(), "departments": ["sales"]},
                {"text": "Train the sales team on the new product line", "owner": SALES_HEAD,
                 "due": (today + timedelta(days=45)).isoformat(), "departments": []}]}


def _run_meeting(name: str, flow_fn: Callable[..., Any], echo: Callable[[str], None]
                 ) -> dict[str, Any]:
    """Hold one meeting: its flow in a thread, its agenda, minutes and approval answered as
    marketing would; then its decisions are work (the round's answers complete marketing's)."""
    from zoneinfo import ZoneInfo

    from mktflow.domain import clock
    from mktflow.domain.cycles import Frequency, next_period, period_of

    today = clock.now().astimezone(ZoneInfo(_uow().settings.schedule_tz)).date()
    period = period_of(today, Frequency.QUARTERLY) if name == "quarterly-meeting" else \
        next_period(period_of(today, Frequency.YEARLY), Frequency.YEARLY)
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = flow_fn(period=period)
        except BaseException as exc:  # shown to the person running the demo
            box["error"] = exc

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), daemon=True)
    thread.start()
    with _uow() as u:
        members = list(u.session.exec(select(Member).where(col(Member.active))
                                      .order_by(col(Member.id))))
    hq = hq_branches()
    while thread.is_alive():
        with _uow() as u:
            items = list(u.session.exec(
                select(WorkItem).join(ProcessInstance,
                                      col(WorkItem.process_id) == col(ProcessInstance.id))
                .where(col(ProcessInstance.business_key) == f"{name}/{period}",
                       col(WorkItem.form_name).in_(["MeetingAgenda", "MeetingMinutes",
                                                    "MinutesApproval"]),
                       col(WorkItem.state).in_(["open", "claimed"]))
                .order_by(col(WorkItem.id))))
        for item in items:
            assert item.id is not None
            actor = pick_member(item, members, hq)
            if item.state == "open":
                work.claim(_uow(), item.id, actor_email=actor)
            complete_step(_uow(), item.id, actor_email=actor, data=_meeting_answer(item, today))
            echo(f"   {ref(item)} {item.department:<10} {item.title[:60]:<60} <- {actor}")
        time.sleep(0.2)
    thread.join()
    if "error" in box:
        raise box["error"]
    result: dict[str, Any] = box["result"]
    echo(f"\n== {name}: {_gist(result)}; minutes sent to {', '.join(result['sent_to'])}, "
         f"decisions at work: {', '.join(result['work'])}")
    return result


def run_cycles(echo: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run each recurring flow once: the cycles, the SLA sweep and the outbox relay (which
    ``mktflow serve`` runs as a thread of its own; here one drain sends the demo's notices),
    not the work pools' process reconciler (serve runs it as a thread too)."""
    from deployments.catalog import load
    from mktflow.prefect.cycles import default_period

    _seed_distributors(default_period("channel-evaluation"))
    _seed_member_kpis(default_period("performance-appraisal"))
    results: list[dict[str, Any]] = []
    reports = []
    meetings: list[tuple[str, Callable[..., Any]]] = []
    for entry in load():
        if "process" in entry.spec.tags or "recovery" in entry.spec.tags:
            continue
        if entry.flow is None:
            raise RuntimeError(f"{entry.spec.name}: {entry.problem}")
        if "reports" in entry.spec.tags:  # run in their day's order below
            reports.append(entry)
            continue
        if entry.spec.name in MEETINGS:  # they wait for people: held below
            meetings.append((entry.spec.name, entry.flow))
            continue
        result = entry.flow()
        echo(f"\n== {entry.spec.name}: {_gist(result)}")
        results.append({"flow": entry.spec.name, "result": result})
    results += _run_reports({e.spec.name: e.flow for e in reports}, echo)
    for name, flow_fn in meetings:
        results.append({"flow": name, "result": _run_meeting(name, flow_fn, echo)})
    echo("\n== answering the steps the cycles handed out")
    answered = _answer_steps(echo)
    echo(f"   {answered} step(s) answered; the next run of each cycle records them")
    for plan in training_outcome():
        echo(f"   training plan {plan['period']} for {plan['department']}: {plan['status']} "
             f"by {plan['approved_by']}; " + "; ".join(
                 f"{s['topic']}: {len(s['attended'] or [])} of {len(s['participants'])} "
                 "attended" for s in plan["sessions"]))
    return results


def training_outcome() -> list[dict[str, Any]]:
    """The training plans of the period the demo appraised, as the demo left them: who
    approved each, and how many of each session's participants attended."""
    from mktflow.prefect.cycles import default_period

    return [{"department": p.department, "period": p.period, "status": p.status,
             "approved_by": p.approved_by,
             "sessions": [{"topic": s.topic, "participants": s.participants,
                           "attended": s.attended} for s in p.sessions]}
            for p in training.list_plans(_uow(), period=default_period("training"))]
