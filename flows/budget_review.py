"""Budget review (monthly): every budget line against its plan to date and its allocation.

Lines spent beyond plan to date by more than the tolerance, or beyond their allocation, go to
their owner to explain or re-plan; key projects whose allocation does not cover their plan
(resources not guaranteed, seed 003) go to finance. Management and finance read the report.
Explanations still missing are carried to the next review, which shows what came back.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from mktflow.config import get_settings
from mktflow.prefect.cycles import (
    RunView,
    begin_cycle,
    cycle_failed,
    default_period,
    finish_cycle,
    hand_report,
    markdown_table,
    publish_markdown,
    publish_table,
    run_header,
    settle_carried,
)
from mktflow.prefect.tasks.reviews import review_lines

CYCLE = "budget-review"


def _report(run: RunView, lines: list[dict[str, Any]],
            settled: dict[str, list[dict[str, Any]]], tolerance: float) -> str:
    flagged = [r for r in lines if r["flags"]]
    unguaranteed = [r for r in lines if r["unguaranteed"]]
    answered = [{**a, "action": a["data"].get("action"),
                 "explanation": a["data"].get("explanation"),
                 "new_planned_to_date": a["data"].get("new_planned_to_date")}
                for a in settled["answered"]]
    return "\n\n".join([
        run_header(run, f"Budget review {run.period}"),
        f"Tolerance over plan to date: {tolerance:g}%.",
        "## All lines\n\n" + markdown_table(lines, [
            "line", "owner", "planned", "allocated", "spent", "planned_to_date",
            "over_plan_pct"]),
        f"## Flagged to their owners ({len(flagged)})\n\n" + markdown_table(
            flagged, ["line", "owner", "flags", "ref"]),
        f"## Key projects without guaranteed resources ({len(unguaranteed)}), to finance\n\n"
        + markdown_table(unguaranteed, ["line", "planned", "allocated", "finance_ref"]),
        f"## Explanations received since the last review ({len(answered)})\n\n"
        + markdown_table(answered, ["line", "owner", "by", "action", "explanation",
                                    "new_planned_to_date"]),
        f"## Still unexplained ({len(settled['open'])}), carried\n\n" + markdown_table(
            settled["open"], ["line", "owner", "period", "ref", "holder"]),
    ])


@flow(name=CYCLE, persist_result=True, log_prints=True, on_failure=[cycle_failed],
      on_crashed=[cycle_failed])
def budget_review(period: str | None = None, tolerance_pct: float | None = None) -> dict[str, Any]:
    """Monthly: budget lines against plan to date; overruns to owners, unguaranteed key
    projects to finance, the report to management."""
    settings = get_settings()
    period = period or default_period(CYCLE)
    tolerance = settings.budget_tolerance_pct if tolerance_pct is None else tolerance_pct
    run = begin_cycle(CYCLE, period)
    settled = settle_carried(run.id)
    lines = review_lines(run.id, tolerance, settings.budget_key_project_min,
                         [int(c["line_id"]) for c in settled["open"]])
    publish_markdown(CYCLE, "report", _report(run, lines, settled, tolerance),
                     f"Budget review {period}")
    publish_table(CYCLE, "lines", [{k: v for k, v in r.items() if k != "work_item_id"}
                                   for r in lines], f"Budget lines {period}")
    flagged = [r for r in lines if r["flags"]]
    unguaranteed = [r for r in lines if r["unguaranteed"]]
    readers = hand_report(run.id, ["management", "finance"], f"Budget review {period}",
                          f"{len(flagged)} line(s) flagged, {len(unguaranteed)} key "
                          "project(s) without guaranteed resources.")
    carry = settled["open"] + [
        {"line": r["line"], "line_id": r["line_id"], "owner": r["owner"], "period": period,
         "ref": r["ref"], "work_item_id": r["work_item_id"]} for r in flagged if r["ref"]]
    summary = {"period": period, "lines": len(lines), "flagged": len(flagged),
               "unguaranteed": len(unguaranteed), "explained": len(settled["answered"]),
               "unexplained_carried": len(settled["open"]), "readers": readers,
               "skipped_periods": run.skipped_periods}
    finish_cycle(run.id, carry, summary)
    return summary
