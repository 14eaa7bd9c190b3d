"""``/work``: human steps. Each endpoint is one engine command; each answers the item's view."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mktflow import web
from mktflow.api._actions import Item, canonical, run
from mktflow.api._deps import Actor, Uow, identify, new_uow, wants_html
from mktflow.api._models import (
    AssignWork,
    BulkWork,
    CancelWork,
    Comment,
    CompleteWork,
    CreateWork,
    DelegateWork,
    ResolveWork,
    UpdateWork,
    WorkRef,
)
from mktflow.api._schemas import problems
from mktflow.domain.inputs import due_ahead
from mktflow.engine import desk
from mktflow.engine.handoffs import process_id_for
from mktflow.engine.views import BulkAnswer, WorkItemPublic, show_item
from mktflow.engine.work import create_work_item

__all__ = ["router"]

router = APIRouter(prefix="/work", tags=["work"], responses=problems(401))
View = WorkItemPublic  # the engine's view, answered as it is
#: What a command on an existing step can be refused with.
_ACTS = problems(403, 404, 409, 422)


@router.post("", status_code=201, response_model=View, responses=_ACTS)
def create(body: CreateWork, actor: Actor, uow: Uow, response: Response) -> Item:
    """Put a step in a department's queue (flows do this through human_step)."""
    with uow:
        pid = process_id_for(uow, body.process)
    item = create_work_item(
        uow, actor_email=actor, department=body.department, title=body.title,
        description=body.description, form_schema=body.form_schema, form_name=body.form_name,
        assignee=body.assignee, priority=body.priority, due_at=due_ahead(body.due, uow.now()),
        follow_up_at=body.follow_up, process_id=pid, branch=body.branch,
        important=body.important, urgent=body.urgent)
    response.headers["Location"] = f"/work/{item.id}"
    return show_item(uow, f"W-{item.id}")


@router.post("/bulk", response_model=BulkAnswer, responses=problems(422))
def bulk(body: BulkWork, actor: Actor, request: Request) -> BulkAnswer:
    """One action on many work items (at most 200): claim, release, assign (or reassign),
    update (due, follow-up, priority) or cancel with one reason. Each item passes or is refused
    by its own rule, in its own transaction with its own audit entry: the answer lists, per
    item in the order asked, done or refused and why (with the status a single action would
    have answered). 200 whatever each item's answer; 422 only for a request no item could pass
    (a field that breaks the document)."""
    return desk.bulk(lambda: new_uow(request), body.action, body.items, actor_email=actor,
                     **body.inputs())


@router.get("/{item}", response_model=View, responses=web.PAGE_RESPONSES | problems(403, 404, 422))
def show(item: WorkRef, request: Request, uow: Uow) -> Item | Response:
    """One work item with its form schema and data (an HTML page when a browser asks)."""
    if wants_html(request.headers.get("accept")):
        return web.item_page(request, "work", item)
    reader = identify(request, need_member=False)  # JSON reads need a credential too
    return show_item(uow, canonical("work", item), reader=reader)



@router.post("/{item}/claim", response_model=View, responses=_ACTS)
def claim(item: WorkRef, actor: Actor, uow: Uow) -> Item:
    """Take an open step from the department's queue; of two at once, exactly one wins."""
    return run(uow, "work", item, "claim", actor)


@router.post("/{item}/release", response_model=View, responses=_ACTS)
def release(item: WorkRef, actor: Actor, uow: Uow) -> Item:
    """Give a held step back to the department's queue."""
    return run(uow, "work", item, "release", actor)


@router.post("/{item}/complete", response_model=View, responses=_ACTS)
def complete(item: WorkRef, body: CompleteWork, actor: Actor, uow: Uow) -> Item:
    """Submit a held step's data (checked against its form); the waiting flow run goes on."""
    return run(uow, "work", item, "complete", actor, body)


@router.post("/{item}/assign", response_model=View, responses=_ACTS)
def assign(item: WorkRef, body: AssignWork, actor: Actor, uow: Uow) -> Item:
    """The head (or delegate) gives a step to a member of the department."""
    return run(uow, "work", item, "assign", actor, body)


@router.post("/{item}/delegate", response_model=View, responses=_ACTS)
def delegate(item: WorkRef, body: DelegateWork, actor: Actor, uow: Uow) -> Item:
    """Ask a colleague to do a step you hold; they resolve it back to you."""
    return run(uow, "work", item, "delegate", actor, body)


@router.post("/{item}/resolve", response_model=View, responses=_ACTS)
def resolve(item: WorkRef, body: ResolveWork, actor: Actor, uow: Uow) -> Item:
    """Hand a delegated step back to its holder for review."""
    return run(uow, "work", item, "resolve", actor, body)


@router.post("/{item}/comment", response_model=View, responses=_ACTS)
def comment(item: WorkRef, body: Comment, actor: Actor, uow: Uow) -> Item:
    """Add a note (and links) to a step."""
    return run(uow, "work", item, "comment", actor, body)


@router.post("/{item}/cancel", response_model=View, responses=_ACTS)
def cancel(item: WorkRef, body: CancelWork, actor: Actor, uow: Uow) -> Item:
    """The head withdraws a step that is no longer needed."""
    return run(uow, "work", item, "cancel", actor, body)


@router.post("/{item}/update", response_model=View, responses=_ACTS)
def update(item: WorkRef, body: UpdateWork, actor: Actor, uow: Uow) -> Item:
    """The head changes a step's due time, follow-up time or priority."""
    return run(uow, "work", item, "update", actor, body)
