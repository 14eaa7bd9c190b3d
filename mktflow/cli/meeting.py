"""``mktflow meeting``: the quarterly and annual planning meetings of marketing and their
minutes (``list``, ``show``; seed 001, 市场营销部 工作流程 1.(1) A). Their steps (the agenda, the
minutes, the head's approval) and each decision's work are acted on with ``mktflow work``
(and ``mktflow handoff`` for a decision handed to another department); runs no flow, never
imports Prefect."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mktflow.cli._kit import JsonOpt, ReaderOpt, emit, plain, refusals, table, uow

__all__ = ["meeting_app"]

meeting_app = typer.Typer(help="The quarterly and annual planning meetings: their minutes and "
                                "each decision's state.", no_args_is_help=True)


def _meeting_text(meeting: Any) -> str:
    m: dict[str, Any] = plain(meeting)
    lines = [f"{m['ref']}  {m['kind']} meeting {m['period']}  {m['state']}  "
             f"({m['done']}/{len(m['decisions'])} decisions done)  process {m['process']}"]
    if m["held_on"]:
        lines.append(f"Held on {m['held_on']}; attendees: {m['attendees'] or '-'}; minutes by "
                     f"{m['minutes_by']}")
    if m["approved_by"]:
        lines.append(f"Approved by {m['approved_by']} at {m['approved_at']}")
    if m["sent_at"]:
        lines.append(f"Sent to {', '.join(m['sent_to'])} at {m['sent_at']}")
    for name, key in (("Agenda", "agenda"), ("Summary", "summary")):
        if m[key]:
            lines.append(f"{name}:\n  " + m[key].replace("\n", "\n  "))
    lines.append("Decisions:")
    lines.append(table([{**d, "departments": ", ".join(d["departments"])}
                        for d in m["decisions"]],
                       ["number", "state", "owner", "due", "work", "departments", "text"],
                       empty="(none recorded yet)"))
    return "\n".join(lines)


@meeting_app.command("list")
def meeting_list(
    reader: ReaderOpt = None,
    kind: Annotated[str | None, typer.Option("--kind", help="quarterly or annual.")] = None,
    json_: JsonOpt = False,
) -> None:
    """The meetings one may see (marketing, management, the departments their minutes name),
    newest period first, with how many decisions are done."""
    from mktflow.engine.meetings import list_meetings

    with refusals(json_):
        rows = list_meetings(uow(), reader=reader, kind=kind)
        emit(rows, json_, lambda r: table(
            [{**x, "decisions": f"{x['done']}/{len(x['decisions'])} done"}
             for x in plain(r)],
            ["ref", "kind", "period", "state", "held_on", "decisions", "approved_by"],
            empty="no meetings"))


@meeting_app.command("show")
def meeting_show(
    reference: Annotated[str, typer.Argument(help="The meeting, e.g. 3 or M-3.")],
    reader: ReaderOpt = None,
    json_: JsonOpt = False,
) -> None:
    """One meeting: its agenda, minutes, who approved them, where they were sent, and each
    decision with its owner, due date, work (W-/H-) and state."""
    from mktflow.engine.meetings import show_meeting

    with refusals(json_):
        emit(show_meeting(uow(), reference, reader=reader), json_, _meeting_text)
