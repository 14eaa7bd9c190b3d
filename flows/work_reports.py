"""Work reports upward: every member's daily report to their head, the head's digest the same
evening, the missing named the next morning, the weekly and monthly reports for management.

Source: seed 001, 市场部管理制度 4 "应把一天的工作在下班之前向主管领导汇报" (report the day's
work to the head before the end of the working day); 管理规定 2.(2) "市场部员工需向上级汇报工作
进展和问题,及时提交工作报告" (report progress and problems upward, hand in work reports in
time); 日常管理规范 四.2 (reports at the set time and in the set form). Rules:
``mktflow.domain.work_reports``; handlers: ``mktflow.engine.work_reports``.

Four flows, each on its own schedule (``deployments/catalog.py``):

- ``daily-reports`` (mornings): names to each head who wrote no report for the last working
  day, then puts today's report step in the hands of every member who owes one, due at the end
  of their working day in their branch's calendar (the default working day without one).
- ``report-digest`` (evenings): each head gets an item to read: whose reports are in, whose are
  missing; the texts stay in the reports, which only the member, the head and management read.
- ``weekly-reports`` (Mondays) and ``monthly-reports`` (the 1st): the period just ended,
  gathered from each member's daily reports, for management.

The flows never wait for people: a report step is answered at any door (``mktflow report
submit``, ``POST /reports``, the Reports page, the step itself, or the Prefect UI's Run form
of the on-demand ``write-report`` deployment, where the member's e-mail is typed: a report
decides nothing), and the next run reads what came in. The artifacts show names and counts,
never a report's texts.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from prefect import flow

from mktflow.prefect.cycles import markdown_table, publish_markdown, publish_table, run_day
from mktflow.prefect.tasks.work_reports import (
    gather_period,
    name_missing,
    open_daily,
    send_digest,
    submit_report,
)


@flow(name="daily-reports", persist_result=True, log_prints=True)
def daily_reports(day: date | None = None) -> dict[str, Any]:
    """Mornings: name yesterday's missing reports to the heads, open today's report steps."""
    day = day or run_day()
    named = name_missing(day)
    opened = open_daily(day)
    publish_table("daily-reports", "opened", opened, f"Daily report steps opened {day}")
    publish_markdown("daily-reports", "missing", "\n\n".join([
        f"# Missing daily reports, named {day}",
        markdown_table([{**n, "missing": ", ".join(n["missing"])} for n in named],
                       ["department", "head", "day", "missing", "step"])]),
        f"Missing reports named to the heads {day}")
    return {"day": day.isoformat(), "opened": len(opened),
            "missing": sum(len(n["missing"]) for n in named)}


@flow(name="report-digest", persist_result=True, log_prints=True)
def report_digest(day: date | None = None) -> dict[str, Any]:
    """Evenings: each head's digest of the department's daily reports."""
    day = day or run_day()
    rows = send_digest(day)
    publish_markdown("report-digest", "digest", "\n\n".join([
        f"# Daily reports {day}",
        "Reports in and missing per department; the texts are read at `mktflow report list "
        f"--period {day}` or the Reports page (the member, their head, management).",
        markdown_table([{**r, "missing": ", ".join(r["missing"]) or "none"} for r in rows],
                       ["department", "head", "in", "missing", "step"])]),
        f"Daily report digest {day}")
    return {"day": day.isoformat(), "departments": len(rows),
            "in": sum(r["in"] for r in rows), "missing": sum(len(r["missing"]) for r in rows)}


def _gathered(kind: Literal["weekly", "monthly"], period: str | None) -> dict[str, Any]:
    out = gather_period(kind, period)
    name = f"{kind}-reports"
    publish_table(name, "members", [
        {k: r[k] for k in ("ref", "member", "department", "submitted_by")}
        for r in out["reports"]], f"{kind.capitalize()} work reports {out['period']}")
    return {"period": out["period"], "reports": len(out["reports"]), "step": out["step"]}


@flow(name="weekly-reports", persist_result=True, log_prints=True)
def weekly_reports(period: str | None = None) -> dict[str, Any]:
    """Mondays: last week's reports, gathered from the daily ones, for management."""
    return _gathered("weekly", period)


@flow(name="monthly-reports", persist_result=True, log_prints=True)
def monthly_reports(period: str | None = None) -> dict[str, Any]:
    """The 1st: last month's reports, gathered from the daily ones, for management."""
    return _gathered("monthly", period)


@flow(name="write-report", persist_result=True, log_prints=True)
def write_report(member: str, done: str, problems: str = "", next: str = "",
                 kind: Literal["daily", "weekly", "monthly"] = "daily",
                 period: str | None = None) -> dict[str, Any]:
    """The Prefect UI's door to a work report (Run → Custom run): the member's e-mail, what was
    done, the problems, what comes next; today's daily report unless ``kind`` and ``period``
    (a day of it, 2026-W50, 2026-12) say otherwise. It completes the day's report step; a
    refusal fails the run naming the field and the rule."""
    report = submit_report(member, done, problems, next, kind, period)
    return {k: report[k] for k in ("ref", "member", "kind", "period", "step", "late")}
