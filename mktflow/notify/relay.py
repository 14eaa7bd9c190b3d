"""The outbox relay: claim due messages, send them, and mark them sent, retried or dead.

A message moves ``pending → sending → sent``; a failed attempt puts it back to ``pending`` with
a later ``next_attempt_at`` (exponential backoff with jitter) until ``max_attempts``, then to
``dead`` with the last error. A message without a channel (nobody configured one) becomes
``skipped``.

Several relays may run at once. Claiming is one short transaction that picks due rows
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite every transaction begins IMMEDIATE, so
the claim already runs alone) and stamps them with the relay's claim token and a lease: while
the lease lasts no other relay takes them. A relay claims its next batch while one is sent and
marks a sent batch on a thread of its own, so its send threads never wait for the database;
every batch has its own claim token, lease and heartbeat. Why a message is never sent by two
relays at once:

- every send has one deadline for all of it (HTTP: connect + write + read; e-mail: the whole
  SMTP conversation), ``RelayPolicy.send_deadline_s`` for its channel;
- while a batch is in flight a heartbeat renews its lease every ``heartbeat_s``;
- a send starts only if it ends, deadline included, before the lease as last renewed, less a
  safety margin of a tenth of the lease (``_MARGIN``, also covering clock skew between
  relays); otherwise the message is handed back unsent, its attempt not counted;
- results are written only where the claim token still matches (a fencing token).

So another relay can take a message over only after every send of it has ended. If a relay
dies between sending and marking, the lease runs out and another relay sends the message again:
at most one duplicate per crash, with the same ``Idempotency-Key`` / ``Message-ID``. A send
that reached its deadline counts as a failed attempt although the receiver may have got it;
it is tried again, at most ``max_attempts`` times in all, with the same key.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, bindparam, func, select, update

from mktflow.config import Settings
from mktflow.domain import clock as clocks
from mktflow.domain.clock import Clock
from mktflow.domain.errors import ConfigError, DeliveryFailed
from mktflow.engine.channels import read_secret
from mktflow.notify.render import Envelope
from mktflow.notify.senders import Deliverer, HttpxPoster, SmtpMailer
from mktflow.store.keys import sign_in_key
from mktflow.store.tables import Channel, OutboxMessage
from mktflow.store.uow import UnitOfWork

__all__ = ["DrainSummary", "OutboxStatus", "Relay", "RelayPolicy", "backoff_s", "build_relay",
           "mailer_of"]

log = logging.getLogger("mktflow.notify.relay")


#: Share of the lease kept free: a send must end this long before the lease does.
_MARGIN = 0.1

#: Batches one relay holds at a time: the one being sent and the next, already claimed.
_AHEAD = 2


class OutboxStatus:
    """Where an outbox message stands."""

    PENDING = "pending"  # waiting to be sent (first time or after a failed attempt)
    SENDING = "sending"  # claimed by a relay until its lease ends
    SENT = "sent"
    DEAD = "dead"  # gave up: permanent failure or too many attempts; see last_error
    SKIPPED = "skipped"  # no channel to send it through

    ALL = (PENDING, SENDING, SENT, DEAD, SKIPPED)


@dataclass(frozen=True)
class RelayPolicy:
    """How hard and how fast the relay tries; built from settings, or directly in tests."""

    max_attempts: int = 8
    backoff_base_s: float = 5.0
    backoff_cap_s: float = 1800.0
    concurrency: int = 10
    batch_size: int = 100
    http_timeout_s: float = 10.0  # deadline of one whole webhook / Slack send
    lease_s: float = 300.0
    poll_interval_s: float = 2.0
    smtp_timeout_s: float | None = None  # deadline of one whole SMTP conversation; None: no e-mail

    def __post_init__(self) -> None:
        longest = self.longest_send_s
        if self.lease_s * (1 - _MARGIN) <= longest:
            which = ("MKTFLOW_SMTP_TIMEOUT_S" if longest == self.smtp_timeout_s
                     else "MKTFLOW_RELAY_HTTP_TIMEOUT_S")
            raise ConfigError(
                f"MKTFLOW_RELAY_LEASE_S ({self.lease_s:g}) must exceed the longest one send can "
                f"take, {which} ({longest:g} s), by more than a tenth of the lease; otherwise "
                "another relay could send a message that is still being sent"
            )

    @property
    def longest_send_s(self) -> float:
        """The longest any one send may take, in seconds (HTTP or SMTP deadline)."""
        return max(self.http_timeout_s, self.smtp_timeout_s or 0.0)

    def send_deadline_s(self, channel_type: str | None) -> float:
        """The deadline of one send over a channel of this type, in seconds."""
        if channel_type == "email" and self.smtp_timeout_s is not None:
            return self.smtp_timeout_s
        return self.http_timeout_s

    @property
    def heartbeat_s(self) -> float:
        """How often a batch in flight renews its lease, in seconds: often enough that the lease
        left always covers the longest send plus the margin."""
        spare = self.lease_s * (1 - _MARGIN) - self.longest_send_s
        return max(0.02, min(self.lease_s / 3, spare / 2))

    @classmethod
    def from_settings(cls, s: Settings) -> RelayPolicy:
        """The policy the MKTFLOW_RELAY_* settings describe."""
        return cls(max_attempts=s.relay_max_attempts, backoff_base_s=s.relay_backoff_base_s,
                   backoff_cap_s=s.relay_backoff_cap_s, concurrency=s.relay_concurrency,
                   batch_size=s.relay_batch_size, http_timeout_s=s.relay_http_timeout_s,
                   lease_s=s.relay_lease_s, poll_interval_s=s.relay_poll_interval_s,
                   smtp_timeout_s=s.smtp_timeout_s if s.smtp_host else None)


def backoff_s(attempt: int, policy: RelayPolicy, rng: random.Random) -> float:
    """Wait after the ``attempt``-th failure: base * 2^(attempt-1), capped, times 0.5 to 1.

    The jitter spreads retries of many messages that failed together (a receiver was down).
    """
    ceiling = min(policy.backoff_cap_s, policy.backoff_base_s * 2 ** max(0, attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)


@dataclass
class DrainSummary:
    """What one drain (or a whole relay run) did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    skipped: int = 0
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)  # last errors, a few, for the summary

    def add(self, other: DrainSummary) -> None:
        """Fold another summary into this one."""
        for name in ("claimed", "sent", "retrying", "dead", "skipped", "elapsed_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors = (self.errors + other.errors)[-5:]

    def as_dict(self) -> dict[str, Any]:
        """The summary for ``--json`` and artifacts, with the send rate."""
        d = asdict(self)
        d["elapsed_s"] = round(self.elapsed_s, 3)
        d["per_second"] = round(self.sent / self.elapsed_s, 1) if self.elapsed_s > 0 else None
        return d

    def line(self) -> str:
        """One line for people."""
        rate = self.as_dict()["per_second"]
        return (f"sent {self.sent}, retrying {self.retrying}, dead {self.dead}, "
                f"skipped {self.skipped} of {self.claimed} claimed in {self.elapsed_s:.2f} s"
                + (f" ({rate}/s)" if rate and self.sent else ""))


@dataclass(frozen=True)
class _Outcome:
    id: str
    status: str
    error: str | None = None
    next_attempt_at: datetime | None = None
    released: bool = False  # handed back unsent: the attempt does not count


class _Lease:
    """Until when this relay's claim on a batch holds, as far as it knows (renewed by the
    heartbeat; never moved forward unless the renewal covered the whole batch)."""

    def __init__(self, until: datetime) -> None:
        self._until = until
        self._lock = threading.Lock()

    @property
    def until(self) -> datetime:
        with self._lock:
            return self._until

    def renewed(self, until: datetime) -> None:
        with self._lock:
            self._until = max(self._until, until)


class _Batch:
    """A claimed batch in flight: its sends (queued or running) and its lease's heartbeat."""

    def __init__(self, token: str, futures: list[Future[_Outcome]], done: threading.Event,
                 heartbeat: threading.Thread) -> None:
        self.token, self._futures, self._done, self._heartbeat = token, futures, done, heartbeat

    def outcomes(self) -> list[_Outcome]:
        """Wait for every send of the batch, then stop renewing its lease."""
        try:
            return [f.result() for f in self._futures]
        finally:
            self.stop_heartbeat()

    def stop_heartbeat(self) -> None:
        self._done.set()
        self._heartbeat.join()


_T = OutboxMessage.__table__  # type: ignore[attr-defined]


class Relay:
    """Sends due outbox messages; safe to run as many at once as needed."""

    def __init__(
        self,
        engine: Engine,
        deliverer: Deliverer,
        policy: RelayPolicy,
        *,
        clock: Clock = clocks.now,
        rng: random.Random | None = None,
        relay_id: str | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        mail_s = getattr(deliverer.mailer, "timeout_s", None)
        if mail_s is not None and (policy.smtp_timeout_s or 0.0) < mail_s:
            policy = replace(policy, smtp_timeout_s=mail_s)  # the lease must cover e-mail too
        self.engine, self.deliverer, self.policy, self.clock = engine, deliverer, policy, clock
        self.rng = rng or random.Random()
        default_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.relay_id = (relay_id or default_id)[:80]  # the claim token must fit claimed_by
        self._pool = ThreadPoolExecutor(max_workers=policy.concurrency,
                                        thread_name_prefix="mktflow-relay")
        self._marker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mktflow-relay-mark")
        self._on_close = on_close

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the send threads (sends not begun are dropped, their messages stay claimed
        until the lease ends), finish the marks under way, close connections."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._marker.shutdown(wait=True)
        if self._on_close:
            self._on_close()

    def drain(self, *, stop: threading.Event | None = None) -> DrainSummary:
        """Send everything due now, batch by batch, until nothing is due (or ``stop`` is set).

        The send threads never wait for the database: the next batch is claimed while the
        current one is sent (at most ``_AHEAD`` batches held at a time, each with its own claim
        token, lease and heartbeat), and a sent batch is marked by a thread of its own while
        the next one is claimed and sent. When ``stop`` is set no batch is claimed; those in
        flight are finished and marked before this returns.
        """
        summary = DrainSummary()
        started = time.perf_counter()
        in_flight: deque[_Batch] = deque()
        marks: deque[Future[None]] = deque()  # batches being marked, oldest first
        may_claim = True  # False: nothing was due beyond the batches in flight, or given up
        given_up = False  # a whole batch went back unsent: the lease cannot cover a send
        try:
            while True:
                while marks and marks[0].done():
                    marks.popleft().result()  # a failed mark stops the drain
                stopping = stop is not None and stop.is_set()
                if may_claim and not stopping and len(in_flight) < _AHEAD:
                    token, envelopes, until = self._claim()
                    if envelopes:
                        in_flight.append(self._start_batch(token, envelopes, _Lease(until)))
                        continue
                    if _settle(marks):  # what they hand back may be due: look once more
                        continue
                    may_claim = False  # look again once a batch in flight is marked
                if not in_flight:
                    break
                batch = in_flight.popleft()
                outcomes = batch.outcomes()
                marks.append(self._marker.submit(self._record, batch.token, outcomes))
                _count(summary, outcomes)
                given_up = given_up or (bool(outcomes) and all(o.released for o in outcomes))
                may_claim = not given_up  # given up: try again later (a stalled database)
            _settle(marks)
        except Exception:
            self._finish_after_error(in_flight, marks)
            raise
        finally:
            for batch in in_flight:
                batch.stop_heartbeat()
        summary.elapsed_s = time.perf_counter() - started
        return summary

    def _finish_after_error(self, in_flight: deque[_Batch], marks: deque[Future[None]]) -> None:
        """Wait for the batches still in flight and mark them if the database lets us, so a
        failed claim or mark does not leave sent messages to be sent again after their lease."""
        for mark in marks:
            with suppress(Exception):  # logged where it failed first, or raised by drain
                mark.result()
        while in_flight:
            batch = in_flight.popleft()
            try:
                self._record(batch.token, batch.outcomes())
            except Exception:
                log.exception("cannot mark batch %s; its lease will run out", batch.token)

    def run(self, stop: threading.Event,
            on_drain: Callable[[DrainSummary], None] | None = None) -> DrainSummary:
        """Keep draining until ``stop`` is set; the batch in flight is finished and marked."""
        total = DrainSummary()
        while not stop.is_set():
            summary = self.drain(stop=stop)
            total.add(summary)
            if on_drain and summary.claimed:
                on_drain(summary)
            stop.wait(self._idle_wait())
        return total

    # --- claiming ---------------------------------------------------------------------------

    def _claim(self) -> tuple[str, list[Envelope], datetime]:
        """Reserve up to one batch of due messages for this relay, in one short transaction.

        A message whose attempts are used up is not sent again: if its last lease ran out
        unrecorded (the relay stopped), it is dead-lettered here instead. The batch is picked
        (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and taken by one ``UPDATE … RETURNING``,
        then its channels are read: plain rows, no ORM objects.
        """
        token = f"{self.relay_id}:{uuid.uuid4().hex[:8]}"
        with UnitOfWork(self.engine, clock=self.clock) as uow:
            now = uow.now()
            until = now + timedelta(seconds=self.policy.lease_s)
            conn = uow.session.connection()
            limits = {"b_now": now, "b_max": self.policy.max_attempts}
            conn.execute(_GIVE_UP, {**limits, "b_error": (
                f"gave up: all {self.policy.max_attempts} attempts used, the last one's result "
                "never recorded (its relay stopped); the receiver may have got it")})
            rows = sorted(conn.execute(_TAKE, {**limits, "b_batch": self.policy.batch_size,
                                               "b_token": token, "b_until": until}),
                          key=lambda r: (r.created_at, r.id))  # RETURNING keeps no order
            channel_ids = {r.channel_id for r in rows if r.channel_id is not None}
            channels = {c.id: c for c in conn.execute(_CHANNELS, {"b_ids": list(channel_ids)})
                        } if channel_ids else {}
            uow.commit()
        return token, [_envelope(r, channels.get(r.channel_id)) for r in rows], until

    def _idle_wait(self) -> float:
        """How long to sleep: until the next message is due, at most one poll interval."""
        with UnitOfWork(self.engine, clock=self.clock) as uow:
            soonest = uow.reader().execute(_SOONEST).scalar_one()
            now = uow.now()
        if soonest is None:
            return self.policy.poll_interval_s
        wait = (soonest - now).total_seconds()
        return min(self.policy.poll_interval_s, max(0.01, wait))

    # --- sending ----------------------------------------------------------------------------

    def _start_batch(self, token: str, envelopes: list[Envelope], lease: _Lease) -> _Batch:
        """Queue the sends of a claimed batch and renew its lease until every send has ended."""
        done = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat,
                                     args=(token, len(envelopes), lease, done),
                                     name="mktflow-relay-lease", daemon=True)
        heartbeat.start()
        try:
            futures = [self._pool.submit(self._send_one, e, lease) for e in envelopes]
        except BaseException:
            done.set()
            raise
        return _Batch(token, futures, done, heartbeat)

    def _heartbeat(self, token: str, size: int, lease: _Lease, done: threading.Event) -> None:
        """Every ``heartbeat_s`` until ``done``: extend the lease of the batch ``token`` holds."""
        while not done.wait(self.policy.heartbeat_s):
            try:
                with UnitOfWork(self.engine, clock=self.clock) as uow:
                    until = uow.now() + timedelta(seconds=self.policy.lease_s)
                    renewed = uow.session.connection().execute(
                        update(_T).where(_T.c.claimed_by == token,
                                         _T.c.status == OutboxStatus.SENDING)
                        .values(claimed_until=until, next_attempt_at=until)
                    ).rowcount
                    uow.commit()
            except Exception:  # the database is away: sends stop starting when the lease is low
                log.exception("cannot renew the lease of batch %s", token)
                continue
            if renewed == size:
                lease.renewed(until)
            else:  # cannot happen while leases are sized right; never send on a lost claim
                log.error("batch %s: only %d of %d claims still held", token, renewed, size)
                return

    def _send_one(self, e: Envelope, lease: _Lease) -> _Outcome:
        deadline = self.policy.send_deadline_s(e.channel_type)
        margin = self.policy.lease_s * _MARGIN
        if self.clock() + timedelta(seconds=deadline + margin) > lease.until:
            return _Outcome(e.id, OutboxStatus.PENDING, released=True)
        if e.channel_id is None:
            who = e.recipient or e.department or "the recipient"
            return _Outcome(e.id, OutboxStatus.SKIPPED, f"no channel configured for {who}")
        if e.channel_type is None:
            return _Outcome(e.id, OutboxStatus.SKIPPED, f"channel {e.channel_id} was removed")
        try:
            self.deliverer.deliver(e)
        except DeliveryFailed as exc:
            return self._failed(e, exc)
        except Exception as exc:  # a bug in a sender must not stop the relay
            log.exception("unexpected error sending message %s", e.id)
            return self._failed(e, DeliveryFailed(f"{type(exc).__name__}: {exc}"))
        return _Outcome(e.id, OutboxStatus.SENT)

    def _failed(self, e: Envelope, exc: DeliveryFailed) -> _Outcome:
        error = f"attempt {e.attempt}: {exc}"
        if exc.permanent or e.attempt >= self.policy.max_attempts:
            why = "permanent failure" if exc.permanent else f"{e.attempt} attempts"
            log.warning("message %s dead-lettered (%s): %s", e.id, why, exc)
            return _Outcome(e.id, OutboxStatus.DEAD, error)
        wait = max(backoff_s(e.attempt, self.policy, self.rng),
                   min(exc.retry_after_s or 0.0, self.policy.backoff_cap_s))
        log.info("message %s failed, retry in %.1f s: %s", e.id, wait, exc)
        return _Outcome(e.id, OutboxStatus.PENDING, error,
                        self.clock() + timedelta(seconds=wait))

    # --- recording --------------------------------------------------------------------------

    def _record(self, token: str, outcomes: list[_Outcome]) -> None:
        """Write every outcome of a batch in one transaction, where our claim still holds.

        The messages not sent (failed, skipped, handed back) are written one by one and let
        go of; what the token still holds after that is what was sent, marked by one
        statement (no list of ids: a long ``IN`` list costs more to build than to run).
        """
        now = self.clock()
        sent = sum(1 for o in outcomes if not o.released and o.status == OutboxStatus.SENT)
        released = [{"b_id": o.id, "b_token": token, "b_next": now}
                    for o in outcomes if o.released]
        others = [{
            "b_id": o.id, "b_token": token, "b_status": o.status, "b_error": o.error,
            "b_next": o.next_attempt_at or now,
        } for o in outcomes if not o.released and o.status != OutboxStatus.SENT]
        with UnitOfWork(self.engine, clock=self.clock) as uow:
            conn = uow.session.connection()
            if others:
                conn.execute(_MARK, others)
            if released:
                conn.execute(_GIVE_BACK, released)
            if sent:
                marked = conn.execute(_MARK_SENT, {"b_token": token, "b_now": now}).rowcount
                if marked != sent:  # a claim lost (cannot happen while leases are sized right)
                    log.error("batch %s: %d sent, %d of them still held", token, sent, marked)
            uow.commit()


# The relay's statements, built once (their SQL is compiled once per database and cached).
_WAITING = (_T.c.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
            _T.c.next_attempt_at <= bindparam("b_now"))
_DUE = (*_WAITING, _T.c.attempts < bindparam("b_max"))
_GIVE_UP = (update(_T).where(*_WAITING, _T.c.attempts >= bindparam("b_max"))
            .values(status=OutboxStatus.DEAD, claimed_by=None, claimed_until=None,
                    last_error=bindparam("b_error")))
# The batch is picked in a MATERIALIZED common table expression, taken once: on PostgreSQL a
# plain ``WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`` may be rescanned, each
# rescan skipping the rows it just locked, and take more than n rows. The rows picked stay
# locked (SQLite: the transaction holds the write lock), so the UPDATE needs only their ids.
_PICKED = (select(_T.c.id).where(*_DUE).order_by(_T.c.next_attempt_at)
           .limit(bindparam("b_batch")).with_for_update(skip_locked=True)
           .cte("picked").prefix_with("MATERIALIZED"))
_TAKE = (update(_T).where(_T.c.id.in_(select(_PICKED.c.id)))
         .values(status=OutboxStatus.SENDING, claimed_by=bindparam("b_token"),
                 claimed_until=bindparam("b_until"), next_attempt_at=bindparam("b_until"),
                 attempts=_T.c.attempts + 1)
         .returning(_T.c.id, _T.c.event, _T.c.subject, _T.c.payload, _T.c.link,
                    _T.c.created_at, _T.c.attempts, _T.c.channel_id, _T.c.department,
                    _T.c.recipient_email))
_SOONEST = select(func.min(_T.c.next_attempt_at)).where(
    _T.c.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
_C = Channel.__table__  # type: ignore[attr-defined]
_CHANNELS = select(_C.c.id, _C.c.type, _C.c.url, _C.c.to_address, _C.c.secret_env).where(
    _C.c.id.in_(bindparam("b_ids", expanding=True)))
_MINE = (_T.c.id == bindparam("b_id"), _T.c.claimed_by == bindparam("b_token"))
_MARK_SENT = (update(_T)
              .where(_T.c.claimed_by == bindparam("b_token"),
                     _T.c.status == OutboxStatus.SENDING)
              .values(status=OutboxStatus.SENT, last_error=None,
                      next_attempt_at=bindparam("b_now"), sent_at=bindparam("b_now"),
                      claimed_by=None, claimed_until=None))
_MARK = (update(_T).where(*_MINE)
         .values(status=bindparam("b_status"), last_error=bindparam("b_error"),
                 next_attempt_at=bindparam("b_next"), sent_at=None, claimed_by=None,
                 claimed_until=None))
_GIVE_BACK = (update(_T).where(*_MINE)
              .values(status=OutboxStatus.PENDING, attempts=_T.c.attempts - 1,
                      next_attempt_at=bindparam("b_next"), claimed_by=None,
                      claimed_until=None))


def _envelope(row: Row[Any], channel: Row[Any] | None) -> Envelope:
    return Envelope(
        id=row.id, event=row.event, subject=row.subject, payload=dict(row.payload or {}),
        link=row.link, created_at=row.created_at, attempt=row.attempts,
        channel_id=row.channel_id, channel_type=channel.type if channel else None,
        url=channel.url if channel else None, to=channel.to_address if channel else None,
        secret_env=channel.secret_env if channel else None, department=row.department,
        recipient=row.recipient_email,
    )


def _settle(marks: deque[Future[None]]) -> bool:
    """Wait until every batch being marked is marked (raising what failed); whether any was."""
    waited = bool(marks)
    while marks:
        marks.popleft().result()
    return waited


def _count(summary: DrainSummary, outcomes: list[_Outcome]) -> None:
    summary.claimed += len(outcomes)
    for o in outcomes:
        if o.released:
            summary.claimed -= 1
        elif o.status == OutboxStatus.SENT:
            summary.sent += 1
        elif o.status == OutboxStatus.PENDING:
            summary.retrying += 1
        elif o.status == OutboxStatus.DEAD:
            summary.dead += 1
        else:
            summary.skipped += 1
        if o.error and o.status != OutboxStatus.SKIPPED:
            summary.errors = [*summary.errors, f"{o.id}: {o.error}"][-5:]


def mailer_of(settings: Settings, env: Mapping[str, str] | None = None) -> SmtpMailer | None:
    """The SMTP mailer the ``MKTFLOW_SMTP_*`` settings describe (None: e-mail is off); it
    connects only when it sends. Raises ConfigError when a login would cross the network
    unencrypted (``SmtpMailer``), so whatever would send e-mail refuses to start; with
    ``MKTFLOW_SMTP_ALLOW_PLAINTEXT_AUTH`` it logs a warning instead."""
    if not settings.smtp_host:
        return None
    env = os.environ if env is None else env
    mailer = SmtpMailer(host=settings.smtp_host, port=settings.smtp_port,
                        starttls=settings.smtp_starttls, tls=settings.smtp_tls,
                        username=settings.smtp_username,
                        password=read_secret(settings.smtp_password_env, env),
                        timeout_s=settings.smtp_timeout_s,
                        allow_plaintext_auth=settings.smtp_allow_plaintext_auth)
    if settings.smtp_username and not (settings.smtp_starttls or settings.smtp_tls):
        log.warning("MKTFLOW_SMTP_ALLOW_PLAINTEXT_AUTH=true: the SMTP login to %s crosses the "
                    "network unencrypted", settings.smtp_host)
    return mailer


def build_relay(
    settings: Settings,
    *,
    engine: Engine,
    env: Mapping[str, str] | None = None,
    clock: Clock = clocks.now,
) -> Relay:
    """The relay the settings describe: pooled httpx client, SMTP if configured, the sign-in
    key (``MKTFLOW_SIGN_IN_LINK_SECRET`` or the data folder's) for sign-in links.

    ``env`` is where channel secrets and the SMTP password are looked up; the process
    environment unless a test passes a dict. Raises ConfigError before anything is sent when
    the SMTP settings would send a login unencrypted (``SmtpMailer``) or the lease is too short.
    """
    env = os.environ if env is None else env
    policy = RelayPolicy.from_settings(settings)
    mailer = mailer_of(settings, env)
    http = HttpxPoster.create(timeout_s=policy.http_timeout_s, concurrency=policy.concurrency)
    deliverer = Deliverer(http=http, mailer=mailer, env=env, sender_address=settings.smtp_from,
                          clock=clock, sign_in_key=sign_in_key(settings))
    return Relay(engine, deliverer, policy, clock=clock, on_close=http.close)
