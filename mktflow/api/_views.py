"""``/views``: saved views of a department's queue, and each member's default view (issue #24
item 1). One engine call per endpoint (``mktflow.engine.desk``); a view is a member's, so every
endpoint acts as the member the request proves."""

from __future__ import annotations

from fastapi import APIRouter, Path, Response

from mktflow.api._deps import Actor, Uow
from mktflow.api._models import Code, SaveView, query_text
from mktflow.api._schemas import problems
from mktflow.engine import desk
from mktflow.engine.views import SavedViewPublic

__all__ = ["router"]

router = APIRouter(prefix="/views", tags=["views"], responses=problems(401, 422))
#: A saved view named in a path: ``V-3`` or ``3``.
ViewRef = Path(description="The saved view, e.g. V-3.", json_schema_extra={
    "pattern": r"^(?:[Vv]-?)?[0-9]{1,12}$", "maxLength": 14})


@router.get("", response_model=list[SavedViewPublic])
def list_(uow: Uow, actor: Actor,
          department: str | None = query_text("Only the views of this department's queue.")
          ) -> list[SavedViewPublic]:
    """The saved views the member sees: their own, and the shared ones of their department
    (and of the departments they lead); by department, then name."""
    return desk.list_views(uow, reader=actor, department=department)


@router.post("", status_code=201, response_model=SavedViewPublic,
             responses=problems(403, 404, 409))
def save(body: SaveView, actor: Actor, uow: Uow, response: Response) -> SavedViewPublic:
    """Save a queue's filters by name, private or shared with the department (the same name of
    the same member and queue again replaces that view). The filters follow the queue's own
    rules: a state it lists, a process that exists, an active member as holder."""
    view = desk.save_view(uow, actor_email=actor, **body.model_dump())
    response.headers["Location"] = f"/views/{view.ref}"
    return view


@router.get("/{view}", response_model=SavedViewPublic, responses=problems(404))
def show(uow: Uow, actor: Actor, view: str = ViewRef) -> SavedViewPublic:
    """One saved view the member sees."""
    return desk.show_view(uow, desk.view_number(view), reader=actor)


@router.delete("/{view}", status_code=204, response_class=Response,
               responses=problems(403, 404))
def delete(uow: Uow, actor: Actor, view: str = ViewRef) -> Response:
    """Delete a saved view: its owner; a shared one also whoever leads its department."""
    desk.delete_view(uow, desk.view_number(view), actor_email=actor)
    return Response(status_code=204)


@router.post("/{view}/default", response_model=SavedViewPublic, responses=problems(404, 409))
def choose_default(uow: Uow, actor: Actor, view: str = ViewRef) -> SavedViewPublic:
    """Make a view the member sees their default for its queue: the queue page opens with its
    filters when the address names none."""
    chosen = desk.set_default(uow, actor_email=actor, view_id=desk.view_number(view))
    assert chosen is not None
    return chosen


@router.delete("/default/{department}", status_code=204, response_class=Response)
def clear_default(uow: Uow, actor: Actor,
                  department: Code = Path(description="The department's code.")) -> Response:
    """Open the department's queue unfiltered again: the member's default view is cleared."""
    desk.set_default(uow, actor_email=actor, department=department)
    return Response(status_code=204)
