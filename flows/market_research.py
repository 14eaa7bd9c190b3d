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

from datetime import timedelta
from typing import Any, Literal

from prefect import flow, task
from pydantic import BaseModel, Field

from mktflow.config import get_settings
from mktflow.engine import cycles
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
from mktflow.prefect.tasks import ENGINE_TASK, uow
from mktflow.store.types import utcnow

CYCLE = "market-research"


class Assignment(BaseModel):
    """Who collects findings on which topic this round."""

    topic: Literal["consumer", "market", "competitor"]
    member: str = Field(description="E-mail of the member who collects.")


class ResearchFindings(BaseModel):
    """What a member hands in: the finding, where it comes from, what it means for us."""

    summary: str = Field(min_length=1, description="The finding in a few sentences.")
    sources: str = Field(default="", description="Where it comes from (survey, visits, ...).")
    implications: str = Field(default="", description="What it means for plans and products.")


@task(name="compile-last-round", **ENGINE_TASK)
def compile_last_round(run_id: int) -> dict[str, list[dict[str, Any]]]:
    """Findings that came back since the last run, and the steps still missing."""
    return cycles.compile_collection(uow(), run_id=run_id)


@task(name="assign-collection", **ENGINE_TASK)
def assign_collection(run_id: int, assignments: list[Assignment] | None,
                      due_days: int) -> list[dict[str, Any]]:
    """Give each named member this round's collection step; returns the steps to carry."""
    pairs: list[tuple[str, str]] = ([(str(a.topic), a.member) for a in assignments]
                                    if assignments else cycles.default_collectors(uow()))
    cycles.assign_collection(uow(), run_id=run_id, assignments=pairs,
                             due_at=utcnow() + timedelta(days=due_days),
                             form_schema=ResearchFindings.model_json_schema())
    return cycles.collection_rows(uow(), run_id=run_id)


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
