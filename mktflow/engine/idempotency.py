"""The REST API's ``Idempotency-Key``: a POST sent again with the same key gets the first answer.

Follows the IETF draft "The Idempotency-Key HTTP Header Field" (httpapi working group). A key
belongs to the member who sent it: the same key from another member is another key. The API's
middleware (``mktflow.api._idempotency``) calls these handlers around the request:

``begin``
    before the request runs, in its own transaction: the key is new (or expired, or its first
    request ended without changing anything and without an answer): it is taken for this
    request (``Claim.started``, with the ``RequestStamp`` the request's units of work carry);
    or its first request's answer is kept (``replay``); or the key came with another request
    (``reused``, 422); or its first request is still running (``in_flight``, 409); or its first
    request changed something but its answer could not be kept (``answer_lost``, 409: look at
    the item, do not send it again).
``UnitOfWork.commit`` (``mktflow.store.uow``)
    stamps ``changed_at`` in the transaction that records the request's change, only while
    this request's attempt holds the key: the change and the stamp commit together, so after
    any failure the row says truthfully whether the change was made, and two attempts can never
    both make it.
``finish``
    keeps the answer (status below 500: a refusal is an answer too), before it is sent.
``release``
    the request failed (5xx, or it raised): a key whose request changed nothing is removed (a
    retry runs afresh); one whose request changed something stops being in flight (a retry is
    told the answer was lost).

A request holds its key for ``LEASE_S`` at most: a retry after that takes over a key whose
first request neither answered nor changed anything (the server stopped meanwhile). Keys are
kept ``MKTFLOW_IDEMPOTENCY_KEY_HOURS`` (default 24 h); ``begin`` removes expired ones, all of
them at most every ``PURGE_EVERY_S`` per process.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from mktflow.domain.inputs import normalise_email
from mktflow.store.tables import IdempotencyKey
from mktflow.store.uow import RequestStamp, UnitOfWork

__all__ = ["LEASE_S", "PURGE_EVERY_S", "Answer", "Claim", "begin", "finish", "purge",
           "release"]

#: How long a request holds its key before a retry may take over (seconds): longer than any
#: request runs (statements are cut at MKTFLOW_DB_STATEMENT_TIMEOUT_S, 30 s by default).
LEASE_S = 120.0
#: Expired keys are removed at most this often per process (seconds).
PURGE_EVERY_S = 600.0

_purged_at: list[float] = [-math.inf]
_purge_lock = threading.Lock()


@dataclass(frozen=True)
class Answer:
    """An answer as it is kept and replayed: status, headers (name, value) and body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class Claim:
    """What ``begin`` found for a key (see the module docstring for each ``kind``)."""

    kind: Literal["started", "replay", "reused", "in_flight", "answer_lost"]
    stamp: RequestStamp | None = None
    answer: Answer | None = None
    #: The request the key was first sent with ("POST /work/3/claim"): for ``reused``.
    first_request: str = ""
    changed_at: datetime | None = None
    #: Seconds until the first request lets the key go: for ``in_flight``.
    retry_after_s: int = 1


def begin(uow: UnitOfWork, *, member: str, key: str, fingerprint: str, request: str,
          keep_hours: float) -> Claim:
    """Look up ``member``'s ``key`` and take it for this request if it is free.

    ``fingerprint``: a digest of the request (method, path, body); ``request``: how people
    name it (``POST /work/3/claim``); ``keep_hours``: how long the answer is kept.
    """
    try:
        return _begin(uow, member=normalise_email(member), key=key, fingerprint=fingerprint,
                      request=request, keep_hours=keep_hours)
    except IntegrityError:  # another request inserted the same key first: it holds it
        return _begin(uow, member=normalise_email(member), key=key, fingerprint=fingerprint,
                      request=request, keep_hours=keep_hours)


def _begin(uow: UnitOfWork, *, member: str, key: str, fingerprint: str, request: str,
           keep_hours: float) -> Claim:
    with uow:
        now = uow.now()
        _purge_now_and_then(uow, now)
        row = uow.session.exec(select(IdempotencyKey).where(
            col(IdempotencyKey.member_email) == member, col(IdempotencyKey.key) == key)
            .with_for_update()).first()
        if row is not None and row.expires_at <= now:
            uow.session.delete(row)
            uow.session.flush()
            row = None
        attempt = secrets.token_hex(16)
        if row is None:
            row = IdempotencyKey(member_email=member, key=key, fingerprint=fingerprint,
                                 request=request, attempt=attempt, created_at=now,
                                 expires_at=now + timedelta(hours=keep_hours),
                                 leased_until=now + timedelta(seconds=LEASE_S))
            uow.session.add(row)
            uow.commit()
            assert row.id is not None
            return Claim("started", stamp=RequestStamp(row.id, attempt))
        if row.fingerprint != fingerprint:
            return Claim("reused", first_request=row.request)
        if row.answered_at is not None and row.status is not None:
            return Claim("replay", answer=Answer(
                row.status, [(str(n), str(v)) for n, v in row.headers or []], row.body or b""))
        if row.leased_until > now:
            wait = math.ceil((row.leased_until - now).total_seconds())
            return Claim("in_flight", retry_after_s=max(1, min(wait, 60)))
        if row.changed_at is not None:
            return Claim("answer_lost", changed_at=row.changed_at, first_request=row.request)
        # its request stopped without changing anything or answering: this one takes over
        row.attempt, row.leased_until = attempt, now + timedelta(seconds=LEASE_S)
        uow.session.add(row)
        uow.commit()
        assert row.id is not None
        return Claim("started", stamp=RequestStamp(row.id, attempt))


def _held(uow: UnitOfWork, stamp: RequestStamp) -> IdempotencyKey | None:
    row = uow.session.exec(select(IdempotencyKey).where(
        col(IdempotencyKey.id) == stamp.key_id).with_for_update()).first()
    return row if row is not None and row.attempt == stamp.attempt else None


def finish(uow: UnitOfWork, stamp: RequestStamp, answer: Answer) -> bool:
    """Keep ``answer`` for the key ``stamp`` holds; False when another attempt took it over."""
    with uow:
        row = _held(uow, stamp)
        if row is None:
            return False
        now = uow.now()
        row.status, row.body, row.answered_at = answer.status, answer.body, now
        row.headers = [[name, value] for name, value in answer.headers]
        row.leased_until = now
        uow.session.add(row)
        uow.commit()
        return True


def release(uow: UnitOfWork, stamp: RequestStamp) -> None:
    """The request holding the key failed without an answer to keep: let the key go (removed
    when nothing was changed, no longer in flight when something was)."""
    with uow:
        row = _held(uow, stamp)
        if row is None:
            return
        if row.changed_at is None:
            uow.session.delete(row)
        else:
            row.leased_until = uow.now()
            uow.session.add(row)
        uow.commit()


def purge(uow: UnitOfWork) -> int:
    """Remove every key kept longer than its time; returns how many."""
    with uow:
        removed = _purge(uow, uow.now())
        uow.commit()
        return removed


def _purge(uow: UnitOfWork, now: datetime) -> int:
    result = uow.session.connection().execute(
        delete(IdempotencyKey).where(col(IdempotencyKey.expires_at) <= now))
    return int(result.rowcount or 0)


def _purge_now_and_then(uow: UnitOfWork, now: datetime) -> None:
    """Remove expired keys in this transaction, once every ``PURGE_EVERY_S`` per process."""
    with _purge_lock:
        if time.monotonic() - _purged_at[0] < PURGE_EVERY_S:
            return
        _purged_at[0] = time.monotonic()
    _purge(uow, now)
