"""Telling departments why a process stopped or is blocked (e.g. a launch gate without its
resources, an order rejected): notices in the outbox and an audit entry, in one transaction."""

from __future__ import annotations

from mktflow.engine.common import get_for_update
from mktflow.engine.notices import Recipient, tell
from mktflow.store.tables import WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["tell_departments"]


def tell_departments(uow: UnitOfWork, *, item_id: int, departments: list[str], event: str,
                     reason: str, process_id: int | None, occasion: str = "") -> int:
    """Queue ``event`` about work item ``item_id`` for each department; returns messages."""
    with uow:
        item = get_for_update(uow, WorkItem, item_id)
        messages = tell(uow, item, event=event,
                        recipients=[Recipient(d) for d in departments], actor="mktflow",
                        reason=reason)
        uow.audit(actor="mktflow", entity_type="process", entity_id=process_id or 0,
                  process_id=process_id, action="tell", reason=reason,
                  data={"event": event, "departments": departments, "item": f"W-{item_id}",
                        "occasion": occasion})
        uow.commit()
        return len(messages)
