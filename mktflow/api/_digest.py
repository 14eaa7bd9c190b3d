"""``/me/digest``: the acting member's choice of one notice per change or a daily digest, and
the digest as it would read now (``mktflow.engine.digests``; docs: "Daily digests")."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from mktflow.api._deps import Actor, Uow
from mktflow.api._models import _Body
from mktflow.api._schemas import problems
from mktflow.engine import digests
from mktflow.engine.views import DigestChoicePublic, MemberDigest

__all__ = ["router"]

router = APIRouter(prefix="/me/digest", tags=["digests"], responses=problems(401))


class DigestChoiceBody(_Body):
    """How the acting member is told of changes addressed to them personally."""

    mode: Literal["each", "daily"] = Field(description=(
        "each: one notice per change, at once; daily: those notices are held and one digest "
        "a working day summarises them with your open, due-soon and overdue items."))
    at: str | None = Field(default=None, description=(
        "The digest's time of day, HH:MM (00:00 to 23:59), in your working calendar's time "
        "zone; left out: the time chosen before (17:00 at first). Kept while the mode is "
        "each."), json_schema_extra={"pattern": r"^(?:[01]?[0-9]|2[0-3]):[0-5][0-9]$"},
        min_length=4, max_length=5)


@router.get("", response_model=DigestChoicePublic, responses=problems(403, 404, 422))
def show(uow: Uow, actor: Actor) -> DigestChoicePublic:
    """The acting member's choice (each notice at once, or a daily digest at a time of their
    working day), with their calendar's zone."""
    return digests.show_choice(uow, actor)


@router.put("", response_model=DigestChoicePublic, responses=problems(403, 404, 422))
def set_(body: DigestChoiceBody, uow: Uow, actor: Actor) -> DigestChoicePublic:
    """Choose each notice at once (``each``) or one digest a working day at ``at`` (``daily``);
    going back to ``each`` sends the notices still held, one by one."""
    return digests.set_choice(uow, actor, mode=body.mode, at=body.at)


@router.get("/preview", response_model=MemberDigest, responses=problems(403, 404, 422))
def preview(uow: Uow, actor: Actor) -> MemberDigest:
    """The acting member's digest as it would read now, with the changes held so far; nothing
    is sent."""
    return digests.member_digest(uow, actor)
