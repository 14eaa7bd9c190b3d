"""Performance appraisal (quarterly, or half-yearly by setting): KPI actual vs target for every
member and department that owns KPIs of the period (the plan's goals, seed 003 §1).

Next to each missed KPI stands the number of days the member's (or department's) work waited
on other departments' late handoffs in the period, so nobody is marked down for someone
else's lateness; beside each member stands the training they attended since their previous
appraisal and the change of attainment (``flows/training.py``). The head signs each appraisal
as a work item with the result (reward, training, adjustment); the next run records the
signed results and carries unsigned ones.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

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
from mktflow.prefect.tasks.reviews import appraise, record_results

CYCLE = "performance-appraisal"


def _kpi_rows(appraisals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"subject": a["subject"], "subject_type": a["subject_type"], **k,
             "met": {True: "met", False: "MISSED", None: "no actual"}[k["met"]]}
            for a in appraisals for k in a["kpis"]]


def _report(run: RunView, appraisals: list[dict[str, Any]],
            settled: dict[str, list[dict[str, Any]]]) -> str:
    overview = [{**a, "attainment": "-" if a["attainment"] is None
                 else f"{a['attainment']:.0%}"} for a in appraisals]
    trained = [{"subject": a["subject"], "training": ", ".join(a["training"]) or "none",
                "attainment_change": "-" if a["attainment_change"] is None
                else f"{a['attainment_change']:+.1f} pts"}
               for a in appraisals if a["subject_type"] == "member"]
    late = [{"subject": a["subject"], **h} for a in appraisals for h in a["late_handoffs"]]
    signed = [{"subject": a.get("subject"), "period": a.get("period"), "by": a["by"],
               "result": a["data"].get("result"), "comment": a["data"].get("comment", "")}
              for a in settled["answered"]]
    return "\n\n".join([
        run_header(run, f"Performance appraisal {run.period}"),
        "## Appraisals (to be signed)\n\n" + markdown_table(overview, [
            "subject_type", "subject", "department", "attainment", "delay_days_from_others",
            "signer", "ref"]),
        "## KPIs\n\n`delay_days_from_others`: days this work waited on other departments' "
        "late handoffs; shown next to every missed KPI.\n\n" + markdown_table(
            _kpi_rows(appraisals), ["subject", "kpi", "target", "actual", "met", "gap_pct",
                                    "delay_days_from_others"]),
        "## Training since the last appraisal\n\nSessions each member attended since "
        "their previous appraisal, and the change of attainment in percentage points.\n\n"
        + markdown_table(trained, ["subject", "training", "attainment_change"]),
        "## Late handoffs behind the delays\n\n" + markdown_table(
            late, ["subject", "ref", "to", "title", "late_days"]),
        f"## Results signed since the last appraisal ({len(signed)})\n\n" + markdown_table(
            signed, ["subject", "period", "by", "result", "comment"]),
        f"## Still unsigned ({len(settled['open'])}), carried\n\n" + markdown_table(
            settled["open"], ["subject", "period", "holder", "ref"]),
    ])


@flow(name=CYCLE, persist_result=True, log_prints=True, on_failure=[cycle_failed],
      on_crashed=[cycle_failed])
def performance_appraisal(period: str | None = None) -> dict[str, Any]:
    """Quarterly (or half-yearly): KPI attainment per member and department, with the delays
    caused by others; heads sign each appraisal, results are recorded."""
    period = period or default_period(CYCLE)
    run = begin_cycle(CYCLE, period)
    settled = settle_carried(run.id)
    recorded = record_results(settled["answered"])
    appraisals = appraise(run.id)
    publish_markdown(CYCLE, "report", _report(run, appraisals, settled),
                     f"Performance appraisal {period}")
    publish_table(CYCLE, "kpis", _kpi_rows(appraisals), f"KPIs per member and department, "
                                                        f"{period}")
    publish_table(CYCLE, "appraisals", [
        {k: a[k] for k in ("subject_type", "subject", "department", "attainment",
                           "delay_days_from_others", "signer", "ref")} for a in appraisals],
        f"Appraisals {period}")
    carry = settled["open"] + [
        {"subject": a["subject"], "subject_type": a["subject_type"], "period": period,
         "ref": a["ref"], "work_item_id": a["work_item_id"]} for a in appraisals]
    summary = {"period": period, "appraisals": len(appraisals), "results_recorded": recorded,
               "unsigned_carried": len(settled["open"]),
               "missed_kpis": sum(1 for r in _kpi_rows(appraisals) if r["met"] == "MISSED"),
               "skipped_periods": run.skipped_periods}
    finish_cycle(run.id, carry, summary)
    return summary
