"""Channel evaluation (quarterly): score every distributor on configurable criteria (sales vs
target, payment discipline, coverage, complaints) from the period's figures.

Those below the threshold, or without figures, go to the marketing head to keep, adjust or
remove (001 "渠道管理"). Decisions taken since the last evaluation are applied (a removed
distributor leaves the books, an adjusted one is put on notice); undecided ones are carried.
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
    markdown_table,
    publish_markdown,
    publish_table,
    run_header,
    settle_carried,
)
from mktflow.prefect.tasks.reviews import apply_decisions, score

CYCLE = "channel-evaluation"


def _report(run: RunView, rows: list[dict[str, Any]], weights: dict[str, float],
            threshold: float, settled: dict[str, list[dict[str, Any]]]) -> str:
    flagged = [r for r in rows if r["flagged"]]
    decided = [{**a, "decision": a["data"].get("decision"), "note": a["data"].get("note", "")}
               for a in settled["answered"]]
    criteria = ", ".join(f"{k} (weight {v:g})" for k, v in weights.items())
    return "\n\n".join([
        run_header(run, f"Channel evaluation {run.period}"),
        f"Criteria and weights: {criteria}. Threshold: {threshold:g}.",
        "## Scores\n\n" + markdown_table(rows, ["distributor", "name", *weights, "total",
                                                "flagged"]),
        f"## Flagged for a decision ({len(flagged)})\n\n" + markdown_table(
            flagged, ["distributor", "total", "reasons", "ref"]),
        f"## Decisions since the last evaluation ({len(decided)})\n\n" + markdown_table(
            decided, ["distributor", "period", "by", "decision", "note"]),
        f"## Still undecided ({len(settled['open'])}), carried\n\n" + markdown_table(
            settled["open"], ["distributor", "period", "holder", "ref"]),
    ])


@flow(name=CYCLE, persist_result=True, log_prints=True, on_failure=[cycle_failed],
      on_crashed=[cycle_failed])
def channel_evaluation(period: str | None = None,
                       threshold: float | None = None) -> dict[str, Any]:
    """Quarterly: score distributors, hand those below the bar to the marketing head."""
    settings = get_settings()
    period = period or default_period(CYCLE)
    bar = settings.channel_threshold if threshold is None else threshold
    run = begin_cycle(CYCLE, period)
    settled = settle_carried(run.id)
    applied = apply_decisions(settled["answered"])
    rows = score(run.id, settings.channel_weights, bar,
                 [c["distributor"] for c in settled["open"]])
    publish_markdown(CYCLE, "report", _report(run, rows, settings.channel_weights, bar,
                                              settled), f"Channel evaluation {period}")
    publish_table(CYCLE, "scores", [{k: v for k, v in r.items() if k != "work_item_id"}
                                    for r in rows], f"Distributor scores {period}")
    flagged = [r for r in rows if r["flagged"]]
    carry = settled["open"] + [
        {"distributor": r["distributor"], "period": period, "ref": r["ref"],
         "work_item_id": r["work_item_id"]} for r in flagged if r["ref"]]
    summary = {"period": period, "distributors": len(rows), "flagged": len(flagged),
               "decisions_applied": applied, "undecided_carried": len(settled["open"]),
               "skipped_periods": run.skipped_periods}
    finish_cycle(run.id, carry, summary)
    return summary
