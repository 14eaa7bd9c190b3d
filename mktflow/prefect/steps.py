"""Human steps inside flows: ``human_step`` creates the WorkItem through the engine and waits.

How a step is answered, from any door:

* CLI / REST API: ``engine.steps.complete_step`` completes the item through the engine, then
  the resumer (``mktflow.prefect.resume``) resumes the run with the same data. The flow reads
  the item back: it is ``done``, and its stored data is what the flow uses (the DB is the truth).
* Prefect UI: the resume form is the step's form plus ``answered_by`` (the e-mail of whoever
  answers). The item is not done yet, so the bridge claims (if open) and completes it through
  the engine as that member. If the engine refuses (not a member, four eyes, data that fails
  the form), the refusal is recorded on the item as a comment and the flow waits again under a
  new key (``<step>-retry-N``): nothing is lost, nothing bypasses the engine.

In a deployment run the flow **suspends** (no process is held; Prefect re-runs the flow from
the top after the resume, persisted task results make that cheap and keys make it idempotent);
otherwise it **pauses** and polls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

from mktflow.config import get_settings
from mktflow.domain.errors import MktflowError
from mktflow.prefect import tasks

__all__ = [
    "Answer",
    "StepCancelled",
    "StepForm",
    "StepHandle",
    "human_step",
    "open_step",
    "pause_key",
    "wait_for",
]

F = TypeVar("F", bound="StepForm")

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class StepForm(BaseModel):
    """Base of every step's form: what a department fills in (no unknown fields)."""

    model_config = ConfigDict(extra="forbid")


class StepCancelled(MktflowError):
    """The step was cancelled (a head withdrew it); the flow cannot go on without it."""


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


def pause_key(step_key: str) -> str:
    """The Prefect pause/input key of a step: lowercase letters, digits and dashes only."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", step_key.lower())).strip("-")


def open_step(
    process_id: int,
    key: str,
    *,
    department: str,
    title: str,
    form: type[F],
    due: timedelta | None = None,
    assignee: str | None = None,
    excluded: list[str] | None = None,
    branch: str | None = None,
    description: str = "",
    priority: int = 50,
    initial: dict[str, Any] | None = None,
) -> StepHandle[F]:
    """Create the step's WorkItem (idempotent by process and key) without waiting for it."""
    key = pause_key(key)
    item_id = tasks.create_step(
        process_id=process_id, step_key=key, department=department, title=title,
        form_schema=form.model_json_schema(), form_name=form.__name__,
        due_in_hours=due.total_seconds() / 3600 if due else None, assignee=assignee,
        excluded=sorted(set(excluded or [])), branch=branch, description=description,
        priority=priority)
    return StepHandle(item_id, key, form, title, department, description, initial)


def human_step(
    process_id: int,
    key: str,
    *,
    department: str,
    title: str,
    form: type[F],
    due: timedelta | None = None,
    assignee: str | None = None,
    excluded: list[str] | None = None,
    branch: str | None = None,
    description: str = "",
    priority: int = 50,
    initial: dict[str, Any] | None = None,
) -> Answer[F]:
    """Put a step in a department's queue and wait until it is completed; its validated form."""
    return wait_for(open_step(
        process_id, key, department=department, title=title, form=form, due=due,
        assignee=assignee, excluded=excluded, branch=branch, description=description,
        priority=priority, initial=initial))


def wait_for(handle: StepHandle[F]) -> Answer[F]:
    """Wait for a step created with ``open_step``; returns at once if it is already done."""
    attempt = 0
    while True:
        view = tasks.read_step(handle.item_id)
        if view["state"] == "done":
            return _answer(handle, view)
        if view["state"] == "cancelled":
            raise StepCancelled(f"{view['ref']} ({handle.title}) was cancelled: the process "
                                "cannot go on without it")
        key = handle.key if attempt == 0 else f"{handle.key}-retry-{attempt}"
        response = _wait(handle, key, view)
        view = tasks.read_step(handle.item_id)
        if view["state"] == "done":  # completed through the engine (CLI, API): DB data wins
            return _answer(handle, view)
        data = response.model_dump(mode="json", exclude={"answered_by"})
        outcome = tasks.reconcile_ui_answer(handle.item_id, key, response.answered_by, data)
        if outcome["ok"]:
            return _answer(handle, tasks.read_step(handle.item_id))
        attempt += 1


def _answer(handle: StepHandle[F], view: dict[str, Any]) -> Answer[F]:
    return Answer(handle.form.model_validate(view["data"] or {}), view["completed_by"],
                  handle.item_id)


def _input_model(form: type[StepForm]) -> Any:
    """The step's form as a Prefect RunInput, with the answering member's e-mail added."""
    from prefect.input import RunInput

    return create_model(
        f"{form.__name__}Answer", __base__=(RunInput, form),
        answered_by=(str, Field(pattern=_EMAIL, description="Your e-mail: you answer as this "
                                                            "member, through mktflow's rules")),
    )


def _instructions(handle: StepHandle[Any], view: dict[str, Any], key: str) -> str:
    retry = "" if key == handle.key else (
        "\n\n> An earlier answer from the Prefect UI was refused by mktflow; see the item's "
        f"history (`mktflow history {view['ref']}`).")
    return (
        f"### {view['ref']}: {handle.title}\n\n"
        f"Department **{handle.department}**"
        + (f", assigned to **{view['assignee']}**" if view.get("assignee") else "")
        + (f", due {view['due']}" if view.get("due") else "") + ".\n\n"
        + (f"{handle.description}\n\n" if handle.description else "")
        + "Answer here (fill in *answered_by* with your e-mail) or from the command line:\n\n"
        f"`mktflow work show {view['ref']}` then "
        f"`mktflow work claim {view['ref']} --as YOU` and "
        f"`mktflow work complete {view['ref']} --as YOU --data @answer.json`"
        + retry
    )


def _wait(handle: StepHandle[Any], key: str, view: dict[str, Any]) -> Any:
    """Suspend (deployment run) or pause until resumed with the step's input."""
    from prefect.context import FlowRunContext
    from prefect.flow_runs import pause_flow_run, suspend_flow_run

    settings = get_settings()
    timeout = int(settings.step_timeout_days * 86400)
    model = _input_model(handle.form).with_initial_data(
        description=_instructions(handle, view, key), **(handle.initial or {}))
    context = FlowRunContext.get()
    if context and context.flow_run and context.flow_run.deployment_id:
        return suspend_flow_run(wait_for_input=model, key=key, timeout=timeout)
    # poll_interval is typed int but any number of seconds works (measured in the spike)
    poll: Any = settings.step_poll_interval_s
    return pause_flow_run(wait_for_input=model, key=key, timeout=timeout, poll_interval=poll)
