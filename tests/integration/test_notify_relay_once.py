"""The relay sends once (issue 11): slow receivers, two relays, the whole-send deadline, the
attempt limit. Real receivers on 127.0.0.1, real clocks; the issue's figures (lease 15 s,
timeout 10 s) are scaled down with their ratio kept."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from mktflow.domain import clock as clocks
from mktflow.notify.relay import DrainSummary
from mktflow.notify.senders import SmtpMailer
from mktflow.notify.testing import SmtpReceiver, WebhookReceiver
from mktflow.store.tables import OutboxMessage
from tests.integration.notify_support import SECRET_ENV, channel, queue, relay_for, rows

ENV = {SECRET_ENV: "whsec-once"}
_T = OutboxMessage.__table__  # type: ignore[attr-defined]


def _two_relays(make: Callable[[int], Any], *, runs: bool = False,
                until: Callable[[], bool] | None = None, limit_s: float = 40) -> list[Any]:
    """Run two relays at once (``drain`` each, or ``run`` until ``until()``); their summaries.
    A relay still busy after ``limit_s`` fails the test: relays must stop."""
    start, stop = threading.Barrier(2), threading.Event()
    summaries: list[DrainSummary] = []

    def work(n: int) -> None:
        with make(n) as relay:
            start.wait()
            summaries.append(relay.run(stop, None) if runs else relay.drain())

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(2)]
    for t in threads:
        t.start()
    if runs:
        assert until is not None
        give_up = time.monotonic() + limit_s
        while not until() and time.monotonic() < give_up:
            time.sleep(0.05)
        stop.set()
    for t in threads:
        t.join(limit_s)
    assert not any(t.is_alive() for t in threads), "a relay did not stop"
    return summaries


def _final(db: Any) -> bool:
    return all(m.status in ("sent", "dead") for m in rows(db))


def test_two_relays_and_a_slow_smtp_server_deliver_each_mail_once(db: Any) -> None:
    # Every reply comes 0.15 s late, each well under the timeout: a conversation of 7 replies
    # takes ~1.05 s (deadline 2.5 s), a batch of 4 sent one at a time ~4.2 s: longer than the
    # 3.75 s lease (the issue: lease 15 s, SMTP timeout 10 s).
    with SmtpReceiver(delay_s=0.15) as smtp:
        mail_channel = channel(db, "tech", "email", to="tech-team@example.com")
        ids = queue(db, 8, mail_channel.id)

        def make(n: int) -> Any:
            mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, timeout_s=2.5)
            return relay_for(db, env={}, mailer=mailer, relay_id=f"relay-{n}", lease_s=3.75,
                             http_timeout_s=0.2, batch_size=4, concurrency=1, max_attempts=3)

        _two_relays(make)
        delivered = Counter(m.message["Message-ID"] for m in smtp.mails)
    assert delivered == Counter({f"<{i}@mktflow>": 1 for i in ids}), delivered
    final = rows(db)
    assert {m.status for m in final} == {"sent"}
    assert max(m.attempts for m in final) <= 3


def test_an_smtp_server_slower_than_the_deadline_is_cut_off_within_the_attempt_limit(
        db: Any) -> None:
    # 0.3 s before every reply: the conversation would take ~2.1 s, past the 1 s deadline for
    # the whole of it (each reply alone is well under it).
    with SmtpReceiver(delay_s=0.3) as smtp:
        mail_channel = channel(db, "tech", "email", to="tech-team@example.com")
        ids = queue(db, 2, mail_channel.id)
        started = time.monotonic()

        def make(n: int) -> Any:
            mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, timeout_s=1.0)
            return relay_for(db, env={}, mailer=mailer, relay_id=f"relay-{n}", lease_s=1.5,
                             http_timeout_s=0.2, batch_size=1, concurrency=1, max_attempts=3)

        _two_relays(make, runs=True, until=lambda: _final(db), limit_s=30)
        elapsed = time.monotonic() - started
    final = {m.id: m for m in rows(db)}
    assert set(final) == set(ids)
    for m in final.values():
        assert (m.status, m.attempts) == ("dead", 3), (m.status, m.attempts, m.last_error)
        assert "did not finish the conversation in time (1 s)" in (m.last_error or "")
        assert "same Message-ID" in (m.last_error or "")
    assert smtp.mails == []  # cut off before the data, every time
    assert elapsed < 2 * 3 * 1.0 + 10  # 3 attempts of at most 1 s each, per message


def test_a_trickling_webhook_is_cut_off_and_the_healthy_messages_go_out_once(db: Any) -> None:
    # The issue: one byte every 0.8 s against a 1 s per-read timeout, lease 15 s; here
    # 0.4 s per byte, 0.5 s deadline, lease 7.5 s. The answer (~90 bytes) would take ~36 s.
    with WebhookReceiver() as good, WebhookReceiver(trickle=lambda r: 0.4) as slow:
        healthy = channel(db, "tech", url=f"{good.url}/h")
        loris = channel(db, "tech", url=f"{slow.url}/h")
        ok_ids = queue(db, 9, healthy.id)
        (slow_id,) = queue(db, 1, loris.id)
        started = time.monotonic()

        def make(n: int) -> Any:
            return relay_for(db, env=ENV, relay_id=f"relay-{n}", lease_s=7.5,
                             http_timeout_s=0.5, batch_size=10, concurrency=4, max_attempts=3,
                             poll_interval_s=0.05)

        _two_relays(make, runs=True, until=lambda: _final(db), limit_s=30)
        elapsed = time.monotonic() - started
    counts = Counter(good.keys())
    assert counts == Counter(dict.fromkeys(ok_ids, 1)), counts
    assert slow.keys() == [slow_id] * 3  # each attempt cut off; never more than the limit
    final = {m.id: m for m in rows(db)}
    assert {final[i].status for i in ok_ids} == {"sent"}
    assert (final[slow_id].status, final[slow_id].attempts) == ("dead", 3)
    assert "did not answer in time (0.5 s" in (final[slow_id].last_error or "")
    assert elapsed < 15  # not the ~36 s one trickled answer takes


def test_a_receiver_answering_after_the_deadline_gets_it_at_most_max_attempts_times(
        db: Any) -> None:
    # It answers 200, but after the deadline: the relay cannot know it was received. Each
    # attempt carries the same Idempotency-Key, so the receiver can drop the repeats.
    with WebhookReceiver(lambda r: (200, 0.6)) as rx:
        hook = channel(db, "tech", url=f"{rx.url}/late")
        (mid,) = queue(db, 1, hook.id)

        def make(n: int) -> Any:
            return relay_for(db, env=ENV, relay_id=f"relay-{n}", lease_s=3.0,
                             http_timeout_s=0.3, max_attempts=3, poll_interval_s=0.05)

        _two_relays(make, runs=True, until=lambda: _final(db), limit_s=30)
    assert rx.keys() == [mid, mid, mid]
    attempts = [r.headers["x-mktflow-attempt"] for r in rx.requests]
    assert attempts == ["1", "2", "3"]
    (msg,) = rows(db, id=mid)
    assert (msg.status, msg.attempts) == ("dead", 3)
    assert "it may have got the message: every attempt carries the same Idempotency-Key" in (
        msg.last_error or "")


def test_a_message_whose_attempts_are_used_up_is_never_sent_again(db: Any) -> None:
    # A relay stopped after its last attempt: the row stays `sending` with max attempts until
    # its lease ends. Taking it over would be attempt max + 1.
    with WebhookReceiver() as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h")
        (mid,) = queue(db, 1, hook.id)
        past = clocks.now() - timedelta(minutes=1)
        with db.uow() as u:
            u.session.execute(update(_T).where(_T.c.id == mid).values(
                status="sending", attempts=3, claimed_by="gone:1", claimed_until=past,
                next_attempt_at=past))
            u.commit()
        with relay_for(db, env=ENV, max_attempts=3) as relay:
            summary = relay.drain()
    assert rx.requests == [] and summary.claimed == 0
    (msg,) = rows(db, id=mid)
    assert (msg.status, msg.attempts, msg.claimed_by) == ("dead", 3, None)
    assert "all 3 attempts used" in (msg.last_error or "")


def test_a_send_that_the_lease_cannot_cover_is_handed_back_unsent(db: Any) -> None:
    # Without a heartbeat (the database is away) a 2 s lease covers one 1.2 s send plus the
    # 0.2 s margin, not two (each answer takes 0.9 s): the rest of the batch goes back unsent,
    # its attempt not counted, and is claimed again afresh instead of being sent past the lease.
    with WebhookReceiver(lambda r: (200, 0.9)) as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h")
        ids = queue(db, 4, hook.id)
        with relay_for(db, env=ENV, lease_s=2.0, http_timeout_s=1.2, concurrency=1,
                       batch_size=4) as relay:
            relay._heartbeat = lambda *a: None  # type: ignore[method-assign]
            claims: list[int] = []
            claim = relay._claim

            def counting_claim() -> Any:
                token, batch, until, held = claim()
                claims.append(len(batch))
                return token, batch, until, held

            relay._claim = counting_claim  # type: ignore[method-assign]
            summary = relay.drain()
    assert sorted(rx.keys()) == sorted(ids) and summary.sent == summary.claimed == 4
    # One sent per lease, the others handed back (the claims made while a batch was in
    # flight, looking for the next one, found nothing: all four were taken or handed back).
    assert [n for n in claims if n] == [4, 3, 2, 1]
    assert [r.headers["x-mktflow-attempt"] for r in rx.requests] == ["1"] * 4
    assert {(m.status, m.attempts) for m in rows(db)} == {("sent", 1)}


def test_a_relay_holds_the_batch_it_sends_and_the_next_one_and_no_more(db: Any) -> None:
    # The next batch is claimed while one is sent (the send threads never wait for the
    # database), but a relay never hoards: at most two batches are held unsent, and one more
    # may be sent and not yet marked, so at most three claim tokens hold messages at a time.
    with WebhookReceiver(lambda r: (200, 0.05)) as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h")
        ids = queue(db, 24, hook.id)
        holders: list[int] = []  # claim tokens holding messages, seen every 10 ms
        held: list[int] = []  # messages held
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                sending = rows(db, status="sending")
                holders.append(len({m.claimed_by for m in sending}))
                held.append(len(sending))
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        with relay_for(db, env=ENV, batch_size=4, concurrency=2) as relay:
            watcher.start()
            summary = relay.drain()
            done.set()
            watcher.join(10)
    assert Counter(rx.keys()) == Counter(dict.fromkeys(ids, 1))
    assert (summary.sent, summary.claimed) == (24, 24)
    assert max(holders) in (2, 3), holders  # the next batch was waiting while one was sent
    assert max(held) <= 3 * 4, held  # each claim took one batch, no more
    assert {(m.status, m.attempts, m.claimed_by) for m in rows(db)} == {("sent", 1, None)}
