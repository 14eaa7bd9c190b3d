"""``mktflow db``: the mktflow database."""

from __future__ import annotations

import typer

from mktflow.cli._kit import (
    JsonOpt,
    emit,
    refusals,
)

db_app = typer.Typer(help="The mktflow database.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(json_: JsonOpt = False) -> None:
    """Create or migrate mktflow's tables to the newest schema (safe to run again)."""
    from mktflow import bootstrap
    from mktflow.engine import database

    with refusals(json_):
        uow = bootstrap.uow()
        before, after = database.upgrade(uow)
        result = {"database": database.location(uow), "from": before, "to": after}
        emit(result, json_, f"database {result['database']} at revision {after}"
                            + ("" if before == after else f" (was {before or 'empty'})"))
