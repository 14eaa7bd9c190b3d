"""``mktflow``: the command line for departments and operators.

Every command that changes something goes through an engine handler; reads go through the
engine's queries. Commands that do not run flows never import Prefect, so they answer fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from mktflow.api.commands import api_app
from mktflow.clikit import (
    ActorOpt,
    JsonOpt,
    emit,
    parse_data,
    parse_date,
    parse_time,
    refusals,
    table,
    uow,
)
from mktflow.cycles.commands import deploy, plan_app, report_app, serve
from mktflow.domain.errors import BadInput
from mktflow.notify.commands import channel_app, outbox_app, sla_app
from mktflow.prefect.commands import demo, process_app, run, server_app

app = typer.Typer(
    name="mktflow",
    help="Marketing processes and department handoffs, run as Prefect flows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The mktflow database.", no_args_is_help=True)
org_app = typer.Typer(help="Branches, departments and members.", no_args_is_help=True)
work_app = typer.Typer(help="Human steps (work items) in department queues.",
                       no_args_is_help=True)
handoff_app = typer.Typer(help="Work passed between departments.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(work_app, name="work")
app.add_typer(handoff_app, name="handoff")
app.add_typer(api_app, name="api")
app.add_typer(channel_app, name="channel")
app.add_typer(outbox_app, name="outbox")
app.add_typer(sla_app, name="sla")
app.add_typer(plan_app, name="plan")
app.add_typer(report_app, name="report")
app.command("serve")(serve)
app.command("deploy")(deploy)
app.add_typer(process_app, name="process")
app.add_typer(server_app, name="server")
app.command("run")(run)
app.command("demo")(demo)

IdArg = Annotated[str, typer.Argument(help="The item, e.g. 12 or W-12.")]
DataOpt = Annotated[str | None, typer.Option("--data", help="JSON object, or @file with one.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why (required to reject, "
                                                               "return or cancel).")]


def _id(reference: str, kind: str) -> int:
    from mktflow.engine.common import parse_ref

    return parse_ref(reference, kind)[1]


def _show_item(view: dict[str, Any]) -> str:
    keys = ["ref", "state", "title", "department", "assignee", "due", "process", "draft"]
    if view.get("kind") == "handoff":
        keys = ["ref", "handoff_kind", "state", "title", "from_department", "to_department",
                "due", "reason", "process"]
    def text(value: Any) -> str:  # a draft prints as the JSON --data takes
        return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)

    return "\n".join(f"{k:>16}: {text(view.get(k))}" for k in keys if view.get(k) is not None)


# --- db -----------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(json_: JsonOpt = False) -> None:
    """Create or migrate mktflow's tables to the newest schema (safe to run again)."""
    from mktflow.config import get_settings
    from mktflow.store.db import get_engine, safe_url
    from mktflow.store.migrate import upgrade

    with refusals(json_):
        url = get_settings().resolved_database_url()
        before, after = upgrade(get_engine(url))
        result = {"database": safe_url(url), "from": before, "to": after}
        emit(result, json_, f"database {result['database']} at revision {after}"
                            + ("" if before == after else f" (was {before or 'empty'})"))


# --- org ----------------------------------------------------------------------------------


@org_app.command("load")
def org_load(
    path: Annotated[Path | None, typer.Argument(help="Organisation YAML file.")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo organisation.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Load an organisation file; loading again updates, never duplicates."""
    from mktflow.engine.organisation import load_organisation, read_organisation_file

    with refusals(json_):
        if (path is None) == (not demo):
            raise BadInput("give an organisation file or --demo (one of them)")
        spec = read_organisation_file(path, demo=demo)
        summary = load_organisation(uow(), spec, source="demo" if demo else str(path))
        result = summary.as_dict()
        emit(result, json_, lambda r: (
            f"loaded {r['source']}: {len(r['added'])} added, {len(r['updated'])} updated, "
            f"{len(r['deactivated'])} deactivated"))


@org_app.command("show")
def org_show(json_: JsonOpt = False) -> None:
    """Branches, departments (who leads them today) and members."""
    from mktflow.engine.queries import organisation

    with refusals(json_):
        org = organisation(uow())
        emit(org, json_, lambda o: "\n\n".join([
            table(o["branches"], ["code", "name", "hq"]),
            table(o["departments"], ["code", "name", "head", "delegate", "head_away"]),
            table(o["members"], ["email", "name", "department", "role", "branch"]),
        ]))


@org_app.command("away")
def org_away(
    department: str,
    delegate: Annotated[str, typer.Option("--delegate", help="Who leads meanwhile.")],
    actor: ActorOpt,
    start: Annotated[str | None, typer.Option("--from", help="First day away.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last day away.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Record that a department head is away; the delegate leads and is told meanwhile."""
    from mktflow.engine.organisation import set_head_away

    with refusals(json_):
        dept = set_head_away(uow(), department, delegate=delegate,
                             start=parse_date(start, field="from"),
                             until=parse_date(until, field="until"), actor_email=actor)
        emit({"department": dept.code, "delegate": dept.delegate_email,
              "from": dept.head_away_from, "until": dept.head_away_until}, json_,
             f"{dept.code}: {dept.delegate_email} leads from {dept.head_away_from} "
             f"until {dept.head_away_until or 'further notice'}")


@org_app.command("back")
def org_back(department: str, actor: ActorOpt, json_: JsonOpt = False) -> None:
    """The head is back: the delegate no longer leads the department."""
    from mktflow.engine.organisation import set_head_away

    with refusals(json_):
        dept = set_head_away(uow(), department, delegate=None, start=None, until=None,
                             actor_email=actor)
        emit({"department": dept.code, "delegate": None}, json_, f"{dept.code}: head is back")


# --- inbox and history --------------------------------------------------------------------


@app.command("inbox")
def inbox_cmd(
    department: str,
    member: Annotated[str | None, typer.Option("--member", help="Only what this member "
                                                                "holds.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Open work items and handoffs waiting for a department, overdue first."""
    from mktflow.engine.queries import inbox

    with refusals(json_):
        entries = inbox(uow(), department, member=member)
        emit(entries, json_, lambda rows: table(
            [{**r, "overdue": "OVERDUE" if r["overdue"] else ""} for r in rows],
            ["ref", "state", "title", "assignee", "due", "overdue", "process"],
            empty=f"{department}: nothing waiting"))


@app.command("history")
def history_cmd(
    reference: Annotated[str, typer.Argument(help="W-12, H-3, P-4 or a business key.")],
    json_: JsonOpt = False,
) -> None:
    """The audit trail of a work item, a handoff or a whole process."""
    from mktflow.engine.queries import history

    with refusals(json_):
        entries = history(uow(), reference)
        emit(entries, json_, lambda rows: table(
            rows, ["at", "item", "actor", "action", "from_state", "to_state", "reason"]))


# --- work ---------------------------------------------------------------------------------


def _work_result(item: Any, json_: bool) -> None:
    from mktflow.engine.queries import show

    view = show(uow(), f"W-{item.id}")
    emit(view, json_, _show_item)


@work_app.command("create")
def work_create(
    department: str,
    title: Annotated[str, typer.Option("--title")],
    actor: ActorOpt,
    form: Annotated[str | None, typer.Option("--form", help="JSON schema, or @file.")] = None,
    assignee: Annotated[str | None, typer.Option("--assignee")] = None,
    due: Annotated[str | None, typer.Option("--due", help="ISO 8601 time.")] = None,
    priority: Annotated[int, typer.Option("--priority", help="0-100.")] = 50,
    process: Annotated[str | None, typer.Option("--process", help="Business key.")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
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
        item = create_work_item(
            uow(), actor_email=actor, department=department, title=title,
            form_schema=parse_data(form, field="form"), assignee=assignee,
            due_at=parse_time(due, field="due"), priority=priority, process_id=pid,
            description=description)
        _work_result(item, json_)


@work_app.command("show")
def work_show(reference: IdArg, json_: JsonOpt = False) -> None:
    """One work item with its form schema, draft (the pre-filled answer) and data."""
    from mktflow.engine.queries import show

    with refusals(json_):
        emit(show(uow(), reference, "work"), json_, _show_item)


def _simple(action: str) -> Any:
    def command(reference: IdArg, actor: ActorOpt, json_: JsonOpt = False) -> None:
        from mktflow.engine import work

        with refusals(json_):
            item = getattr(work, action)(uow(), _id(reference, "work"), actor_email=actor)
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
    from mktflow.engine.steps import complete_step

    with refusals(json_):
        item = complete_step(uow(), _id(reference, "work"), actor_email=actor,
                             data=parse_data(data))
        _work_result(item, json_)


@work_app.command("assign")
def work_assign(reference: IdArg, to: Annotated[str, typer.Option("--to")], actor: ActorOpt,
                json_: JsonOpt = False) -> None:
    """The head (or delegate) gives a step to a member of the department."""
    from mktflow.engine.work import assign

    with refusals(json_):
        _work_result(assign(uow(), _id(reference, "work"), to=to, actor_email=actor), json_)


@work_app.command("delegate")
def work_delegate(reference: IdArg, to: Annotated[str, typer.Option("--to")], actor: ActorOpt,
                  json_: JsonOpt = False) -> None:
    """Ask a colleague to do a step you hold; they resolve it back to you."""
    from mktflow.engine.work import delegate

    with refusals(json_):
        _work_result(delegate(uow(), _id(reference, "work"), to=to, actor_email=actor), json_)


@work_app.command("resolve")
def work_resolve(reference: IdArg, actor: ActorOpt, data: DataOpt = None,
                 json_: JsonOpt = False) -> None:
    """Hand a delegated step back to its holder for review."""
    from mktflow.engine.work import resolve

    with refusals(json_):
        _work_result(resolve(uow(), _id(reference, "work"), actor_email=actor,
                             data=parse_data(data)), json_)


@work_app.command("comment")
def work_comment(
    reference: IdArg, text: Annotated[str, typer.Option("--text")], actor: ActorOpt,
    link: Annotated[list[str] | None, typer.Option("--link", help="A link; repeatable.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Add a note (and links) to a step."""
    from mktflow.engine.work import comment

    with refusals(json_):
        _work_result(comment(uow(), _id(reference, "work"), actor_email=actor, text=text,
                             links=link), json_)


@work_app.command("cancel")
def work_cancel(reference: IdArg, actor: ActorOpt, reason: ReasonOpt = None,
                json_: JsonOpt = False) -> None:
    """The head withdraws a step that is no longer needed."""
    from mktflow.engine.work import cancel

    with refusals(json_):
        _work_result(cancel(uow(), _id(reference, "work"), actor_email=actor, reason=reason),
                     json_)


@work_app.command("update")
def work_update(
    reference: IdArg, actor: ActorOpt,
    due: Annotated[str | None, typer.Option("--due")] = None,
    follow_up: Annotated[str | None, typer.Option("--follow-up")] = None,
    priority: Annotated[int | None, typer.Option("--priority")] = None,
    reason: ReasonOpt = None, json_: JsonOpt = False,
) -> None:
    """The head changes a step's due time, follow-up time or priority."""
    from mktflow.engine.work import update

    with refusals(json_):
        _work_result(update(uow(), _id(reference, "work"), actor_email=actor,
                            due_at=parse_time(due, field="due"),
                            follow_up_at=parse_time(follow_up, field="follow-up"),
                            priority=priority, reason=reason), json_)


@work_app.command("reassign-all")
def work_reassign_all(
    from_: Annotated[str, typer.Option("--from", help="Member whose work moves.")],
    to: Annotated[str, typer.Option("--to", help="Member who takes it.")],
    actor: ActorOpt, json_: JsonOpt = False,
) -> None:
    """Move everything one member holds to another (someone leaves or is away); all or none."""
    from mktflow.engine.queries import show
    from mktflow.engine.work import reassign_all

    with refusals(json_):
        items = reassign_all(uow(), from_email=from_, to_email=to, actor_email=actor)
        views = [show(uow(), f"W-{i.id}") for i in items]
        emit(views, json_, lambda v: f"reassigned {len(v)} item(s) from {from_} to {to}: "
                                     + (", ".join(x["ref"] for x in v) or "none"))


# --- handoff ------------------------------------------------------------------------------


def _handoff_result(handoff: Any, json_: bool) -> None:
    from mktflow.engine.queries import show

    emit(show(uow(), f"H-{handoff.id}"), json_, _show_item)


@handoff_app.command("offer")
def handoff_offer(
    from_: Annotated[str, typer.Option("--from", help="Offering department.")],
    to: Annotated[str, typer.Option("--to", help="Receiving department.")],
    title: Annotated[str, typer.Option("--title")],
    due: Annotated[str, typer.Option("--due", help="ISO 8601 time.")],
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
        handoff = offer(uow(), actor_email=actor, from_department=from_, to_department=to,
                        title=title, due_at=parse_time(due, field="due"), criteria=criteria,
                        deliverables=deliverable, letter=letter, process=process,
                        branch=branch)
        _handoff_result(handoff, json_)


@handoff_app.command("show")
def handoff_show(reference: IdArg, json_: JsonOpt = False) -> None:
    """One handoff with its state, reason and deliverables."""
    from mktflow.engine.queries import show

    with refusals(json_):
        emit(show(uow(), reference, "handoff"), json_, _show_item)


def _handoff_action(action: str, doc: str) -> None:
    def command(reference: IdArg, actor: ActorOpt, reason: ReasonOpt = None,
                data: DataOpt = None, json_: JsonOpt = False) -> None:
        from mktflow.engine.handoffs import act

        with refusals(json_):
            handoff = act(uow(), _id(reference, "handoff"), action, actor_email=actor,
                          reason=reason, data=parse_data(data))
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
    from mktflow.engine.handoffs import comment

    with refusals(json_):
        _handoff_result(comment(uow(), _id(reference, "handoff"), actor_email=actor,
                                text=text, links=link), json_)


def main() -> None:
    """Entry point of the ``mktflow`` command."""
    app()


if __name__ == "__main__":
    main()
