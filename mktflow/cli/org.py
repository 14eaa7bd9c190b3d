"""``mktflow org``: branches, departments and members."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mktflow.cli._kit import (
    ActorOpt,
    JsonOpt,
    emit,
    parse_date,
    refusals,
    table,
    uow,
)
from mktflow.domain.errors import BadInput

org_app = typer.Typer(help="Branches, departments and members.", no_args_is_help=True)


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
        emit(result, json_, _load_summary)


def _load_summary(r: dict[str, Any]) -> str:
    """The load in one line, then one line per member who left still holding work, one per
    member who moved department (what went back where), and the page sessions ended."""
    lines = [f"loaded {r['source']}: {len(r['added'])} added, {len(r['updated'])} updated, "
             f"{len(r['deactivated'])} deactivated"]
    for email, held in r["leavers_hold"].items():
        lines.append(f"{email} left and still holds {', '.join(held)}: hand it over with "
                     f"`mktflow work reassign-all --from {email} --to MEMBER --as HEAD`")
    for email, move in r["movers"].items():
        parts = [f"{email} moved from {move['from']} to {move['to']}"]
        parts += move["handed_back"]
        parts += [f"no longer leads {code} while its head is away"
                  for code in move["delegate_of"]]
        lines.append("; ".join(parts))
    for email, ids in r["sessions_ended"].items():
        lines.append(f"{email}: signed out of the pages ({len(ids)} session"
                     f"{'' if len(ids) == 1 else 's'} ended: {', '.join(map(str, ids))})")
    return "\n".join(lines)


@org_app.command("show")
def org_show(json_: JsonOpt = False) -> None:
    """Branches, departments (who leads them today) and members."""
    from mktflow.engine.queries import organisation

    with refusals(json_):
        org = organisation(uow())
        emit(org, json_, lambda o: "\n\n".join([
            table(o.branches, ["code", "name", "hq"]),
            table(o.departments, ["code", "name", "head", "delegate", "head_away"]),
            table(o.members, ["email", "name", "department", "role", "branch"]),
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
