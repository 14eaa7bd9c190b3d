"""Human steps inside flows: ``human_step`` creates the WorkItem through the engine and waits.

How a step is answered, from any door:

* CLI / REST API: ``engine.steps.complete_step`` completes the item through the engine, then
  the resumer (``mktflow.prefect.resume``) resumes the run with the same data. The flow reads
  the item back: it is ``done``, and its stored data is what the flow uses (the DB is the truth).
* Prefect UI: the resume form is the step's form plus ``answered_by`` (the e-mail of whoever
  answers). The item is not done yet, so the bridge claims (if open) and completes it through
  the engine as that member. If the engine refuses (not a member, four eyes, data that fails
  the form), the refusal is recorded on the item as a comment with the reason, logged as a
  warning in the flow run, and the flow waits again under a new key (``<step>-retry-N``) with
  a form that states the reason and is pre-filled with what was typed: nothing is lost,
  nothing bypasses the engine.

  Prefect's open-source UI has no users, so ``answered_by`` is typed, not proven: the bridge
  answers in a unit of work of ``Door.TYPED``, and the engine lets it take only steps that
  decide nothing. A step that decides something (an approval, four eyes, a form asking for a
  ``decision``) is refused there whoever is typed; its instructions say so and send people to
  the doors that prove who they are (the item's web page after signing in, the REST API with
  a member token, the CLI). ``MKTFLOW_PREFECT_UI_ANSWERS=none`` refuses every UI answer.

Every door offers the same pre-filled answer: the form's defaults and the flow's ``initial``
values are stored on the item as its ``draft`` when it is created (what the UI form shows).

The Prefect UI renders the pause's description above the form in a box that shrinks to nothing
when the form is long (seen in Chromium with the campaign plan), so the instructions live in
the description of the form's first field (``answered_by``), which the UI renders as markdown
under that field's label at any length.

A step cancelled from any door ends its process in the engine (``work.cancel``); the door then
ends the waiting run (``handback.end_run``): a suspended run is set Failed with the reason, a
paused one is woken without an answer and ``wait_for`` raises ``StepCancelled`` with it. A run
that goes on meanwhile meets the cancelled step, or ``open_step`` refuses a new step of the
ended process, the same way.

In a deployment run the flow **suspends** (no process is held; Prefect re-runs the flow from
the top after the resume, persisted task results make that cheap and keys make it idempotent);
otherwise it **pauses** and polls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeAlias, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
)
from pydantic_core import to_jsonable_python

from mktflow.config import get_settings
from mktflow.domain.calendars import parse_working_due
from mktflow.domain.errors import (
    BadInput,
    FlowChanged,
    StepCancelled,  # also here: older pickled results name it
)
from mktflow.domain.inputs import EMAIL_SHAPE, human_time, zone_named
from mktflow.prefect import tasks
from mktflow.prefect.keys import pause_key

if TYPE_CHECKING:
    from mktflow.engine.views import WorkItemPublic

__all__ = [
    "Answer",
    "StepCancelled",
    "StepDue",
    "StepForm",
    "StepHandle",
    "WorkingTime",
    "answerable_here",
    "draft_of",
    "due_arguments",
    "human_step",
    "instructions",
    "open_step",
    "pause_key",
    "step_due",
    "wait_for",
    "waiting_line",
]

F = TypeVar("F", bound="StepForm")



class StepForm(BaseModel):
    """Base of every step's form: what a department fills in (no unknown fields)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Answer(Generic[F]):
    """A completed step: the validated form, who completed it, and the item."""

    form: F
    by: str
    item_id: int

    @property
    def ref(self) -> str:
        """The item's name, e.g. W-12."""
        return f"W-{self.item_id}"


@dataclass(frozen=True)
class StepHandle(Generic[F]):
    """A step created and not yet waited for."""

    item_id: int
    key: str
    form: type[F]
    title: str
    department: str
    description: str
    initial: dict[str, Any] | None = None


#: How long a step or handoff has: a duration (calendar hours), or working time counted in the
#: calendar of its branch (``"3 working days"``, ``mktflow.domain.calendars.parse_due``).
StepDue: TypeAlias = timedelta | str


def _working_time(value: str) -> str:
    try:
        parse_working_due(value, field="due_working")
    except BadInput as exc:
        raise ValueError(str(exc).removeprefix("due_working: ")) from None
    return value


#: A flow parameter giving each step working time (``"3 working days"``), checked when the run
#: is asked for.
WorkingTime = Annotated[str, AfterValidator(_working_time)]


def step_due(hours: float, working: str | None) -> StepDue:
    """What each step of a process has: ``working`` time when the request gives it, else
    ``hours`` (calendar hours)."""
    return working or timedelta(hours=hours)


def due_arguments(due: StepDue | None) -> dict[str, Any]:
    """The create-step and offer-handoff tasks' due arguments (``due_in_hours``,
    ``due_working``) for ``due``."""
    if isinstance(due, str):
        return {"due_in_hours": None, "due_working": due}
    return {"due_in_hours": due.total_seconds() / 3600 if due else None, "due_working": None}


def open_step(
    process_id: int,
    key: str,
    *,
    department: str,
    title: str,
    form: type[F],
    due: StepDue | None = None,
    assignee: str | None = None,
    excluded: list[str] | None = None,
    branch: str | None = None,
    description: str = "",
    priority: int = 50,
    initial: dict[str, Any] | None = None,
    approval: dict[str, Any] | None = None,
) -> StepHandle[F]:
    """Create the step's WorkItem (idempotent by process and key) without waiting for it.

    ``approval`` (department, roles, branch, rule) makes it an approval step: the engine
    re-checks that rule against the organisation whenever it is taken or decided.
    """
    key = pause_key(key)
    ended = tasks.why_ended(process_id)
    if ended:  # a cancel ended the process while this run went on: no new work for anyone
        raise StepCancelled(ended)
    item_id = tasks.create_step(
        draft=draft_of(form, initial), approval=approval,
        process_id=process_id, step_key=key, department=department, title=title,
        form_schema=form.model_json_schema(), form_name=form.__name__,
        **due_arguments(due), assignee=assignee,
        excluded=sorted(set(excluded or [])), branch=branch, description=description,
        priority=priority)
    return StepHandle(item_id, key, form, title, department, description, initial)


def draft_of(form: type[StepForm], initial: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the UI's resume form shows pre-filled: the form's defaults, then ``initial``."""
    properties = form.model_json_schema().get("properties", {})
    draft = {k: p["default"] for k, p in properties.items() if "default" in p}
    draft.update(to_jsonable_python(initial or {}))
    return draft or None


def human_step(
    process_id: int,
    key: str,
    *,
    department: str,
    title: str,
    form: type[F],
    due: StepDue | None = None,
    assignee: str | None = None,
    excluded: list[str] | None = None,
    branch: str | None = None,
    description: str = "",
    priority: int = 50,
    initial: dict[str, Any] | None = None,
    approval: dict[str, Any] | None = None,
) -> Answer[F]:
    """Put a step in a department's queue and wait until it is completed; its validated form."""
    return wait_for(open_step(
        process_id, key, department=department, title=title, form=form, due=due,
        assignee=assignee, excluded=excluded, branch=branch, description=description,
        priority=priority, initial=initial, approval=approval))


def wait_for(handle: StepHandle[F]) -> Answer[F]:
    """Wait for a step created with ``open_step``; returns at once if it is already done.

    Raises ``StepCancelled`` (the run fails with its message: the step, who cancelled it and
    why) when the step is cancelled, before or while the run waits: the door that cancels it
    wakes a paused run without an answer (``handback.end_run``).
    """
    attempt = 0
    typed: dict[str, Any] | None = None  # what a refused UI answer held: the retry shows it
    refusal = ""
    while True:
        view = tasks.read_step(handle.item_id)
        if view.state == "done":
            _keep_suspended_losers(handle)
            return _answer(handle, view)
        if view.state == "cancelled":
            raise StepCancelled(_cancelled(handle, view))
        key = handle.key if attempt == 0 else f"{handle.key}-retry-{attempt}"
        try:
            response = _wait(handle, key, view, typed=typed, refusal=refusal)
        except ValidationError:  # resumed without an answer: a door woke it (a cancel)
            response = None
        view = tasks.read_step(handle.item_id)
        if view.state == "done":  # completed through the engine (CLI, API): DB data wins
            if response is not None:  # and Prefect had taken a UI answer too: on record
                tasks.record_losing_answer(
                    handle.item_id, key, response.answered_by,
                    response.model_dump(mode="json", exclude={"answered_by"}))
            return _answer(handle, view)
        if view.state == "cancelled":  # an answer after the cancel does not revive it
            raise StepCancelled(_cancelled(handle, view))
        if response is None:  # woken for nothing: wait again, under a new key
            attempt += 1
            continue
        data = response.model_dump(mode="json", exclude={"answered_by"})
        outcome = tasks.reconcile_ui_answer(handle.item_id, key, response.answered_by, data)
        if outcome["ok"]:
            return _answer(handle, tasks.read_step(handle.item_id))
        refusal = outcome["error"]
        typed = {**data, "answered_by": response.answered_by}
        _log_refusal(view.ref, response.answered_by, refusal)
        attempt += 1


def _keep_suspended_losers(handle: StepHandle[Any]) -> None:
    """A suspended (deployment) run is started again from the top after its resume, and finds
    the step done at once when another door completed it first: an answer the Prefect UI gave
    under this step's keys is then read back from Prefect and kept on record as the loser
    (``tasks.record_losing_answer``: once, and not when it is the answer that won)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if not (context and context.flow_run and context.flow_run.deployment_id):
        return  # a paused run has the answer in hand (see ``wait_for``)
    import json

    from prefect.client.orchestration import get_client

    run_id = context.flow_run.id
    with get_client(sync_client=True) as client:
        # Prefect keeps a suspended run's input as "suspended-<pause key>-response"
        found = client.filter_flow_run_input(run_id, key_prefix=f"suspended-{handle.key}",
                                             limit=50, exclude_keys=set())
    for stored in found:
        if not stored.key.endswith("-response"):
            continue
        key = stored.key.removesuffix("-response").removeprefix("suspended-")
        if key != handle.key and not key.startswith(f"{handle.key}-retry-"):
            continue  # another step whose key starts the same
        try:
            value = json.loads(stored.value)
        except ValueError:
            continue
        member = value.pop("answered_by", None)
        if isinstance(member, str) and tasks.read_step(handle.item_id).completed_by != member:
            tasks.record_losing_answer(handle.item_id, key, member, value,
                                       stored.created.isoformat() if stored.created else None)


def _cancelled(handle: StepHandle[Any], view: WorkItemPublic) -> str:
    """Why the run cannot go on: the process's reason when a cancel ended it (the step that was
    cancelled, who, why: maybe another step than this one), else this step's cancel entry."""
    ended = tasks.why_ended(view.process_id) if view.process_id else None
    return ended or tasks.why_cancelled(handle.item_id) or (
        f"{view.ref} ({handle.title}) was cancelled: the process cannot go on without it")


def _answer(handle: StepHandle[F], view: WorkItemPublic) -> Answer[F]:
    """The step's stored answer, read with this code's form. Raises ``FlowChanged`` when the
    form refuses what mktflow accepted with the form the step was created with: the flow's code
    was changed while the run waited (issue 20, item 8), and the run fails saying so."""
    try:
        form = handle.form.model_validate(view.data or {})
    except ValidationError as exc:
        first: dict[str, Any] = dict(exc.errors()[0]) if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "the answer"
        raise FlowChanged(
            f"{view.ref} ({handle.title}) was answered with the form it was created with "
            f"({view.form_name or 'its form'}), and the flow code running now checks "
            f"it with another {handle.form.__name__} that refuses it ({where}: "
            f"{first.get('msg', exc)}): the flow was changed while this run waited; see "
            "`mktflow process migrate`") from None
    return Answer(form, view.completed_by or "", handle.item_id)  # done: someone did it


def _log_refusal(ref: str, member: str, reason: str) -> None:
    """A warning in the flow run's log, where the person who answered in the UI looks."""
    from prefect.logging import get_run_logger

    get_run_logger().warning("%s: the answer from the Prefect UI by %s was refused: %s",
                             ref, member, reason)


def _input_model(form: type[StepForm], instructions: str, answered_by: str | None) -> Any:
    """The step's form as a Prefect RunInput, with the answering member's e-mail first.

    ``answered_by`` carries the instructions as its description: the UI renders a field's
    description under its label at any form length. The UI lists fields in the schema's order
    (it ignores ``position`` here), and pydantic puts the fields of the last base first, so
    ``answered_by`` comes from a base of its own placed after the form.
    """
    from prefect.input import RunInput

    field = (Field(pattern=EMAIL_SHAPE.pattern, description=instructions,
                   json_schema_extra={"position": 0})
             if answered_by is None else
             Field(answered_by, pattern=EMAIL_SHAPE.pattern, description=instructions,
                   json_schema_extra={"position": 0}))
    first = create_model("AnsweredBy", __base__=RunInput, answered_by=(str, field))
    return create_model(f"{form.__name__}Answer", __base__=(form, first))


def answerable_here(view: WorkItemPublic) -> bool:
    """Whether the Prefect UI's resume form may answer this step (the engine decides; this
    only words the instructions): not when it decides something, nor when the setting
    ``MKTFLOW_PREFECT_UI_ANSWERS`` is ``none``."""
    return not view.decides and get_settings().prefect_ui_answers != "none"


def instructions(handle: StepHandle[Any], view: WorkItemPublic, refusal: str = "") -> str:
    """How to answer the step (markdown): the item, department, assignee, due time (as the
    pages show times: the organisation's zone, ``2026-12-02 20:27 CET``), the ways to answer;
    ``mktflow work claim`` only while nobody holds the step."""
    ref = view.ref
    settings = get_settings()
    due = human_time(view.due, zone_named(settings.web_timezone, settings.schedule_tz))
    claim = (f"`mktflow work claim {ref} --as YOU`, " if view.state == "open"
             and not view.assignee else "")
    retry = (f"**Your earlier answer was refused:** {refusal.rstrip('.')}. Correct it below "
             f"(what you typed is kept) and submit again; `mktflow history {ref}` has the "
             "record.\n\n" if refusal else "")
    page = f"{settings.api_url.rstrip('/')}/work/{view.id}"
    here = ("Your e-mail here: you answer as that member, through mktflow's rules. Or from the "
            if answerable_here(view) else
            "**This step cannot be answered here**: it decides something (an approval, four "
            "eyes or a decision), and anyone can type any e-mail in this form. Answer where "
            f"mktflow knows who you are: its page {page} after signing in, the REST API with "
            "your member token, or the ")
    return (
        retry + f"**{ref}: {handle.title}**. Department **{handle.department}**"
        + (f", assigned to **{view.assignee}**" if view.assignee else "")
        + (f", due {due}" if due else "") + ". "
        + (f"{handle.description} " if handle.description else "")
        + here
        + f"command line: `mktflow work show {ref}`, {claim}"
        f"`mktflow work complete {ref} --as YOU` (submits the pre-filled answer; `--data` "
        "changes it)."
    )


def waiting_line(handle: StepHandle[Any], view: WorkItemPublic, api_url: str) -> str:
    """What the run's log says while it waits: ``waiting on W-5 'Approve budget' in finance,
    held by grace.liu@example.com; act at http://…/work/5`` (``held by nobody (in the finance
    queue)`` for an open step)."""
    holder = view.assignee or f"nobody (in the {view.department} queue)"
    return (f"waiting on {view.ref} {handle.title!r} in {view.department}, held by "
            f"{holder}; act at {api_url.rstrip('/')}/work/{handle.item_id}")


def _log_waiting(handle: StepHandle[Any], view: WorkItemPublic, api_url: str) -> None:
    from prefect.logging import get_run_logger

    get_run_logger().info("%s", waiting_line(handle, view, api_url))


def _wait(handle: StepHandle[Any], key: str, view: WorkItemPublic, *,
          typed: dict[str, Any] | None = None, refusal: str = "") -> Any:
    """Suspend (deployment run) or pause until resumed with the step's input."""
    from prefect.context import FlowRunContext
    from prefect.flow_runs import pause_flow_run, suspend_flow_run

    settings = get_settings()
    timeout = int(settings.step_timeout_days * 86400)
    values = dict(typed if typed is not None else handle.initial or {})
    member = values.pop("answered_by", None)
    heading = f"**{view.ref}: {handle.title}**" + (
        f" — refused: {refusal}" if refusal else "")
    model = _input_model(handle.form, instructions(handle, view, refusal), member
                         ).with_initial_data(description=heading, **values)
    _log_waiting(handle, view, settings.api_url)
    context = FlowRunContext.get()
    if context and context.flow_run and context.flow_run.deployment_id:
        return suspend_flow_run(wait_for_input=model, key=key, timeout=timeout)
    # poll_interval is typed int but any number of seconds works (measured in the spike)
    poll: Any = settings.step_poll_interval_s
    return pause_flow_run(wait_for_input=model, key=key, timeout=timeout, poll_interval=poll)
