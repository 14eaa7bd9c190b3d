"""Annual planning (yearly, for next year): collect plan items from departments, classify each
as present or future work, and report the balance and its warnings.

Each department's head gets a step to hand in next year's plan items (title, category, owner,
goal, resources, parent). The cycle runs in October, November and December for the same
coming year: the first run opens the steps, every run compiles what came back so far and
lists the departments still missing, so the December report is the final one.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from mktflow.config import get_settings
from mktflow.domain.errors import PlanFileInvalid
from mktflow.domain.planning import (
    PlanBalance,
    PlanItem,
    balance,
    parse_plan_items,
)
from mktflow.prefect.cycles import (
    RunView,
    begin_cycle,
    cycle_failed,
    default_period,
    finish_cycle,
    markdown_table,
    publish_markdown,
    publish_table,
    run_header,
)
from mktflow.prefect.tasks.reviews import collect

CYCLE = "annual-planning"


def _balance(submissions: list[dict[str, Any]],
             floor: float) -> tuple[PlanBalance, list[str]]:
    """The balance of every department's items; a department whose items break a rule is
    left out and its problems reported (the form already checks the fields)."""
    items: list[PlanItem] = []
    problems: list[str] = []
    for s in submissions:
        if not s["items"]:
            continue
        try:
            items += parse_plan_items(list(enumerate(s["items"], start=1)),
                                      f"{s['department']} ({s['ref']})",
                                      unit=f"{s['department']} item")
        except PlanFileInvalid as exc:
            problems += exc.problems
    return balance(items, floor=floor), problems


def _report(run: RunView, result: dict[str, Any], submissions: list[dict[str, Any]]) -> str:
    missing = [s for s in submissions if s["state"] != "done"]
    return "\n\n".join([
        run_header(run, f"Annual plan {run.period}: present and future work"),
        f"**{result['total']} items: {result['present']} present "
        f"({result['present_share']:.1%}), {result['future']} future "
        f"({result['future_share']:.1%}).** Floor for future work: "
        f"{result['future_share_floor']:.0%}.",
        "**Importance and urgency (seed 000):** " + ", ".join(
            f"{q} {n}" for q, n in result["quadrants"].items()) + ".",
        "## Warnings\n\n" + ("\n".join(f"- {w}" for w in result["warnings"]) or "_none_"),
        f"## Departments still to hand in ({len(missing)})\n\n" + markdown_table(
            missing, ["department", "holder", "ref"]),
        "## Items lacking an owner, a goal or resources\n\n" + markdown_table(
            [{**m, "lacks": ", ".join(m["lacks"])} for m in result["missing"]],
            ["where", "item", "lacks"]),
        "## Plan chain\n\n" + (markdown_table(result["chain_issues"],
                                               ["item", "kind", "detail"])
                               if result["chain_checked"] else "_no parent links given_"),
        "## Items\n\n" + markdown_table(result["items"],
                                        ["title", "category", "horizon", "quadrant", "owner",
                                         "parent"]),
    ])


@flow(name=CYCLE, persist_result=True, log_prints=True, on_failure=[cycle_failed],
      on_crashed=[cycle_failed])
def annual_planning(period: str | None = None,
                    departments: list[str] | None = None) -> dict[str, Any]:
    """Yearly (Oct-Dec, for next year): collect plan items, report the present/future balance,
    items without owner/goal/resources, and breaks in the plan chain."""
    settings = get_settings()
    period = period or default_period(CYCLE, ahead=True)
    run = begin_cycle(CYCLE, period)
    submissions = collect(run.id, departments or settings.planning_departments)
    plan, problems = _balance(submissions, settings.plan_future_share_floor)
    result = plan.as_dict()
    result["warnings"] += [f"left out: {p}" for p in problems]
    publish_markdown(CYCLE, "report", _report(run, result, submissions),
                     f"Annual plan {period}: balance")
    publish_table(CYCLE, "balance", [{
        "total": result["total"], "present": result["present"], "future": result["future"],
        "present_share": result["present_share"], "future_share": result["future_share"],
        "future_share_floor": result["future_share_floor"],
        "below_floor": result["below_floor"]}], f"Present/future balance {period}")
    publish_table(CYCLE, "warnings", [{"warning": w} for w in result["warnings"]],
                  f"Plan warnings {period}")
    missing = [s for s in submissions if s["state"] != "done"]
    carry = [{"department": s["department"], "ref": s["ref"], "period": period,
              "work_item_id": int(s["ref"][2:])} for s in missing]
    summary = {"period": period, "total": result["total"], "future_share":
               result["future_share"], "warnings": result["warnings"],
               "departments_missing": [s["department"] for s in missing],
               "skipped_periods": run.skipped_periods}
    finish_cycle(run.id, carry, summary)
    return summary
