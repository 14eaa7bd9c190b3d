"""Approvals by the authority matrix: which chain an amount needs, who is excluded from each
approval step (four eyes, roles), and the record of each decision with the matrix version."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import col, select

from mktflow.config import Settings
from mktflow.domain.authority_matrix import (
    ApprovalChain,
    ApprovalStage,
    AuthorityMatrix,
    MemberInfo,
    eligible_approvers,
    excluded_from_approval,
    parse_matrix,
)
from mktflow.domain.errors import BadInput, NotFound, Refused
from mktflow.domain.words import phrase, slashed, word
from mktflow.engine.common import get_for_update, ref
from mktflow.store.tables import Branch, Member, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["StepApprovers", "approval_chain", "approvers_for_step", "load_matrix",
           "record_decision"]

DEMO_MATRIX = "authority-matrix.yaml"


@lru_cache(maxsize=4)
def _load(path: str | None) -> AuthorityMatrix:
    if path is None:
        text = resources.files("mktflow.demo").joinpath(DEMO_MATRIX).read_text("utf-8")
        source = f"<demo>/{DEMO_MATRIX}"
    else:
        source = path
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise BadInput(f"{path}: cannot read the authority matrix: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInput(f"{source}: not valid YAML: {exc}") from None
    return parse_matrix(raw, source)


def load_matrix(settings: Settings) -> AuthorityMatrix:
    """The authority matrix in force (the configured file, or the one mktflow ships)."""
    path = settings.authority_matrix_file
    return _load(str(path) if path else None)


def approval_chain(uow: UnitOfWork, process: str, amount: Decimal | float,
                   branch: str | None) -> ApprovalChain:
    """The approvals ``amount`` of ``process`` needs in ``branch`` (None: headquarters)."""
    with uow:
        is_hq = True
        if branch:
            row = uow.session.get(Branch, branch)
            if row is None:
                raise NotFound(f"branch: unknown branch {branch!r}")
            is_hq = row.is_hq
    return load_matrix(uow.settings).chain(process, amount, branch=branch, branch_is_hq=is_hq)


@dataclass(frozen=True)
class StepApprovers:
    """Who is excluded from one approval step, and who may still take it."""

    excluded: list[str]
    eligible: list[str]


def approvers_for_step(uow: UnitOfWork, stage: ApprovalStage, *, submitter: str | None,
                       earlier_approvers: list[str]) -> StepApprovers:
    """Exclusions of one approval step; refused when nobody is left who may approve."""
    with uow:
        members = [MemberInfo(m.email, m.department, m.role, m.branch) for m in uow.session.exec(
            select(Member).where(col(Member.department) == stage.department, col(Member.active)))]
    excluded = excluded_from_approval(stage, members, submitter=submitter,
                                      earlier_approvers=earlier_approvers)
    eligible = eligible_approvers(stage, members, excluded)
    if not eligible:
        raise Refused(phrase(
            "nobody in %(department)s with role %(roles)s is left to approve: excluded "
            "%(excluded)s (four eyes)", department=stage.department, roles=slashed(stage.roles),
            excluded=", ".join(excluded) or word("none")))
    return StepApprovers(excluded, eligible)


def record_decision(uow: UnitOfWork, item_id: int, *, decision: str, matrix_version: str,
                    rule: str, reason: str | None = None,
                    extra: dict[str, Any] | None = None) -> None:
    """Record an approval decision on its step with the matrix version it was made under."""
    with uow:
        item = get_for_update(uow, WorkItem, item_id)
        if item.state != "done":
            raise Refused(f"{ref(item)} is {item.state}: only a completed step carries a decision")
        assert item.id is not None
        uow.audit(actor=item.completed_by or "mktflow", entity_type="work", entity_id=item.id,
                  process_id=item.process_id, action="decide", reason=reason,
                  data={"decision": decision, "matrix_version": matrix_version, "rule": rule,
                        **(extra or {})})
        uow.commit()
