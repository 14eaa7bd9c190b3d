"""``mktflow inbox`` and ``mktflow history``: what waits for a department, and what happened."""

from __future__ import annotations

from typing import Annotated

import typer

from mktflow.cli._kit import JsonOpt, ReaderOpt, emit, plain, refusals, table, uow

__all__ = ["history_cmd", "inbox_cmd"]


# --- inbox and history --------------------------------------------------------------------


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
    priority: Annotated[str | None, typer.Option(
        "--priority", help="Only this priority band: urgent, high, normal or low.")] = None,
    text: Annotated[str | None, typer.Option(
        "--text", help="Only items whose title holds these words (any case).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows per page, 1-200.")] = 50,
    cursor: Annotated[str | None, typer.Option(
        "--cursor", help="The next_cursor a previous page printed.")] = None,
    reader: ReaderOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Work items and handoffs waiting for a department, overdue first, one page at a time.

    With --json: {"rows": [...], "next_cursor": "..." or null}.
    """
    from mktflow.engine.inbox import inbox_page  # Core only: no ORM for a quick start

    with refusals(json_):
        page = inbox_page(uow(), department, member=member, states=state, overdue=overdue,
                          process=process, limit=limit, cursor=cursor, reader=reader,
                          priority=priority, text=text)

        def human(_: object) -> str:
            text = table([{**plain(r), "overdue": "OVERDUE" if r.overdue else ""}
                          for r in page.rows],
                         ["ref", "state", "title", "assignee", "due", "overdue", "quadrant",
                          "process"],
                         empty=f"{department}: nothing waiting")
            if page.next_cursor:
                text += f"\nnext page: the same command with --cursor {page.next_cursor}"
            return text

        emit(page, json_, human)


def history_cmd(
    reference: Annotated[str, typer.Argument(help="W-12, H-3, P-4 or a business key.")],
    reader: ReaderOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The audit trail of a work item, a handoff or a whole process; IDENTIFIED_BY says how
    the actor was known (typed in the Prefect UI form, member token, command line, ...)."""
    from mktflow.engine.queries import history

    with refusals(json_):
        entries = history(uow(), reference, reader=reader)
        emit(entries, json_, lambda rows: table(
            rows, ["at", "item", "actor", "identified_by", "action", "from_state", "to_state",
                   "reason"]))
