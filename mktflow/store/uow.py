"""The unit of work: one transaction around one engine command, with its audit and outbox rows.

Leaving the ``with`` block without ``commit()`` rolls everything back, so a refused or failed
command leaves no trace: no state change, no audit entry, no notification.

Audit entries and outbox messages are appended to the table (never read back by the command
that writes them), so they are kept as plain rows and written by ``commit()`` with one Core
``INSERT`` per table, after the session's changes are flushed and before the one ``COMMIT``:
the same transaction, without building and flushing an ORM object per row. On PostgreSQL the
same transaction also runs ``NOTIFY mktflow_outbox`` (``mktflow.store.wakeup``), delivered to
listening relays only if it commits. The audit rows are
checked against their columns' limits first (``mktflow.store.checks``, as the session's flush
checks every ORM row; the check is installed when the session begins, not at import, so a read
never loads the ORM).

A COMMIT whose answer is lost (the connection dropped while it was committed) is not taken for
a failure: on PostgreSQL the transaction's id is read just before COMMIT, and the database is
asked afterwards what became of it (``mktflow.store.outcome``): recorded (the command goes on
and says so, ``mktflow.domain.notes``), not recorded (``Unavailable``: try again), or unknown
(``OutcomeUnknown``, naming what to look at).

A unit of work serving an API request sent with an ``Idempotency-Key`` (``request``) stamps
that key's row in the transaction that records the change (the one with audit entries): the
change and the key's "done" commit together or not at all, and only the request holding the
key may stamp it (``mktflow.engine.idempotency``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, inspect, literal, update
from sqlalchemy.exc import DBAPIError

from mktflow.domain import clock as clocks
from mktflow.domain import notes
from mktflow.domain.actors import SYSTEM, Door, IdentifiedBy
from mktflow.domain.clock import Clock
from mktflow.domain.errors import Conflict
from mktflow.store import outcome, wakeup
from mktflow.store.db import database_errors, deadlines_of

if TYPE_CHECKING:
    from sqlmodel import Session

    from mktflow.config import Settings
    from mktflow.store.tables import OutboxMessage, WorkItem

__all__ = ["Identification", "RequestStamp", "Resumer", "RunEnder", "UnitOfWork"]

#: Hands a completed step's data to the flow run waiting for it: (flow_run_id, item) -> None.
Resumer = Callable[[str, "WorkItem"], object]
#: How the door that made a unit of work knew who acts: a value, or a function that says it
#: when an entry is written (the REST API knows only once the request's credential is read).
Identification = IdentifiedBy | Callable[[], IdentifiedBy | None] | None
#: Ends the flow run of a process that ended while the run waited (a step of it was cancelled):
#: (flow_run_id, message naming the step, who cancelled it and why) -> anything.
RunEnder = Callable[[str, str], object]
#: Wakes the flow run paused on a step that was cancelled while its process goes on (a
#: complaint's act step whose handoff was rejected): (flow_run_id, the step) -> anything.
RunWaker = Callable[[str, "WorkItem"], object]


@dataclass(frozen=True)
class RequestStamp:
    """The API request a unit of work answers: its ``Idempotency-Key`` row and the attempt
    (a random id) that holds it (``mktflow.engine.idempotency.begin``)."""

    key_id: int
    attempt: str


class UnitOfWork:
    """A session, a clock and the command's audit and outbox rows, committed together.

    It also carries what the process wired for the engine (``mktflow.bootstrap``): the settings
    handlers read (links, the authority matrix file, the appraisal frequency), the resumer
    that hands a completed step to its waiting flow run (None: nobody is handed anything), the
    ender that ends the waiting run of a process ended by a cancel (None: nobody is told), the
    door its commands come from (``Door``; default ``PROVEN``) and how that door knew who acts
    (``IdentifiedBy``; the Prefect UI's form for ``Door.TYPED``, else what the door says).
    """

    def __init__(self, engine: Engine, *, clock: Clock = clocks.now,
                 settings: Settings | None = None,
                 resumer: Resumer | None = None, door: Door = Door.PROVEN,
                 ender: RunEnder | None = None,
                 identified_by: Identification = None,
                 waker: RunWaker | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self._settings = settings
        self.resumer = resumer
        self.ender = ender
        self.waker = waker
        #: How the commands run in it know who acts (``Door``): only ``Door.ENGINE`` (flows and
        #: sweeps, ``bootstrap.engine_uow``) may act as the process engine.
        self.door = door
        #: How the door knew who acts, written on every audit entry of a person (``audit``).
        self.identified_by: Identification = identified_by or (
            IdentifiedBy.PREFECT_FORM if door is Door.TYPED else None)
        self._session: Session | None = None
        self._reader: Connection | None = None
        #: Look-ups one command may repeat (the actor, departments, channels), kept for the
        #: transaction only: cleared when it begins, commits or ends.
        self.memo: dict[Any, Any] = {}
        self._audit_rows: list[dict[str, Any]] = []
        self._outbox_rows: list[dict[str, Any]] = []
        #: The API request (with an Idempotency-Key) its commands answer; None: no key.
        self.request: RequestStamp | None = None

    def __enter__(self) -> UnitOfWork:
        # A fresh translator each time: one UnitOfWork may serve several commands in turn.
        self._errors = database_errors(self.engine.url.render_as_string(hide_password=False),
                                       deadlines_of(self.engine))
        self._errors.__enter__()
        self._session = self._reader = None
        self._forget()
        return self

    @property
    def settings(self) -> Settings:
        """The settings handlers read: the wiring's, else the process's (``get_settings``),
        loaded when first read (a quick read needs none, and never imports pydantic)."""
        if self._settings is None:
            from mktflow.config import get_settings

            self._settings = get_settings()
        return self._settings

    @property
    def session(self) -> Session:
        """The command's ORM session, begun when first used (a read through ``reader()``
        needs none, and a process that only reads never imports the ORM)."""
        if self._session is None:
            if self._reader is not None:
                raise RuntimeError("this unit of work reads through reader(); it has no session")
            from sqlmodel import Session

            from mktflow.store import checks

            checks.install()  # every row a unit of work writes is checked against its limits
            self._session = Session(self.engine, expire_on_commit=False)
        return self._session

    def reader(self) -> Connection:
        """A connection for read-only Core queries: the session's if it has begun, else a plain
        connection closed (rolled back) with the unit of work."""
        if self._session is not None:
            return self._session.connection()
        if self._reader is None:
            self._reader = self.engine.connect()
        return self._reader

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
            if self._session is not None:
                self._session.close()
            if self._reader is not None:
                self._reader.close()
            self._forget()
        finally:
            handled = self._errors.__exit__(exc_type, exc, tb)
        return handled

    def identification(self) -> str | None:
        """How the door knew who acts (``IdentifiedBy``'s words), or None (the engine's own
        units of work, or one no door made)."""
        how = self.identified_by() if callable(self.identified_by) else self.identified_by
        return str(how) if how else None

    def now(self) -> datetime:
        """The command's clock (fake in tests of due times and escalation)."""
        return self.clock()

    def commit(self) -> None:
        """Make the command's changes, audit entries and outbox messages durable at once.

        When the connection drops during COMMIT, the database is asked what became of it (see
        the module docstring): recorded, it returns as if nothing had happened and tells a note;
        otherwise it raises ``Unavailable`` (not recorded) or ``OutcomeUnknown``. Raises
        ``Conflict`` when another request took over this one's Idempotency-Key.
        """
        session = self.session
        postgresql = self.engine.dialect.name == "postgresql"
        xid = None
        if self._audit_rows or self._outbox_rows:
            changed = _changed_rows(session)
            if changed is None:
                session.flush()  # the new rows first (an entry may name a new row's id)
            connection = session.connection()
            audit, outbox = _tables()
            from mktflow.store import checks

            for optional in ("identified_by", "words"):
                if any(optional in row for row in self._audit_rows):
                    for row in self._audit_rows:  # one INSERT for all: the same columns in each
                        row.setdefault(optional, None)
            for table, rows in ((audit, self._audit_rows), (outbox, self._outbox_rows)):
                if rows:  # Core rows skip the flush's check: the same limits (a reason's)
                    checks.check_rows(table, rows)
            if self._audit_rows and self.request is not None:
                _stamp(connection, self.request, self.now())  # reads its row count: not piped
            with _Piped(connection) as piped:  # PostgreSQL: one round trip for all of these
                for statement, values, _ in changed or ():  # the changed rows, as a flush
                    connection.execute(statement, values)    # writes them
                for table, rows in ((audit, self._audit_rows), (outbox, self._outbox_rows)):
                    if rows:
                        connection.execute(insert(table).inline(), rows)  # no RETURNING
                if self._outbox_rows:  # relays wake once this commits (PostgreSQL)
                    wakeup.announce(connection)
                piped.ask_transaction_id()
            xid = piped.transaction_id
            _written(changed or [])
        if postgresql and xid is None and session.in_transaction():
            session.flush()
            xid = outcome.transaction_id(session.connection())
        try:
            session.commit()
        except DBAPIError as exc:
            if xid is None or not exc.connection_invalidated:
                raise
            refs, actions = outcome.what_changed(self._audit_rows)
            note = outcome.settle(self.engine, xid, budget_s=self.settings.db_outcome_check_s,
                                  refs=refs, actions=actions)
            session.close()  # the objects stay as committed; the next use begins afresh
            if self._audit_rows:  # a person's change; bookkeeping (a token's use) goes unsaid
                notes.tell(note)
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
        words: dict[str, Any] | None = None,
    ) -> None:
        """Record who did what, when and why; written by ``commit()``, in the same transaction.
        ``words``: the messages of the entry's texts the engine wrote (``domain.words``), if any.

        An entry of a person also records how the door knew it was them (``identified_by``,
        see ``identification``); the process engine's entries never do.
        """
        row = {
            "at": self.now(), "actor": actor, "entity_type": entity_type,
            "entity_id": entity_id, "process_id": process_id, "action": action,
            "from_state": from_state, "to_state": to_state, "reason": reason, "data": data,
            "changes": changes,
        }
        how = None if actor == SYSTEM.email else self.identification()
        if how is not None:  # only then: a unit of work no door made writes what it always did
            row["identified_by"] = how
        if words:  # only then, as ``identified_by``: the entries without keep their columns
            row["words"] = words
        self._audit_rows.append(row)

    def outbox(self, message: OutboxMessage) -> OutboxMessage:
        """Queue a notification; it is written by ``commit()`` and sent only if that commits."""
        if not message.id:
            message.id = uuid.uuid4().hex
        message.created_at = self.now()
        message.next_attempt_at = message.created_at
        self._outbox_rows.append({name: getattr(message, name) for name in _outbox_columns()})
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


_DEFAULTS: dict[str, Any] = {}


class _Piped:
    """On PostgreSQL, the statements run inside are sent together (psycopg's pipeline mode)
    with the read of the transaction's id, and their answers read once at the end: one round
    trip for the audit and outbox INSERTs, the NOTIFY and that read, instead of one each
    (issue 22, target 4). A statement run inside must return no rows. An error of any of them
    is raised when the block ends, as SQLAlchemy raises it (``DBAPIError``; the connection
    invalidated when it was lost), and the transaction rolls back as before. On SQLite the
    statements run one by one and ``transaction_id`` stays None."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.transaction_id: str | None = None
        self._pipeline: Any = None
        self._cursor: Any = None

    def __enter__(self) -> _Piped:
        if self.connection.dialect.name == "postgresql":
            raw: Any = self.connection.connection.driver_connection
            self._pipeline = raw.pipeline()
            self._pipeline.__enter__()
        return self

    def ask_transaction_id(self) -> None:
        """Read the transaction's id with the rest (``outcome.transaction_id``'s query)."""
        if self._pipeline is not None:
            self._cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            self._cursor.execute(outcome.XID_SQL)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._pipeline is None:
            return
        import psycopg

        try:
            self._pipeline.__exit__(exc_type, exc, tb)  # sends them, waits for every answer
            if exc_type is None and self._cursor is not None:
                row = self._cursor.fetchone()
                self.transaction_id = None if row is None or row[0] is None else str(row[0])
        except psycopg.Error as error:
            if exc_type is not None:
                raise
            raised: Any = error
            lost = self.connection.dialect.is_disconnect(
                raised, self.connection.connection.dbapi_connection, None)
            if lost:
                self.connection.invalidate(error)
            raise DBAPIError.instance(
                "the audit and outbox INSERTs, NOTIFY and the transaction's id (pipelined)",
                None, error, psycopg.Error, connection_invalidated=lost,
                dialect=self.connection.dialect) from error
        finally:
            if self._cursor is not None:  # also after an error: a client-side cursor's close
                self._cursor.close()      # only forgets its results, it asks the server nothing


def _changed_rows(session: Session) -> list[tuple[Any, dict[str, Any], Any]] | None:
    """The session's changed rows as Core ``UPDATE``s of their changed columns, checked as a
    flush checks them (``store.checks``), so that the commit sends them in its one round trip
    with the audit and outbox rows instead of the ORM's flush before them (issue 22, target
    4): ``[(UPDATE, its parameters, the row's ORM state)]``; None when the session has new or
    deleted rows (the ORM's flush writes those first: an audit entry may name a new row's
    id). The rows are locked by the command (``get_for_update``), so the flush's check that an
    ``UPDATE`` matched its row has nothing to catch here."""
    if session.new or session.deleted:
        return None
    from mktflow.store import checks

    statements = []
    for obj in session.dirty:
        state = inspect(obj)
        table = state.mapper.local_table
        # the attributes set since the row was read: the ORM keeps their values as read
        values = {key: state.dict[key] for key, before in state.committed_state.items()
                  if key in table.c and state.dict.get(key) != before}
        if not values:
            continue
        checks.check_rows(table, [values])  # as the flush checks a changed row's values
        key = dict(zip((c.key for c in state.mapper.primary_key), state.identity, strict=True))
        statements.append((_update_of(table, tuple(key)), {
            **values, **{_KEY + k: v for k, v in key.items()}}, state))
    return statements


#: The parameters naming an updated row's primary key (no column is named so).
_KEY = "row_key_"
_UPDATES: dict[tuple[Any, tuple[str, ...]], Any] = {}


def _update_of(table: Any, key: tuple[str, ...]) -> Any:
    """``UPDATE table ... WHERE`` its primary key ``key`` is the ``row_key_...`` parameters;
    the columns set are the other parameters' (built once per table, so its compiled form is
    reused for each set of columns instead of built and keyed anew for every row)."""
    statement = _UPDATES.get((table, key))
    if statement is None:
        statement = _UPDATES[(table, key)] = update(table).where(
            *(table.c[k] == bindparam(_KEY + k) for k in key))
    return statement


def _written(statements: list[tuple[Any, dict[str, Any], Any]]) -> None:
    """Mark the rows ``_changed_rows`` wrote as the database has them: unchanged for the ORM,
    whose flush at COMMIT then writes nothing again. (``InstanceState._commit_all`` is what
    the flush itself calls after writing a row; a test checks the commit sends one UPDATE.)"""
    for _, _, state in statements:
        state._commit_all(state.dict, state.session.identity_map)


def _stamp(connection: Connection, request: RequestStamp, now: datetime) -> None:
    """Mark ``request``'s Idempotency-Key as having changed something, in this transaction;
    Conflict (rolling the change back) when another attempt holds the key now."""
    from mktflow.store.tables import IdempotencyKey

    table = IdempotencyKey.__table__  # type: ignore[attr-defined]
    done = connection.execute(
        update(table).where(table.c.id == request.key_id, table.c.attempt == request.attempt)
        .values(changed_at=func.coalesce(table.c.changed_at,
                                         literal(now, table.c.changed_at.type))))
    if done.rowcount != 1:
        raise Conflict("another request with the same Idempotency-Key took this one over (it "
                       "waited too long): nothing was changed by this one")


def _tables() -> tuple[Any, Any]:
    """The audit and outbox tables (their models load with the first write, not at import)."""
    from mktflow.store.tables import AuditEntry, OutboxMessage

    return AuditEntry.__table__, OutboxMessage.__table__  # type: ignore[attr-defined]


def _outbox_columns() -> list[str]:
    return [c.name for c in _tables()[1].columns]


def _outbox_defaults() -> dict[str, Any]:
    """Every outbox column with the value a new ``OutboxMessage`` has (built once)."""
    if not _DEFAULTS:
        from mktflow.store.tables import OutboxMessage

        blank = OutboxMessage(id="", event="", subject="")
        _DEFAULTS.update({name: getattr(blank, name) for name in _outbox_columns()})
    return _DEFAULTS
