"""New-product development: marketing proposes (market need, target customers, positioning,
forecast) → management approves the project → finance allocates its budget → responsibility
letters to tech (design, prototype), production (trial run, capacity, unit cost) and supply
(materials, lead times), each accepted or rejected by the receiving department → stage gates
(concept, prototype, pilot, launch), each decided by the named approvers: go / rework / stop →
resource guarantee before launch (every budget line allocated, else the gate is blocked and
finance and management are told why) → launch plan by marketing → done. Marketing shapes the
product from the concept stage, not only at packaging."""

from __future__ import annotations

from datetime import date
from itertools import count
from typing import Any, Literal

from prefect import flow
from pydantic import BaseModel, Field

from mktflow.domain.model import ProcessStatus, ref_of
from mktflow.domain.money import money_sum
from mktflow.domain.products import GATES, GateDecision, combine, resource_gaps
from mktflow.domain.words import joined, phrase, word
from mktflow.prefect import tasks
from mktflow.prefect.approvals import describe, seek_approval
from mktflow.prefect.artifacts import markdown_table, publish
from mktflow.prefect.steps import (
    Answer,
    StepDue,
    StepForm,
    StepHandle,
    WorkingTime,
    due_arguments,
    human_step,
    open_step,
    step_due,
    wait_for,
)
from mktflow.prefect.tasks import process_guard
from mktflow.prefect.tasks.products import (
    allocate,
    record_proposal,
    record_stage,
    resources_of,
    set_status,
)

PROCESS = "new-product-development"

_NEEDS_REASON = {
    "if": {"properties": {"decision": {"enum": ["reject", "rework", "stop"]}}},
    "then": {"properties": {"reason": {"minLength": 3}}, "required": ["reason"]},
}

#: The responsibility letters: receiving department -> (title, deliverables, stage delivered at)
LETTERS: dict[str, tuple[str, list[str], str]] = {
    "tech": (phrase("Design and prototype"), ["product design", "working prototype"],
             phrase("prototype")),
    "production": (phrase("Trial run, capacity and unit cost"),
                   ["trial run report", "monthly capacity", "unit cost"], phrase("pilot")),
    "supply": (phrase("Materials and lead times"), ["materials secured", "lead times"],
               phrase("pilot")),
}


# --- parameters and forms -----------------------------------------------------------------


class ProjectBudgetLine(BaseModel):
    """Money the project needs for one purpose, and the department spending it."""

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,60}$")
    title: str = Field(min_length=1)
    department: str
    amount: float = Field(ge=0)


class ProjectRequest(BaseModel):
    """Start a new-product project."""

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{1,60}$",
                      description="Project code (unique; the process's business key)")
    product_name: str = Field(min_length=1)
    owner: str = Field(description="E-mail of the marketing member leading the project")
    gate_approvers: list[str] = Field(min_length=1,
                                      description="E-mails of who decides each stage gate")
    budget_lines: list[ProjectBudgetLine] = Field(min_length=1)
    due_hours: float = Field(default=120, gt=0, description="Time each step has")
    due_working: WorkingTime | None = Field(
        default=None, description="Working time each step has, counted in the calendar of "
        "its branch ('3 working days', '2 working hours', 'end of the working day'); "
        "replaces due_hours")


class Proposal(StepForm):
    """Marketing's proposal: why the market needs it, for whom, how it is positioned."""

    market_need: str = Field(min_length=3)
    target_customers: str = Field(min_length=3)
    positioning: str = Field(min_length=3)
    forecast_units: int = Field(gt=0, description="Units sold in the first year")
    forecast_revenue: float = Field(ge=0)


class Allocation(BaseModel):
    """An amount for one budget line."""

    code: str
    amount: float = Field(ge=0)


class Allocations(StepForm):
    """Finance allocates the project's budget lines."""

    allocations: list[Allocation] = Field(min_length=1)
    note: str = ""


class LetterAnswer(StepForm, json_schema_extra=_NEEDS_REASON):
    """The receiving department accepts the responsibility letter, or rejects it with a reason."""

    decision: Literal["accept", "reject"]
    reason: str = ""


class LetterRevision(StepForm, json_schema_extra={
    "if": {"properties": {"action": {"const": "stop"}}},
    "then": {"properties": {"reason": {"minLength": 3}}, "required": ["reason"]}}):
    """Marketing revises a rejected letter and offers it again, or stops the project."""

    action: Literal["re-offer", "stop"]
    deliverables: list[str] = Field(default_factory=list)
    criteria: str = ""
    reason: str = ""


class ConceptBrief(StepForm):
    """Marketing shapes the concept: what it is, how it is packaged, at what price."""

    concept: str = Field(min_length=3)
    packaging_direction: str = Field(min_length=3)
    price_point: float = Field(gt=0)


class PrototypeReport(StepForm):
    """Tech reports the design and the prototype."""

    design_summary: str = Field(min_length=3)
    prototype_ready: bool


class TrialRun(StepForm):
    """Production reports the trial run, capacity and unit cost."""

    trial_ok: bool
    capacity_per_month: int = Field(gt=0)
    unit_cost: float = Field(gt=0)


class Materials(StepForm):
    """Supply reports materials and lead times."""

    materials_secured: bool
    lead_time_days: int = Field(ge=0)


class GateForm(StepForm, json_schema_extra=_NEEDS_REASON):
    """A gate approver's decision: go, rework (back to the stage), or stop the project."""

    decision: Literal["go", "rework", "stop"]
    reason: str = ""


class LaunchPlan(StepForm):
    """Marketing's launch plan."""

    launch_date: date
    channels: list[str] = Field(min_length=1)
    message: str = Field(min_length=3)
    launch_budget: float = Field(ge=0)


#: What each stage's work is: (step, department, form, letter it delivers)
STAGE_WORK: dict[str, list[tuple[str, str, type[StepForm], str | None]]] = {
    "concept": [("concept-brief", "marketing", ConceptBrief, None)],
    "prototype": [("prototype", "tech", PrototypeReport, "tech")],
    "pilot": [("trial-run", "production", TrialRun, "production"),
              ("materials", "supply", Materials, "supply")],
    "launch": [],
}


# --- the flow -----------------------------------------------------------------------------


@flow(name="new-product-development", persist_result=True,
      flow_run_name="new-product-{project.code}")
def new_product_development(project: ProjectRequest) -> dict[str, Any]:
    """Take a new product from marketing's proposal through the stage gates to launch."""
    refusal = tasks.start_refusal(PROCESS, project.code, "code", project.model_dump(mode="json"))
    if refusal:  # as `mktflow run` would refuse it: the field and the rule, no traceback
        return tasks.refused_start(refusal)
    pid = tasks.start_process(PROCESS, project.code, project.owner,
                              project.model_dump(mode="json"))
    due = step_due(project.due_hours, project.due_working)
    lines = [b.model_dump(mode="json") for b in project.budget_lines]
    log: list[dict[str, Any]] = []
    with process_guard(pid):
        # 1. marketing proposes; management approves the project (rework back to the proposal)
        note = ""
        for attempt in count(1):
            proposal = human_step(
                pid, f"proposal-{attempt}", department="marketing", assignee=project.owner,
                title=phrase("Propose new product %(name)s", name=project.product_name),
                form=Proposal, due=due,
                description=note)
            product_id = record_proposal(pid, project.code, project.product_name,
                                         proposal.form.model_dump(mode="json"), lines,
                                         project.owner, proposal.by)
            total = money_sum(b.amount for b in project.budget_lines)
            approval = seek_approval(
                pid, f"project-approval-{attempt}", process="new-product", amount=total,
                branch=None, submitter=proposal.by, due=due,
                subject=phrase("new-product project %(code)s (%(amount)s)", code=project.code,
                               amount=total),
                details=phrase("Market need: %(need)s. Forecast %(units)s units.",
                               need=proposal.form.market_need,
                               units=proposal.form.forecast_units))
            log.append({"step": "project approval", "decision": approval.decision,
                        "by": ", ".join(approval.approvers), "reason": approval.reason})
            if approval.approved:
                break
            if approval.decision == "reject":
                set_status(product_id, "rejected", approval.approvers[-1], approval.reason)
                return _end(pid, project, product_id, "rejected", approval.reason, log,
                            describe(approval))
            note = phrase("Rework asked by %(member)s: %(reason)s",
                          member=approval.approvers[-1], reason=approval.reason)
        set_status(product_id, "active", approval.approvers[-1])
        submitter = proposal.by

        # 2. finance allocates the project's budget
        _allocate(pid, product_id, project, "budget-allocation", due,
                  "Allocate the approved project's budget lines.")

        # 3. responsibility letters, each accepted or rejected by the receiving department
        letters: dict[str, int] = {}
        for dept in LETTERS:
            outcome = _letter(pid, project, dept, due)
            if isinstance(outcome, str):
                set_status(product_id, "stopped", project.owner, outcome)
                return _end(pid, project, product_id, "stopped", outcome, log, None)
            letters[dept] = outcome
            log.append({"step": f"letter to {dept}", "decision": "accepted", "by": dept,
                        "reason": ""})

        # 4. stage gates; the resource guarantee is checked before the launch gate
        for gate in GATES:
            for round_ in count(1):
                doers = _stage_work(pid, project, product_id, gate, round_, letters, due)
                if gate == "launch":
                    _guarantee_resources(pid, project, product_id, due)
                decision, reasons = _gate(pid, project, gate, round_, [submitter, *doers], due)
                log.append({"step": f"{gate} gate (round {round_})", "decision": decision,
                            "by": ", ".join(project.gate_approvers), "reason": reasons})
                delivered = [d for d, (_t, _d, at) in LETTERS.items() if at == gate]
                if decision == GateDecision.GO:
                    for dept in delivered:
                        tasks.handoff_action(letters[dept], "confirm", project.owner)
                    break
                if decision == GateDecision.STOP:
                    set_status(product_id, "stopped", project.owner, reasons)
                    return _end(pid, project, product_id, "stopped", reasons, log, None)
                for dept in delivered:
                    tasks.handoff_action(letters[dept], "return", project.owner,
                                         reason=f"{gate} gate asks for rework: {reasons}")

        # 5. marketing's launch plan
        plan = human_step(pid, "launch-plan", department="marketing", assignee=project.owner,
                          title=phrase("Launch plan for %(name)s", name=project.product_name),
                          form=LaunchPlan,
                          due=due)
        record_stage(product_id, "launched", plan.form.model_dump(mode="json"), plan.by)
        set_status(product_id, "launched", plan.by)
        log.append({"step": "launch plan", "decision": "done", "by": plan.by,
                    "reason": str(plan.form.launch_date)})
        return _end(pid, project, product_id, "launched", "", log, None)


def _allocate(pid: int, product_id: int, project: ProjectRequest, key: str,
              due: StepDue, why: str) -> None:
    """Finance allocates budget lines (asked again while a code is unknown)."""
    initial = {"allocations": [{"code": b.code, "amount": b.amount}
                               for b in project.budget_lines]}
    for attempt in count(1):
        answer = human_step(pid, f"{key}-{attempt}", department="finance", due=due,
                            title=phrase("Allocate the budget of project %(code)s",
                                         code=project.code),
                            form=Allocations, initial=initial, description=why)
        problems = tasks.answer_problems(pid, answer.item_id, "Allocations",
                                         answer.form.model_dump(mode="json"))
        if not problems:
            break
        tasks.comment(answer.item_id, phrase("Asked again: %(problems)s",
                                             problems=joined(problems)),
                      reason=joined(problems))
    for a in answer.form.allocations:
        allocate(product_id, a.code, a.amount, answer.by, pid)


def _letter(pid: int, project: ProjectRequest, dept: str, due: StepDue) -> int | str:
    """Offer a responsibility letter until accepted; its handoff id, or why the project stops."""
    title, deliverables, _stage = LETTERS[dept]
    criteria: str = phrase("Delivered to marketing for the %(stage)s gate of project %(code)s.",
                           stage=_stage, code=project.code)
    for attempt in count(1):
        handoff_id = tasks.offer_handoff(
            process_id=pid, step_key=f"letter-{dept}-{attempt}", actor=project.owner,
            from_department="marketing", to_department=dept,
            title=phrase("%(code)s: %(title)s", code=project.code, title=title),
            **due_arguments(due),
            criteria=criteria, deliverables=deliverables, letter=True)
        letter = ref_of("handoff", handoff_id)
        answer = human_step(
            pid, f"letter-{dept}-{attempt}", department=dept, form=LetterAnswer, due=due,
            title=phrase("Accept or reject responsibility letter %(letter)s (%(title)s)",
                         letter=letter, title=title),
            description=phrase("Deliverables: %(deliverables)s. %(criteria)s",
                               deliverables=", ".join(deliverables), criteria=criteria))
        if answer.form.decision == "accept":
            tasks.handoff_action(handoff_id, "accept", answer.by)
            return handoff_id
        tasks.handoff_action(handoff_id, "reject", answer.by, reason=answer.form.reason)
        revision = human_step(
            pid, f"letter-{dept}-{attempt}-revision", department="marketing",
            assignee=project.owner, form=LetterRevision, due=due,
            title=phrase("%(department)s rejected letter %(letter)s: revise it or stop the project",
                         department=dept, letter=letter),
            description=phrase("Reason given: %(reason)s", reason=answer.form.reason),
            initial={"action": "re-offer", "deliverables": deliverables,
                     "criteria": criteria})
        if revision.form.action == "stop":
            return f"{dept} rejected the responsibility letter: {revision.form.reason}"
        deliverables = revision.form.deliverables or deliverables
        criteria = revision.form.criteria or criteria
    raise AssertionError("unreachable")


def _stage_work(pid: int, project: ProjectRequest, product_id: int, gate: str, round_: int,
                letters: dict[str, int], due: StepDue) -> list[str]:
    """The departments' work for a stage (all asked at once); who did it."""
    handles: list[tuple[StepHandle[Any], str | None]] = [
        (open_step(pid, f"{key}-{round_}", department=dept, form=form, due=due,
                   assignee=project.owner if dept == "marketing" else None,
                   title=phrase("%(code)s %(gate)s: %(work)s", code=project.code,
                                gate=word(gate), work=word(form.__doc__ or key))), letter)
        for key, dept, form, letter in STAGE_WORK[gate]]
    doers = []
    for handle, letter in handles:
        answer: Answer[Any] = wait_for(handle)
        facts = answer.form.model_dump(mode="json")
        record_stage(product_id, gate, facts, answer.by)
        if letter is not None:
            tasks.handoff_action(letters[letter], "deliver", answer.by, data=facts)
        doers.append(answer.by)
    return doers


def _guarantee_resources(pid: int, project: ProjectRequest, product_id: int,
                         due: StepDue) -> None:
    """Block the launch gate until every budget line is allocated; tell finance and management."""
    for blocked in count(1):
        gaps = resource_gaps(resources_of(product_id))
        if not gaps:
            return
        why = phrase("Launch gate blocked, resources not guaranteed: %(gaps)s",
                     gaps=gaps)
        handle = open_step(pid, f"resource-guarantee-{blocked}", department="finance",
                           form=Allocations, due=due,
                           title=phrase("Allocate the missing budget of project %(code)s",
                                        code=project.code),
                           description=why)
        tasks.notice_departments(pid, handle.item_id, ["finance", "management"],
                                 "process.gate_blocked", why, f"launch-{blocked}")
        answer = wait_for(handle)
        for a in answer.form.allocations:
            allocate(product_id, a.code, a.amount, answer.by, pid)


def _gate(pid: int, project: ProjectRequest, gate: str, round_: int, submitters: list[str],
          due: StepDue) -> tuple[GateDecision, str]:
    """Each named approver decides (all asked at once); the combined decision and reasons."""
    handles = [open_step(
        pid, f"gate-{gate}-{round_}-{n}", department=tasks.member_department(approver),
        assignee=approver, form=GateForm, due=due,
        excluded=submitters,  # whoever did the stage's work does not pass its gate
        title=phrase("%(code)s: %(gate)s gate decision (go / rework / stop)", code=project.code,
                     gate=word(gate)))
        for n, approver in enumerate(project.gate_approvers, start=1)]
    answers = [wait_for(h) for h in handles]
    reasons = "; ".join(f"{a.by}: {a.form.reason}" for a in answers if a.form.reason)
    return combine(a.form.decision for a in answers), reasons


def _end(pid: int, project: ProjectRequest, product_id: int, outcome: str, reason: str,
         log: list[dict[str, Any]], approval: dict[str, Any] | None) -> dict[str, Any]:
    resources = resources_of(product_id)
    rows = [{"budget_line": r.code, "title": r.title, "planned": r.planned,
             "allocated": r.allocated} for r in resources]
    summary = (f"# New product {project.product_name} ({project.code}): {outcome}\n\n"
               + (f"{reason}\n\n" if reason else "")
               + "## Steps\n\n" + markdown_table(log, ["step", "decision", "by", "reason"])
               + "\n## Budget\n\n" + markdown_table(rows, ["budget_line", "title", "planned",
                                                          "allocated"]))
    publish(f"new-product-{project.code}", summary, rows,
            description=f"new product {project.code}")
    result = {"outcome": outcome, "project": project.code, "reason": reason,
              "budget": rows, "approval": approval}
    status = ProcessStatus.COMPLETED if outcome == "launched" else ProcessStatus.CANCELLED
    tasks.finish_process(pid, status, result=result, reason=reason or None)
    return result
