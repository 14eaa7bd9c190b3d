"""``mktflow lead``: sales leads, marketing → sales (seed 001, 市场营销部 工作流程 1.(2)).

Marketing gathers (one, or a CSV file), qualifies (handing the lead to sales as a handoff with a
follow-up deadline) or disqualifies; sales accepts or rejects the handoff (``mktflow handoff
accept|reject H-n``) and reports the outcome here; ``funnel`` counts gathered → qualified →
accepted → won per campaign and channel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mktflow.cli._kit import (
    DUE_HELP,
    ActorOpt,
    JsonOpt,
    ReaderOpt,
    due_ahead,
    emit,
    parse_due,
    plain,
    read_bounded,
    refusals,
    table,
    uow,
)
from mktflow.domain.errors import BadInput

__all__ = ["lead_app"]

lead_app = typer.Typer(help="Sales leads: gathered by marketing, followed up by sales.",
                       no_args_is_help=True)

LeadArg = Annotated[str, typer.Argument(help="The lead, e.g. 12 or L-12.")]
#: The largest lead file read (a larger one is split by whoever exports it).
_FILE_MAX_BYTES = 5_000_000


def _lead_text(lead: Any) -> str:
    view: dict[str, Any] = plain(lead)
    handoff = view.get("handoff") or {}
    shown = {**view, "handoff": " ".join(str(handoff.get(k)) for k in ("ref", "state", "due")
                                         if handoff.get(k)) or None}
    keys = ["ref", "state", "company", "contact", "channel", "campaign", "region", "owner",
            "handoff", "order", "reason", "notes"]
    lines = [f"{k:>9}: {shown[k]}" for k in keys if shown.get(k)]
    lines += [f"  {e['at'][:16]}  {e['ref']:<6} {e['action']:<10} {e['actor']}"
              + (f" — {e['reason']}" if e.get("reason") else "")
              for e in view.get("history") or []]
    return "\n".join(lines)


def _show(lead_id: int | None, json_: bool) -> None:
    from mktflow.engine.leads import show_lead

    emit(show_lead(uow(), f"L-{lead_id}"), json_, _lead_text)


def _number(reference: str) -> int:
    from mktflow.engine.leads import lead_number

    return lead_number(reference)


@lead_app.command("gather")
def lead_gather(
    company: Annotated[str, typer.Option("--company", help="The customer or company.")],
    contact: Annotated[str, typer.Option("--contact", help="Who to reach, and how.")],
    channel: Annotated[str, typer.Option("--channel", help="Where the lead came in.")],
    actor: ActorOpt,
    campaign: Annotated[str | None, typer.Option(
        "--campaign", help="The campaign's business key (the lead's source).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="A branch code.")] = None,
    notes: Annotated[str, typer.Option("--notes")] = "",
    owner: Annotated[str | None, typer.Option(
        "--owner", help="The marketing member who owns it (default: --as).")] = None,
    source: Annotated[str | None, typer.Option(
        "--source", help="campaign, research or import (default: campaign with --campaign, "
                         "else research).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Record a lead marketing gathered (marketing members only)."""
    from mktflow.engine.leads import gather

    with refusals(json_):
        lead = gather(uow(), actor_email=actor, company=company, contact=contact,
                      channel=channel, campaign=campaign, region=region, notes=notes,
                      owner=owner, source=source)
        _show(lead.id, json_)


def _import_text(report: dict[str, Any]) -> str:
    lines = [f"imported {len(report['imported'])} lead(s): {', '.join(report['imported'])}"
             if report["imported"] else "imported no lead"]
    lines += [f"skipped {e['message']}" for e in report["errors"]]
    return "\n".join(lines)


@lead_app.command("import")
def lead_import(
    file: Annotated[Path, typer.Argument(help="A UTF-8 CSV file with a header row: company, "
                                              "contact, channel[, campaign, region, notes, "
                                              "owner].")],
    actor: ActorOpt,
    skip_bad: Annotated[bool, typer.Option(
        "--skip-bad", help="Import the good rows and report the bad ones (default: a bad "
                           "row imports nothing).")] = False,
    json_: JsonOpt = False,
) -> None:
    """Gather the leads of a CSV file, all or nothing: each bad row is reported by row, field
    and rule (exit 2, nothing imported) unless --skip-bad."""
    from mktflow.engine.leads import import_leads, read_csv

    with refusals(json_):
        raw = read_bounded(file, field="file", max_bytes=_FILE_MAX_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"file: {file} is not UTF-8 (byte {exc.start})") from None
        report = import_leads(uow(), actor_email=actor, rows=read_csv(text), skip_bad=skip_bad)
        emit(report, json_, _import_text)


@lead_app.command("qualify")
def lead_qualify(
    reference: LeadArg,
    due: Annotated[str, typer.Option(
        "--due", help="The follow-up deadline for sales: " + DUE_HELP)],
    actor: ActorOpt,
    note: Annotated[str, typer.Option("--note", help="Key intelligence for sales.")] = "",
    json_: JsonOpt = False,
) -> None:
    """Qualify a lead and hand it to sales at once, as a handoff due --due (marketing)."""
    from mktflow.engine.leads import qualify

    with refusals(json_):
        unit = uow()
        lead = qualify(unit, _number(reference), actor_email=actor, note=note,
                       due_at=due_ahead(parse_due(due, field="due"), unit.now()))
        _show(lead.id, json_)


@lead_app.command("hand-over")
def lead_hand_over(
    reference: LeadArg,
    due: Annotated[str, typer.Option(
        "--due", help="The new follow-up deadline for sales: " + DUE_HELP)],
    actor: ActorOpt,
    note: Annotated[str, typer.Option("--note", help="What changed, for sales.")] = "",
    json_: JsonOpt = False,
) -> None:
    """Hand a qualified lead to sales again, once sales rejected it or marketing withdrew its
    handoff (marketing)."""
    from mktflow.engine.leads import hand_over

    with refusals(json_):
        unit = uow()
        lead = hand_over(unit, _number(reference), actor_email=actor, note=note,
                         due_at=due_ahead(parse_due(due, field="due"), unit.now()))
        _show(lead.id, json_)


@lead_app.command("disqualify")
def lead_disqualify(
    reference: LeadArg, actor: ActorOpt,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Drop a gathered lead, with --reason (marketing)."""
    from mktflow.engine.leads import disqualify

    with refusals(json_):
        lead = disqualify(uow(), _number(reference), actor_email=actor, reason=reason)
        _show(lead.id, json_)


@lead_app.command("outcome")
def lead_outcome(
    reference: LeadArg, actor: ActorOpt,
    won: Annotated[bool, typer.Option("--won/--lost", help="Won (with --order) or lost "
                                                           "(with --reason).")],
    order: Annotated[str | None, typer.Option("--order", help="The order's reference.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it was lost.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Report what came of a lead sales accepted: --won --order REF, or --lost --reason
    (sales; it delivers the lead's handoff)."""
    from mktflow.engine.leads import report_outcome

    with refusals(json_):
        lead = report_outcome(uow(), _number(reference), actor_email=actor,
                              outcome="won" if won else "lost", order=order, reason=reason)
        _show(lead.id, json_)


@lead_app.command("show")
def lead_show(reference: LeadArg, reader: ReaderOpt = None, json_: JsonOpt = False) -> None:
    """One lead with its state, its handoff to sales and its outcome."""
    from mktflow.engine.leads import show_lead

    with refusals(json_):
        emit(show_lead(uow(), reference, reader=reader), json_, _lead_text)


@lead_app.command("list")
def lead_list(
    reader: ReaderOpt = None,
    campaign: Annotated[str | None, typer.Option("--campaign")] = None,
    state: Annotated[str | None, typer.Option(
        "--state", help="gathered, qualified, disqualified, won or lost.")] = None,
    json_: JsonOpt = False,
) -> None:
    """The leads one may see, newest first."""
    from mktflow.engine.leads import list_leads

    with refusals(json_):
        rows = list_leads(uow(), reader=reader, campaign=campaign, state=state)
        emit(rows, json_, lambda r: table(
            [{**x, "handoff": (x["handoff"] or {}).get("ref")} for x in plain(r)],
            ["ref", "state", "company", "channel", "campaign", "owner", "handoff"],
            empty="no leads"))


def _funnel_text(funnel: Any) -> str:
    report: dict[str, Any] = plain(funnel)

    def rows(groups: dict[str, Any], name: str) -> list[dict[str, Any]]:
        return [{name: key or "(none)", **{k: v for k, v in c.items() if k != "rates"},
                 "won/gathered": "-" if c["rates"].get("overall") is None
                 else f"{c['rates']['overall']:.0%}"} for key, c in groups.items()]

    columns = ["gathered", "qualified", "accepted", "won", "disqualified", "rejected", "lost",
               "won/gathered"]
    return "\n\n".join([
        table(rows(report["by_campaign"], "campaign"), ["campaign", *columns], empty="no leads"),
        table(rows(report["by_channel"], "channel"), ["channel", *columns], empty="no leads"),
    ])


@lead_app.command("funnel")
def lead_funnel(
    reader: ReaderOpt = None,
    campaign: Annotated[str | None, typer.Option(
        "--campaign", help="One campaign's business key.")] = None,
    json_: JsonOpt = False,
) -> None:
    """The lead funnel, gathered → qualified → accepted → won, per campaign and channel."""
    from mktflow.engine.leads import funnel_report

    with refusals(json_):
        emit(funnel_report(uow(), reader=reader, campaign=campaign), json_, _funnel_text)
