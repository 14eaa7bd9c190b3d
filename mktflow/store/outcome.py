"""What became of a change whose COMMIT was sent but whose answer never came.

When the connection drops while a transaction commits, the client cannot tell whether the
server committed it: the COMMIT may have been lost on the way, or done and its answer lost on
the way back. PostgreSQL keeps the status of recent transactions for exactly this question
(``pg_xact_status``: *committed*, *aborted* or *in progress*): the unit of work reads its
transaction's id just before COMMIT (``transaction_id``; one round trip, only for a
transaction that wrote something) and, when the COMMIT fails with a lost connection, asks on a
new connection (``settle``):

* *committed*: the change is there. The command goes on as if the answer had come, and says so
  (``mktflow.domain.notes``): exit 0, HTTP 200.
* *aborted*: the change is not there; nothing changed. ``Unavailable``: exit 1, HTTP 503 with
  ``Retry-After``; trying again is safe.
* *in progress* (the server has not finished with it yet) or no answer at all (the database is
  unreachable): asked again until ``MKTFLOW_DB_OUTCOME_CHECK_S`` has passed, then
  ``OutcomeUnknown`` naming the items to look at: exit 3, HTTP 503 ``outcome-unknown``.

A transaction id read from the same transaction is the only identity that cannot be confused
with another command's change: a re-read of the item (its state, its version, its last audit
entry) could find someone else's change, or miss ours while it is still being committed.

SQLite commits in the same process and file: a COMMIT that fails did not happen, and there is
no answer to lose.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from mktflow.domain.errors import OutcomeUnknown, Unavailable
from mktflow.domain.model import REF_PREFIX

__all__ = ["how_to_check", "settle", "transaction_id", "what_changed"]

#: The transaction's id, as ``transaction_id`` reads it (``UnitOfWork.commit`` sends it with
#: its last writes, ``uow._Piped``).
XID_SQL = "SELECT pg_current_xact_id_if_assigned()::text"
_XID = text(XID_SQL)
_STATUS = text("SELECT pg_xact_status(CAST(:xid AS xid8))")

#: How each kind of item is looked at, from the command line and over the API.
_SHOW = {"W": ("mktflow work show {ref}", "GET /work/{n}"),
         "H": ("mktflow handoff show {ref}", "GET /handoffs/{n}"),
         "P": ("mktflow process show {ref}", "GET /processes/{ref}")}


def transaction_id(connection: Connection) -> str | None:
    """The id of the transaction open on ``connection`` (PostgreSQL), None when it has written
    nothing (no id assigned: nothing to lose) or on SQLite."""
    if connection.dialect.name != "postgresql":
        return None
    value = connection.execute(_XID).scalar()
    return None if value is None else str(value)


def what_changed(audit_rows: Iterable[dict[str, Any]]) -> tuple[list[str], str]:
    """(the refs the audit entries name, in order, once each; the actions, e.g. ``complete``)
    of a transaction: what a person is told the change was about."""
    refs: list[str] = []
    actions: list[str] = []
    for row in audit_rows:
        prefix = REF_PREFIX.get(str(row.get("entity_type")))
        ref = f"{prefix}-{row.get('entity_id')}" if prefix else None
        if ref and ref not in refs:
            refs.append(ref)
        if row.get("action") and row["action"] not in actions:
            actions.append(str(row["action"]))
    return refs, ", ".join(actions)


def _describe(refs: list[str], actions: str) -> str:
    where = f" to {', '.join(refs)}" if refs else ""
    return f"the change{where}" + (f" ({actions})" if actions else "")


def how_to_check(refs: list[str]) -> str:
    """Where to look at ``refs`` from the command line and over the API, as one clause."""
    if not refs:
        return "look at what you changed before trying again"
    commands = []
    for ref in refs[:3]:
        prefix, _, n = ref.partition("-")
        cli, api = _SHOW.get(prefix, ("mktflow history {ref}", "GET /history/{ref}"))
        commands.append(f"`{cli.format(ref=ref, n=n)}` (API: {api.format(ref=ref, n=n)})")
    return f"look before trying again: {'; '.join(commands)}"


def settle(engine: Engine, xid: str, *, budget_s: float, refs: list[str], actions: str) -> str:
    """Ask the database what became of transaction ``xid``, whose COMMIT was sent on a
    connection that dropped before its answer came, for at most about ``budget_s`` seconds
    (plus one connect deadline).

    Returns the note to tell when it was committed; raises ``Unavailable`` when it was not
    (nothing changed: try again), ``OutcomeUnknown`` (with ``refs``) when the database could
    not say in time.
    """
    what = _describe(refs, actions)
    deadline = time.monotonic() + budget_s
    while True:
        status = _status(engine, xid)
        if status == "committed":
            return (f"{what} was recorded, although the connection to the database dropped "
                    "while it was committed (mktflow asked the database again: it is there)")
        if status == "aborted":
            raise Unavailable(f"the connection to the database dropped while {what} was "
                              "committed, and the database says it was not recorded: nothing "
                              "changed; try again")
        if time.monotonic() >= deadline:
            raise OutcomeUnknown(
                f"the connection to the database dropped while {what} was committed, and the "
                f"database could not say within {budget_s:g} s (MKTFLOW_DB_OUTCOME_CHECK_S) "
                f"whether it was recorded: it may or may not have been; {how_to_check(refs)}",
                refs=refs)
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def _status(engine: Engine, xid: str) -> str | None:
    """``committed``, ``aborted``, ``in progress``, or None when the database cannot be asked."""
    try:
        with engine.connect() as conn:
            value = conn.execute(_STATUS, {"xid": xid}).scalar()
    except DBAPIError:
        return None
    return None if value is None else str(value)
