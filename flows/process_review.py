"""Process review (monthly): the handoff ledger between departments for the month just ended.

Per department pair: handoffs offered, median hours to accept and to deliver, rejection and
return rates by reason, rework loops, overdue share; per process, the step people waited on
longest. Handoffs still open and overdue at review time are carried to the next review,
which says whether they were settled since. Beside the ledger, the balance of each
department's work (seed 000): a department whose important-not-urgent share of the month's
work items is below ``MKTFLOW_IMPORTANT_NOT_URGENT_FLOOR`` is reported as a finding.
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
)
from mktflow.prefect.tasks.reviews import balance_of_work, compile_ledger, follow_up_carried

CYCLE = "process-review"


def _pair_rows(ledger: dict[str, Any]) -> list[dict[str, Any]]:
    def reasons(rows: list[dict[str, Any]]) -> str:
        return "; ".join(f"{r['reason']} ({r['count']})" for r in rows)

    return [{
        "from": p["from"], "to": p["to"], "offered": p["offered"],
        "median_hours_to_accept": p["median_hours_to_accept"],
        "median_hours_to_deliver": p["median_hours_to_deliver"],
        "rejection_rate": p["rejection_rate"], "rejections_by_reason": reasons(
            p["rejections_by_reason"]),
        "return_rate": p["return_rate"], "returns_by_reason": reasons(p["returns_by_reason"]),
        "rework_loops": p["rework_loops"], "overdue_share": p["overdue_share"],
    } for p in ledger["pairs"]]


def _balance_rows(balance: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**d, "important_not_urgent_share": f"{d['important_not_urgent_share']:.0%}",
             "below_floor": "BELOW FLOOR" if d["below_floor"] else ""}
            for d in balance["departments"]]


def _report(run: RunView, ledger: dict[str, Any], followed: list[dict[str, Any]],
            balance: dict[str, Any]) -> str:
    pairs = [{**r, "rejection_rate": f"{r['rejection_rate']:.0%}",
              "return_rate": f"{r['return_rate']:.0%}",
              "overdue_share": f"{r['overdue_share']:.0%}"} for r in _pair_rows(ledger)]
    still_open = [o for o in ledger["overdue"] if o["open"]]
    return "\n\n".join([
        run_header(run, f"Process review {run.period}: handoffs between departments"),
        "## Per department pair\n\nHours are medians: offer → accept, accept → first "
        "delivery.\n\n" + markdown_table(pairs, [
            "from", "to", "offered", "median_hours_to_accept", "median_hours_to_deliver",
            "rejection_rate", "rejections_by_reason", "return_rate", "returns_by_reason",
            "rework_loops", "overdue_share"]),
        "## Slowest step of each process\n\nMedian wait from a step's creation to its "
        "completion.\n\n" + markdown_table(ledger["slowest_steps"],
                                           ["process", "step", "done", "median_hours"]),
        f"## Overdue and still open ({len(still_open)}), carried to the next review\n\n"
        + markdown_table(still_open, ["ref", "from", "to", "title", "due", "late_hours"]),
        f"## Carried from {run.previous_period or '-'}\n\n"
        + markdown_table(followed, ["ref", "from", "to", "title", "state_now", "settled"]),
        "## The balance of each department's work\n\nWork items created in the period by "
        f"importance and urgency; floor {balance['floor']:.0%} important-not-urgent.\n\n"
        + markdown_table(_balance_rows(balance), [
            "department", "important_urgent", "important_not_urgent", "urgent_not_important",
            "neither", "unclassified", "important_not_urgent_share", "below_floor"]),
        "## Findings\n\n" + ("\n".join(f"- {d['department']}: {d['finding']}"
                                      for d in balance["departments"] if d["finding"])
                             or "_none_"),
    ])


@flow(name=CYCLE, persist_result=True, log_prints=True, on_failure=[cycle_failed],
      on_crashed=[cycle_failed])
def process_review(period: str | None = None) -> dict[str, Any]:
    """Monthly: the handoff ledger between departments, as markdown and table artifacts."""
    period = period or default_period(CYCLE)
    run = begin_cycle(CYCLE, period)
    ledger = compile_ledger(period)
    followed = follow_up_carried(run.carried)
    balance = balance_of_work(period)
    publish_markdown(CYCLE, "report", _report(run, ledger, followed, balance),
                     f"Handoff ledger {period}")
    publish_table(CYCLE, "pairs", _pair_rows(ledger),
                  f"Handoffs per department pair, {period}")
    publish_table(CYCLE, "slowest-steps", ledger["slowest_steps"],
                  f"Slowest step of each process, {period}")
    still_open = [o for o in ledger["overdue"] if o["open"]]
    unsettled = [c for c in followed if not c["settled"]]
    carry = still_open + [{k: v for k, v in c.items() if k not in ("state_now", "settled")}
                          for c in unsettled if c["ref"] not in {o["ref"] for o in still_open}]
    summary = {"period": period, "pairs": len(ledger["pairs"]), "overdue_open": len(still_open),
               "carried_in": len(run.carried), "carried_settled": len(followed) - len(unsettled),
               "skipped_periods": run.skipped_periods,
               "below_balance_floor": [d["department"] for d in balance["departments"]
                                       if d["below_floor"]]}
    finish_cycle(run.id, carry, summary)
    return summary
