"""``mktflow report``: reports over the engine's records; runs no flow, never imports Prefect."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mktflow.cli._kit import JsonOpt, emit, parse_date, refusals, table, uow

__all__ = ["ledger_text", "report_app"]

report_app = typer.Typer(help="Reports over the engine's records.", no_args_is_help=True)


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
