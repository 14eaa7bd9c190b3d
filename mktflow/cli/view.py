"""``mktflow view``: saved views of a department's queue, private or shared with the
department, and each member's default view (``mktflow.engine.desk``)."""

from __future__ import annotations

from typing import Annotated

import typer

from mktflow.cli._kit import ActorOpt, JsonOpt, emit, refusals, table, uow

view_app = typer.Typer(help="Saved views of a department's queue (filters saved by name).",
                       no_args_is_help=True)

ViewArg = Annotated[str, typer.Argument(help="The saved view, e.g. V-3 or 3.")]
_COLUMNS = ["ref", "name", "department", "owner", "shared", "default", "state", "process",
            "due", "holder", "priority", "text"]


@view_app.command("list")
def view_list(
    actor: ActorOpt,
    department: Annotated[str | None, typer.Option(
        "--department", help="Only the views of this department's queue.")] = None,
    json_: JsonOpt = False,
) -> None:
    """The views the member sees: their own, and their department's shared ones."""
    from mktflow.engine import desk

    with refusals(json_):
        views = desk.list_views(uow(), reader=actor, department=department)
        emit(views, json_, lambda v: table(v, _COLUMNS, "(no saved views)"))


@view_app.command("save")
def view_save(
    name: Annotated[str, typer.Argument(help="The view's name (the same name replaces it).")],
    actor: ActorOpt,
    department: Annotated[str | None, typer.Option(
        "--department", help="The queue it filters (default: the member's department).")
    ] = None,
    state: Annotated[str | None, typer.Option("--state", help="open, claimed or delegated.")
                     ] = None,
    process: Annotated[str | None, typer.Option("--process", help="Business key or P-n.")
                       ] = None,
    due: Annotated[str | None, typer.Option("--due", help="overdue or on-time.")] = None,
    holder: Annotated[str | None, typer.Option("--holder", help="A member's e-mail.")] = None,
    priority: Annotated[str | None, typer.Option(
        "--priority", help="A band: urgent, high, normal or low.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="Words in the title.")] = None,
    shared: Annotated[bool, typer.Option("--shared/--private",
                                         help="Shared with the department, or yours only.")
                      ] = False,
    json_: JsonOpt = False,
) -> None:
    """Save a queue's filters as a view, private or shared with the department."""
    from mktflow.engine import desk, tasklist

    with refusals(json_):
        queue = department or tasklist.whoami(uow(), actor)["department"]
        view = desk.save_view(uow(), actor_email=actor, department=queue, name=name,
                              state=state, process=process, due=due, holder=holder,
                              priority=priority, text=text, shared=shared)
        emit(view, json_, lambda v: f"saved {v.ref} {v.name!r} "
                                    f"({'shared with ' + v.department if v.shared else 'private'})")


@view_app.command("delete")
def view_delete(view: ViewArg, actor: ActorOpt, json_: JsonOpt = False) -> None:
    """Delete a view: its owner; a shared one also whoever leads the department."""
    from mktflow.engine import desk

    with refusals(json_):
        number = desk.view_number(view)
        desk.delete_view(uow(), number, actor_email=actor)
        emit({"deleted": f"V-{number}"}, json_, f"deleted V-{number}")


@view_app.command("default")
def view_default(
    actor: ActorOpt,
    view: Annotated[str | None, typer.Argument(help="The view to open the queue with.")] = None,
    clear: Annotated[str | None, typer.Option(
        "--clear", help="A department: open its queue unfiltered again.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Choose the view a member's queue opens with (or --clear DEPARTMENT)."""
    from mktflow.domain.errors import BadInput
    from mktflow.engine import desk

    with refusals(json_):
        if (view is None) == (clear is None):
            raise BadInput("view: name a view to make default, or --clear DEPARTMENT")
        if clear is not None:
            desk.set_default(uow(), actor_email=actor, department=clear)
            emit({"default": None, "department": clear}, json_,
                 f"{clear}'s queue opens unfiltered")
            return
        assert view is not None
        chosen = desk.set_default(uow(), actor_email=actor, view_id=desk.view_number(view))
        emit(chosen, json_, lambda v: f"{v.department}'s queue opens with {v.ref} {v.name!r}")
