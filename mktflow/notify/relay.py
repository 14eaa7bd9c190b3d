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

A receiver that asks to be left alone (429/503, SMTP 421, no answer, unreachable) pauses its
whole destination, for every relay (``mktflow.notify.destinations``): messages to it are held
back unsent until the pause ends, then one probe goes out; other destinations are not delayed.

``run`` is the continuous relay (``mktflow outbox relay``; ``mktflow serve`` runs it in a thread,
``RelayThread``): between drains it waits until a new message is committed or the next one is
due, whichever is sooner, so a notice goes out moments after its commit. PostgreSQL wakes it
with the ``NOTIFY`` of the commit (``mktflow.store.wakeup``; a rolled-back transaction wakes
nobody); on SQLite it reads every ``wake_poll_s`` whether a message is due. A wake-up only
makes it look: claiming stays as above, so a lost or repeated one never loses or repeats a send.

``run`` outlives the database: when the database cannot be reached, stalls or is locked, it
logs one line, tries again with a capped, jittered, doubling wait
(``MKTFLOW_RELAY_DB_RETRY_CAP_S``), records the outcomes of sends that ended meanwhile (kept in
memory, ``_unrecorded``) and carries on; it logs one line when the database is back. Only a
configuration error (a wrong password, no such database, no mktflow tables) stops it.
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
from mktflow.domain.digests import DIGESTED, HELD
from mktflow.domain.errors import ConfigError, DatabaseUnreachable, DeliveryFailed, Unavailable
from mktflow.engine.channels import read_secret
from mktflow.notify import destinations
from mktflow.notify.render import Envelope
from mktflow.notify.senders import Deliverer, HttpxPoster, SmtpMailer
from mktflow.store import wakeup
from mktflow.store.keys import sign_in_key
from mktflow.store.tables import Channel, OutboxMessage
from mktflow.store.uow import UnitOfWork

__all__ = ["DrainSummary", "OutboxStatus", "Relay", "RelayPolicy", "RelayThread", "backoff_s",
           "build_relay", "mailer_of"]

log = logging.getLogger("mktflow.notify.relay")


#: Share of the lease kept free: a send must end this long before the lease does.
_MARGIN = 0.1

#: Batches one relay holds at a time: the one being sent and the next, already claimed.
_AHEAD = 2

#: The longest a continuous relay waits on its listening connection without looking whether
#: it was told to stop, in seconds.
_STOP_SLICE_S = 0.25


class OutboxStatus:
    """Where an outbox message stands."""

    PENDING = "pending"  # waiting to be sent (first time or after a failed attempt)
    SENDING = "sending"  # claimed by a relay until its lease ends
    SENT = "sent"
    DEAD = "dead"  # gave up: permanent failure or too many attempts; see last_error
    SKIPPED = "skipped"  # no channel to send it through
    HELD = HELD  # addressed to a member who chose a daily digest: no relay sends it
    DIGESTED = DIGESTED  # held, then summarised by the member's daily digest

    ALL = (PENDING, SENDING, SENT, DEAD, SKIPPED, HELD, DIGESTED)


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
    poll_interval_s: float = 2.0  # the longest idle wait of a continuous relay
    wake_poll_s: float = 0.25  # SQLite: how often a continuous relay looks for a due message
    smtp_timeout_s: float | None = None  # deadline of one whole SMTP conversation; None: no e-mail
    db_retry_base_s: float = 0.5  # first wait for a database that is away; doubles
    db_retry_cap_s: float = 30.0
    retry_after_cap_s: float = 3600.0  # the longest pause a receiver's Retry-After may impose
    destination_backoff_base_s: float = 5.0  # first pause of a busy destination without one
    destination_backoff_cap_s: float = 600.0

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
                   wake_poll_s=s.relay_wake_poll_s,
                   smtp_timeout_s=s.smtp_timeout_s if s.smtp_host else None,
                   db_retry_cap_s=s.relay_db_retry_cap_s,
                   retry_after_cap_s=s.relay_retry_after_cap_s,
                   destination_backoff_base_s=s.relay_destination_backoff_base_s,
                   destination_backoff_cap_s=s.relay_destination_backoff_cap_s)


def backoff_s(attempt: int, policy: RelayPolicy, rng: random.Random) -> float:
    """Wait after the ``attempt``-th failure: base * 2^(attempt-1), capped, times 0.5 to 1.

    The jitter spreads retries of many messages that failed together (a receiver was down).
    """
    ceiling = min(policy.backoff_cap_s, policy.backoff_base_s * 2 ** max(0, attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)


def destination_pause_s(failures: int, policy: RelayPolicy, rng: random.Random,
                        retry_after_s: float | None) -> float:
    """How long a destination that failed busy for the ``failures``-th time in a row is paused:
    its Retry-After (capped by ``retry_after_cap_s``) if it gave one, else
    base * 2^(failures-1), capped, times 0.5 to 1."""
    if retry_after_s is not None:
        return min(retry_after_s, policy.retry_after_cap_s)
    ceiling = min(policy.destination_backoff_cap_s,
                  policy.destination_backoff_base_s * 2 ** max(0, failures - 1))
    return rng.uniform(ceiling / 2, ceiling)


def database_retry_s(failures: int, policy: RelayPolicy, rng: random.Random) -> float:
    """Wait before the ``failures``-th look at a database that is away: base * 2^(failures-1),
    capped at ``db_retry_cap_s``, times 0.5 to 1 (relays that lost it together spread out)."""
    ceiling = min(policy.db_retry_cap_s, policy.db_retry_base_s * 2 ** max(0, failures - 1))
    return rng.uniform(ceiling / 2, ceiling)


def transient(exc: BaseException) -> bool:
    """Whether an error of the relay's database may pass by itself (refused, lost, stalled,
    locked) rather than say that a setting is wrong."""
    if isinstance(exc, DatabaseUnreachable | Unavailable | OSError):
        return True
    from sqlalchemy.exc import (
        DBAPIError,
        DisconnectionError,
        InterfaceError,
        OperationalError,
    )
    from sqlalchemy.exc import TimeoutError as PoolTimeout  # no pooled connection came free

    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


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
    destination: str | None = None
    pause_until: datetime | None = None  # the destination failed busy: pause it until then
    probe: bool = False  # the one message sent to a destination whose pause had ended


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
        #: Destinations this relay saw fail busy, until when (before the database knows).
        self._paused: dict[str, datetime] = {}
        #: Consecutive busy failures of each paused destination, as last read or seen.
        self._failures: dict[str, int] = {}
        #: The messages sent as probes of a destination whose pause ended.
        self._probes: set[str] = set()
        self._lock = threading.Lock()
        #: Batches whose outcomes could not be written (the database was away): written first
        #: once it is back, while their claim still holds, so they are not sent again.
        self._unrecorded: list[tuple[str, list[_Outcome]]] = []
        #: The listening connection of ``run`` on PostgreSQL (None: SQLite, or not running).
        self._listener: wakeup.Listener | None = None
        #: How many times ``run`` began to wait idle (tests and benchmarks read it).
        self.idle_waits = 0

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
        self._record_unrecorded()
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
                    token, envelopes, until, held = self._claim()
                    if envelopes:
                        in_flight.append(self._start_batch(token, envelopes, _Lease(until)))
                        continue
                    if held:  # every message claimed waits for its destination: look further
                        continue
                    if _settle(marks):  # what they hand back may be due: look once more
                        continue
                    may_claim = False  # look again once a batch in flight is marked
                if not in_flight:
                    break
                batch = in_flight.popleft()
                outcomes = batch.outcomes()
                marks.append(self._marker.submit(self._record_or_keep, batch.token, outcomes))
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
            with suppress(Exception):  # kept in _unrecorded by _record_or_keep
                mark.result()
        while in_flight:
            batch = in_flight.popleft()
            with suppress(Exception):  # kept to record later, or logged
                self._record_or_keep(batch.token, batch.outcomes())

    def _record_or_keep(self, token: str, outcomes: list[_Outcome]) -> None:
        """Record a batch's outcomes; if the database is away, keep them to record later."""
        try:
            self._record(token, outcomes)
        except Exception as exc:
            if not transient(exc):
                log.exception("cannot mark batch %s; its lease will run out", token)
                raise
            with self._lock:
                self._unrecorded.append((token, outcomes))
            raise

    def _record_unrecorded(self) -> None:
        """Write the outcomes kept while the database was away (raises if it still is)."""
        while True:
            with self._lock:
                if not self._unrecorded:
                    return
                token, outcomes = self._unrecorded[0]
            self._record(token, outcomes)
            with self._lock:
                self._unrecorded.pop(0)

    def run(self, stop: threading.Event,
            on_drain: Callable[[DrainSummary], None] | None = None) -> DrainSummary:
        """Keep draining until ``stop`` is set; the batch in flight is finished and marked.

        Between drains it waits until a new message is committed or the next one is due,
        whichever comes first (``_idle``): on PostgreSQL a ``NOTIFY`` wakes it
        (``mktflow.store.wakeup``), on SQLite it looks every ``wake_poll_s``; it drains at
        least every ``poll_interval_s`` either way.

        A database that is away (``transient``: refused, lost, stalled, locked) does not end
        it: one warning when it goes, a wait (``database_retry_s``) before each look, one
        warning when it is back. Any other error (a setting is wrong) is raised.
        """
        total = DrainSummary()
        failures, since = 0, time.monotonic()
        listener = wakeup.Listener(self.engine) if wakeup.listens(self.engine) else None
        if listener is not None:
            listener.open()  # before the first drain: nothing committed after it is missed
        self._listener = listener
        try:
            while not stop.is_set():
                try:
                    summary = self.drain(stop=stop)
                    wait = self._idle_wait()
                except Exception as exc:
                    if not transient(exc):
                        raise
                    failures += 1
                    wait = database_retry_s(failures, self.policy, self.rng)
                    if failures == 1:
                        since = time.monotonic()
                        log.warning("the database is away (%s); the relay keeps what it sent "
                                    "and tries again, at most every %g s", _one_line(exc),
                                    self.policy.db_retry_cap_s)
                    else:
                        log.debug("the database is still away (%s)", _one_line(exc))
                    stop.wait(wait)
                    continue
                if failures:
                    log.warning("the database is back after %.0f s; the relay carries on",
                                time.monotonic() - since)
                    failures = 0
                total.add(summary)
                if on_drain and summary.claimed:
                    on_drain(summary)
                self._idle(stop, wait, listener)
        finally:
            if listener is not None:
                listener.close()
        return total

    @property
    def notified(self) -> int:
        """How many ``NOTIFY``s of new outbox messages woke ``run`` so far (0 on SQLite)."""
        listener = self._listener
        return listener.notified if listener is not None else 0

    def _idle(self, stop: threading.Event, wait_s: float,
              listener: wakeup.Listener | None) -> None:
        """Wait ``wait_s`` seconds (until the next message is due, at most the poll interval),
        less when a new message is committed or ``stop`` is set.

        PostgreSQL: on the listening connection, in slices of at most ``_STOP_SLICE_S`` so a
        stop is seen quickly; a lost connection ends the wait (the drain then finds what was
        committed meanwhile) and is opened again at the next wait. SQLite, or PostgreSQL while
        the listening connection cannot be opened: every ``wake_poll_s`` one read of the
        soonest due time (no write lock is taken); a message due by then ends the wait.
        """
        self.idle_waits += 1
        deadline = time.monotonic() + wait_s
        if listener is not None and not listener.listening:
            if listener.open():  # listening again: look for what was committed meanwhile
                return
            listener = None  # cannot listen: poll as on SQLite until the next wait
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if listener is not None:
                if listener.wait(min(left, _STOP_SLICE_S)):
                    return
                continue
            if stop.wait(min(left, self.policy.wake_poll_s)):
                return
            try:
                if self._due_in() <= 0:
                    return
            except Exception as exc:  # the database is away: the drain says so
                log.debug("cannot look for due messages: %s", _one_line(exc))
                return

    # --- claiming ---------------------------------------------------------------------------

    def _claim(self) -> tuple[str, list[Envelope], datetime, int]:
        """Reserve up to one batch of due messages for this relay, in one short transaction;
        the claim token, the messages to send, the lease's end and how many were held back.

        A message whose attempts are used up is not sent again: if its last lease ran out
        unrecorded (the relay stopped), it is dead-lettered here instead. The batch is picked
        (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and taken by one ``UPDATE … RETURNING``,
        then its channels are read: plain rows, no ORM objects. Messages to a paused
        destination are handed back in the same transaction (``_hold``).
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
            envelopes = [_envelope(r, channels.get(r.channel_id)) for r in rows]
            if envelopes:
                envelopes, held = self._hold(conn, token, envelopes, now)
            else:
                held = 0
            uow.commit()
        return token, envelopes, until, held

    def _destination(self, e: Envelope) -> str | None:
        where = getattr(self.deliverer, "destination", None)
        return where(e.channel_type, e.url) if where is not None else None

    def _hold(self, conn: Any, token: str, envelopes: list[Envelope], now: datetime
              ) -> tuple[list[Envelope], int]:
        """Hand back, unsent and uncounted, the claimed messages whose destination is paused;
        of a destination whose pause has ended, keep one as its probe if this relay wins it
        (``destinations.take_probe``). The messages to send, and how many were handed back."""
        pauses = destinations.paused(conn)
        with self._lock:
            mine = {d: t for d, t in self._paused.items() if t > now}
            self._failures = {d: p.failures for d, p in pauses.items()}
        if not pauses and not mine:
            return envelopes, 0
        probe_until = now + timedelta(seconds=self.policy.longest_send_s
                                      + self.policy.lease_s * _MARGIN)
        keep: list[Envelope] = []
        back: list[dict[str, Any]] = []
        probing: set[str] = set()
        for e in envelopes:
            d = self._destination(e)
            p = pauses.get(d) if d else None
            if d is None or (p is None and d not in mine):
                keep.append(e)
                continue
            wait_until = max(mine.get(d, now), p.waits_until() if p else now)
            if d in probing:
                wait_until = probe_until
            elif (p is not None and d not in mine and p.until <= now and not p.probe_out(now)
                  and destinations.take_probe(conn, d, now=now, until=probe_until,
                                              token=token)):
                probing.add(d)
                with self._lock:
                    self._probes.add(e.id)
                keep.append(e)
                continue
            back.append({"b_id": e.id, "b_token": token, "b_next": max(wait_until, now)})
        if back:
            conn.execute(_GIVE_BACK, back)
        return keep, len(back)

    def _idle_wait(self) -> float:
        """How long to sleep: until the next message is due, at most one poll interval."""
        return min(self.policy.poll_interval_s, max(0.01, self._due_in()))

    def _due_in(self) -> float:
        """Seconds until the soonest waiting message is due (<= 0: one is due now); infinity
        when nothing waits. One read, no lock."""
        with UnitOfWork(self.engine, clock=self.clock) as uow:
            soonest = uow.reader().execute(_SOONEST).scalar_one()
            now = uow.now()
        return float("inf") if soonest is None else (soonest - now).total_seconds()

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
            except Exception as exc:  # the database is away: sends stop when the lease is low
                log.debug("cannot renew the lease of batch %s: %s", token, _one_line(exc))
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
            with self._lock:
                self._probes.discard(e.id)  # not sent: the probe is tried after probe_until
            return _Outcome(e.id, OutboxStatus.PENDING, released=True)
        if e.channel_id is None:
            who = e.recipient or e.department or "the recipient"
            return _Outcome(e.id, OutboxStatus.SKIPPED, f"no channel configured for {who}")
        if e.channel_type is None:
            return _Outcome(e.id, OutboxStatus.SKIPPED, f"channel {e.channel_id} was removed")
        destination = self._destination(e)
        with self._lock:
            probe = e.id in self._probes
            self._probes.discard(e.id)
            paused_until = self._paused.get(destination) if destination else None
        if paused_until is not None and not probe and paused_until > self.clock():
            # a message sent alongside it found the destination busy: this one waits too
            return _Outcome(e.id, OutboxStatus.PENDING, released=True,
                            next_attempt_at=paused_until)
        try:
            self.deliverer.deliver(e)
        except DeliveryFailed as exc:
            return self._failed(e, exc, destination, probe)
        except Exception as exc:  # a bug in a sender must not stop the relay
            log.exception("unexpected error sending message %s", e.id)
            return self._failed(e, DeliveryFailed(f"{type(exc).__name__}: {exc}"),
                                destination, probe)
        if destination is not None:
            with self._lock:
                self._paused.pop(destination, None)
        return _Outcome(e.id, OutboxStatus.SENT, destination=destination, probe=probe)

    def _failed(self, e: Envelope, exc: DeliveryFailed, destination: str | None = None,
                probe: bool = False) -> _Outcome:
        error = f"attempt {e.attempt}: {exc}"
        now = self.clock()
        pause_until = None
        if exc.busy and destination is not None:
            with self._lock:
                failures = self._failures.get(destination, 0) + 1
                pause_until = now + timedelta(seconds=destination_pause_s(
                    failures, self.policy, self.rng, exc.retry_after_s))
                self._paused[destination] = max(pause_until,
                                                self._paused.get(destination, pause_until))
            log.info("%s paused until %s: %s", destination, pause_until.isoformat(), exc)
        if exc.permanent or e.attempt >= self.policy.max_attempts:
            why = "permanent failure" if exc.permanent else f"{e.attempt} attempts"
            log.warning("message %s dead-lettered (%s): %s", e.id, why, exc)
            return _Outcome(e.id, OutboxStatus.DEAD, error, destination=destination,
                            pause_until=pause_until, probe=probe)
        wait = max(backoff_s(e.attempt, self.policy, self.rng),
                   min(exc.retry_after_s or 0.0, self.policy.retry_after_cap_s))
        next_at = max(now + timedelta(seconds=wait), pause_until or now)
        log.info("message %s failed, retry at %s: %s", e.id, next_at.isoformat(), exc)
        return _Outcome(e.id, OutboxStatus.PENDING, error, next_at, destination=destination,
                        pause_until=pause_until, probe=probe)

    # --- recording --------------------------------------------------------------------------

    def _record(self, token: str, outcomes: list[_Outcome]) -> None:
        """Write every outcome of a batch in one transaction, where our claim still holds.

        The messages not sent (failed, skipped, handed back) are written one by one and let
        go of; what the token still holds after that is what was sent, marked by one
        statement (no list of ids: a long ``IN`` list costs more to build than to run).
        """
        now = self.clock()
        sent = sum(1 for o in outcomes if not o.released and o.status == OutboxStatus.SENT)
        released = [{"b_id": o.id, "b_token": token, "b_next": o.next_attempt_at or now}
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
            self._record_destinations(conn, outcomes, now)
            uow.commit()

    def _record_destinations(self, conn: Any, outcomes: list[_Outcome], now: datetime) -> None:
        """Pause the destinations that failed busy in a batch; a destination that took a
        message (its probe, or any send) is no longer paused, and what waited for it is due."""
        busy: dict[str, tuple[datetime, str]] = {}
        for o in outcomes:
            if o.pause_until is not None and o.destination is not None:
                until = max(o.pause_until, busy.get(o.destination, (o.pause_until, ""))[0])
                busy[o.destination] = (until, o.error or "")
        healthy = {o.destination for o in outcomes if o.status == OutboxStatus.SENT
                   and not o.released and o.destination is not None} - set(busy)
        for d, (until, reason) in busy.items():
            destinations.pause(conn, d, until=until, reason=reason, now=now)
        probed = {o.destination for o in outcomes if o.probe and o.destination in healthy}
        with self._lock:  # only a destination known to be paused has a row to remove
            healthy &= set(self._failures) | probed
        if healthy:
            destinations.clear(conn, healthy)
        if probed:  # the messages held back for the probe need not wait for its deadline
            ids = [cid for cid, kind, url in destinations.channels(conn)
                   if getattr(self.deliverer, "destination", lambda *_: None)(kind, url)
                   in probed]
            if ids:
                conn.execute(_DUE_NOW, {"b_ids": ids, "b_now": now})


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
_DUE_NOW = (update(_T).where(_T.c.status == OutboxStatus.PENDING,
                            _T.c.channel_id.in_(bindparam("b_ids", expanding=True)),
                            _T.c.next_attempt_at > bindparam("b_now"))
            .values(next_attempt_at=bindparam("b_now")))
_GIVE_BACK = (update(_T).where(*_MINE)
              .values(status=OutboxStatus.PENDING, attempts=_T.c.attempts - 1,
                      next_attempt_at=bindparam("b_next"), claimed_by=None,
                      claimed_until=None))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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


class RelayThread:
    """A continuous relay (``Relay.run``) in a daemon thread of this process: what ``mktflow
    serve`` runs beside its flows, so a notice goes out within moments of its commit.

    ``start()`` begins it; ``stop()`` sets its stop event, waits for the batch in flight to be
    sent and marked (each send has its deadline), then closes the relay's connections. A
    configuration error (no mktflow tables, a wrong password) ends the thread with one error
    line in the log and is kept in ``error``; a database that is away does not end it.
    """

    def __init__(self, relay: Relay,
                 on_drain: Callable[[DrainSummary], None] | None = None) -> None:
        self.relay = relay
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._on_drain = on_drain or (lambda s: log.info("relay: %s", s.line()))
        self._thread = threading.Thread(target=self._run, name="mktflow-relay-loop",
                                        daemon=True)

    def _run(self) -> None:
        try:
            self.relay.run(self._stop, self._on_drain)
        except Exception as exc:
            self.error = exc
            log.error("the relay stopped: %s; notices wait in the outbox until it is "
                      "restarted (or `mktflow outbox relay` runs)", _one_line(exc))

    def start(self) -> RelayThread:
        """Start the thread; returns self."""
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        """Whether the relay loop still runs."""
        return self._thread.is_alive()

    def stop(self, timeout_s: float | None = None) -> bool:
        """Stop the loop and close the relay; whether the thread ended within ``timeout_s``
        seconds (default: the longest send plus 5 s)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s if timeout_s is not None
                              else self.relay.policy.longest_send_s + 5.0)
        stopped = not self._thread.is_alive()
        if stopped:
            self.relay.close()
        return stopped


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
