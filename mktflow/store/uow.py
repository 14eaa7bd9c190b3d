"""The unit of work: one transaction around one engine command, with its audit and outbox rows.

Leaving the ``with`` block without ``commit()`` rolls everything back, so a refused or failed
command leaves no trace: no state change, no audit entry, no notification.

Audit entries and outbox messages are appended to the table (never read back by the command
that writes them), so they are kept as plain rows and written by ``commit()`` with one Core
``INSERT`` per table, after the session's changes are flushed and before the one ``COMMIT``:
the same transaction, without building and flushing an ORM object per row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, insert
from sqlmodel import Session

from mktflow.config import Settings, get_settings
from mktflow.store.db import database_errors
from mktflow.store.tables import AuditEntry, OutboxMessage, WorkItem
from mktflow.store.types import utcnow

__all__ = ["Clock", "Resumer", "UnitOfWork"]

Clock = Callable[[], datetime]

#: Hands a completed step's data to the flow run waiting for it: (flow_run_id, item) -> None.
Resumer = Callable[[str, WorkItem], None]


class UnitOfWork:
    """A session, a clock and the command's audit and outbox rows, committed together.

    It also carries what the process wired for the engine (``mktflow.bootstrap``): the settings
    handlers read (links, the authority matrix file, the appraisal frequency) and the resumer
    that hands a completed step to its waiting flow run (None: nobody is handed anything).
    """

    def __init__(self, engine: Engine, *, clock: Clock = utcnow, settings: Settings | None = None,
                 resumer: Resumer | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings if settings is not None else get_settings()
        self.resumer = resumer
        self.session: Session
        #: Look-ups one command may repeat (the actor, departments, channels), kept for the
        #: transaction only: cleared when it begins, commits or ends.
        self.memo: dict[Any, Any] = {}
        self._audit_rows: list[dict[str, Any]] = []
        self._outbox_rows: list[dict[str, Any]] = []

    def __enter__(self) -> UnitOfWork:
        # A fresh translator each time: one UnitOfWork may serve several commands in turn.
        self._errors = database_errors(self.engine.url.render_as_string(hide_password=False))
        self._errors.__enter__()
        self.session = Session(self.engine, expire_on_commit=False)
        self._forget()
        return self

    def _forget(self) -> None:
        self.memo.clear()
        self._audit_rows.clear()
        self._outbox_rows.clear()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        try:
            # close() rolls back what was not committed and detaches objects without expiring
            # them, so handlers can return the rows they read or wrote.
            self.session.close()
            self._forget()
        finally:
            handled = self._errors.__exit__(exc_type, exc, tb)
        return handled

    def now(self) -> datetime:
        """The command's clock (fake in tests of due times and escalation)."""
        return self.clock()

    def commit(self) -> None:
        """Make the command's changes, audit entries and outbox messages durable at once."""
        if self._audit_rows or self._outbox_rows:
            self.session.flush()  # the changed rows first (an entry may name a new row's id)
            connection = self.session.connection()
            for table, rows in ((_AUDIT, self._audit_rows), (_OUTBOX, self._outbox_rows)):
                if rows:
                    connection.execute(insert(table), rows)
        self.session.commit()
        self._forget()

    def audit(
        self,
        *,
        actor: str,
        entity_type: str,
        entity_id: int,
        action: str,
        process_id: int | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
        changes: dict[str, Any] | None = None,
    ) -> None:
        """Record who did what, when and why; written by ``commit()``, in the same transaction."""
        self._audit_rows.append({
            "at": self.now(), "actor": actor, "entity_type": entity_type,
            "entity_id": entity_id, "process_id": process_id, "action": action,
            "from_state": from_state, "to_state": to_state, "reason": reason, "data": data,
            "changes": changes,
        })

    def outbox(self, message: OutboxMessage) -> OutboxMessage:
        """Queue a notification; it is written by ``commit()`` and sent only if that commits."""
        if not message.id:
            message.id = uuid.uuid4().hex
        message.created_at = self.now()
        message.next_attempt_at = message.created_at
        self._outbox_rows.append({name: getattr(message, name) for name in _OUTBOX_COLUMNS})
        return message

    def outbox_row(self, **fields: Any) -> dict[str, Any]:
        """Queue a notification given as column values (``event``, ``subject``, ``payload``,
        ...); the rest take the table's defaults. The same as ``outbox``, without building an
        ``OutboxMessage``; returns the row as it will be written."""
        row = {**_outbox_defaults(), **fields}
        row["id"] = row["id"] or uuid.uuid4().hex
        row["created_at"] = row["next_attempt_at"] = self.now()
        self._outbox_rows.append(row)
        return row


_AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_OUTBOX_COLUMNS = tuple(c.name for c in _OUTBOX.columns)
_DEFAULTS: dict[str, Any] = {}


def _outbox_defaults() -> dict[str, Any]:
    """Every outbox column with the value a new ``OutboxMessage`` has (built once)."""
    if not _DEFAULTS:
        blank = OutboxMessage(id="", event="", subject="")
        _DEFAULTS.update({name: getattr(blank, name) for name in _OUTBOX_COLUMNS})
    return _DEFAULTS
