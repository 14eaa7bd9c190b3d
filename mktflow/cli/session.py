"""``mktflow session``: who is signed in on the departments' pages, and ending it.

Each sign-in to the pages is a session on the server (``mktflow.engine.web_sessions``): listed
here without its secret, ended at once by ``session end`` (the next request with its cookie is
signed out). Signing out, revoking the token it was signed in with, and a member leaving or
moving department end sessions too.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mktflow.cli._kit import JsonOpt, emit, refusals, table, uow
from mktflow.domain.errors import BadInput

__all__ = ["session_app"]

session_app = typer.Typer(help="Sessions signed in on the departments' pages.",
                          no_args_is_help=True)


@session_app.command("list")
def session_list(
    member: Annotated[str | None, typer.Option("--member", help="Only this member's.")] = None,
    all_: Annotated[bool, typer.Option(
        "--all", help="Also the ended, expired and idle ones, with when and why they "
                      "ended.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Live sessions (never their secrets): id, member, how they signed in, started, last
    used, expires; with --all also those that ended, and why."""
    from mktflow.engine.web_sessions import list_sessions

    with refusals(json_):
        rows: list[dict[str, Any]] = [s.as_dict() for s in
                                      list_sessions(uow(), member, everything=all_)]
    columns = ["id", "member", "state", "signed_in_by", "created_at", "last_seen_at",
               "expires_at"]
    emit(rows, json_, lambda rs: table(
        rs, columns + (["ended_at", "ended_why"] if all_ else []), empty="no sessions"))


@session_app.command("end")
def session_end(
    session_id: Annotated[int | None, typer.Argument(
        help="The session's id (see session list).")] = None,
    member: Annotated[str | None, typer.Option(
        "--member", help="End all this member's sessions.")] = None,
    reason: Annotated[str, typer.Option(
        "--reason", help="Why, for the audit trail.")] = "ended by an operator",
    json_: JsonOpt = False,
) -> None:
    """End a session at once, or all of a member's: the next request with its cookie is
    signed out. Ending an ended session changes nothing."""
    from mktflow.engine.web_sessions import end_member_sessions, end_session_by_id

    with refusals(json_):
        if (session_id is None) == (member is None):
            raise BadInput("give a session's id or --member (one of them)")
        if not reason.strip():
            raise BadInput("reason: must not be empty")
        if member is not None:
            ended = end_member_sessions(uow(), member, why=reason.strip())
        else:
            assert session_id is not None
            ended = [session_id] if end_session_by_id(uow(), session_id,
                                                      why=reason.strip()) else []
    emit({"ended": ended}, json_,
         f"ended session{'s' if len(ended) != 1 else ''} {', '.join(map(str, ended))}"
         if ended else "no live session to end")
