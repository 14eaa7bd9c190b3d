"""The relay against real receivers on 127.0.0.1: delivery, retries, dead letters, races."""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import threading
from collections import Counter
from datetime import UTC, datetime, time
from typing import Any

import pytest

from mktflow.domain import clock as clocks
from mktflow.domain.clock import FrozenClock
from mktflow.engine import handoffs
from mktflow.notify.relay import Relay
from mktflow.notify.render import verify_signature
from mktflow.notify.senders import SmtpMailer
from mktflow.notify.testing import SmtpReceiver, WebhookReceiver
from tests.dates import date_ahead
from tests.integration.api_support import open_link
from tests.integration.notify_support import (
    OLGA,
    SECRET_ENV,
    channel,
    queue,
    relay_for,
    rows,
    self_signed_tls,
)

SECRET = "whsec-1b0c9e7d-do-not-log"
ENV = {SECRET_ENV: SECRET}
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def _due() -> datetime:
    """The due time of ``_offer``'s handoff: 17:00 UTC sixty days ahead (a handoff may not
    be due in the past)."""
    return datetime.combine(date_ahead(60), time(17), tzinfo=UTC)


def _offer(db: Any) -> Any:
    return handoffs.offer(db.uow(), actor_email=OLGA, from_department="marketing",
                          to_department="tech", title="Prototype", due_at=_due())


def test_a_webhook_receives_a_signed_json_message(
        db: Any, links_api: str) -> None:
    with WebhookReceiver() as rx:
        hook = channel(db, "tech", url=f"{rx.url}/hooks/mktflow")
        h = _offer(db)
        with relay_for(db, env=ENV) as relay:
            summary = relay.drain()
    assert (summary.sent, summary.claimed) == (1, 1)
    (req,) = rx.requests
    (msg,) = rows(db, channel_id=hook.id)
    assert req.path == "/hooks/mktflow"
    assert req.headers["idempotency-key"] == msg.id
    assert req.headers["content-type"] == "application/json"
    assert verify_signature(SECRET, req.headers["x-mktflow-timestamp"], req.body,
                            req.headers["x-mktflow-signature"])
    assert req.headers["x-mktflow-signature"].startswith("sha256=")
    assert abs(int(req.headers["x-mktflow-timestamp"]) - clocks.now().timestamp()) < 60
    body = json.loads(req.body)
    assert body["id"] == msg.id and body["event"] == "handoff.offered"
    assert body["ref"] == f"H-{h.id}" and body["for"] == "the tech department"
    assert body["due"] == f"{_due():%Y-%m-%d}T17:00:00Z"
    assert body["link"] == f"{links_api}/handoffs/{h.id}"
    assert open_link(body["link"], f"H-{h.id}")["state"] == "offered"
    assert (msg.status, msg.attempts, msg.last_error) == ("sent", 1, None)
    assert msg.sent_at is not None and msg.claimed_by is None


def test_a_slack_hook_receives_a_readable_block_with_the_link(
        db: Any, links_api: str) -> None:
    with WebhookReceiver() as rx:
        channel(db, "tech", "slack", url=f"{rx.url}/services/T1/B2/x")
        h = _offer(db)
        with relay_for(db, env={}) as relay:
            relay.drain()
    text = json.loads(rx.requests[0].body)["text"]
    assert text.splitlines()[0] == f"*H-{h.id} offered to tech by marketing: Prototype*"
    assert "For: the tech department" in text and f"Due: {_due():%Y-%m-%d} 17:00 UTC" in text
    link = re.search(r"<(\S+)\|Open H-\d+>", text)
    assert link is not None and link[1] == f"{links_api}/handoffs/{h.id}", text
    open_link(link[1], f"H-{h.id}")


@pytest.fixture
def smtp_tls(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context for an SMTP receiver on 127.0.0.1 whose certificate the relay trusts
    (a login is sent only over TLS)."""
    context, cert = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return context


def test_an_email_reaches_a_real_smtp_server(
        db: Any, links_api: str, smtp_tls: ssl.SSLContext) -> None:
    with SmtpReceiver(credentials=("relay", "pw-smtp-123"), tls_context=smtp_tls) as smtp:
        channel(db, "tech", "email", to="tech-team@example.com")
        h = _offer(db)
        mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, starttls=True, username="relay",
                            password="pw-smtp-123", timeout_s=5)
        with relay_for(db, env={}, mailer=mailer) as relay:
            assert relay.drain().sent == 1
    (mail,) = smtp.mails
    (msg,) = rows(db, event="handoff.offered")
    assert mail.rcpt_tos == ["tech-team@example.com"]
    assert mail.mail_from == "mktflow@example.com"
    assert mail.message["Subject"] == f"H-{h.id} offered to tech by marketing: Prototype"
    assert mail.message["Message-ID"] == f"<{msg.id}@mktflow>"
    body = mail.message.get_content()
    act = re.search(r"^Act: (\S+)", body, re.M)
    assert act is not None and act[1] == f"{links_api}/handoffs/{h.id}", body
    open_link(act[1], f"H-{h.id}")
    assert f"Due: {_due():%Y-%m-%d} 17:00 UTC" in body


def test_wrong_smtp_password_is_retried_not_lost(db: Any, smtp_tls: ssl.SSLContext) -> None:
    with SmtpReceiver(credentials=("relay", "right"), tls_context=smtp_tls) as smtp:
        channel(db, "tech", "email", to="tech-team@example.com")
        _offer(db)
        mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, starttls=True, username="relay",
                            password="wrong", timeout_s=5)
        # the relay's clock stands still after the offer: the retry is not yet due again
        with relay_for(db, env={}, mailer=mailer, clock=FrozenClock(clocks.now())) as relay:
            summary = relay.drain()
    (msg,) = rows(db, event="handoff.offered")
    assert smtp.mails == [] and (summary.sent, summary.retrying) == (0, 1)
    assert msg.status == "pending" and "answered 535" in (msg.last_error or "")
    assert "wrong" not in (msg.last_error or "")


def test_a_failing_receiver_is_retried_with_backoff_then_dead_lettered(db: Any) -> None:
    clock = FrozenClock(NOW)
    with WebhookReceiver(lambda r: (503, 0.0)) as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h")
        (mid,) = queue(db, 1, hook.id, at=NOW)
        with relay_for(db, env=ENV, clock=clock, max_attempts=3, backoff_base_s=10,
                       backoff_cap_s=100) as relay:
            first = relay.drain()
            (msg,) = rows(db, id=mid)
            assert (first.retrying, msg.status, msg.attempts) == (1, "pending", 1)
            wait = (msg.next_attempt_at - NOW).total_seconds()
            assert 5 <= wait <= 10  # base 10 s, jittered to [5, 10]
            assert relay.drain().claimed == 0  # not due yet: nothing is sent early
            clock.advance(seconds=wait)
            relay.drain()
            (msg,) = rows(db, id=mid)
            assert 10 <= (msg.next_attempt_at - clock()).total_seconds() <= 20  # doubled
            clock.advance(seconds=20)
            last = relay.drain()
    (msg,) = rows(db, id=mid)
    assert (last.dead, msg.status, msg.attempts) == (1, "dead", 3)
    assert msg.last_error == "attempt 3: 127.0.0.1:" + rx.url.rsplit(":", 1)[1] + \
        " answered HTTP 503"
    assert rx.keys() == [mid, mid, mid]  # the same Idempotency-Key on every retry


def test_a_hanging_receiver_times_out_and_is_dead_lettered(db: Any) -> None:
    with WebhookReceiver(lambda r: (200, 1.5)) as rx:
        hook = channel(db, "tech", url=f"{rx.url}/slow")
        (mid,) = queue(db, 1, hook.id)
        with relay_for(db, env=ENV, max_attempts=2, http_timeout_s=0.2) as relay:
            relay.drain()
            (msg,) = rows(db, id=mid)
            if msg.status == "pending":  # jittered backoff of ~1-10 ms may not have passed
                threading.Event().wait(0.02)
                relay.drain()
    (msg,) = rows(db, id=mid)
    assert (msg.status, msg.attempts) == ("dead", 2)
    assert "did not answer in time" in (msg.last_error or "")


def test_a_receiver_nobody_listens_on_is_retried_then_dead_lettered(db: Any) -> None:
    with socket.socket() as closed:  # a port nothing listens on once this socket is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    hook = channel(db, "tech", url=f"http://127.0.0.1:{port}/h")
    (mid,) = queue(db, 1, hook.id)
    with relay_for(db, env=ENV, max_attempts=1) as relay:
        assert relay.drain().dead == 1
    (msg,) = rows(db, id=mid)
    assert (msg.status, msg.attempts) == ("dead", 1)
    assert msg.last_error == f"attempt 1: cannot reach 127.0.0.1:{port} (ConnectError)"


def test_a_receiver_that_recovers_gets_the_message_once(db: Any) -> None:
    answers = iter([500, 200])
    with WebhookReceiver(lambda r: (next(answers), 0.0)) as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h")
        (mid,) = queue(db, 1, hook.id)
        with relay_for(db, env=ENV, max_attempts=5) as relay:
            for _ in range(20):
                if rows(db, id=mid)[0].status == "sent":
                    break
                relay.drain()
                threading.Event().wait(0.01)
    (msg,) = rows(db, id=mid)
    assert (msg.status, msg.attempts, msg.last_error) == ("sent", 2, None)
    assert rx.keys() == [mid, mid]


def test_a_permanent_refusal_is_dead_lettered_at_once(db: Any) -> None:
    with WebhookReceiver(lambda r: (404, 0.0)) as rx:
        hook = channel(db, "tech", url=f"{rx.url}/gone")
        (mid,) = queue(db, 1, hook.id)
        with relay_for(db, env=ENV, max_attempts=5) as relay:
            assert relay.drain().dead == 1
    assert [(m.status, m.attempts) for m in rows(db, id=mid)] == [("dead", 1)]


def test_messages_nobody_can_receive_are_skipped(db: Any) -> None:
    _offer(db)
    with relay_for(db, env=ENV) as relay:
        assert relay.drain().skipped == 1
    (msg,) = rows(db, event="handoff.offered")
    assert (msg.status, msg.last_error) == ("skipped", "no channel configured for tech")


def test_connections_are_reused(db: Any) -> None:
    with WebhookReceiver() as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h")
        queue(db, 60, hook.id)
        with relay_for(db, env=ENV, concurrency=4, batch_size=20) as relay:
            assert relay.drain().sent == 60
    connections = {r.client for r in rx.requests}
    assert len(connections) <= 4 < 60


def test_secrets_never_reach_logs_errors_or_payloads(
    db: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with WebhookReceiver(lambda r: (500, 0.0)) as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h?token=abc")
        queue(db, 2, hook.id)
        with relay_for(db, env=ENV, max_attempts=1) as relay:
            relay.drain()
    stored = json.dumps([m.model_dump(mode="json") for m in rows(db)])
    assert rx.requests and "answered HTTP 500" in stored
    for text in (caplog.text, stored):
        assert SECRET not in text
        assert "token=abc" not in text


@pytest.mark.parametrize("relays", [2])
def test_two_relays_at_once_send_each_message_once(db: Any, relays: int) -> None:
    with WebhookReceiver() as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h")
        ids = queue(db, 300, hook.id)
        start = threading.Barrier(relays)
        summaries: list[Any] = []

        def run(n: int) -> None:
            with relay_for(db, env=ENV, relay_id=f"relay-{n}", batch_size=10,
                           concurrency=4) as relay:
                start.wait()
                summaries.append(relay.drain())

        threads = [threading.Thread(target=run, args=(n,)) for n in range(relays)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    counts = Counter(rx.keys())
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1][:5]
    assert sum(s.sent for s in summaries) == 300
    assert all(s.sent > 0 for s in summaries)  # both really took part
    assert {m.status for m in rows(db)} == {"sent"}


class SimulatedCrash(BaseException):
    """The relay process dies (kill -9, power loss) after sending, before marking."""


def test_a_crash_between_send_and_mark_gives_at_most_one_duplicate(db: Any) -> None:
    clock = FrozenClock(NOW)
    with WebhookReceiver() as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h")
        ids = queue(db, 5, hook.id, at=NOW)
        doomed = relay_for(db, env=ENV, clock=clock, relay_id="doomed", lease_s=60, batch_size=5,
                           concurrency=1)
        real_deliver = doomed.deliverer.deliver

        def deliver_then_crash(envelope: Any) -> None:
            real_deliver(envelope)
            raise SimulatedCrash

        doomed.deliverer.deliver = deliver_then_crash  # type: ignore[method-assign]
        with pytest.raises(SimulatedCrash):
            doomed.drain()
        doomed.close()
        delivered_before = Counter(rx.keys())
        assert sum(delivered_before.values()) >= 1
        assert {m.status for m in rows(db)} == {"sending"}  # claimed, never marked

        with relay_for(db, env=ENV, clock=clock, relay_id="survivor") as survivor:
            assert survivor.drain().claimed == 0  # the lease still holds
            clock.advance(seconds=61)
            assert survivor.drain().sent == 5
            assert survivor.drain().claimed == 0
    counts = Counter(rx.keys())
    assert set(counts) == set(ids)
    assert all(n <= 2 for n in counts.values())
    assert [k for k, n in counts.items() if n == 2] == list(delivered_before)
    assert {m.status for m in rows(db)} == {"sent"}


def test_a_removed_channel_skips_its_queued_messages(db: Any) -> None:
    from mktflow.engine.channels import remove_channel

    hook = channel(db, "tech")
    (mid,) = queue(db, 1, hook.id)
    assert hook.id is not None
    remove_channel(db.uow(), hook.id)
    with relay_for(db, env=ENV) as relay:
        relay.drain()
    (msg,) = rows(db, id=mid)
    assert (msg.status, msg.last_error) == ("skipped", f"channel {hook.id} was removed")


def test_run_stops_cleanly_when_asked(db: Any) -> None:
    with WebhookReceiver() as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h")
        ids = queue(db, 3, hook.id)
        stop = threading.Event()
        seen: list[int] = []

        def on_drain(summary: Any) -> None:
            seen.append(summary.sent)
            stop.set()

        relay: Relay
        with relay_for(db, env=ENV, poll_interval_s=0.05) as relay:
            total = relay.run(stop, on_drain=on_drain)
    assert seen == [3] and total.sent == 3
    assert sorted(r.headers["idempotency-key"] for r in rx.requests) == sorted(ids)
    assert {m.status for m in rows(db, channel_id=hook.id)} == {"sent"}
