"""Approvals inside flows, following the authority matrix.

``seek_approval`` asks the matrix which chain an amount needs (a task, so a re-run uses the
chain, and matrix version, it used the first time), then puts one approval step per approver
in the approving department's queue. Each step excludes the submitter and everyone who already
approved (four eyes), and carries the matrix rule (department, roles, branch): the engine
re-checks that rule against the organisation as it is whenever the step is taken or decided
(a member who joined or changed role since counts as they are now), whatever the door. Each
decision is recorded with the matrix version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from prefect import task
from pydantic import Field

from mktflow.domain.authority_matrix import ApprovalChain, ApprovalStage
from mktflow.domain.words import phrase, stored, word
from mktflow.engine.approvals import approval_chain, approvers_for_step
from mktflow.prefect import tasks
from mktflow.prefect.steps import StepDue, StepForm, human_step

__all__ = ["ApprovalForm", "ApprovalOutcome", "seek_approval"]

#: A reason is required when the decision is not "approve" (checked by the engine's form check).
_REASON_RULE = {
    # "required" in the condition: with no decision yet, only the missing decision is said
    "if": {"properties": {"decision": {"enum": ["reject", "rework"]}},
           "required": ["decision"]},
    "then": {"properties": {"reason": {"minLength": 3}}, "required": ["reason"]},
}


class ApprovalForm(StepForm, json_schema_extra=_REASON_RULE):
    """An approver's decision: approve, reject (ends it), or rework (back to the submitter)."""

    decision: Literal["approve", "reject", "rework"]
    reason: str = Field(default="", description="Why (required to reject or ask for rework)")


@dataclass(frozen=True)
class ApprovalOutcome:
    """How an approval chain ended."""

    decision: str  # approve | reject | rework
    reason: str
    approvers: list[str]
    matrix_version: str
    chain: str
    steps: list[str] = field(default_factory=list)

    @property
    def approved(self) -> bool:
        """Every approver in the chain approved."""
        return self.decision == "approve"


@task(name="approval-chain", **tasks.ENGINE_TASK)
def chain_for(process: str, amount: Decimal | float, branch: str | None) -> ApprovalChain:
    """The chain the authority matrix in force gives for this amount and branch."""
    return approval_chain(tasks.uow(), process, amount, branch)


@task(name="approval-exclusions", **tasks.ENGINE_TASK)
def exclusions(stage: ApprovalStage, submitter: str | None, approvers: list[str]) -> list[str]:
    """Who may not take one approval step (submitter, earlier approvers, wrong roles)."""
    return approvers_for_step(tasks.uow(), stage, submitter=submitter,
                              earlier_approvers=approvers).excluded


def seek_approval(
    process_id: int,
    key: str,
    *,
    process: str,
    amount: Decimal | float,
    branch: str | None,
    submitter: str | None,
    subject: str,
    details: str = "",
    due: StepDue | None = None,
) -> ApprovalOutcome:
    """Run the approval chain for ``amount``; stops at the first reject or rework."""
    chain = chain_for(process, amount, branch)
    approvers: list[str] = []
    steps: list[str] = []
    for stage in chain.stages:
        for n in range(1, stage.approvers + 1):
            excluded = exclusions(stage, submitter, approvers)
            answer = human_step(
                process_id, f"{key}-{stage.department}-{n}", department=stage.department,
                title=phrase("Approve %(subject)s (%(n)s of %(of)s)", subject=subject, n=n,
                             of=stage.approvers) if stage.approvers > 1
                else phrase("Approve %(subject)s", subject=subject),
                form=ApprovalForm, due=due,
                excluded=excluded, branch=stage.branch,
                approval={"department": stage.department, "roles": list(stage.roles),
                          "branch": stage.branch, "rule": chain.describe(),
                          "rule_words": stored(chain.describe())},
                description=phrase("%(details)s\n\nAmount %(amount)s. Needs: %(chain)s. May "
                                   "not approve: %(excluded)s.", details=details,
                                   amount=Decimal(str(amount)), chain=chain.describe(),
                                   excluded=", ".join(excluded) or word("nobody")))
            steps.append(answer.ref)
            decision = answer.form.decision
            tasks.record_decision(answer.item_id, decision, chain.matrix_version,
                                  chain.describe(), answer.form.reason or None)
            if decision != "approve":
                return ApprovalOutcome(decision, answer.form.reason, [*approvers, answer.by],
                                       chain.matrix_version, chain.describe(), steps)
            approvers.append(answer.by)
    return ApprovalOutcome("approve", "", approvers, chain.matrix_version, chain.describe(),
                           steps)


def describe(outcome: ApprovalOutcome) -> dict[str, Any]:
    """The outcome as plain data for results and artifacts."""
    return {"decision": outcome.decision, "reason": outcome.reason,
            "approvers": outcome.approvers, "matrix_version": outcome.matrix_version,
            "chain": outcome.chain, "steps": outcome.steps}
