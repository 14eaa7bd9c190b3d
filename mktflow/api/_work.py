"""``/work``: human steps. Each endpoint is one engine command; each answers the item's view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from mktflow.api import _html
from mktflow.api._actions import canonical, run
from mktflow.api._deps import Actor, Uow, wants_html
from mktflow.api._models import (
    AssignWork,
    CancelWork,
    Comment,
    CompleteWork,
    CreateWork,
    DelegateWork,
    ResolveWork,
    UpdateWork,
)
from mktflow.engine import queries
from mktflow.engine.handoffs import process_id_for
from mktflow.engine.work import create_work_item

__all__ = ["router"]

router = APIRouter(prefix="/work", tags=["work"])
View = dict[str, Any]


@router.post("", status_code=201)
def create(body: CreateWork, actor: Actor, uow: Uow, response: Response) -> View:
    """Put a step in a department's queue (flows do this through human_step)."""
    with uow:
        pid = process_id_for(uow, body.process)
    item = create_work_item(
        uow, actor_email=actor, department=body.department, title=body.title,
        description=body.description, form_schema=body.form_schema, form_name=body.form_name,
        assignee=body.assignee, priority=body.priority, due_at=body.due,
        follow_up_at=body.follow_up, process_id=pid, branch=body.branch)
    response.headers["Location"] = f"/work/{item.id}"
    return queries.show(uow, f"W-{item.id}")


@router.get("/{item}", response_model=None, responses=_html.PAGE_RESPONSES)
def show(item: str, request: Request, uow: Uow) -> View | Response:
    """One work item with its form schema and data (an HTML page when a browser asks)."""
    if wants_html(request.headers.get("accept")):
        return _html.item_page(request, uow, "work", item)
    return queries.show(uow, canonical("work", item))


@router.post("/{item}", include_in_schema=False)
def act_from_page(
    item: str, request: Request, uow: Uow,
    fields: Annotated[dict[str, str], Depends(_html.form_fields)],
) -> Response:
    """The HTML page's forms post here (form-encoded, with an ``action`` field)."""
    return _html.form_post(request, uow, "work", item, fields)


@router.post("/{item}/claim")
def claim(item: str, actor: Actor, uow: Uow) -> View:
    """Take an open step from the department's queue; of two at once, exactly one wins."""
    return run(uow, "work", item, "claim", actor)


@router.post("/{item}/release")
def release(item: str, actor: Actor, uow: Uow) -> View:
    """Give a held step back to the department's queue."""
    return run(uow, "work", item, "release", actor)


@router.post("/{item}/complete")
def complete(item: str, body: CompleteWork, actor: Actor, uow: Uow) -> View:
    """Submit a held step's data (checked against its form); the waiting flow run goes on."""
    return run(uow, "work", item, "complete", actor, body)


@router.post("/{item}/assign")
def assign(item: str, body: AssignWork, actor: Actor, uow: Uow) -> View:
    """The head (or delegate) gives a step to a member of the department."""
    return run(uow, "work", item, "assign", actor, body)


@router.post("/{item}/delegate")
def delegate(item: str, body: DelegateWork, actor: Actor, uow: Uow) -> View:
    """Ask a colleague to do a step you hold; they resolve it back to you."""
    return run(uow, "work", item, "delegate", actor, body)


@router.post("/{item}/resolve")
def resolve(item: str, body: ResolveWork, actor: Actor, uow: Uow) -> View:
    """Hand a delegated step back to its holder for review."""
    return run(uow, "work", item, "resolve", actor, body)


@router.post("/{item}/comment")
def comment(item: str, body: Comment, actor: Actor, uow: Uow) -> View:
    """Add a note (and links) to a step."""
    return run(uow, "work", item, "comment", actor, body)


@router.post("/{item}/cancel")
def cancel(item: str, body: CancelWork, actor: Actor, uow: Uow) -> View:
    """The head withdraws a step that is no longer needed."""
    return run(uow, "work", item, "cancel", actor, body)


@router.post("/{item}/update")
def update(item: str, body: UpdateWork, actor: Actor, uow: Uow) -> View:
    """The head changes a step's due time, follow-up time or priority."""
    return run(uow, "work", item, "update", actor, body)
