"""``mktflow training``: training from appraisal (seed 001, 团队建设规范 5.1 and 绩效评估 3;
issue 23, item 4): the needs the appraisals created, the departments' plans with their
sessions and attendance, a member's appraisals with the training attended and its effect.
The plan, approval and attendance steps are answered as every step is (``mktflow work
complete``); runs no flow, never imports Prefect."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mktflow.cli._kit import JsonOpt, ReaderOpt, emit, plain, refusals, table, uow

__all__ = ["training_app"]

training_app = typer.Typer(help="Training from appraisal: needs, plans and sessions, a "
                                "member's training and its effect.", no_args_is_help=True)

PeriodOpt = Annotated[str | None, typer.Option(
    "--period", help="The appraisal's period, e.g. 2026-Q3 (2026-H2 when half-yearly).")]
DepartmentOpt = Annotated[str | None, typer.Option("--department")]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


@training_app.command("needs")
def training_needs(
    reader: ReaderOpt = None,
    period: PeriodOpt = None,
    department: DepartmentOpt = None,
    member: Annotated[str | None, typer.Option("--member", help="A member's e-mail.")] = None,
    json_: JsonOpt = False,
) -> None:
    """The training needs one may see (the member, their head, management), newest first:
    the KPIs each member missed, and whether an approved session covers them."""
    from mktflow.engine.training import list_needs

    with refusals(json_):
        rows = list_needs(uow(), reader=reader, period=period, department=department,
                          member=member)
        emit(rows, json_, lambda r: table(
            [{**x, "topics": ", ".join(x["topics"]), "attainment": _pct(x["attainment"]),
              "covered": "yes" if x["covered"] else "no"} for x in plain(r)],
            ["period", "member", "department", "topics", "attainment", "covered"],
            empty="no training needs"))


def _plans_text(plans: Any) -> str:
    parts = []
    for p in plain(plans):
        parts.append(f"{p['period']} {p['department']}: {p['status']}"
                     f"  step {p['approval_step'] or p['prepare_step'] or '-'}"
                     + (f"  approved by {p['approved_by']}" if p["approved_by"] else ""))
        parts.append(table([{**s, "days": f"{s['starts_on']}..{s['ends_on']}",
                             "participants": ", ".join(s["participants"]),
                             "attended": "not recorded" if s["attended"] is None
                             else ", ".join(s["attended"]) or "nobody"}
                            for s in p["sessions"]],
                           ["topic", "owner", "days", "participants", "attended"],
                           empty="  (no sessions)"))
    return "\n".join(parts) or "no training plans"


@training_app.command("plans")
def training_plans(
    reader: ReaderOpt = None,
    period: PeriodOpt = None,
    department: DepartmentOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The departments' training plans one may see (a department's members, management),
    with their sessions and who attended."""
    from mktflow.engine.training import list_plans

    with refusals(json_):
        emit(list_plans(uow(), reader=reader, period=period, department=department), json_,
             _plans_text)


def _member_text(record: Any) -> str:
    view = plain(record)
    rows = [{"period": a["period"], "attainment": _pct(a["attainment"]),
             "change": "-" if a["attainment_change"] is None
             else f"{a['attainment_change']:+.1f} pts", "result": a["result"] or "unsigned",
             "training since the last": ", ".join(s["topic"] for s in a["training"]) or "none"}
            for a in view["appraisals"]]
    return "\n".join([f"{view['member']} ({view['department']})",
                      table(rows, ["period", "attainment", "change", "result",
                                   "training since the last"], empty="no appraisals")])


@training_app.command("member")
def training_member(
    email: Annotated[str, typer.Argument(help="The member's e-mail.")],
    reader: ReaderOpt = None,
    json_: JsonOpt = False,
) -> None:
    """A member's appraisals, each with the training attended since the previous one and the
    change of attainment, and their training needs (the member, their head, management)."""
    from mktflow.engine.training import member_training

    with refusals(json_):
        emit(member_training(uow(), email, reader=reader), json_, _member_text)


@training_app.command("settle")
def training_settle(json_: JsonOpt = False) -> None:
    """Move every plan on from the steps answered (the training cycle does this on each run,
    and every answer at once): plans to the heads, attendance steps, attendance written."""
    from mktflow.engine.training import settle

    with refusals(json_):
        emit(settle(uow()), json_, lambda c: ", ".join(f"{k} {v}" for k, v in c.items()))
