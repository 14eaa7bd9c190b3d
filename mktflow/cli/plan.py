"""``mktflow plan``: the balance of present and future work; runs no flow, never imports Prefect."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mktflow.cli._kit import JsonOpt, emit, refusals, table

__all__ = ["plan_app"]

plan_app = typer.Typer(help="Plans: the balance of present and future work.",
                       no_args_is_help=True)


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
    from mktflow.domain.planning import balance
    from mktflow.engine.planfile import read_plan_file

    with refusals(json_):
        items = read_plan_file(path)
        result = balance(items, floor=get_settings().plan_future_share_floor).as_dict()
        result["file"] = str(path)
        emit(result, json_, _balance_text)
