"""``mktflow report``: reports over the engine's records (``handoffs``) and the members' work
reports upward (``submit``, ``list``, ``show``; seed 001, 市场部管理制度 4: the day's work
reported to the head before the end of the working day); runs no flow, never imports Prefect."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mktflow.cli._kit import (
    ActorOpt,
    JsonOpt,
    ReaderOpt,
    emit,
    parse_date,
    plain,
    refusals,
    table,
    uow,
)

__all__ = ["ledger_text", "report_app"]

report_app = typer.Typer(help="Reports over the engine's records, and the members' work "
                               "reports (daily, weekly, monthly).", no_args_is_help=True)


# --- report handoffs ----------------------------------------------------------------------


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}h"


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _reasons(rows: list[dict[str, Any]]) -> str:
    return "; ".join(f"{r['reason']} x{r['count']}" for r in rows)


def ledger_text(ledger: dict[str, Any]) -> str:
    """The handoff ledger as plain-text tables."""
    pairs = [{
        "from→to": f"{p['from']}→{p['to']}", "offered": p["offered"],
        "to accept": _hours(p["median_hours_to_accept"]),
        "to deliver": _hours(p["median_hours_to_deliver"]),
        "rejected": _pct(p["rejection_rate"]), "returned": _pct(p["return_rate"]),
        "loops": p["rework_loops"], "overdue": _pct(p["overdue_share"]),
        "reasons": _reasons(p["rejections_by_reason"] + p["returns_by_reason"]),
    } for p in ledger["pairs"]]
    steps = [{**s, "median": _hours(s["median_hours"])} for s in ledger["slowest_steps"]]
    return "\n\n".join([
        table(pairs, ["from→to", "offered", "to accept", "to deliver", "rejected", "returned",
                      "loops", "overdue", "reasons"], empty="no handoffs in the period"),
        "Slowest step of each process (median wait, created → completed):",
        table(steps, ["process", "step", "done", "median"], empty="no completed steps"),
    ])


@report_app.command("handoffs")
def report_handoffs(
    since: Annotated[str | None, typer.Option(
        "--since", help="First day (YYYY-MM-DD) of handoffs and steps to count.")] = None,
    json_: JsonOpt = False,
) -> None:
    """The handoff ledger: per department pair, times to accept and deliver, rejections,
    returns and their reasons, rework loops, overdue share; the slowest step per process."""
    from mktflow.engine.reports import handoff_ledger

    with refusals(json_):
        ledger = handoff_ledger(uow(), since=parse_date(since, field="since")).as_dict()
        emit(ledger, json_, ledger_text)


# --- work reports upward --------------------------------------------------------------------

KindOpt = Annotated[str, typer.Option("--kind", help="daily, weekly or monthly.")]
PeriodOpt = Annotated[str | None, typer.Option(
    "--period", help="The day (YYYY-MM-DD), the week (2026-W50) or the month (2026-12); a day "
                     "names the week or month it falls in.")]


def _report_text(report: Any) -> str:
    view: dict[str, Any] = plain(report)
    head = (f"{view['ref']}  {view['kind']} {view['period']}  {view['member']} "
            f"({view['department']})  submitted {view['submitted_at']} by "
            f"{view['submitted_by']}" + ("  LATE" if view["late"] else ""))
    parts = [head] + [f"{name}:\n  " + view[key].replace("\n", "\n  ")
                      for name, key in (("Done", "done"), ("Problems", "problems"),
                                        ("Next", "next")) if view[key]]
    return "\n".join(parts)


@report_app.command("submit")
def report_submit(
    actor: ActorOpt,
    done: Annotated[str, typer.Option("--done", help="What you did in the period.")],
    problems: Annotated[str, typer.Option("--problems", help="Problems met.")] = "",
    next_: Annotated[str, typer.Option("--next", help="What comes next.")] = "",
    kind: KindOpt = "daily",
    period: PeriodOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Write your work report (today's by default): it completes the day's report step and
    goes to your head; a second one for the same period revises it."""
    from mktflow.engine.work_reports import submit

    with refusals(json_):
        emit(submit(uow(), actor_email=actor, done=done, problems=problems, next_=next_,
                    kind=kind, period=period), json_, _report_text)


@report_app.command("list")
def report_list(
    reader: ReaderOpt = None,
    department: Annotated[str | None, typer.Option("--department")] = None,
    member: Annotated[str | None, typer.Option("--member", help="A member's e-mail.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="daily, weekly or monthly.")] = None,
    period: PeriodOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The work reports one may see (the member, their head, management), newest first."""
    from mktflow.engine.work_reports import list_reports

    with refusals(json_):
        rows = list_reports(uow(), reader=reader, department=department, member=member,
                            kind=kind, period=period)
        emit(rows, json_, lambda r: table(
            [{**x, "late": "late" if x["late"] else "", "done": x["done"][:60]}
             for x in plain(r)],
            ["ref", "kind", "period", "member", "department", "late", "done"],
            empty="no reports"))


@report_app.command("show")
def report_show(
    reference: Annotated[str, typer.Argument(help="The report, e.g. 3 or R-3.")],
    reader: ReaderOpt = None,
    json_: JsonOpt = False,
) -> None:
    """One work report with its texts."""
    from mktflow.engine.work_reports import show_report

    with refusals(json_):
        emit(show_report(uow(), reference, reader=reader), json_, _report_text)
