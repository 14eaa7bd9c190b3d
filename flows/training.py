"""Training from appraisal (quarterly, or half-yearly with the appraisal): the needs the
period's appraisals create, each department's training plan approved by its head, and the
attendance each session's owner records.

Source: seed 001, 团队建设规范 5.1 "市场部应定期组织培训活动,提升团队成员的专业技能和综合素质"
(regular training of the team); 绩效评估 3 (those who fall short are trained); seed 003 §1(1)
(the plan's goals linked to each person's appraisal). Rules: ``mktflow.domain.training``;
handlers: ``mktflow.engine.training``.

The run never waits for people: it raises the needs of the period just appraised and puts a
plan step in each department's queue; the plan moves on as soon as each step is answered at
any door (the head's approval step, then an attendance step per session's owner), and the
next run settles whatever was answered and reports last period's plans with their
attendance. The next performance appraisal shows each member's training since their previous
appraisal and the change of attainment (``flows/performance_appraisal.py``).
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
from mktflow.prefect.tasks.training import earlier_plans, move_plans_on, open_plans, raise_needs

CYCLE = "training"


def _sessions(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"department": p["department"], "topic": s["topic"], "owner": s["owner"],
             "days": f"{s['starts_on']}..{s['ends_on']}",
             "participants": len(s["participants"]),
             "attended": "not recorded" if s["attended"] is None else len(s["attended"])}
            for p in plans for s in p["sessions"]]


def _report(run: RunView, needs: list[dict[str, Any]], plans: list[dict[str, Any]],
            earlier: list[dict[str, Any]], previous: str) -> str:
    return "\n\n".join([
        run_header(run, f"Training {run.period}"),
        f"## Training needs from the {run.period} appraisal ({len(needs)})\n\nThe KPIs each "
        "member missed (or the head's signed result).\n\n" + markdown_table(
            [{**n, "attainment": "-" if n["attainment"] is None else f"{n['attainment']:.0%}"}
             for n in needs], ["member", "department", "topics", "attainment"]),
        "## Plans\n\n" + markdown_table(plans, ["department", "status", "sessions",
                                                "attendance_recorded", "step"]),
        f"## Sessions of the {previous} plans and their attendance\n\n" + markdown_table(
            _sessions(earlier), ["department", "topic", "owner", "days", "participants",
                                 "attended"]),
    ])


@flow(name=CYCLE, persist_result=True, log_prints=True, on_failure=[cycle_failed],
      on_crashed=[cycle_failed])
def training(period: str | None = None) -> dict[str, Any]:
    """Quarterly (after the appraisal): training needs from the appraisal, a plan step per
    department with needs (approved by its head), attendance recorded by each session's
    owner."""
    period = period or default_period(CYCLE)
    run = begin_cycle(CYCLE, period)
    settle_carried(run.id)
    moved = move_plans_on()
    needs = raise_needs(run.id)
    plans = open_plans(run.id)
    earlier = earlier_plans(period)
    publish_markdown(CYCLE, "report", _report(run, needs, plans, earlier["plans"],
                                              earlier["period"]),
                     f"Training {period}")
    publish_table(CYCLE, "needs", needs, f"Training needs from the {period} appraisal")
    carry = [{"department": p["department"], "period": period, "ref": p["step"],
              "work_item_id": int(p["step"][2:])}
             for p in plans if p["status"] != "approved" and p["step"]]
    summary = {"period": period, "needs": len(needs), "plans": len(plans),
               "approved": sum(1 for p in plans if p["status"] == "approved"),
               "moved_on": moved, "skipped_periods": run.skipped_periods}
    finish_cycle(run.id, carry, summary)
    return summary
