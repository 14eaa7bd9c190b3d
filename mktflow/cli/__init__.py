"""``mktflow``: the command line for departments and operators.

Every command that changes something goes through an engine handler; reads go through the
engine's queries. Commands that do not run flows never import Prefect, so they answer fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mktflow.cli._kit import JsonOpt, emit, refusals, table, uow
from mktflow.cli.api import api_app
from mktflow.cli.db import db_app
from mktflow.cli.handoff import handoff_app
from mktflow.cli.notify import channel_app, outbox_app, sla_app
from mktflow.cli.org import org_app
from mktflow.cli.plan import plan_app
from mktflow.cli.process import demo, process_app, run
from mktflow.cli.report import report_app
from mktflow.cli.serve import deploy, serve
from mktflow.cli.server import server_app
from mktflow.cli.work import work_app

app = typer.Typer(
    name="mktflow",
    help="Marketing processes and department handoffs, run as Prefect flows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
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


# --- inbox and history --------------------------------------------------------------------


@app.command("inbox")
def inbox_cmd(
    department: str,
    member: Annotated[str | None, typer.Option("--member", help="Only the work items this "
                                                                "member holds.")] = None,
    state: Annotated[list[str] | None, typer.Option(
        "--state", help="Only items in this state (repeatable): open, claimed, delegated, "
                        "offered, accepted, returned, delivered.")] = None,
    overdue: Annotated[bool | None, typer.Option(
        "--overdue/--not-overdue", help="Only overdue items, or only those that are not.")
    ] = None,
    process: Annotated[str | None, typer.Option(
        "--process", help="Only items of this process (business key or P-n).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows per page, 1-200.")] = 50,
    cursor: Annotated[str | None, typer.Option(
        "--cursor", help="The next_cursor a previous page printed.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Work items and handoffs waiting for a department, overdue first, one page at a time.

    With --json: {"rows": [...], "next_cursor": "..." or null}.
    """
    from mktflow.engine.queries import inbox_page

    with refusals(json_):
        page = inbox_page(uow(), department, member=member, states=state, overdue=overdue,
                          process=process, limit=limit, cursor=cursor)
        body = {"rows": page.rows, "next_cursor": page.next_cursor}

        def human(_: object) -> str:
            text = table([{**r, "overdue": "OVERDUE" if r["overdue"] else ""} for r in page.rows],
                         ["ref", "state", "title", "assignee", "due", "overdue", "process"],
                         empty=f"{department}: nothing waiting")
            if page.next_cursor:
                text += f"\nnext page: the same command with --cursor {page.next_cursor}"
            return text

        emit(body, json_, human)


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


def main() -> None:
    """Entry point of the ``mktflow`` command."""
    app()
