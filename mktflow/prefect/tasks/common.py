"""The tasks every flow uses (its process, human steps, handoffs, decisions, notices) and the
options all engine tasks share: each wraps one handler, takes ids, returns plain values.

They retry on transient errors (a lost database connection), never on a business refusal, and
persist their results, so the re-run of a suspended flow after its resume finds them cached
instead of acting twice; the engine's keys (process + step key) make them idempotent besides.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

from prefect import task
from prefect.runtime import flow_run

from mktflow.bootstrap import engine_uow as uow
from mktflow.domain.actors import Approval, Door
from mktflow.domain.calendars import WorkingDue, parse_working_due
from mktflow.domain.errors import ConfigError, MktflowError, Refused
from mktflow.domain.model import HANDOFF_RULES, ProcessStatus
from mktflow.domain.words import Phrase, on_field, phrase
from mktflow.engine import actions, answers, handoffs, processes, queries, work
from mktflow.engine.approvals import record_decision as _record_decision
from mktflow.engine.common import actor_for, approval_rule, ref_of
from mktflow.engine.notices import notice_departments as _notice_departments
from mktflow.engine.views import WorkItemPublic, show_item

__all__ = [
    "ENGINE_TASK",
    "comment",
    "create_step",
    "finish_process",
    "handoff_action",
    "member_department",
    "notice_departments",
    "offer_handoff",
    "process_guard",
    "read_step",
    "reconcile_ui_answer",
    "record_decision",
    "record_losing_answer",
    "refused_start",
    "start_process",
    "start_refusal",
    "transient",
    "typed_uow",
    "uow",
    "why_cancelled",
    "why_ended",
]


def transient(_task: Any, _run: Any, state: Any) -> bool:
    """Retry lost connections and other surprises; never a business refusal or bad input."""
    try:
        state.result()
    except ConfigError:
        return True  # the database could not be reached: it may come back
    except MktflowError:
        return False
    except Exception:
        return True
    return False


#: Options every engine task shares.
ENGINE_TASK: dict[str, Any] = {
    "retries": 3, "retry_delay_seconds": [1, 4, 10], "retry_condition_fn": transient,
    "persist_result": True,
}


def current_flow_version() -> str | None:
    """The version of the flow code this run is running (Prefect's ``flow.version``: by
    default a hash of the flow's source file), None outside a flow run."""
    version = flow_run.get_flow_version()
    return str(version) if version else None


@task(name="check-start", **ENGINE_TASK)
def start_refusal(process: str, business_key: str, key_field: str,
                  params: dict[str, Any]) -> str | None:
    """Why this flow run may not start (the checks ``mktflow run`` makes before it creates a
    run: the process's rules for the request, a business key no other run uses), or None. A
    flow that gets a reason ends at once with ``refused_start``."""
    return processes.start_refusal(uow(), process=process, business_key=business_key,
                                   key_field=key_field, params=params,
                                   flow_run_id=flow_run.get_id())


def refused_start(reason: str) -> Any:
    """The state a flow returns when its start is refused: Failed, its message the field and
    the rule (``campaign parameters: field 'plan.activities.0.owner': ... is not an active
    member``), logged once, with no traceback (nothing went wrong in mktflow)."""
    from prefect.logging import get_run_logger
    from prefect.states import Failed

    get_run_logger().error("not started: %s (mktflow run refuses the same)", reason)
    return Failed(message=reason)


@task(name="start-process", **ENGINE_TASK)
def _open_process(process: str, business_key: str, owner: str, params: dict[str, Any],
                  branch: str | None = None) -> int:
    """Open (or find, on a re-run) the process instance of this flow run."""
    instance = processes.start_process(
        uow(), process=process, business_key=business_key, owner_email=owner, params=params,
        flow_run_id=flow_run.get_id(), branch=branch, flow_version=current_flow_version())
    assert instance.id is not None
    return instance.id


def start_process(process: str, business_key: str, owner: str, params: dict[str, Any],
                  branch: str | None = None) -> int:
    """Open (or find, on a re-run) the process instance of this flow run (a task), then note
    the flow version this run runs on: not in the task, whose result a re-run of a suspended
    run reads back from its cache, so a run resumed on changed flow code records the new
    version (``processes.note_flow_version``: a ``flow-version`` entry, once)."""
    process_id = _open_process(process, business_key, owner, params, branch)
    version = current_flow_version()
    if version:
        processes.note_flow_version(uow(), process_id, flow_run_id=str(flow_run.get_id()),
                                    version=version)
    return process_id


@task(name="finish-process", **ENGINE_TASK)
def finish_process(process_id: int, status: str, result: dict[str, Any] | None = None,
                   reason: str | None = None) -> str:
    """Close the process; open steps and handoffs are cancelled with the reason."""
    return processes.finish_process(uow(), process_id, status=ProcessStatus(status),
                                    result=result, reason=reason).status


def _step_due(now: datetime, hours: float | None, working: str | None
              ) -> datetime | WorkingDue | None:
    """A step's due input: working time when given, else ``hours`` from now."""
    if working:
        return parse_working_due(working, field="due_working")
    return now + timedelta(hours=hours) if hours else None


@task(name="create-step", **ENGINE_TASK)
def create_step(*, process_id: int, step_key: str, department: str, title: str,
                form_schema: dict[str, Any], form_name: str, due_in_hours: float | None,
                assignee: str | None, excluded: list[str], branch: str | None,
                description: str, priority: int,
                draft: dict[str, Any] | None = None,
                approval: dict[str, Any] | None = None,
                due_working: str | None = None) -> int:
    """Create a human step's WorkItem (returns the existing one for the same key);
    ``approval`` is the authority-matrix rule of an approval step (department, roles, branch,
    rule), re-checked by the engine whenever the step is taken or decided. ``due_working``
    (``3 working days``) is counted in the step's calendar, in place of ``due_in_hours``."""
    u = uow()
    due = _step_due(u.now(), due_in_hours, due_working)
    item = work.create_work_item(
        u, actor_email="mktflow", department=department, title=title, form_schema=form_schema,
        form_name=form_name, description=description, assignee=assignee, priority=priority,
        due_at=due, process_id=process_id, step_key=step_key, branch=branch,
        excluded=excluded, draft=draft,
        approval=Approval(approval["department"], tuple(approval["roles"]),
                          approval.get("branch"), approval_rule(approval))
        if approval else None)
    assert item.id is not None
    return item.id


def read_step(item_id: int) -> WorkItemPublic:
    """The step as the engine shows it (a read, not a task: it must never be cached)."""
    view = show_item(uow(), ref_of("work", item_id))
    assert isinstance(view, WorkItemPublic)
    return view


def why_cancelled(item_id: int) -> str | None:
    """How a cancelled step's run ends (a read): ``W-5 (title) was cancelled by …: why. The
    process cannot go on without it.``, from the step's cancel entry; None if it has none."""
    step = ref_of("work", item_id)
    entries = [e for e in queries.history(uow(), step) if e.action == "cancel"]
    if not entries:
        return None
    title = show_item(uow(), step).title
    return processes.cancelled_item_message(step, title, entries[-1].actor,
                                            entries[-1].reason)


def why_ended(process_id: int) -> str | None:
    """Why the process was ended by a cancel of one of its steps (a read), else None."""
    view = queries.show_process(uow(), process_id)
    result = view.result or {}
    if view.status == ProcessStatus.CANCELLED and result.get("cancelled_item"):
        return str(result.get("reason") or f"{result['cancelled_item']} was cancelled")
    return None


def typed_uow() -> Any:
    """A unit of work for an answer from the Prefect UI's resume form, where the e-mail is
    typed (``Door.TYPED``): the engine lets it answer only steps that decide nothing, and never
    as the process engine (``MKTFLOW_PREFECT_UI_ANSWERS``)."""
    from mktflow import bootstrap

    return bootstrap.wiring().uow(Door.TYPED)


@task(name="reconcile-ui-answer", **ENGINE_TASK)
def reconcile_ui_answer(item_id: int, key: str, answered_by: str,
                        data: dict[str, Any]) -> dict[str, Any]:
    """Apply an answer given in the Prefect UI through the engine, as the member who gave it.

    Claims the step if it is open and completes it. A refusal is recorded on the item's
    history with its reason, who gave it, at which door and what it said (the refused answer
    is kept there, never as the step's draft: it must not change what another door submits),
    and the refusal is returned; a claim made here is given back.
    """
    claimed = False
    try:
        if read_step(item_id).state == "open":
            actions.perform(typed_uow(), "work", item_id, "claim", actor_email=answered_by)
            claimed = True
        # ``complete`` without the hand-back of the table's ``complete_step``: the run that
        # would be resumed is this one, which is running the answer already.
        work.complete(typed_uow(), item_id, actor_email=answered_by, data=data)
        return {"ok": True, "by": answered_by}
    except MktflowError as exc:
        if claimed:
            actions.perform(typed_uow(), "work", item_id, "release", actor_email=answered_by)
        said = exc.args[0] if exc.args and isinstance(exc.args[0], Phrase) else str(exc)
        note = phrase("Answer from the Prefect UI by %(member)s refused: %(refusal)s. The flow "
                      "waits again (key %(key)s).", member=answered_by, refusal=said,
                      key=f"{key}-retry")
        with suppress(Refused):  # the item moved on meanwhile: the refusal is still returned
            work.comment(uow(), item_id, actor_email="mktflow", text=note, reason=said,
                         refused_answer={"by": answered_by, "door": "Prefect UI resume form",
                                         "data": data})
        return {"ok": False, "error": str(exc), "kind": type(exc).__name__}


@task(name="record-losing-answer", **ENGINE_TASK)
def record_losing_answer(item_id: int, key: str, answered_by: str, data: dict[str, Any],
                         answered_at: str | None = None) -> bool:
    """Keep on record an answer given in the Prefect UI that lost to another door: Prefect
    accepted it (the run was resumed with it) but the step was completed elsewhere first
    (the CLI, the API, a page), so the flow goes on with that answer (issue 20, item 5).

    The losing answer is a comment on the step with who gave it, when (``answered_at``:
    when Prefect stored it, ISO), at which door, what it said, and the answer that won; it
    never changes the step's data or draft. Returns False (nothing recorded) when it is the
    answer that won (the same member and data: the UI answer itself was applied). A task,
    so a re-run of the flow records it once.
    """
    view = read_step(item_id)
    if view.completed_by == answered_by and (view.data or {}) == data:
        return False
    note = phrase("Answer from the Prefect UI by %(member)s not applied: %(ref)s was already "
                  "completed by %(winner)s at another door, whose answer stands (Prefect had "
                  "accepted this one under key %(key)s).", member=answered_by, ref=view.ref,
                  winner=view.completed_by, key=key)
    with suppress(Refused):
        work.comment(uow(), item_id, actor_email="mktflow", text=note,
                     reason=phrase("%(ref)s was already done: the first completion wins",
                                   ref=view.ref),
                     refused_answer={"by": answered_by, "door": "Prefect UI resume form",
                                     "data": data, "at": answered_at,
                                     "lost_to": view.completed_by})
    return True


@task(name="record-decision", **ENGINE_TASK)
def record_decision(item_id: int, decision: str, matrix_version: str, rule: str,
                    reason: str | None = None) -> None:
    """Record an approval decision with the authority matrix version it used."""
    _record_decision(uow(), item_id, decision=decision, matrix_version=matrix_version,
                     rule=rule, reason=reason)


@task(name="offer-handoff", **ENGINE_TASK)
def offer_handoff(*, process_id: int, step_key: str, actor: str, from_department: str,
                  to_department: str, title: str, due_in_hours: float | None, criteria: str,
                  deliverables: list[str], letter: bool, branch: str | None = None,
                  due_working: str | None = None) -> int:
    """Offer work (or a responsibility letter) to another department; ``due_working`` as for
    ``create_step``."""
    u = uow()
    handoff = handoffs.offer(
        u, actor_email=actor, from_department=from_department, to_department=to_department,
        title=title, due_at=_step_due(u.now(), due_in_hours, due_working), criteria=criteria,
        deliverables=deliverables, letter=letter, process_id=process_id, step_key=step_key,
        branch=branch)
    assert handoff.id is not None
    return handoff.id


@task(name="handoff-action", **ENGINE_TASK)
def handoff_action(handoff_id: int, action: str, actor: str, reason: str | None = None,
                   data: dict[str, Any] | None = None) -> str:
    """Accept, reject, deliver, confirm or return a handoff; returns its state.

    A handoff already moved (someone acted on it directly) is left as it is: its state is the
    truth the flow goes on with.
    """
    current = show_item(uow(), ref_of("handoff", handoff_id)).state
    if current == {r.action: r.target for r in HANDOFF_RULES}.get(action):
        return str(current)
    return actions.perform(uow(), "handoff", handoff_id, action, actor_email=actor,
                           **actions.taken("handoff", action,
                                           {"reason": reason, "data": data})).state


def member_department(email: str) -> str:
    """The department of an active member (a read)."""
    with uow() as u:
        return actor_for(u, email).department


@task(name="comment-on-step", **ENGINE_TASK)
def comment(item_id: int, text: str, reason: str | None = None) -> None:
    """Record a note on a step's history (e.g. why the flow asks again); ``reason`` fills the
    history row's REASON column."""
    work.comment(uow(), item_id, actor_email="mktflow", text=text, reason=reason)


@task(name="answer-problems", **ENGINE_TASK)
def answer_problems(process_id: int, item_id: int, form_name: str,
                    data: dict[str, Any]) -> list[str]:
    """The process's rules for ``form_name`` run again on a done step's answer (the flow's
    second line: the organisation may have changed since it was accepted); each problem as
    ``field path: message``, empty when it passes. A task, so a re-run of the flow reads the
    outcome it acted on. ``item_id`` keeps each step's check apart."""
    with uow() as u:  # a problem worded as a message stays one (``Phrase``, pickled whole)
        return [on_field(p.field, p.message) if isinstance(p.message, Phrase) else str(p)
                for p in answers.answer_problems(
                    u.session, form_name=form_name, process_id=process_id, data=data)]


@task(name="tell-departments", **ENGINE_TASK)
def notice_departments(process_id: int, item_id: int, departments: list[str], event: str,
                       reason: str, occasion: str) -> int:
    """Tell departments why something happened (``occasion`` keeps repeats apart)."""
    return _notice_departments(uow(), item_id=item_id, departments=departments, event=event,
                               reason=reason, process_id=process_id, occasion=occasion)


@contextmanager
def process_guard(process_id: int) -> Iterator[None]:
    """Mark the process failed if the flow body raises (a pause or suspend is not an error)."""
    try:
        yield
    except Exception as exc:
        finish_process(process_id, ProcessStatus.FAILED,
                       reason=f"{type(exc).__name__}: {exc}"[:2000])
        raise
