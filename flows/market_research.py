"""Market research (monthly): compile what the last round brought in, hand the report on, and
open this month's round.

Named members each collect findings on consumers, the market or competitors (seed 002's
three basic jobs) as a work item with a form. The cycle never waits for them: each run
compiles the steps the previous run left open. What came back becomes findings in the report;
what did not is listed as missing, with whose it is, and stays on the next run's agenda. The
report goes to management and to the departments that subscribe to it
(``MKTFLOW_RESEARCH_SUBSCRIBERS``), as an item to read in their queue, with a notice.
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
)
from mktflow.prefect.tasks.cycles import Assignment, assign_collection, compile_last_round

CYCLE = "market-research"


def _report(run: RunView, compiled: dict[str, list[dict[str, Any]]],
            collecting: list[dict[str, Any]]) -> str:
    findings = [{**f, "late": "late" if f["late"] else ""} for f in compiled["findings"]]
    return "\n\n".join([
        run_header(run, f"Market research report {run.period}"),
        f"## Findings that came back ({len(findings)})\n\n" + markdown_table(
            findings, ["topic", "member", "period", "summary", "late"]),
        f"## Missing ({len(compiled['missing'])}): carried to the next round\n\n"
        + markdown_table(compiled["missing"], ["topic", "member", "holder", "period", "due",
                                               "days_overdue", "ref"]),
        f"## This round ({len(collecting)} steps)\n\n" + markdown_table(
            collecting, ["topic", "member", "due", "ref"]),
    ])


@flow(name=CYCLE, persist_result=True, log_prints=True, on_failure=[cycle_failed],
      on_crashed=[cycle_failed])
def market_research(
    period: str | None = None,
    assignments: list[Assignment] | None = None,
    due_days: int | None = None,
) -> dict[str, Any]:
    """Monthly: compile last round's findings (and what is missing), hand the report to
    management and subscribers, and open this round's collection steps."""
    settings = get_settings()
    period = period or default_period(CYCLE)
    run = begin_cycle(CYCLE, period)
    compiled = compile_last_round(run.id)
    collecting = assign_collection(
        run.id, assignments, settings.research_due_days if due_days is None else due_days)
    report = _report(run, compiled, collecting)
    publish_markdown(CYCLE, "report", report, f"Market research report {period}")
    publish_table(CYCLE, "findings", [
        {k: f[k] for k in ("topic", "member", "period", "summary", "late", "ref")}
        for f in compiled["findings"]], f"Findings compiled in {period}")
    publish_table(CYCLE, "missing", [
        {k: m[k] for k in ("topic", "member", "holder", "period", "days_overdue", "ref")}
        for m in compiled["missing"]], f"Collection steps still missing in {period}")
    readers: list[str] = []
    if run.carried:  # the first round has nothing to report yet
        readers = hand_report(
            run.id, ["management", *settings.research_subscribers],
            f"Market research report {period}",
            f"{len(compiled['findings'])} finding(s), {len(compiled['missing'])} missing.")
    carry = compiled["missing"] + collecting
    summary = {"period": period, "findings": len(compiled["findings"]),
               "missing": len(compiled["missing"]), "collecting": len(collecting),
               "readers": readers, "skipped_periods": run.skipped_periods,
               "carried_in": len(run.carried)}
    finish_cycle(run.id, carry, summary)
    return summary
