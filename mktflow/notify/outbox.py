"""Reading the outbox and sending a message again: what ``mktflow outbox list/retry`` do."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from mktflow.domain.errors import BadInput, NotFound, Refused
from mktflow.notify.relay import OutboxStatus
from mktflow.store import wakeup
from mktflow.store.tables import Channel, OutboxMessage
from mktflow.store.uow import UnitOfWork

__all__ = ["list_messages", "message_view", "retry_message"]


def message_view(m: OutboxMessage, channel: Channel | None = None) -> dict[str, Any]:
    """An outbox message as people and scripts read it (it never holds a secret)."""
    return {
        "id": m.id, "status": m.status, "event": m.event, "ref": (m.payload or {}).get("ref"),
        "subject": m.subject, "department": m.department, "recipient": m.recipient_email,
        "channel_id": m.channel_id, "channel_type": channel.type if channel else None,
        "attempts": m.attempts, "next_attempt_at": m.next_attempt_at.isoformat(),
        "created_at": m.created_at.isoformat(),
        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        "claimed_by": m.claimed_by, "last_error": m.last_error, "link": m.link,
    }


def list_messages(
    uow: UnitOfWork, *, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest outbox messages (of one status), newest first."""
    if status is not None and status not in OutboxStatus.ALL:
        raise BadInput(f"status: {status!r} is not an outbox status "
                       f"(use {', '.join(OutboxStatus.ALL)})")
    if limit < 1:
        raise BadInput(f"limit: must be at least 1, got {limit}")
    with uow:
        query = select(OutboxMessage).order_by(col(OutboxMessage.created_at).desc(),
                                               col(OutboxMessage.id)).limit(limit)
        if status:
            query = query.where(col(OutboxMessage.status) == status)
        rows = list(uow.session.exec(query))
        ids = {r.channel_id for r in rows if r.channel_id is not None}
        channels = {c.id: c for c in uow.session.exec(
            select(Channel).where(col(Channel.id).in_(ids)))} if ids else {}
        return [message_view(r, channels.get(r.channel_id)) for r in rows]


def retry_message(uow: UnitOfWork, message_id: str) -> OutboxMessage:
    """Make a dead (or waiting) message due now; a dead one gets a fresh set of attempts."""
    with uow:
        m = uow.session.get(OutboxMessage, message_id.strip(), with_for_update=True)
        if m is None:
            raise NotFound(f"outbox message {message_id!r} does not exist")
        if m.status == OutboxStatus.SENT:
            raise Refused(f"message {m.id} was already sent at {m.sent_at}; sending it again "
                          "would tell them twice")
        if m.status == OutboxStatus.SENDING:
            raise Refused(f"message {m.id} is being sent by {m.claimed_by} right now")
        if m.status == OutboxStatus.SKIPPED:
            raise Refused(f"message {m.id} has no channel to go through ({m.last_error}); "
                          "add a channel, later messages will use it")
        if m.status in (OutboxStatus.HELD, OutboxStatus.DIGESTED):
            raise Refused(f"message {m.id} is {m.status} for {m.recipient_email}'s daily digest "
                          "(they chose one digest a day); they read it there or choose "
                          "each notice again (mktflow digest set --mode each)")
        if m.status == OutboxStatus.DEAD:
            m.attempts = 0
        m.status = OutboxStatus.PENDING
        m.next_attempt_at = uow.now()
        uow.session.add(m)
        wakeup.announce(uow.session.connection())  # a listening relay sends it at once
        uow.commit()
        return m
