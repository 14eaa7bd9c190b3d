"""Send failures by the receiver's own rules, against real receivers on 127.0.0.1 and both
databases: an SMTP server that greylists (451 4.7.1) or refuses (550), a Slack-style hook that
answers a burst with 429 + Retry-After, a receiver answering 503; and per-destination pauses
that one limiting receiver gets while the others are served (docs/notifications/delivery.md).

The relay runs on the ``clock`` fixture's frozen clock, so a pause's window is crossed by
advancing it, not by waiting.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from mktflow.notify.senders import SmtpMailer
from mktflow.notify.testing import SmtpReceiver, WebhookReceiver
from mktflow.store.tables import DestinationBackoff
from tests.integration.notify_support import SECRET_ENV, channel, queue, relay_for, rows

ENV = {SECRET_ENV: "s3cret"}


def _pauses(db: Any) -> dict[str, DestinationBackoff]:
    with db.uow() as u:
        return {r.destination: r for r in u.session.exec(select(DestinationBackoff))}


# --- SMTP: 4xx temporary, 5xx permanent --------------------------------------------------------


def test_a_greylisting_smtp_server_gets_the_message_on_a_later_attempt(db: Any,
                                                                       clock: Any) -> None:
    greylist = "451 4.7.1 Greylisted, please try again later"
    with SmtpReceiver(answer_rcpt=lambda _a, n: greylist if n == 0 else "250 OK") as smtp:
        mail = channel(db, "tech", "email", to="tech-team@example.com")
        (mid,) = queue(db, 1, mail.id)
        mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, timeout_s=5)
        with relay_for(db, env={}, mailer=mailer, clock=clock, backoff_base_s=60,
                       backoff_cap_s=60) as relay:
            first = relay.drain()
            (msg,) = rows(db, id=mid)
            assert (first.retrying, first.dead, msg.status, msg.attempts) == (1, 0, "pending", 1)
            assert "451 4.7.1 Greylisted" in (msg.last_error or "")  # the server's own words
            assert relay.drain().claimed == 0  # not before its backoff
            clock.advance(seconds=61)
            second = relay.drain()
    (msg,) = rows(db, id=mid)
    assert (second.sent, msg.status, msg.attempts) == (1, "sent", 2)
    assert [m.rcpt_tos for m in smtp.mails] == [["tech-team@example.com"]]
    assert _pauses(db) == {}  # greylisting is about one message, not the whole server


def test_an_smtp_550_is_dead_at_once_with_the_servers_reply(db: Any, clock: Any) -> None:
    with SmtpReceiver(answer_rcpt=lambda _a, _n: "550 5.1.1 No such user here") as smtp:
        mail = channel(db, "tech", "email", to="nobody@example.com")
        (mid,) = queue(db, 1, mail.id)
        mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, timeout_s=5)
        with relay_for(db, env={}, mailer=mailer, clock=clock, max_attempts=8) as relay:
            summary = relay.drain()
    (msg,) = rows(db, id=mid)
    assert (summary.dead, msg.status, msg.attempts) == (1, "dead", 1)
    assert "550 5.1.1 No such user here" in (msg.last_error or "")
    assert smtp.mails == []


def test_an_smtp_421_is_temporary_and_pauses_the_whole_server(db: Any, clock: Any) -> None:
    with SmtpReceiver(answer_rcpt=lambda _a, _n: "421 4.3.2 Service not available") as smtp:
        mail = channel(db, "tech", "email", to="tech-team@example.com")
        ids = queue(db, 3, mail.id)
        mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, timeout_s=5)
        with relay_for(db, env={}, mailer=mailer, clock=clock, concurrency=1,
                       destination_backoff_base_s=20, destination_backoff_cap_s=20) as relay:
            relay.drain()
            assert len(smtp.rcpts) == 1  # the other two waited for the server's pause
            relay.drain()
            assert len(smtp.rcpts) == 1
    statuses = {m.id: (m.status, m.attempts) for m in rows(db)}
    assert sorted(statuses[i] for i in ids) == [("pending", 0), ("pending", 0), ("pending", 1)]
    (pause,) = _pauses(db).values()
    assert pause.destination == f"smtp 127.0.0.1:{smtp.port}"
    assert "421 4.3.2 Service not available" in pause.reason


# --- HTTP: a limiting receiver is paused as a whole -------------------------------------------


def test_a_burst_to_a_429_hook_gets_one_probe_per_window_and_others_are_served(
        db: Any, clock: Any) -> None:
    limiting = {"on": True}

    def slack(_r: Any) -> Any:
        return (429, 0.0, {"Retry-After": "30"}) if limiting["on"] else (200, 0.0)

    with WebhookReceiver(slack) as hook, WebhookReceiver() as healthy:
        limited = channel(db, "tech", "slack", url=f"{hook.url}/services/T0/B0/tok")
        other = channel(db, "marketing", url=f"{healthy.url}/h")
        burst = queue(db, 60, limited.id)
        others = queue(db, 10, other.id)
        with relay_for(db, env=ENV, clock=clock, concurrency=4, relay_id="relay-a") as a, \
                relay_for(db, env=ENV, clock=clock, concurrency=4, relay_id="relay-b") as b:
            a.drain()
            first_wave = len(hook.requests)
            # before the first 429 came back, at most one request per send thread was out
            assert 1 <= first_wave <= 4
            assert sorted(healthy.keys()) == sorted(others)  # the other receiver is served
            pause = _pauses(db)[f"http 127.0.0.1:{hook.url.rsplit(':', 1)[1]}"]
            assert pause.until == clock() + timedelta(seconds=30)
            assert "429" in pause.reason
            # within the window: neither this relay nor another one sends to the hook
            for relay in (a, b, a):
                relay.drain()
            assert len(hook.requests) == first_wave
            more = queue(db, 3, other.id)  # new messages elsewhere still go at once
            b.drain()
            assert sorted(healthy.keys()) == sorted(others + more)
            # the window ends: one probe, from one relay, answered 429 again
            clock.advance(seconds=31)
            a.drain()
            b.drain()
            assert len(hook.requests) == first_wave + 1
            b.drain()
            assert len(hook.requests) == first_wave + 1  # the next window has begun
            # the hook recovers: the next probe succeeds and the rest follow at once
            limiting["on"] = False
            clock.advance(seconds=31)
            b.drain()
            a.drain()
    delivered = {r.headers["idempotency-key"] for r in hook.requests[first_wave + 1:]}
    assert delivered == set(burst)  # every message of the burst arrived, none lost
    burst_rows = [m for m in rows(db) if m.id in set(burst)]
    assert {m.status for m in burst_rows} == {"sent"}
    assert max(m.attempts for m in burst_rows) <= 3  # held-back messages were not counted
    assert _pauses(db) == {}


def test_a_503_receiver_without_retry_after_is_paused_by_the_destination_backoff(
        db: Any, clock: Any) -> None:
    with WebhookReceiver(lambda _r: (503, 0.0)) as down, WebhookReceiver() as healthy:
        sick = channel(db, "tech", url=f"{down.url}/h")
        well = channel(db, "marketing", url=f"{healthy.url}/h")
        queue(db, 20, sick.id)
        others = queue(db, 5, well.id)
        with relay_for(db, env=ENV, clock=clock, concurrency=2,
                       destination_backoff_base_s=10, destination_backoff_cap_s=40) as relay:
            relay.drain()
            first_wave = len(down.requests)
            assert 1 <= first_wave <= 2
            assert sorted(healthy.keys()) == sorted(others)
            (pause,) = _pauses(db).values()
            assert timedelta(seconds=5) <= pause.until - clock() <= timedelta(seconds=10)
            relay.drain()
            assert len(down.requests) == first_wave
            clock.advance(seconds=10)
            relay.drain()  # one probe; 503 again: the pause doubles
            assert len(down.requests) == first_wave + 1
            (pause,) = _pauses(db).values()
            assert pause.failures == 2
            assert timedelta(seconds=10) <= pause.until - clock() <= timedelta(seconds=20)
    assert {m.status for m in rows(db, channel_id=sick.id)} == {"pending"}  # none lost
