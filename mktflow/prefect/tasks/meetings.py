"""Tasks of the planning meetings (``flows/meetings.py``), each wrapping one handler of
``mktflow.engine.meetings``."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.runtime import flow_run

from mktflow.bootstrap import engine_uow as uow
from mktflow.engine import meetings
from mktflow.engine.views import plain
from mktflow.prefect.tasks.common import ENGINE_TASK

__all__ = ["agenda_draft", "marketing_head", "open_meeting", "record_agenda",
           "record_approval", "record_minutes", "send_minutes"]


@task(name="open-meeting", **ENGINE_TASK)
def open_meeting(period: str, process_id: int | None) -> dict[str, Any]:
    """The period's meeting (opened once), as a plain dict."""
    return dict(plain(meetings.open_meeting(uow(), period=period, process_id=process_id)))


@task(name="marketing-head", **ENGINE_TASK)
def marketing_head() -> str:
    """Marketing's head, who prepares the agenda and approves the minutes."""
    return meetings.marketing_head(uow())


@task(name="draft-agenda", **ENGINE_TASK)
def agenda_draft(period: str) -> str:
    """The agenda pre-filled: the period's plan items, open decisions of earlier meetings."""
    return meetings.agenda_draft(uow(), period)


@task(name="record-agenda", **ENGINE_TASK)
def record_agenda(meeting_id: int, item_id: int) -> None:
    """Keep the agenda the head handed in."""
    meetings.record_agenda(uow(), meeting_id, item_id=item_id)


@task(name="record-minutes", **ENGINE_TASK)
def record_minutes(meeting_id: int, item_id: int) -> None:
    """Keep the minutes and their decisions; they go to the head for approval."""
    meetings.record_minutes(uow(), meeting_id, item_id=item_id)


@task(name="record-approval", **ENGINE_TASK)
def record_approval(meeting_id: int, item_id: int) -> None:
    """Keep the head's answer on the minutes (approve, or revise)."""
    meetings.record_approval(uow(), meeting_id, item_id=item_id)


@task(name="send-minutes", **ENGINE_TASK)
def send_minutes(meeting_id: int) -> dict[str, Any]:
    """Send the approved minutes (items to read, told through the outbox) and make each
    decision work for its owner; then the meeting as it stands."""
    url = flow_run.get_flow_run_ui_url()
    sent = meetings.send_minutes(uow(), meeting_id, link=f"The minutes: {url}" if url else "")
    return {**sent, "meeting": plain(meetings.show_meeting(uow(), meeting_id))}
