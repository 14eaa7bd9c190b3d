"""``mktflow plan``, ``mktflow report`` and ``mktflow serve``: the management cycles' commands.

``plan`` and ``report`` run no flow and never import Prefect; ``serve`` imports it inside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mktflow.clikit import JsonOpt, emit, parse_date, refusals, table, uow

__all__ = ["plan_app", "report_app", "serve"]

plan_app = typer.Typer(help="Plans: the balance of present and future work.",
                       no_args_is_help=True)
report_app = typer.Typer(help="Reports over the engine's records.", no_args_is_help=True)


# --- plan balance -------------------------------------------------------------------------


def _balance_text(result: dict[str, Any]) -> str:
    lines = [
        f"{result['total']} plan items: {result['present']} present "
        f"({result['present_share']:.1%}), {result['future']} future "
        f"({result['future_share']:.1%}); floor for future work "
        f"{result['future_share_floor']:.0%}",
    ]
    lines += [f"WARNING: {w}" for w in result["warnings"]]
    if result["missing"]:
        lines += ["", "Items lacking an owner, a goal or resources:",
                  table([{**m, "lacks": ", ".join(m["lacks"])} for m in result["missing"]],
                        ["where", "item", "lacks"])]
    if result["chain_issues"]:
        lines += ["", "Plan chain (strategy → marketing strategy → marketing plan → promotion):",
                  table(result["chain_issues"], ["item", "kind", "detail"])]
    elif not result["chain_checked"]:
        lines += ["", "Plan chain: not checked (no item has a parent link)."]
    return "\n".join(lines)


@plan_app.command("balance")
def plan_balance(
    path: Annotated[Path, typer.Argument(help="Plan file: .csv or .yaml with title, category, "
                                              "owner, goal[, horizon, resources, parent].")],
    json_: JsonOpt = False,
) -> None:
    """Present vs future work in a plan, items without owner/goal/resources, the plan chain."""
    from mktflow.config import get_settings
    from mktflow.cycles.planfile import read_plan_file
    from mktflow.domain.planning import balance

    with refusals(json_):
        items = read_plan_file(path)
        result = balance(items, floor=get_settings().plan_future_share_floor).as_dict()
        result["file"] = str(path)
        emit(result, json_, _balance_text)


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


# --- serve --------------------------------------------------------------------------------


def serve(
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Serve only this deployment (name); repeatable.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the deployments and their "
                                                       "schedules, serve nothing.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Serve every flow's deployment, with the cycles' schedules, until Ctrl-C."""
    from deployments.catalog import catalog_rows, serve_all

    with refusals(json_):
        if list_:
            rows = catalog_rows()
            emit(rows, json_, lambda r: table(
                r, ["deployment", "cron", "timezone", "status"]))
            return
        serve_all(only=only)
