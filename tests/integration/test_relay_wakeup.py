"""The continuous relay (issue 22): woken by a commit (PostgreSQL NOTIFY) or by its short poll
(SQLite), never by a rolled-back message, still on time for a retry nobody announces, once per
message with two relays running, and stopped cleanly. Real receivers on 127.0.0.1, both
databases.

Every relay here waits at most ``_NEVER`` seconds between two polls on its own, far longer
than any test waits: a message that arrives was sent because the relay was woken (or its
retry came due), not because a poll interval ran out. Nothing here measures how fast; that is
``bench/notice_latency.py``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from mktflow.domain.errors import Conflict
from mktflow.notify.relay import Relay, RelayThread
from mktflow.notify.testing import ReceivedRequest, WebhookReceiver
from mktflow.store.tables import OutboxMessage
from mktflow.store.uow import RequestStamp
from tests.integration.notify_support import SECRET_ENV, channel, queue, relay_for, rows

ENV = {SECRET_ENV: "whsec-wakeup"}
#: A poll interval no test outlives (seconds).
_NEVER = 3600.0
#: How long a test waits for what must happen (seconds); a relay that only polled would take
#: ``_NEVER``.
_PATIENCE = 30.0


def _until(what: str, check: Callable[[], Any], patience: float = _PATIENCE) -> Any:
    """Wait for ``check()`` to be truthy; fail naming ``what`` after ``patience`` seconds."""
    give_up = time.monotonic() + patience
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > give_up:
            pytest.fail(f"waited {patience:g} s for {what}")
        time.sleep(0.02)


def _following(db: Any, **policy: Any) -> RelayThread:
    """A continuous relay on the test database, as ``mktflow serve`` runs it, already waiting
    idle (so what it sends next, it sends because it was woken)."""
    policy.setdefault("poll_interval_s", _NEVER)
    policy.setdefault("wake_poll_s", 0.05)
    thread = RelayThread(relay_for(db, env=ENV, **policy)).start()
    _until("the relay to wait idle", lambda: thread.relay.idle_waits >= 1 or thread.error)
    assert thread.error is None, thread.error
    return thread


def _notified(relay: Relay, db: Any, expected: int) -> None:
    """PostgreSQL told the relay of ``expected`` commits; SQLite tells nothing."""
    assert relay.notified == (expected if db.kind == "postgresql" else 0)


def test_a_committed_notice_wakes_the_relay(db: Any) -> None:
    with WebhookReceiver() as rx:
        hook = channel(db, "tech", url=f"{rx.url}/tech")
        thread = _following(db)
        try:
            (mid,) = queue(db, 1, hook.id)  # one unit of work: the row, NOTIFY, COMMIT
            _until(f"message {mid} at the receiver", lambda: rx.keys() == [mid])
            _notified(thread.relay, db, 1)
        finally:
            assert thread.stop()
    assert [m.status for m in rows(db)] == ["sent"]


def test_a_rolled_back_notice_neither_wakes_the_relay_nor_is_sent(db: Any) -> None:
    with WebhookReceiver() as rx:
        hook = channel(db, "tech", url=f"{rx.url}/tech")
        thread = _following(db)
        try:
            # the NOTIFY is issued with the outbox row; then the commit fails (another request
            # holds the Idempotency-Key), so the whole transaction rolls back
            with pytest.raises(Conflict), db.uow() as u:
                u.outbox(OutboxMessage(id="rolled-back", event="test.ping", subject="never",
                                       channel_id=hook.id, department="tech"))
                u.audit(actor="ana.torres@example.com", entity_type="member", entity_id=1,
                        action="test")
                u.request = RequestStamp(key_id=-1, attempt="nobody")
                u.commit()
            assert rows(db, id="rolled-back") == []
            (mid,) = queue(db, 1, hook.id)  # a later commit that does wake it
            _until(f"message {mid} at the receiver", lambda: rx.keys() != [])
            assert rx.keys() == [mid]
            # NOTIFYs arrive in commit order: the rolled-back one would have come first
            _notified(thread.relay, db, 1)
        finally:
            assert thread.stop()


def test_a_retry_that_comes_due_is_sent_without_a_new_notify(db: Any) -> None:
    answers = iter([(500, 0.0)])  # the first attempt fails; the retry is accepted

    def respond(_r: ReceivedRequest) -> tuple[int, float]:
        return next(answers, (200, 0.0))

    with WebhookReceiver(respond) as rx:
        hook = channel(db, "tech", url=f"{rx.url}/tech")
        # the retry waits 0.25-0.5 s: announced by nobody, due while the relay waits idle
        thread = _following(db, backoff_base_s=0.5, backoff_cap_s=0.5)
        try:
            (mid,) = queue(db, 1, hook.id)
            _until(f"the retry of {mid}", lambda: rx.keys() == [mid, mid])
            _until(f"{mid} marked sent", lambda: rows(db, id=mid)[0].status == "sent")
            _notified(thread.relay, db, 1)  # the first commit only
        finally:
            assert thread.stop()
    (m,) = rows(db, id=mid)
    assert m.attempts == 2


def test_two_continuous_relays_send_each_notice_once(db: Any) -> None:
    with WebhookReceiver() as rx:
        hook = channel(db, "tech", url=f"{rx.url}/tech")
        relays = [_following(db, relay_id=f"relay-{n}", batch_size=3, concurrency=2)
                  for n in range(2)]
        try:
            ids: list[str] = []
            for _ in range(8):  # eight commits while both wait: both are woken by each
                ids += queue(db, 3, hook.id)
            _until("every notice sent", lambda: {m.status for m in rows(db)} == {"sent"})
        finally:
            for thread in relays:
                assert thread.stop()
    assert Counter(rx.keys()) == Counter(dict.fromkeys(ids, 1))
    if db.kind == "postgresql":
        assert all(thread.relay.notified >= 1 for thread in relays)


def test_the_relay_thread_stops_cleanly_finishing_the_send_under_way(db: Any) -> None:
    with WebhookReceiver(lambda r: (200, 0.5)) as rx:  # each answer takes 0.5 s
        hook = channel(db, "tech", url=f"{rx.url}/tech")
        thread = _following(db)
        (mid,) = queue(db, 1, hook.id)
        _until(f"{mid} on its way", lambda: rx.keys() == [mid])
        assert thread.stop(), "the relay thread did not end"
        assert not thread.alive and thread.error is None
    (m,) = rows(db, id=mid)
    assert (m.status, m.claimed_by) == ("sent", None)  # finished and marked, not left claimed
    if db.kind == "postgresql":  # its listening connection is closed too
        def listening() -> int:
            with db.engine.connect() as conn:
                return int(conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query LIKE 'LISTEN%'")).scalar_one())

        _until("the listening connection to close", lambda: listening() == 0)
