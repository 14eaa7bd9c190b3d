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
    from mktflow.config import get_settings
    from mktflow.store.db import get_engine, safe_url
    from mktflow.store.migrate import upgrade

    with refusals(json_):
        url = get_settings().resolved_database_url()
        before, after = upgrade(get_engine(url))
        result = {"database": safe_url(url), "from": before, "to": after}
        emit(result, json_, f"database {result['database']} at revision {after}"
                            + ("" if before == after else f" (was {before or 'empty'})"))
