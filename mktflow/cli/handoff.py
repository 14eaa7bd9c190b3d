"""``mktflow handoff``: work passed between departments."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mktflow.cli._kit import (
    DUE_HELP,
    ActorOpt,
    DataOpt,
    IdArg,
    JsonOpt,
    ReaderOpt,
    ReasonOpt,
    due_ahead,
    emit,
    item_id,
    parse_data,
    parse_due,
    refusals,
    show_item,
    uow,
)
from mktflow.domain.errors import BadInput

handoff_app = typer.Typer(help="Work passed between departments.", no_args_is_help=True)


def _handoff_result(handoff: Any, json_: bool) -> None:
    from mktflow.engine.queries import show

    emit(show(uow(), f"H-{handoff.id}"), json_, show_item)


@handoff_app.command("offer")
def handoff_offer(
    from_: Annotated[str, typer.Option("--from", help="Offering department.")],
    to: Annotated[str, typer.Option("--to", help="Receiving department.")],
    title: Annotated[str, typer.Option("--title")],
    due: Annotated[str, typer.Option("--due", help=DUE_HELP)],
    actor: ActorOpt,
    criteria: Annotated[str, typer.Option("--criteria", help="Acceptance criteria.")] = "",
    process: Annotated[str | None, typer.Option("--process", help="Business key.")] = None,
    deliverable: Annotated[list[str] | None, typer.Option(
        "--deliverable", help="A deliverable; repeatable.")] = None,
    letter: Annotated[bool, typer.Option(
        "--letter", help="A responsibility letter binding the project.")] = False,
    branch: Annotated[str | None, typer.Option("--branch")] = None,
    json_: JsonOpt = False,
) -> None:
    """Offer work to another department, with a due date and acceptance criteria."""
    from mktflow.engine.handoffs import offer

    with refusals(json_):
        unit = uow()
        handoff = offer(unit, actor_email=actor, from_department=from_, to_department=to,
                        title=title, criteria=criteria,
                        due_at=due_ahead(parse_due(due, field="due"), unit.now()),
                        deliverables=deliverable, letter=letter, process=process,
                        branch=branch)
        _handoff_result(handoff, json_)


@handoff_app.command("show")
def handoff_show(reference: IdArg, reader: ReaderOpt = None, json_: JsonOpt = False) -> None:
    """One handoff with its state, reason and deliverables."""
    from mktflow.engine.queries import show

    with refusals(json_):
        emit(show(uow(), reference, "handoff", reader=reader), json_, show_item)


def _handoff_action(action: str, doc: str) -> None:
    def command(reference: IdArg, actor: ActorOpt, reason: ReasonOpt = None,
                data: DataOpt = None, json_: JsonOpt = False) -> None:
        from mktflow.engine import actions

        with refusals(json_):
            given = {"reason": reason, "data": parse_data(data)}
            inputs = actions.taken("handoff", action, given)
            for name in (n for n in given if n not in inputs):
                if given[name] is not None:
                    raise BadInput(f"--{name}: {action} takes no {name}")
            handoff = actions.perform(uow(), "handoff", item_id(reference, "handoff"), action,
                                      actor_email=actor, **inputs)
            _handoff_result(handoff, json_)

    command.__doc__ = doc
    handoff_app.command(action)(command)


for _action, _doc in (
    ("accept", "Take the offered work on (sign, for a responsibility letter)."),
    ("reject", "Decline the offered work, with --reason."),
    ("deliver", "Hand over the deliverable (with --data)."),
    ("confirm", "Accept the delivered work (the offering department)."),
    ("return", "Send the delivered work back, with --reason (the offering department)."),
    ("cancel", "Withdraw the work, with --reason (the offering department)."),
):
    _handoff_action(_action, _doc)


@handoff_app.command("comment")
def handoff_comment(
    reference: IdArg, text: Annotated[str, typer.Option("--text")], actor: ActorOpt,
    link: Annotated[list[str] | None, typer.Option("--link")] = None, json_: JsonOpt = False,
) -> None:
    """Add a note (and links) to a handoff."""
    from mktflow.engine import actions

    with refusals(json_):
        _handoff_result(actions.perform(uow(), "handoff", item_id(reference, "handoff"),
                                        "comment", actor_email=actor, text=text, links=link),
                        json_)
