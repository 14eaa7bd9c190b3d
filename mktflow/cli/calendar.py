"""``mktflow calendar``: the campaign calendar of a month or quarter (campaigns, their
activities, approvals, due times, handoff deadlines) and each member's secret iCalendar feed
URL: make one, list them, revoke one (``mktflow.engine.campaign_calendar``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mktflow.cli._kit import ActorOpt, JsonOpt, ReaderOpt, emit, plain, refusals, table, uow

__all__ = ["calendar_app"]

calendar_app = typer.Typer(help="The campaign calendar and its secret iCalendar feed URLs.",
                           no_args_is_help=True)


def _page_text(page: Any) -> str:
    view: dict[str, Any] = plain(page)
    rows = [{"start": e["start"] if not e["all_day"] else f"{e['start']}..{e['end']}",
             "kind": e["kind"], "ref": e["ref"], "title": e["title"],
             "department": e["department"] or "", "branch": e["branch"] or "",
             "state": e["state"]} for e in view["entries"]]
    head = f"campaign calendar {view['period']} ({view['start']} to {view['end']})"
    return head + "\n" + table(rows, ["start", "kind", "ref", "title", "department", "branch",
                                      "state"], empty="nothing to see")


@calendar_app.command("show")
def calendar_show(
    reader: ReaderOpt = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: this "
                                                              "month).")] = None,
    quarter: Annotated[str | None, typer.Option("--quarter", help="YYYY-Qn.")] = None,
    department: Annotated[str | None, typer.Option(
        "--department", help="Only this department's entries (a handoff: either side).")] = None,
    branch: Annotated[str | None, typer.Option(
        "--branch", help="Only this branch's entries, with the whole company's.")] = None,
    json_: JsonOpt = False,
) -> None:
    """A month or a quarter of the campaign calendar, as --as may see it."""
    from mktflow.engine.campaign_calendar import calendar_page

    with refusals(json_):
        emit(calendar_page(uow(), month=month, quarter=quarter, reader=reader,
                           department=department, branch=branch), json_, _page_text)


@calendar_app.command("feed")
def calendar_feed(actor: ActorOpt, json_: JsonOpt = False) -> None:
    """Make a secret feed URL for --as to subscribe to in Outlook or Google Calendar (shown
    this once; stored only hashed)."""
    from mktflow.engine.campaign_calendar import issue_feed

    with refusals(json_):
        issued = issue_feed(uow(), actor)
        emit(issued, json_, lambda f: f"feed {f.id} of {f.member}: {f.url}\n"
                                      "(shown this once; revoke it with "
                                      f"mktflow calendar revoke {f.id})")


@calendar_app.command("feeds")
def calendar_feeds(actor: ActorOpt, json_: JsonOpt = False) -> None:
    """The feed URLs of --as, without their secrets."""
    from mktflow.engine.campaign_calendar import list_feeds

    with refusals(json_):
        emit(list_feeds(uow(), actor), json_,
             lambda rows: table(rows, ["id", "state", "created_at", "last_used_at",
                                       "revoked_at"], empty="no feeds"))


@calendar_app.command("revoke")
def calendar_revoke(
    feed: Annotated[int, typer.Argument(help="The feed's id (mktflow calendar feeds).")],
    actor: Annotated[str | None, typer.Option(
        "--as", help="The member revoking one of their own (without it: the operator, any "
                     "member's).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Revoke a feed URL: it answers 404 from now on."""
    from mktflow.engine.campaign_calendar import revoke_feed

    with refusals(json_):
        emit(revoke_feed(uow(), feed, actor_email=actor), json_,
             lambda f: f"feed {f.id} of {f.member}: {f.state}")
