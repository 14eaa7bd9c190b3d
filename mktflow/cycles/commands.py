"""``mktflow plan``, ``mktflow report``, ``mktflow serve`` and ``mktflow deploy``.

``plan`` and ``report`` run no flow and never import Prefect; ``serve`` imports it inside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mktflow.clikit import JsonOpt, emit, parse_date, refusals, table, uow

__all__ = ["deploy", "plan_app", "report_app", "serve"]

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
    no_api: Annotated[bool, typer.Option(
        "--no-api", help="Do not serve the REST API (it is served elsewhere).")] = False,
    api_host: Annotated[str | None, typer.Option(
        "--api-host", help="Address the REST API listens on (default: MKTFLOW_API_URL's host "
                           "when it is an IP address or localhost, else 127.0.0.1).")] = None,
    api_port: Annotated[int | None, typer.Option(
        "--api-port", help="Port the REST API listens on (default: MKTFLOW_API_URL's).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Serve every flow's deployment with its schedule, and the REST API with the pages that
    notifications link to, until Ctrl-C; schedules stay active after it stops."""
    from deployments.catalog import catalog_rows
    from mktflow.api.serving import listen_address
    from mktflow.config import get_settings
    from mktflow.prefect.serving import serve_team

    with refusals(json_):
        if list_:
            rows = catalog_rows()
            emit(rows, json_, lambda r: table(
                r, ["deployment", "cron", "timezone", "status"]))
            return
        host, port = listen_address(get_settings().api_url)
        serve_team(only, api=None if no_api else (api_host or host, api_port or port),
                   echo=typer.echo)


def deploy(
    pool: Annotated[str, typer.Option("--pool", help="The Prefect work pool (process type; "
                                                     "created when missing).")],
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Deploy only this deployment (name); repeatable.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Register every flow's deployment, with its schedule, on a Prefect process work pool;
    `prefect worker start --pool NAME` on any machine with mktflow installed runs them."""
    from mktflow.prefect.serving import deploy_to_pool

    with refusals(json_):
        result = deploy_to_pool(pool, only)
        emit(result, json_, _deploy_text)


def _deploy_text(r: dict[str, Any]) -> str:
    lines = [f"work pool {r['pool']} ({'created' if r['pool_created'] else 'existing'}) on "
             f"{r['prefect_api']}: {len(r['deployments'])} deployments registered"]
    for d in r["deployments"]:
        when = ", ".join(f"{s['cron']} ({s['timezone']})" for s in d["schedules"])
        lines.append(f"  {d['deployment']}  {when or 'on demand'}")
    lines += [f"not deployed: {n['deployment']}: {n['why']}" for n in r["not_deployed"]]
    lines.append(f"flow runs get: {', '.join(r['env'])}")
    lines += [f"note: {n}" for n in r["notes"]]
    lines.append(f"start workers with: {r['worker_command']}")
    return "\n".join(lines)
