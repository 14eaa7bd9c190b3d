"""``mktflow forecast``: what next quarter will cost the departments (issue 24, item 7): the
plan of starts simulated over the model the last complete quarter's ledger gives, with where it
will jam and the model's back-test (``mktflow.engine.forecast``). Reads only; never imports
Prefect."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mktflow.cli._kit import JsonOpt, ReaderOpt, emit, plain, read_bounded, refusals, table, uow

__all__ = ["forecast_cmd"]


def _counts(plan: dict[str, list[int]]) -> str:
    return ", ".join(f"{kind} {'/'.join(map(str, months))}" for kind, months in plan.items())


def forecast_text(view: Any) -> str:
    """The forecast as plain text: the plan, the departments' table, the jams, the back-test."""
    f = plain(view)
    rows = [{"department": d["department"], "people": d["people"], "steps": d["steps"],
             "busy": f"{d['utilisation']:.0%}", "wait p50": f"{d['wait_p50_hours']:.1f}h",
             "wait p95": f"{d['wait_p95_hours']:.1f}h",
             "jam": f"from week {d['jam_week']} ({d['jam_starts_on']}): {d['jam_reason']}"
             if d["jam"] else ""} for d in f["departments"]]
    back = f["backtest"]
    error = "no wait measured" if back["mape"] is None else f"{back['mape']:.0%}"
    lines = [
        f"Forecast of {f['quarter']} ({f['starts_on']} to {f['ends_on']}), seed {f['seed']}: "
        f"{_counts(f['plan'])} (starts per month); {f['background']} other processes and "
        "steps as last quarter.",
        table(rows, ["department", "people", "steps", "busy", "wait p50", "wait p95", "jam"]),
        "Jams: " + (", ".join(f["jams"]) if f["jams"] else "none"),
        f"Back-test ({back['history_from']} to {back['history_until']}, "
        f"{back['processes']} processes replayed): mean absolute percentage error of the "
        f"departments' mean waits {error}.",
    ]
    return "\n".join(lines)


def forecast_cmd(
    quarter: Annotated[str, typer.Option(
        "--quarter", help="next (the coming quarter) or a later quarter, YYYY-Qn.")] = "next",
    plan_file: Annotated[Path | None, typer.Option(
        "--plan", help="A YAML or JSON plan: campaign, new_product, order, each a quarter's "
                       "count or three monthly counts.")] = None,
    campaign: Annotated[int | None, typer.Option(
        "--campaign", help="Campaigns starting in the quarter (instead of the file's).")] = None,
    new_product: Annotated[int | None, typer.Option(
        "--new-product", help="New products starting in the quarter.")] = None,
    order: Annotated[int | None, typer.Option(
        "--order", help="Orders starting in the quarter.")] = None,
    seed: Annotated[int, typer.Option(
        "--seed", help="The simulation's seed: the same seed gives the same answer.")] = 0,
    threshold: Annotated[float, typer.Option(
        "--threshold", help="Hours of 95th-percentile wait above which a department is "
                            "jammed.")] = 120.0,
    reader: ReaderOpt = None,
    json_: JsonOpt = False,
) -> None:
    """What next quarter will cost: each department's load and waits for a plan of campaigns,
    new products and orders, and where the plan will jam (heads and management; exit 2 on a
    bad plan)."""
    from mktflow.domain.forecast import parse_plan
    from mktflow.engine import forecast as forecasts

    with refusals(json_):
        data: dict[str, Any] = {}
        if plan_file is not None:
            raw = read_bounded(plan_file, field="--plan", max_bytes=forecasts.PLAN_FILE_MAX)
            data = dict(forecasts.plan_from_text(raw.decode("utf-8-sig", "replace"),
                                                 source=f"--plan {plan_file}").months)
        for kind, count in (("campaign", campaign), ("new_product", new_product),
                            ("order", order)):
            if count is not None:
                data[kind] = count
        view = forecasts.forecast(uow(), plan=parse_plan(data), quarter=quarter, seed=seed,
                                  threshold_hours=threshold, reader=reader)
        emit(view, json_, forecast_text)
