"""``mktflow work``: human steps (work items) in department queues."""

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
    parse_time,
    refusals,
    show_item,
    uow,
)

work_app = typer.Typer(help="Human steps (work items) in department queues.",
                       no_args_is_help=True)


def _work_result(item: Any, json_: bool) -> None:
    from mktflow.engine.queries import show

    view = show(uow(), f"W-{item.id}")
    emit(view, json_, show_item)


@work_app.command("create")
def work_create(
    department: str,
    title: Annotated[str, typer.Option("--title")],
    actor: ActorOpt,
    form: Annotated[str | None, typer.Option("--form", help="JSON schema, or @file.")] = None,
    assignee: Annotated[str | None, typer.Option("--assignee")] = None,
    due: Annotated[str | None, typer.Option("--due", help=DUE_HELP)] = None,
    priority: Annotated[int, typer.Option("--priority", help="0-100.")] = 50,
    process: Annotated[str | None, typer.Option("--process", help="Business key.")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    important: Annotated[bool | None, typer.Option(
        "--important/--not-important", help="Important work (seed 000); unsaid: "
                                            "unclassified in the balance of work.")] = None,
    urgent: Annotated[bool | None, typer.Option(
        "--urgent/--not-urgent", help="Urgent work (seed 000).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Put a step in a department's queue (flows do this through human_step)."""
    from mktflow.engine.handoffs import process_id_for
    from mktflow.engine.work import create_work_item

    with refusals(json_):
        pid = None
        if process:
            with uow() as u:
                pid = process_id_for(u, process)
        unit = uow()
        item = create_work_item(
            unit, actor_email=actor, department=department, title=title,
            form_schema=parse_data(form, field="form"), assignee=assignee,
            due_at=due_ahead(parse_due(due, field="due"), unit.now()), priority=priority,
            process_id=pid, description=description, important=important, urgent=urgent)
        _work_result(item, json_)


@work_app.command("show")
def work_show(reference: IdArg, reader: ReaderOpt = None, json_: JsonOpt = False) -> None:
    """One work item with its form schema, draft (the pre-filled answer) and data."""
    from mktflow.engine.views import show_item as read  # Core only: no ORM for a quick start

    with refusals(json_):
        emit(read(uow(), reference, "work", reader=reader), json_, show_item)


def _perform(reference: str, action: str, actor: str, json_: bool, **inputs: Any) -> None:
    """Run ``action`` on the work item ``reference`` through the engine's one table of item
    actions (the one every door runs) and print the item; refusals are one line, exit 2."""
    from mktflow.engine import actions

    with refusals(json_):
        _work_result(actions.perform(uow(), "work", item_id(reference, "work"), action,
                                     actor_email=actor, **inputs), json_)


def _simple(action: str) -> Any:
    def command(reference: IdArg, actor: ActorOpt, json_: JsonOpt = False) -> None:
        from mktflow.engine import actions

        with refusals(json_):
            item = actions.perform(uow(), "work", item_id(reference, "work"), action,
                                   actor_email=actor)
            _work_result(item, json_)

    command.__doc__ = {"claim": "Take an open step from the department's queue.",
                       "release": "Give a held step back to the queue."}[action]
    return command


work_app.command("claim")(_simple("claim"))
work_app.command("release")(_simple("release"))


DraftDataOpt = Annotated[str | None, typer.Option(
    "--data", help="JSON object, or @file with one; its top-level keys replace the draft's "
                   "(without it the draft is submitted as it is).")]


@work_app.command("complete")
def work_complete(reference: IdArg, actor: ActorOpt, data: DraftDataOpt = None,
                  json_: JsonOpt = False) -> None:
    """Submit a held step's answer: its draft, with --data laid over it; the process goes on."""
    from mktflow.engine import actions

    with refusals(json_):
        item = actions.perform(uow(), "work", item_id(reference, "work"), "complete",
                               actor_email=actor, data=parse_data(data))
        _work_result(item, json_)


@work_app.command("assign")
def work_assign(reference: IdArg, to: Annotated[str, typer.Option("--to")], actor: ActorOpt,
                json_: JsonOpt = False) -> None:
    """The head (or delegate) gives a step to a member of the department."""
    _perform(reference, "assign", actor, json_, to=to)


@work_app.command("delegate")
def work_delegate(reference: IdArg, to: Annotated[str, typer.Option("--to")], actor: ActorOpt,
                  json_: JsonOpt = False) -> None:
    """Ask a colleague to do a step you hold; they resolve it back to you."""
    _perform(reference, "delegate", actor, json_, to=to)


@work_app.command("resolve")
def work_resolve(reference: IdArg, actor: ActorOpt, data: DataOpt = None,
                 json_: JsonOpt = False) -> None:
    """Hand a delegated step back to its holder for review."""
    with refusals(json_):
        _perform(reference, "resolve", actor, json_, data=parse_data(data))


@work_app.command("comment")
def work_comment(
    reference: IdArg, text: Annotated[str, typer.Option("--text")], actor: ActorOpt,
    link: Annotated[list[str] | None, typer.Option("--link", help="A link; repeatable.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Add a note (and links) to a step."""
    _perform(reference, "comment", actor, json_, text=text, links=link)


@work_app.command("cancel")
def work_cancel(reference: IdArg, actor: ActorOpt, reason: ReasonOpt = None,
                json_: JsonOpt = False) -> None:
    """The head withdraws a step that is no longer needed."""
    _perform(reference, "cancel", actor, json_, reason=reason)


@work_app.command("update")
def work_update(
    reference: IdArg, actor: ActorOpt,
    due: Annotated[str | None, typer.Option("--due", help=DUE_HELP)] = None,
    follow_up: Annotated[str | None, typer.Option("--follow-up")] = None,
    priority: Annotated[int | None, typer.Option("--priority")] = None,
    reason: ReasonOpt = None, json_: JsonOpt = False,
) -> None:
    """The head changes a step's due time, follow-up time or priority."""
    with refusals(json_):
        _perform(reference, "update", actor, json_, due=parse_due(due, field="due"),
                 follow_up=parse_time(follow_up, field="follow-up"), priority=priority,
                 reason=reason)


@work_app.command("reassign-all")
def work_reassign_all(
    from_: Annotated[str, typer.Option("--from", help="Member whose work moves.")],
    to: Annotated[str, typer.Option("--to", help="Member who takes it.")],
    actor: ActorOpt, json_: JsonOpt = False,
) -> None:
    """Move everything one member holds to another (someone leaves or is away); all or none."""
    from mktflow.engine.views import show_item as read
    from mktflow.engine.work import reassign_all

    with refusals(json_):
        items = reassign_all(uow(), from_email=from_, to_email=to, actor_email=actor)
        views = [read(uow(), f"W-{i.id}") for i in items]
        emit(views, json_, lambda v: f"reassigned {len(v)} item(s) from {from_} to {to}: "
                                     + (", ".join(x.ref for x in v) or "none"))


@work_app.command("bulk")
def work_bulk(
    action: Annotated[str, typer.Argument(help="claim, release, assign, update or cancel.")],
    references: Annotated[list[str], typer.Argument(help="The work items (W-12 or 12).")],
    actor: ActorOpt,
    to: Annotated[str | None, typer.Option("--to", help="assign: who takes them.")] = None,
    due: Annotated[str | None, typer.Option("--due", help="update: " + DUE_HELP)] = None,
    follow_up: Annotated[str | None, typer.Option("--follow-up")] = None,
    priority: Annotated[int | None, typer.Option("--priority", help="update: 0-100.")] = None,
    reason: ReasonOpt = None, json_: JsonOpt = False,
) -> None:
    """One action on many work items (at most 200), each by its own rule: prints each item's
    answer; exits 1 when any was refused."""
    from mktflow.engine import desk

    with refusals(json_):
        answer = desk.bulk(uow, action, references, actor_email=actor, to=to,
                           due=parse_due(due, field="due"),
                           follow_up=parse_time(follow_up, field="follow-up"),
                           priority=priority, reason=reason)
    emit(answer, json_, lambda a: "\n".join(
        [f"{i.ref}: {'done' if i.ok else 'refused'}: {i.message}" for i in a.items]
        + [f"{a.done} done, {a.refused} refused"]))
    if answer.refused:
        raise typer.Exit(1)
