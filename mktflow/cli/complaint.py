"""``mktflow complaint``: customer complaints to closure (seed 001, 客户服务部 工作流程 2.(1) C).

Customer service (marketing) opens a case with a response deadline and hands it to the
department that must act (production, supply, finance) with a deadline; that department
answers what it did; customer service records the customer's answer: satisfied closes the case,
not satisfied (with a note) reopens it and escalates it to management. Each command answers
the case's open step (``mktflow work complete`` on the step does the same); the head of
customer service cancels a case that is no longer a complaint (``cancel``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mktflow.cli._kit import (
    DUE_HELP,
    ActorOpt,
    JsonOpt,
    ReaderOpt,
    emit,
    plain,
    refusals,
    table,
    uow,
)

__all__ = ["complaint_app"]

complaint_app = typer.Typer(help="Customer complaints: a case in customer service, handed to "
                                 "the department that must act, closed when the customer is "
                                 "satisfied.", no_args_is_help=True)

CaseArg = Annotated[str, typer.Argument(help="The complaint, e.g. 4 or C-4.")]


def _case_text(case: Any) -> str:
    view: dict[str, Any] = plain(case)
    step = view.get("step") or {}
    shown = {**view, "step": " ".join(str(step.get(k)) for k in ("ref", "kind", "department",
                                                                  "due") if step.get(k)) or None,
             "satisfied": None if view.get("satisfied") is None
             else ("yes" if view["satisfied"] else "no")}
    keys = ["ref", "state", "customer", "customer_name", "order", "text", "round",
            "escalation_level", "respond_due", "step", "acting_department", "request",
            "handoff", "handoff_due", "done", "satisfied", "customer_note", "process"]
    lines = [f"{k:>17}: {shown[k]}" for k in keys if shown.get(k) not in (None, "", 0)]
    lines += [f"  {e['at'][:16]}  {e['ref']:<6} {e['action']:<10} {e['actor']}"
              + (f" — {e['reason']}" if e.get("reason") else "")
              for e in view.get("history") or []]
    return "\n".join(lines)


def _show(complaint_id: int | None, json_: bool) -> None:
    from mktflow.engine.complaints import show_complaint

    emit(show_complaint(uow(), f"C-{complaint_id}"), json_, _case_text)


def _number(reference: str) -> int:
    from mktflow.engine.complaints import complaint_number

    return complaint_number(reference)


@complaint_app.command("open")
def complaint_open(
    customer: Annotated[str, typer.Option("--customer", help="The customer's code.")],
    text: Annotated[str, typer.Option("--text", help="What the customer complains of.")],
    actor: ActorOpt,
    order: Annotated[str | None, typer.Option("--order", help="The order it is about.")] = None,
    name: Annotated[str | None, typer.Option(
        "--name", help="The customer's name, for a customer without a file yet.")] = None,
    due: Annotated[str | None, typer.Option(
        "--due", help="The response deadline (default 1 working day): " + DUE_HELP)] = None,
    json_: JsonOpt = False,
) -> None:
    """Open a case in customer service, its respond step due --due (marketing members)."""
    from mktflow.engine.complaints import open_complaint

    with refusals(json_):
        case = open_complaint(uow(), actor_email=actor, customer=customer, text=text,
                              order=order, customer_name=name, source="cli", due_at=due)
        _show(case.id, json_)


@complaint_app.command("hand-over")
def complaint_hand_over(
    reference: CaseArg, actor: ActorOpt,
    to: Annotated[str, typer.Option("--to", help="production, supply or finance.")],
    request: Annotated[str, typer.Option("--request", help="What the department must do.")],
    due: Annotated[str | None, typer.Option(
        "--due", help="By when (default 2 working days): " + DUE_HELP)] = None,
    json_: JsonOpt = False,
) -> None:
    """Hand the case to the department that must act, as a handoff due --due (customer
    service)."""
    from mktflow.engine.complaints import hand_over

    with refusals(json_):
        case = hand_over(uow(), _number(reference), actor_email=actor, to=to, request=request,
                         due=due)
        _show(case.id, json_)


@complaint_app.command("answer")
def complaint_answer(
    reference: CaseArg, actor: ActorOpt,
    done: Annotated[str, typer.Option("--done", help="What was done.")],
    json_: JsonOpt = False,
) -> None:
    """Say what the acting department did (it delivers the case's handoff)."""
    from mktflow.engine.complaints import answer

    with refusals(json_):
        case = answer(uow(), _number(reference), actor_email=actor, done=done)
        _show(case.id, json_)


@complaint_app.command("close")
def complaint_close(
    reference: CaseArg, actor: ActorOpt,
    satisfied: Annotated[bool, typer.Option(
        "--satisfied/--not-satisfied", help="The customer's answer: satisfied closes the case; "
                                            "not satisfied (with --note) reopens it.")],
    note: Annotated[str, typer.Option("--note", help="What the customer said.")] = "",
    json_: JsonOpt = False,
) -> None:
    """Record the customer's answer (customer service): --satisfied closes the case;
    --not-satisfied --note reopens it for a new round and tells management."""
    from mktflow.engine.complaints import customer_answer

    with refusals(json_):
        case = customer_answer(uow(), _number(reference), actor_email=actor,
                               satisfied=satisfied, note=note)
        _show(case.id, json_)


@complaint_app.command("cancel")
def complaint_cancel(
    reference: CaseArg, actor: ActorOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why the case is cancelled.")],
    json_: JsonOpt = False,
) -> None:
    """Cancel a case that is no longer a complaint, with --reason (the head of customer
    service): its open step and handoff are cancelled, its process ends; a closed case is
    refused."""
    from mktflow.engine.complaints import cancel

    with refusals(json_):
        case = cancel(uow(), _number(reference), actor_email=actor, reason=reason)
        _show(case.id, json_)


@complaint_app.command("show")
def complaint_show(reference: CaseArg, reader: ReaderOpt = None, json_: JsonOpt = False) -> None:
    """One case: its state, open step, handoff, the customer's answer and its history."""
    from mktflow.engine.complaints import show_complaint

    with refusals(json_):
        emit(show_complaint(uow(), reference, reader=reader), json_, _case_text)


@complaint_app.command("list")
def complaint_list(
    reader: ReaderOpt = None,
    customer: Annotated[str | None, typer.Option(
        "--customer", help="One customer's code: its file's complaints.")] = None,
    state: Annotated[str | None, typer.Option(
        "--state", help="open, handed_over, answered, closed or cancelled.")] = None,
    json_: JsonOpt = False,
) -> None:
    """The complaints one may see, newest first."""
    from mktflow.engine.complaints import list_complaints

    with refusals(json_):
        rows = list_complaints(uow(), reader=reader, customer=customer, state=state)
        emit(rows, json_, lambda r: table(
            [{**x, "step": (x["step"] or {}).get("ref")} for x in plain(r)],
            ["ref", "state", "customer", "order", "acting_department", "step", "round"],
            empty="no complaints"))
