"""``mktflow run``, ``mktflow process`` and ``mktflow demo``.

``process show|list`` are engine queries and never import Prefect; the others import it inside
the command, after choosing which Prefect API to talk to (``mktflow.prefect.server``).
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mktflow.cli._kit import (
    ActorOpt,
    JsonOpt,
    ReaderOpt,
    ReasonOpt,
    emit,
    parse_data,
    refusals,
    table,
    uow,
)
from mktflow.domain.errors import BadInput

if TYPE_CHECKING:
    from mktflow.engine.views import ProcessPublic, WorkItemPublic

__all__ = ["demo", "process_app", "run"]

process_app = typer.Typer(help="Process instances (one run of a business process).",
                          no_args_is_help=True)


def run(
    process: Annotated[str, typer.Argument(
        help="new-product-development, campaign or order-handling.")],
    params: Annotated[str | None, typer.Option(
        "--params", help="Parameters as JSON, or @file with them: what --example prints "
                         "(wrapped in the flow's parameter name) or the bare object.")] = None,
    example: Annotated[bool, typer.Option(
        "--example", help="Print valid example parameters as the Prefect UI's Custom run JSON "
                          "view takes them, and exit.")] = False,
    detach: Annotated[bool, typer.Option(
        "--detach", help="Hand the run to the served deployment and return at once.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Run a process's flow here until it ends (human steps pause it); exit with its state.

    Prints first the flow run id, the process instance and the Prefect UI link. While it
    waits, answer its steps from another shell (`mktflow work complete`) or the Prefect UI.
    """
    from mktflow.prefect.registry import example as example_params
    from mktflow.prefect.registry import run_parameters, spec_for, unwrap

    with refusals(json_):
        spec_for(process)
        if example:
            typer.echo(json.dumps(run_parameters(process, example_params(process)), indent=2))
            return
        if params is None:
            raise BadInput(f"--params: give the parameters (see `mktflow run {process} "
                           "--example`)")
        given = parse_data(params, field="params")
        assert given is not None
        values = unwrap(process, given)
        from mktflow.prefect.runner import run_process

        watch = _Waits(json_)

        def on_start(info: dict[str, Any]) -> None:
            _started(info, json_)
            if not detach:
                watch.start(info["process"])

        try:
            outcome = run_process(process, values, detach=detach, on_start=on_start)
        finally:
            watch.stop()
    _finished(outcome, json_)


class _Waits:
    """While a run goes on in this process, says once per step where it waits: the item, its
    department, who holds it and the command that answers it (polls the process's work items
    every ``interval`` seconds in a thread; the flow itself only logs "Pausing flow")."""

    def __init__(self, as_json: bool, interval: float = 1.0) -> None:
        self.as_json, self.interval = as_json, interval
        self.seen: set[str] = set()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, process_ref: str) -> None:
        self.thread = threading.Thread(target=self._watch, args=(process_ref,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def _watch(self, process_ref: str) -> None:
        from mktflow.engine.queries import show_process

        while not self.done.wait(self.interval):
            try:
                items = show_process(uow(), int(process_ref.removeprefix("P-"))).work_items
            except Exception:
                continue
            for item in items:
                if item.state in ("open", "claimed", "delegated") and item.ref not in self.seen:
                    self.seen.add(item.ref)
                    typer.echo(waiting_line(item, self.as_json))


def waiting_line(item: WorkItemPublic, as_json: bool) -> str:
    """What a run waiting at a human step says: item, department, holder, the command."""
    ref, holder = item.ref, item.assignee
    as_ = holder or "MEMBER"
    command = f"mktflow work complete {ref} --as {as_} --data @answers.json"
    if not holder:
        command = f"mktflow work claim {ref} --as {as_} && {command}"
    if as_json:
        return json.dumps({"event": "waiting", "item": ref, "department": item.department,
                           "assignee": holder, "title": item.title, "command": command})
    who = f"held by {holder}" if holder else f"open in {item.department}'s queue"
    return (f"waiting at {ref} ({item.department}): {item.title} — {who}\n"
            f"  answer it: {command}\n"
            f"  (the form: mktflow work show {ref} --json; or the Prefect UI link above)")


def _started(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"event": "started", **info}))
    else:
        typer.echo(f"flow run {info['flow_run_id']}\nprocess  {info['process']} "
                   f"({info['business_key']})\nPrefect  {info['ui_url']}  "
                   f"[{info['prefect_source']}]")


def _finished(outcome: dict[str, Any], as_json: bool) -> None:
    if as_json:  # a detached run is only scheduled: it has not finished
        event = "scheduled" if outcome.get("detached") else "finished"
        typer.echo(json.dumps({"event": event, **outcome}, default=str))
    elif outcome.get("detached"):
        typer.echo("handed to the served deployment; follow it with "
                   f"`mktflow process show {outcome['process']}`")
    else:
        result = outcome.get("result") or {}
        typer.echo(f"finished {outcome['state']}"
                   + (f": {result.get('outcome')}" if result.get("outcome") else "")
                   + (f" — {outcome['message']}" if outcome["state"] != "COMPLETED"
                      and outcome.get("message") else ""))
    if outcome["state"] not in ("COMPLETED", "SCHEDULED"):
        raise typer.Exit(1)


def _process_id(reference: str) -> int:
    """``P-4``, ``4`` or a business key, as the process's id (4)."""
    from mktflow.engine.handoffs import process_id_for
    from mktflow.engine.refs import parse_ref

    if reference.upper().startswith("P-") or reference.isdigit():
        return parse_ref(reference, "process")[1]
    with uow() as u:
        found = process_id_for(u, reference)
    assert found is not None
    return found


@process_app.command("show")
def process_show(reference: Annotated[str, typer.Argument(help="P-4, 4 or a business key.")],
                 reader: ReaderOpt = None, json_: JsonOpt = False) -> None:
    """One process instance: status, its work items and handoffs."""
    from mktflow.engine.queries import show_process

    with refusals(json_):
        emit(show_process(uow(), _process_id(reference), reader=reader), json_, _process_text)


@process_app.command("cancel")
def process_cancel(reference: Annotated[str, typer.Argument(help="P-4, 4 or a business key.")],
                   actor: ActorOpt, reason: ReasonOpt = None, json_: JsonOpt = False) -> None:
    """End a running process on purpose, with --reason: its owner, whoever leads the owner's
    department, or management. Its open steps and handoffs are cancelled with the reason, and
    its waiting flow run is ended."""
    from mktflow.engine.processes import cancel_process
    from mktflow.engine.queries import show_process

    with refusals(json_):
        process_id = _process_id(reference)
        cancel_process(uow(), process_id, actor_email=actor, reason=reason)
        emit(show_process(uow(), process_id), json_, _process_text)


@process_app.command("resume")
def process_resume(reference: Annotated[str, typer.Argument(help="P-4, 4 or a business key.")],
                   json_: JsonOpt = False) -> None:
    """Hand an answered step to its flow run again, wake a run paused on a step cancelled while
    its process goes on (a complaint's rejected handoff), or end the run of a process a cancel
    ended (when Prefect was unreachable at the time)."""
    from mktflow.engine.queries import show_process

    with refusals(json_):
        view = show_process(uow(), _process_id(reference))
        if not view.flow_run_id:
            raise BadInput(f"{view.ref} has no flow run to resume")
        if view.status != "running":
            _end_its_run(view, json_)
            return
        from mktflow.prefect.reconcile import resume_if_answered

        step = resume_if_answered(view.flow_run_id)
        emit({"process": view.ref, "flow_run_id": view.flow_run_id, "resumed": step},
             json_, f"{view.ref}: resumed with {step}" if step
             else f"{view.ref}: its flow run waits for no answered step")


@process_app.command("reconcile")
def process_reconcile(
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List what would be corrected; change nothing.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Compare every running process with its Prefect run now and put right what differs: a
    run paused on a step already done is resumed, a run paused while its process had ended is
    ended, a process whose run ended is closed with the run's message (each audited).
    `mktflow serve` does this every few seconds by itself (MKTFLOW_RECONCILE_INTERVAL_S)."""
    from mktflow.prefect.reconcile import Reconciler

    with refusals(json_):
        rows = [c.row() for c in Reconciler().scan_all(dry_run=dry_run)]
        emit(rows, json_, lambda r: "\n".join(f"{c['process']}: {c['detail']}" for c in r)
             or "nothing to reconcile: every running process agrees with its flow run")


@process_app.command("migrate")
def process_migrate(
    references: Annotated[list[str] | None, typer.Argument(
        help="P-4 ... (default: every running process with a flow run).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List what each would do on the new version; record nothing.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """After deploying changed flow code: what each waiting process does on the new version
    (current / migrate: goes on at the step it waits on / refused: a form it waits with changed),
    and, without --dry-run, the new version recorded on each that migrates. Exit 1 if any is
    refused."""
    from mktflow.prefect.migrate import plan

    with refusals(json_):
        rows = plan(references or None, dry_run=dry_run)
        emit(rows, json_, lambda r: "\n".join(
            f"{x['process']} ({x['flow']} {x['business_key']}): {x['outcome']}: {x['detail']}"
            for x in r) or "no running process with a flow run")
    if any(r["outcome"] == "refused" for r in rows):
        raise typer.Exit(1)


def _end_its_run(view: ProcessPublic, as_json: bool) -> None:
    """The process is over: a run still waiting for it is ended with the process's reason."""
    from mktflow.prefect.handback import end_run

    assert view.flow_run_id is not None
    why = (view.result or {}).get("reason") or f"{view.ref} is {view.status}"
    ended = end_run(view.flow_run_id, why)
    emit({"process": view.ref, "flow_run_id": view.flow_run_id, "resumed": None,
          "ended": ended}, as_json,
         f"{view.ref} is {view.status}: its waiting flow run was ended ({why})" if ended
         else f"{view.ref} is {view.status}: its flow run waits for nothing")


def _process_text(view: ProcessPublic) -> str:
    head = (f"{view.ref} {view.process} {view.business_key}: {view.status}\n"
            f"owner {view.owner}, flow run {view.flow_run_id}\n"
            + (f"ended: {reason}\n" if (reason := (view.result or {}).get("reason"))
               else ""))
    items = table(view.work_items, ["ref", "state", "department", "title", "assignee",
                                    "completed_by"], empty="(no work items)")
    handoffs = table(view.handoffs, ["ref", "state", "from_department", "to_department",
                                     "title"], empty="(no handoffs)")
    return f"{head}\n{items}\n\n{handoffs}"


@process_app.command("list")
def process_list_cmd(
    status: Annotated[str | None, typer.Option("--status")] = None,
    process: Annotated[str | None, typer.Option("--process")] = None,
    reader: ReaderOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Process instances, newest first."""
    from mktflow.engine.queries import process_list

    with refusals(json_):
        rows = process_list(uow(), status=status, process=process, reader=reader)
        emit(rows, json_, lambda r: table(r, ["ref", "process", "business_key", "status",
                                              "owner", "created_at"],
                                          empty="no processes"))


def demo(json_: JsonOpt = False) -> None:
    """Run the three processes end to end and every recurring cycle once, answering each step
    as the demo organisation's members, then say where to see what happened."""
    from mktflow.demo.runner import run_demo

    with refusals(json_):
        results = run_demo(echo=(lambda _line: None) if json_ else typer.echo)
    if json_:
        typer.echo(json.dumps(results, indent=2, default=str))
    if any(r["state"] != "COMPLETED" for r in results["processes"]):
        raise typer.Exit(1)
