"""``/training``: training from appraisal (seed 001, 团队建设规范 5.1 and 绩效评估 3; issue 23,
item 4): the needs, the departments' plans with their sessions and attendance, a member's
appraisals with the training attended since the previous one. One engine read per endpoint
(``mktflow.engine.training``); the plan, approval and attendance steps are answered at
``/work/{item}/complete``."""

from __future__ import annotations

from fastapi import APIRouter, Path

from mktflow.api._deps import Reader, Uow
from mktflow.api._models import query_text
from mktflow.api._schemas import problems
from mktflow.domain.inputs import EMAIL_MAX
from mktflow.engine import training
from mktflow.engine.views import MemberTrainingPublic, TrainingNeedPublic, TrainingPlanPublic

__all__ = ["router"]

router = APIRouter(prefix="/training", tags=["training"], responses=problems(401))
_PERIOD = "Only this period's (the appraisal's, e.g. 2026-Q3)."


@router.get("/needs", response_model=list[TrainingNeedPublic], responses=problems(403, 422))
def needs(uow: Uow, reader: Reader,
          period: str | None = query_text(_PERIOD, 20),
          department: str | None = query_text("Only this department's needs."),
          member: str | None = query_text("Only this member's needs (e-mail).", EMAIL_MAX)
          ) -> list[TrainingNeedPublic]:
    """The training needs the reader may see (the member, their head, management), newest
    period first: the KPIs each member missed, and whether an approved session covers them."""
    return training.list_needs(uow, reader=reader, period=period, department=department,
                               member=member)


@router.get("/plans", response_model=list[TrainingPlanPublic], responses=problems(403, 422))
def plans(uow: Uow, reader: Reader,
          period: str | None = query_text(_PERIOD, 20),
          department: str | None = query_text("Only this department's plan.")
          ) -> list[TrainingPlanPublic]:
    """The departments' training plans the reader may see (the department's members,
    management), with their sessions and who attended."""
    return training.list_plans(uow, reader=reader, period=period, department=department)


@router.get("/members/{member}", response_model=MemberTrainingPublic,
            responses=problems(403, 404, 422))
def member(uow: Uow, reader: Reader, member: str = Path(
        description="The member's e-mail.", max_length=EMAIL_MAX)) -> MemberTrainingPublic:
    """A member's appraisals (newest first), each with the training attended since the
    previous one and the change of attainment in percentage points, and their needs."""
    return training.member_training(uow, member, reader=reader)
