"""The unit of work: one transaction around one engine command, with its audit and outbox rows.

Leaving the ``with`` block without ``commit()`` rolls everything back, so a refused or failed
command leaves no trace: no state change, no audit entry, no notification.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from mktflow.config import Settings, get_settings
from mktflow.domain.actors import Door
from mktflow.store import checks
from mktflow.store.db import database_errors
from mktflow.store.tables import AuditEntry, OutboxMessage, WorkItem
from mktflow.store.types import utcnow

__all__ = ["Clock", "Resumer", "UnitOfWork"]

Clock = Callable[[], datetime]

checks.install()  # every row a unit of work writes is checked against its limits first

#: Hands a completed step's data to the flow run waiting for it: (flow_run_id, item) -> None.
Resumer = Callable[[str, WorkItem], None]


class UnitOfWork:
    """A session, a clock and the command's audit and outbox rows, committed together.

    It also carries what the process wired for the engine (``mktflow.bootstrap``): the settings
    handlers read (links, the authority matrix file, the appraisal frequency), the resumer
    that hands a completed step to its waiting flow run (None: nobody is handed anything), and
    the door its commands come from (``Door``; default ``PROVEN``).
    """

    def __init__(self, engine: Engine, *, clock: Clock = utcnow, settings: Settings | None = None,
                 resumer: Resumer | None = None, door: Door = Door.PROVEN) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings if settings is not None else get_settings()
        self.resumer = resumer
        #: How the commands run in it know who acts (``Door``): only ``Door.ENGINE`` (flows and
        #: sweeps, ``bootstrap.engine_uow``) may act as the process engine.
        self.door = door
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        # A fresh translator each time: one UnitOfWork may serve several commands in turn.
        self._errors = database_errors(self.engine.url.render_as_string(hide_password=False))
        self._errors.__enter__()
        self.session = Session(self.engine, expire_on_commit=False)
        return self

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
        finally:
            handled = self._errors.__exit__(exc_type, exc, tb)
        return handled

    def now(self) -> datetime:
        """The command's clock (fake in tests of due times and escalation)."""
        return self.clock()

    def commit(self) -> None:
        """Make the command's changes, audit entries and outbox messages durable at once."""
        self.session.commit()

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
    ) -> AuditEntry:
        """Record who did what, when and why; part of the same transaction."""
        entry = AuditEntry(
            at=self.now(), actor=actor, entity_type=entity_type, entity_id=entity_id,
            process_id=process_id, action=action, from_state=from_state, to_state=to_state,
            reason=reason, data=data, changes=changes,
        )
        self.session.add(entry)
        return entry

    def outbox(self, message: OutboxMessage) -> OutboxMessage:
        """Queue a notification; it is sent only if the command commits."""
        if not message.id:
            message.id = uuid.uuid4().hex
        message.created_at = self.now()
        message.next_attempt_at = message.created_at
        self.session.add(message)
        return message
