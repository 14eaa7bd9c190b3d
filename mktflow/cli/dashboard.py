"""``mktflow dashboard``: the desk's figures (issue 24, items 3 and 5). ``workload``: a
department's open work by member with the due spread, the working hours its work waited on
each other department and they on it, and who is blocking whom (``mktflow.engine.workload``);
``campaign`` and ``period``: KPI targets against actuals and budget allocated against spent
(``mktflow.engine.dashboards``). Each reads as ``--as`` may see (the read table).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mktflow.cli._kit import JsonOpt, ReaderOpt, emit, plain, refusals, table, uow

__all__ = ["dashboard_app"]

dashboard_app = typer.Typer(help="Workload and waiting, and the KPI and budget dashboards.",
                            no_args_is_help=True)


def _workload_text(view: Any) -> str:
    v: dict[str, Any] = plain(view)
    out = [f"{v['department']}: {v['open']} open, {v['overdue']} overdue, {v['unassigned']} "
           f"in the queue (at {v['generated_at']})",
           table([m for m in v["members"] if m["open"]],
                 ["name", "open", "overdue", "due_within_day", "due_within_week", "due_later",
                  "no_due"], empty="nobody holds open work"),
           f"\nwaits (working hours) of handoffs offered since {v['since']}:",
           table(v["waits"], ["waiting", "on", "stage", "waits", "still_waiting", "hours",
                              "median_hours"], empty="none"),
           "\nwho is blocking whom:",
           table(v["blocking"], ["department", "member", "waiting", "handoffs", "hours",
                                 "longest"], empty="nobody")]
    return "\n".join(out)


def _board_text(view: Any) -> str:
    v: dict[str, Any] = plain(view)
    head = (f"campaign {v['code']} ({v['status']}): {v['kpis_met']} of {len(v['kpis'])} KPIs "
            f"met; allocated {v['allocated']:,.2f}, spent {v['spent']:,.2f}"
            if "code" in v else
            f"period {v['period']}: {v['kpis_met']} of {v['kpis_measured']} measured KPIs met; "
            f"allocated {v['allocated']:,.2f}, spent {v['spent']:,.2f}")
    return "\n".join([
        head,
        table(v["kpis"], ["name", "department", "target", "actual", "achievement", "met"],
              empty="no KPIs"),
        table(v["lines"], ["code", "department", "allocated", "spent", "remaining", "flags"],
              empty="no budget lines")])


@dashboard_app.command("workload")
def workload_cmd(
    department: Annotated[str, typer.Argument(help="The department's code, e.g. marketing.")],
    reader: ReaderOpt = None,
    days: Annotated[int, typer.Option(
        "--days", help="The waits are of handoffs offered in the last this many days.")] = 90,
    json_: JsonOpt = False,
) -> None:
    """A department's workload and waiting (for whoever leads it and management)."""
    from mktflow.engine.workload import department_workload

    with refusals(json_):
        emit(department_workload(uow(), department, reader=reader, days=days), json_,
             _workload_text)


@dashboard_app.command("campaign")
def campaign_cmd(
    code: Annotated[str, typer.Argument(help="The campaign's code, e.g. CMP-7.")],
    reader: ReaderOpt = None,
    json_: JsonOpt = False,
) -> None:
    """A campaign's KPI targets against actuals and budget allocated against spent."""
    from mktflow.engine.dashboards import campaign_dashboard

    with refusals(json_):
        emit(campaign_dashboard(uow(), code, reader=reader), json_, _board_text)


@dashboard_app.command("period")
def period_cmd(
    period: Annotated[str, typer.Argument(help="2026, 2026-H2, 2026-Q4 or 2026-11.")],
    reader: ReaderOpt = None,
    json_: JsonOpt = False,
) -> None:
    """A period's KPIs and budget lines, those of --as's departments (management: all)."""
    from mktflow.engine.dashboards import period_dashboard

    with refusals(json_):
        emit(period_dashboard(uow(), period, reader=reader), json_, _board_text)


def _balance_text(balance: Any) -> str:
    v = plain(balance)
    rows = [{**d, "important-not-urgent share": f"{d['important_not_urgent_share']:.0%}",
             "flag": "BELOW FLOOR" if d["below_floor"] else ""} for d in v["departments"]]
    return "\n".join([
        f"period {v['period']} ({v['start']} to before {v['end']}); floor "
        f"{v['floor']:.0%} important-not-urgent",
        table(rows, ["department", "important_urgent", "important_not_urgent",
                     "urgent_not_important", "neither", "unclassified",
                     "important-not-urgent share", "flag"], empty="no work items"),
        *[f"{d['department']}: {d['finding']}" for d in v["departments"] if d["finding"]]])


@dashboard_app.command("balance")
def balance_cmd(
    period: Annotated[str, typer.Argument(help="2026, 2026-H2, 2026-Q4 or 2026-11.")],
    reader: ReaderOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The balance of each department's work in a period (seed 000): work items by importance
    and urgency, and who falls below the important-not-urgent floor (--as: their departments;
    management: all)."""
    from mktflow.engine.dashboards import work_balance

    with refusals(json_):
        emit(work_balance(uow(), period, reader=reader), json_, _balance_text)
