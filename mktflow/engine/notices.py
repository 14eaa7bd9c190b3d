"""What a department is told when work reaches it: one outbox message per audience of a change.

Messages say what, for whom, due when, and carry a link to act: the Prefect UI flow-run page
when the item belongs to a flow run, else the mktflow API URL of the item.
"""

from __future__ import annotations

from typing import Any

from mktflow.config import get_settings
from mktflow.domain.model import Audience
from mktflow.engine.common import ref
from mktflow.store.tables import Handoff, OutboxMessage, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["action_link", "notify"]

_PATHS = {WorkItem: "work", Handoff: "handoffs"}


def action_link(uow: UnitOfWork, item: WorkItem | Handoff) -> str:
    """Where a person acts on ``item``: its flow run's UI page, or its API URL."""
    settings = get_settings()
    if item.process_id is not None and settings.prefect_ui_url:
        process = uow.session.get(ProcessInstance, item.process_id)
        if process is not None and process.flow_run_id:
            return f"{settings.prefect_ui_url.rstrip('/')}/runs/flow-run/{process.flow_run_id}"
    return f"{settings.api_url.rstrip('/')}/{_PATHS[type(item)]}/{item.id}"


def _recipients(item: WorkItem | Handoff, audience: Audience) -> tuple[str | None, str | None]:
    """(department, member e-mail) an audience stands for on this item."""
    if isinstance(item, WorkItem):
        if audience is Audience.ASSIGNEE:
            return item.department, item.assignee_email
        if audience is Audience.OWNER:
            return item.department, item.owner_email
        return item.department, None
    if audience is Audience.OFFERING:
        return item.from_department, None
    return item.to_department, None


def notify(
    uow: UnitOfWork,
    item: WorkItem | Handoff,
    *,
    event: str,
    audiences: tuple[Audience, ...],
    actor: str,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> list[OutboxMessage]:
    """Queue one message per audience of ``event`` on ``item``, in the command's transaction."""
    messages = []
    link = action_link(uow, item)
    name = ref(item)
    due = item.due_at.isoformat() if item.due_at else None
    for audience in audiences:
        department, member = _recipients(item, audience)
        if audience in (Audience.ASSIGNEE, Audience.OWNER) and member is None:
            continue
        who = member or department
        subject = f"{name} {event.split('.', 1)[1].replace('_', ' ')}: {item.title}"
        payload: dict[str, Any] = {
            "event": event,
            "ref": name,
            "kind": "work" if isinstance(item, WorkItem) else "handoff",
            "title": item.title,
            "state": item.state,
            "department": department,
            "recipient": member,
            "for": who,
            "due": due,
            "reason": reason,
            "actor": actor,
            "process_id": item.process_id,
            "link": link,
            **(extra or {}),
        }
        messages.append(uow.outbox(OutboxMessage(
            id="", event=event, department=department, recipient_email=member,
            subject=subject, payload=payload, link=link,
        )))
    return messages
