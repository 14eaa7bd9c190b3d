"""``/handoffs``: work passed between departments. One engine command per endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mktflow import web
from mktflow.api._actions import Item, canonical, run
from mktflow.api._deps import Actor, Uow, identify, wants_html
from mktflow.api._models import (
    CancelHandoff,
    Comment,
    DeliverHandoff,
    HandoffRef,
    OfferHandoff,
    RejectHandoff,
    ReturnHandoff,
)
from mktflow.api._schemas import problems
from mktflow.domain.inputs import due_ahead
from mktflow.engine.handoffs import offer
from mktflow.engine.views import HandoffPublic, show_item

__all__ = ["router"]

router = APIRouter(prefix="/handoffs", tags=["handoffs"], responses=problems(401))
View = HandoffPublic  # the engine's view, answered as it is
#: What a command on a handoff can be refused with.
_ACTS = problems(403, 404, 409, 422)


@router.post("", status_code=201, response_model=View, responses=_ACTS)
def create(body: OfferHandoff, actor: Actor, uow: Uow, response: Response) -> Item:
    """Offer work to another department, with a due date and acceptance criteria."""
    handoff = offer(
        uow, actor_email=actor, from_department=body.from_department,
        to_department=body.to_department, title=body.title,
        due_at=due_ahead(body.due, uow.now()),
        criteria=body.criteria, deliverables=body.deliverables, letter=body.letter,
        process=body.process, branch=body.branch)
    response.headers["Location"] = f"/handoffs/{handoff.id}"
    return show_item(uow, f"H-{handoff.id}")


@router.get("/{item}", response_model=View, responses=web.PAGE_RESPONSES | problems(403, 404, 422))
def show(item: HandoffRef, request: Request, uow: Uow) -> Item | Response:
    """One handoff with its state, reason and deliverables (an HTML page when a browser asks)."""
    if wants_html(request.headers.get("accept")):
        return web.item_page(request, "handoff", item)
    reader = identify(request, need_member=False)  # JSON reads need a credential too
    return show_item(uow, canonical("handoff", item), reader=reader)



@router.post("/{item}/accept", response_model=View, responses=_ACTS)
def accept(item: HandoffRef, actor: Actor, uow: Uow) -> Item:
    """Take the offered work on (sign, for a responsibility letter)."""
    return run(uow, "handoff", item, "accept", actor)


@router.post("/{item}/reject", response_model=View, responses=_ACTS)
def reject(item: HandoffRef, body: RejectHandoff, actor: Actor, uow: Uow) -> Item:
    """Decline the offered work, saying why."""
    return run(uow, "handoff", item, "reject", actor, body)


@router.post("/{item}/deliver", response_model=View, responses=_ACTS)
def deliver(item: HandoffRef, body: DeliverHandoff, actor: Actor, uow: Uow) -> Item:
    """Hand over the deliverable."""
    return run(uow, "handoff", item, "deliver", actor, body)


@router.post("/{item}/confirm", response_model=View, responses=_ACTS)
def confirm(item: HandoffRef, actor: Actor, uow: Uow) -> Item:
    """The offering department accepts the delivered work."""
    return run(uow, "handoff", item, "confirm", actor)


@router.post("/{item}/return", response_model=View, responses=_ACTS)
def return_(item: HandoffRef, body: ReturnHandoff, actor: Actor, uow: Uow) -> Item:
    """The offering department sends the delivered work back, saying why."""
    return run(uow, "handoff", item, "return", actor, body)


@router.post("/{item}/cancel", response_model=View, responses=_ACTS)
def cancel(item: HandoffRef, body: CancelHandoff, actor: Actor, uow: Uow) -> Item:
    """The offering department withdraws the work, saying why."""
    return run(uow, "handoff", item, "cancel", actor, body)


@router.post("/{item}/comment", response_model=View, responses=_ACTS)
def comment(item: HandoffRef, body: Comment, actor: Actor, uow: Uow) -> Item:
    """Add a note (and links) to a handoff."""
    return run(uow, "handoff", item, "comment", actor, body)
