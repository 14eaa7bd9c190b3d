"""Campaign: marketing plans (goal with measurable KPIs, target customers, channels, timetable,
an owner for every activity, budget lines) → approval by the authority matrix (marketing head up
to a threshold, above it finance then management) → execution (each activity a step for its
owner, spend recorded against budget lines, overspend beyond the tolerance re-approved) →
tracking (KPI actuals) → evaluation (KPI vs target, spend vs budget, cost per result, lessons)
→ report."""

from __future__ import annotations

from datetime import date
from itertools import count
from typing import Any

from prefect import flow
from pydantic import BaseModel, Field

from mktflow.config import get_settings
from mktflow.domain.campaign import CampaignEvaluation, evaluate, over_tolerance
from mktflow.domain.inputs import EMAIL_SHAPE
from mktflow.domain.model import ProcessStatus
from mktflow.domain.money import money, money_json, money_sum
from mktflow.domain.words import joined, phrase, word
from mktflow.prefect import tasks
from mktflow.prefect.approvals import describe, seek_approval
from mktflow.prefect.artifacts import markdown_table, publish, table_rows
from mktflow.prefect.steps import (
    StepDue,
    StepForm,
    WorkingTime,
    human_step,
    open_step,
    step_due,
    wait_for,
)
from mktflow.prefect.tasks import process_guard
from mktflow.prefect.tasks.campaign import (
    allocate,
    figures,
    record_activity,
    record_actuals,
    record_evaluation,
    record_plan,
    record_spend,
    set_status,
)

PROCESS = "campaign"


# --- parameters and forms -----------------------------------------------------------------


class KpiSpec(BaseModel):
    """A measurable goal: name, unit, target, and whether more is better."""

    name: str = Field(min_length=1)
    unit: str = ""
    target: float = Field(gt=0)
    higher_is_better: bool = True


class BudgetLineSpec(BaseModel):
    """Money the campaign asks for one purpose."""

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,60}$")
    title: str = Field(min_length=1)
    amount: float = Field(ge=0)


class ActivitySpec(BaseModel):
    """One activity, with its one owner and the budget line it charges."""

    title: str = Field(min_length=1)
    owner: str = Field(pattern=EMAIL_SHAPE.pattern, description="Owner's e-mail")
    channel: str = ""
    start: date | None = None
    end: date | None = None
    budget_line: str = Field(description="Code of the budget line it charges")


class CampaignPlan(StepForm):
    """The campaign plan marketing submits for approval."""

    name: str = Field(min_length=1)
    goal: str = Field(min_length=3)
    target_customers: str = Field(min_length=1)
    channels: list[str] = Field(min_length=1)
    start: date
    end: date
    kpis: list[KpiSpec] = Field(min_length=1)
    activities: list[ActivitySpec] = Field(min_length=1)
    budget_lines: list[BudgetLineSpec] = Field(min_length=1)


class CampaignRequest(BaseModel):
    """Start a campaign: its code, owner, branch, and the draft plan."""

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{1,60}$",
                      description="Campaign code (unique; the process's business key)")
    owner: str = Field(description="E-mail of the marketing member who owns the campaign")
    branch: str | None = Field(default=None, description="Branch running it (HQ if empty)")
    plan: CampaignPlan
    due_hours: float = Field(default=72, gt=0, description="Time each step has")
    due_working: WorkingTime | None = Field(
        default=None, description="Working time each step has, counted in the calendar of "
        "its branch ('3 working days', '2 working hours', 'end of the working day'); "
        "replaces due_hours")


class ActivityReport(StepForm):
    """An activity's owner reports: done, what it cost, what it achieved."""

    completed: bool
    spent: float = Field(ge=0, description="Money spent on the activity")
    results: str = ""


class KpiActual(BaseModel):
    """One KPI's measured value."""

    name: str
    actual: float = Field(ge=0)


class Tracking(StepForm):
    """Marketing records what each KPI actually reached."""

    actuals: list[KpiActual] = Field(min_length=1)


class Lessons(StepForm):
    """Marketing's lessons and adjustments after seeing the evaluation."""

    lessons: str = Field(min_length=3)
    adjustments: str = ""


# --- the flow -----------------------------------------------------------------------------


@flow(name="campaign", persist_result=True, flow_run_name="campaign-{request.code}")
def campaign(request: CampaignRequest) -> dict[str, Any]:
    """Plan, approve, execute, track and evaluate a marketing campaign."""
    refusal = tasks.start_refusal(PROCESS, request.code, "code", request.model_dump(mode="json"))
    if refusal:  # as `mktflow run` would refuse it: the field and the rule, no traceback
        return tasks.refused_start(refusal)
    pid = tasks.start_process(PROCESS, request.code, request.owner,
                              request.model_dump(mode="json"), request.branch)
    due = step_due(request.due_hours, request.due_working)
    with process_guard(pid):
        # 1. plan, and 2. approval by the authority matrix; rework goes back to the plan
        draft = request.plan.model_dump(mode="json")
        note = ""
        for attempt in count(1):
            planned = human_step(
                pid, f"plan-{attempt}", department="marketing", assignee=request.owner,
                branch=request.branch, form=CampaignPlan,
                title=phrase("Plan campaign %(code)s", code=request.code),
                due=due, initial=draft, description=note)
            plan, draft = planned.form, planned.form.model_dump(mode="json")
            # The engine refused a plan breaking the rules before the step was done
            # (mktflow.engine.answers, "CampaignPlan"); they run again here as the second line,
            # as the organisation may have changed since (an activity owner has left).
            problems = tasks.answer_problems(pid, planned.item_id, "CampaignPlan", draft)
            if problems:
                note = phrase("The plan was sent back: %(problems)s", problems=joined(problems))
                tasks.comment(planned.item_id, note, reason=joined(problems))
                continue
            campaign_id = record_plan(pid, request.code, draft, planned.by, request.owner,
                                      request.branch)
            total = money_sum(b.amount for b in plan.budget_lines)
            approval = seek_approval(
                pid, f"approval-{attempt}", process=PROCESS, amount=total,
                branch=request.branch, submitter=planned.by, due=due,
                subject=phrase("campaign %(code)s (%(amount)s)", code=request.code,
                               amount=total),
                details=phrase("Goal: %(goal)s. KPIs: %(kpis)s", goal=plan.goal,
                               kpis=", ".join(f"{k.name} {k.target:g} {k.unit}".rstrip()
                                              for k in plan.kpis)))
            if approval.approved:
                set_status(campaign_id, "approved", approval.approvers[-1],
                           approved_amount=total, matrix_version=approval.matrix_version)
                break
            if approval.decision == "reject":
                set_status(campaign_id, "rejected", approval.approvers[-1],
                           reason=approval.reason)
                return _end(pid, request, "rejected", approval.reason, describe(approval))
            set_status(campaign_id, "rework", approval.approvers[-1], reason=approval.reason)
            note = phrase("Rework asked by %(member)s: %(reason)s",
                          member=approval.approvers[-1], reason=approval.reason)

        # 3. execution: each activity a step for its owner; spend against its budget line
        set_status(campaign_id, "executing", "mktflow")
        now = figures(campaign_id)
        handles = [open_step(
            pid, f"activity-{a['id']}", department=tasks.member_department(a["owner"]),
            assignee=a["owner"], title=f"{request.code}: {a['title']}", form=ActivityReport,
            due=due, description=phrase("Charges budget line %(line)s.", line=a["budget_line"]))
            for a in now["activities"]]
        tolerance = get_settings().overspend_tolerance_pct
        for activity, handle in zip(now["activities"], handles, strict=True):
            report = wait_for(handle)
            record_spend(activity["budget_line_id"], report.form.spent,
                         f"p{pid}-activity-{activity['id']}", report.by, activity["title"], pid)
            record_activity(activity["id"], report.form.model_dump(mode="json"),
                            report.item_id, report.by)
            stop = _overspend(pid, campaign_id, request, report.by, activity, tolerance, due)
            if stop is not None:
                return stop

        # 4. tracking: KPI actuals
        set_status(campaign_id, "tracking", "mktflow")
        kpi_names = [k.name for k in figures(campaign_id)["kpis"]]
        initial = {"actuals": [{"name": n, "actual": 0} for n in kpi_names]}
        for attempt in count(1):
            tracked = human_step(pid, f"tracking-{attempt}", department="marketing",
                                 assignee=request.owner, title=phrase(
                                     "Record KPI actuals of %(code)s", code=request.code),
                                 form=Tracking, due=due, initial=initial)
            problems = tasks.answer_problems(pid, tracked.item_id, "Tracking",
                                             tracked.form.model_dump(mode="json"))
            if not problems:
                break
            tasks.comment(tracked.item_id, phrase("Asked again: %(problems)s",
                                                  problems=joined(problems)),
                          reason=joined(problems))
        record_actuals(campaign_id, {a.name: a.actual for a in tracked.form.actuals},
                       tracked.by)

        # 5. evaluation against the goal and the budget, with lessons
        result = evaluate(figures(campaign_id)["kpis"], figures(campaign_id)["lines"])
        lessons = human_step(pid, "evaluation", department="marketing", assignee=request.owner,
                             title=phrase("Evaluate campaign %(code)s", code=request.code),
                             form=Lessons, due=due,
                             description=_evaluation_md(result))
        record_evaluation(campaign_id, _evaluation_dict(result), lessons.form.lessons,
                          lessons.by)

        # 6. report
        _report(request.code, plan.goal, campaign_id, result, lessons.form.lessons)
        out = {"outcome": "evaluated", "campaign": request.code, **_evaluation_dict(result)}
        tasks.finish_process(pid, ProcessStatus.COMPLETED, result=out)
        return out


def _overspend(pid: int, campaign_id: int, request: CampaignRequest, reporter: str,
               activity: dict[str, Any], tolerance: float,
               due: StepDue) -> dict[str, Any] | None:
    """Re-approval when spend exceeds the budget beyond the tolerance; a result if stopped."""
    now = figures(campaign_id)
    allocated = money_sum(b.allocated for b in now["lines"])
    spent = money_sum(b.spent for b in now["lines"])
    if not over_tolerance(allocated, spent, tolerance):
        return None
    over = money(spent - allocated)
    approval = seek_approval(
        pid, f"overspend-{activity['id']}", process="campaign-overspend", amount=over,
        branch=None, submitter=reporter, due=due,
        subject=phrase("overspend of %(amount)s on campaign %(code)s", amount=over,
                       code=request.code),
        details=phrase("Spent %(spent)s of %(allocated)s allocated (tolerance %(tolerance)s%%).",
                       spent=spent, allocated=allocated, tolerance=f"{tolerance:g}"))
    if approval.approved:
        for line in now["lines"]:
            if line.spent > line.allocated:
                line_id = next(a["budget_line_id"] for a in now["activities"]
                               if a["budget_line"] == line.code)
                allocate(line_id, line.spent, approval.approvers[-1], pid)
        return None
    set_status(campaign_id, "stopped", approval.approvers[-1], reason=approval.reason)
    return _end(pid, request, "stopped", f"overspend not approved: {approval.reason}",
                describe(approval))


def _end(pid: int, request: CampaignRequest, outcome: str, reason: str,
         approval: dict[str, Any]) -> dict[str, Any]:
    publish(f"campaign-{request.code}",
            f"# Campaign {request.code}: {outcome}\n\n{reason}\n\n"
            f"Decided under authority matrix {approval['matrix_version']} "
            f"({approval['chain']}); steps {', '.join(approval['steps'])}.",
            description=f"campaign {request.code}")
    tasks.finish_process(pid, ProcessStatus.CANCELLED, reason=f"campaign {outcome}: {reason}",
                         result={"outcome": outcome, "reason": reason, "approval": approval})
    return {"outcome": outcome, "campaign": request.code, "reason": reason}


def _evaluation_dict(e: CampaignEvaluation) -> dict[str, Any]:
    # amounts in results are JSON numbers with their two places (mktflow.domain.money)
    return {"kpis": [k.__dict__ for k in e.kpis], "allocated": money_json(e.allocated),
            "spent": money_json(e.spent), "variance": money_json(e.variance),
            "utilisation": e.utilisation, "cost_per_result": money_json(e.cost_per_result),
            "kpis_met": e.kpis_met,
            "goal_met": e.goal_met}


def _evaluation_md(e: CampaignEvaluation) -> str:
    """The evaluation step's description: the KPIs' table and the spend, a message worded
    where shown (the table's head and its yes / no too)."""
    rows = [{"kpi": k.name, "target": k.target, "actual": k.actual,
             "achievement": f"{k.achievement:.0%}" if k.achievement is not None else "",
             "met": word("yes") if k.met else word("no")} for k in e.kpis]
    columns = ["kpi", "target", "actual", "achievement", "met"]
    figures = {"spent": e.spent, "allocated": e.allocated, "variance": e.variance,
               "cost": str(e.cost_per_result) if e.cost_per_result is not None
               else word("n/a"), "met": e.kpis_met, "kpis": len(e.kpis)}
    if not rows:
        return markdown_table(rows, columns) + phrase(
            "\nSpent **%(spent)s** of **%(allocated)s** allocated (variance %(variance)s); cost "
            "per result %(cost)s; %(met)s of %(kpis)s KPIs met.", **figures)
    return phrase("| kpi | target | actual | achievement | met |\n|---|---|---|---|---|\n"
                  "%(rows)s\nSpent **%(spent)s** of **%(allocated)s** allocated (variance "
                  "%(variance)s); cost per result %(cost)s; %(met)s of %(kpis)s KPIs met.",
                  rows=table_rows(rows, columns), **figures)


def _report(code: str, goal: str, campaign_id: int, e: CampaignEvaluation,
            lessons: str) -> None:
    lines = figures(campaign_id)["lines"]
    kpi_rows = [{"kpi": k.name, "unit": k.unit, "target": k.target, "actual": k.actual,
                 "achievement": k.achievement, "met": k.met} for k in e.kpis]
    budget_rows = [{"budget_line": b.code, "allocated": b.allocated, "spent": b.spent,
                    "variance": money(b.allocated - b.spent)} for b in lines]
    summary = (f"# Campaign {code}: evaluated\n\n**Goal:** {goal}\n\n"
               f"## KPIs and budget\n\n{_evaluation_md(e)}\n\n## Lessons\n\n{lessons}\n")
    publish(f"campaign-{code}", summary, kpi_rows, description=f"campaign {code}",
            more={"budget": budget_rows})
