"""``mktflow token``: personal member tokens for the REST API and the web pages.

An operator (someone with the database URL) makes a token for a member and hands it over; the
token is printed once and stored only hashed. Deactivating a member (``org load`` without
them) revokes their tokens. Revoking a token ends the page sessions signed in with it;
``revoke --member`` revokes all of a member's tokens and ends all their page sessions.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mktflow.cli._kit import JsonOpt, emit, refusals, table, uow
from mktflow.domain.errors import BadInput

__all__ = ["token_app"]

token_app = typer.Typer(help="Personal member tokens (REST API, web pages).",
                        no_args_is_help=True)


@token_app.command("create")
def token_create(
    member: Annotated[str, typer.Option("--member", help="E-mail of the active member.")],
    expires: Annotated[int | None, typer.Option(
        "--expires", help="Days the token is valid (default: until revoked).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Make a token for a member and print it once (it is stored only hashed)."""
    from mktflow.engine.credentials import issue_token

    with refusals(json_):
        issued = issue_token(uow(), member, expires_days=expires)
    until = issued.expires_at.isoformat() if issued.expires_at else None
    valid = f"until {until}" if until else "until revoked"
    emit({"id": issued.id, "token": issued.token, "member": issued.member,
          "expires_at": until}, json_,
         f"token {issued.id} for {issued.member} (valid {valid}); shown only now:\n"
         f"{issued.token}")


@token_app.command("list")
def token_list(
    member: Annotated[str | None, typer.Option("--member", help="Only this member's.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Tokens (never their secrets): id, member, state, created, expires, last used."""
    from mktflow.engine.credentials import list_tokens

    with refusals(json_):
        rows: list[dict[str, Any]] = [t.as_dict() for t in list_tokens(uow(), member)]
    emit(rows, json_, lambda rs: table(
        rs, ["id", "member", "state", "created_at", "expires_at", "last_used_at"],
        empty="no tokens"))


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int | None, typer.Argument(
        help="The token's id (see token list).")] = None,
    member: Annotated[str | None, typer.Option(
        "--member", help="Revoke all this member's tokens and end all their page sessions, "
                         "however they signed in.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Revoke a token at once (requests carrying it are refused from now on, and the page
    sessions signed in with it end), or all of a member's (--member)."""
    from mktflow.engine.credentials import revoke_token, revoke_tokens_of

    with refusals(json_):
        if (token_id is None) == (member is None):
            raise BadInput("give a token's id or --member (one of them)")
        if member is not None:
            revoked, ended = revoke_tokens_of(uow(), member)
            emit({"member": member, "revoked": revoked, "sessions_ended": ended}, json_,
                 f"{member}: {_count(len(revoked), 'token')} revoked, "
                 f"{_count(len(ended), 'page session')} ended")
            return
        assert token_id is not None
        ended = revoke_token(uow(), token_id)
    emit({"id": token_id, "state": "revoked", "sessions_ended": ended}, json_,
         f"token {token_id} revoked" + (f", {_count(len(ended), 'page session')} signed in "
                                        "with it ended" if ended else ""))


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"
