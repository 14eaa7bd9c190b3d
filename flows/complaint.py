"""A customer complaint to closure: a case in customer service, handed to the department that
must act, answered, and closed only when the customer says they are satisfied.

Source: seed 001, 市场部管理制度 四、职责分工 2 (客户服务部: 收集客户反馈并及时反馈给公司相关部门,
推动问题的解决) and 五、工作流程 2.(1) C (负责协助处理客户的抱怨或问题,并带领相应团队进行解决).
Rules: ``mktflow.domain.complaints``; handlers: ``mktflow.engine.complaints``.

The ``complaint`` deployment's Run form is the Prefect UI's door to a complaint (opening a case
decides nothing, so the customer-service member's e-mail is typed there). The run opens the case
and follows it round by round: each step (respond in customer service, act in the department
that must act, the customer's answer in customer service) waits in its department's queue and
is answered at any door (``mktflow complaint``, ``/complaints``, the case's page, ``mktflow
work complete``, or this run's resume form in the Prefect UI: no step of a case asks for a
decision). Answering a step moves the case in the engine (``complaints.follow_step``), which
puts the next step in its queue; the run waits on it. When the acting department rejects the
handoff, its act step is cancelled and the case goes back to customer service with a new
respond step (``complaint_handoffs.hand_back``): the run, woken on the cancelled step, reads the
case again and waits on that step; only a case that is over (cancelled) ends the run there.
The artifact shows the case's rounds.
A case opened at another door (the order follow-up, the CLI, the API, the pages) runs the same
steps without a flow run.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from pydantic import BaseModel, Field

from mktflow.domain.complaints import (
    RESPONSE_DUE,
    ActForm,
    ComplaintState,
    CustomerAnswerForm,
    RespondForm,
    StepKind,
)
from mktflow.domain.errors import StepCancelled
from mktflow.domain.words import phrase, word
from mktflow.prefect.artifacts import markdown_table, publish
from mktflow.prefect.steps import StepForm, WorkingTime, human_step
from mktflow.prefect.tasks import process_guard
from mktflow.prefect.tasks.complaints import open_case, read_case

PROCESS = "complaint"


class ComplaintRequest(BaseModel):
    """A complaint as customer service takes it from the customer."""

    opened_by: str = Field(description="Your e-mail (a member of customer service: marketing)")
    customer: str = Field(min_length=1, description="The customer's code (its customer file)")
    customer_name: str = Field(default="", description="The customer's name, for a new file")
    text: str = Field(min_length=1, description="What the customer complains of")
    order: str | None = Field(default=None, description="The order it is about, if any")
    due_working: WorkingTime = Field(default=RESPONSE_DUE,
                                     description="The response deadline, in working time")


class Respond(StepForm, RespondForm):
    """Customer service hands the case to the department that must act."""


class Act(StepForm, ActForm):
    """The acting department says what it did."""


class CustomerAnswer(StepForm, CustomerAnswerForm):
    """Customer service records the customer's answer."""


FORMS: dict[StepKind, type[StepForm]] = {StepKind.RESPOND: Respond, StepKind.ACT: Act,
                                         StepKind.CUSTOMER: CustomerAnswer}


@flow(name="complaint", persist_result=True, log_prints=True,
      flow_run_name="complaint-{request.customer}")
def complaint(request: ComplaintRequest) -> dict[str, Any]:
    """Open a case in customer service and follow it, step by step, until the customer is
    satisfied."""
    opened = open_case(request.opened_by, request.customer, request.text, request.order,
                       request.customer_name or None, request.due_working)
    with process_guard(opened["process_id"]):
        while True:
            case = read_case(opened["id"])
            if case.state == ComplaintState.CLOSED or case.step is None:
                break
            kind = StepKind(case.step.kind)
            try:
                human_step(opened["process_id"], case.step.key,
                           department=case.step.department, form=FORMS[kind],
                           title=phrase("Complaint %(ref)s: %(kind)s", ref=case.ref,
                                        kind=word(kind)),
                           description=case.text)
            except StepCancelled:  # handed back (the handoff rejected): the case goes on
                if read_case(opened["id"]).state == ComplaintState.CANCELLED:
                    raise
        _report(case)
        return {"complaint": case.ref, "state": case.state, "rounds": case.round,
                "escalation_level": case.escalation_level, "customer": case.customer}


def _report(case: Any) -> None:
    rows = [{"at": e.at, "ref": e.ref, "action": e.action, "by": e.actor,
             "note": e.reason or ""} for e in case.history or []
            if e.ref.startswith("C-")]
    publish(f"complaint-{case.ref}", "\n\n".join([
        f"# Complaint {case.ref}: {case.state}",
        f"Customer **{case.customer}** ({case.customer_name})"
        + (f", order {case.order}" if case.order else "")
        + f"; {case.round} round(s), escalation level {case.escalation_level}; acted on by "
          f"{case.acting_department or 'nobody'}: {case.done or '-'}",
        "## The case\n\n" + markdown_table(rows, ["at", "ref", "action", "by", "note"])]),
        rows, description=f"complaint {case.ref}")
