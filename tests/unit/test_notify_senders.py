"""Rendering, signing and sending one message, against httpx.MockTransport and a fake mailer."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from mktflow.domain import clock as clocks
from mktflow.domain.clock import FrozenClock
from mktflow.domain.errors import ConfigError
from mktflow.notify.relay import RelayPolicy, backoff_s
from mktflow.notify.render import (
    Envelope,
    email_message,
    sign,
    slack_payload,
    text_of,
    verify_signature,
    webhook_body,
)
from mktflow.notify.senders import Deliverer, DeliveryFailed, HttpxPoster, retry_after_s
from mktflow.notify.testing import FakeMailer

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECRET = "wh-secret-7f3a"
LINK = "http://127.0.0.1:4200/runs/flow-run/abc"


def envelope(**kw: object) -> Envelope:
    base: dict[str, object] = dict(
        id="m-1", event="handoff.rejected", subject="H-3 rejected by tech: Prototype — no capacity",
        payload={"ref": "H-3", "title": "Prototype", "for": "the marketing department",
                 "due": "2026-12-05T17:00:00+00:00", "reason": "no capacity"},
        link=LINK, created_at=NOW, attempt=1, channel_id=7, channel_type="webhook",
        url="http://hooks.example.test/in/abc?token=topsecret", secret_env="HOOK_SECRET",
        department="marketing",
    )
    base.update(kw)
    return Envelope(**base)  # type: ignore[arg-type]


def deliverer(handler: object, *, mailer: FakeMailer | None = None,
              env: dict[str, str] | None = None) -> Deliverer:
    client = httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return Deliverer(http=HttpxPoster(client), mailer=mailer,
                     env={"HOOK_SECRET": SECRET} if env is None else env,
                     sender_address="mktflow@example.com", clock=FrozenClock(NOW))


def test_the_readable_text_says_what_for_whom_due_why_and_where_to_act() -> None:
    text = text_of(envelope())
    assert text.splitlines() == [
        "H-3 rejected by tech: Prototype — no capacity",
        "For: the marketing department",
        "Due: 2026-12-05 17:00 UTC",
        "Reason: no capacity",
        f"Act: {LINK}",
    ]


def test_webhook_is_signed_over_timestamp_and_raw_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    deliverer(handler).deliver(envelope())
    request = seen[0]
    body = request.content
    timestamp = request.headers["X-Mktflow-Timestamp"]
    assert timestamp == str(int(NOW.timestamp()))
    assert request.headers["Idempotency-Key"] == "m-1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Mktflow-Signature"] == sign(SECRET, int(timestamp), body)
    assert verify_signature(SECRET, timestamp, body, request.headers["X-Mktflow-Signature"])
    assert not verify_signature("other", timestamp, body, request.headers["X-Mktflow-Signature"])
    assert not verify_signature(SECRET, timestamp, body + b" ",
                                request.headers["X-Mktflow-Signature"])
    data = json.loads(body)
    assert (data["id"], data["event"], data["ref"], data["link"]) == (
        "m-1", "handoff.rejected", "H-3", LINK)
    assert data["reason"] == "no capacity"


def test_signature_matches_a_hand_computed_hmac() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", 1700000000, b"{}") == f"sha256={expected}"


def test_webhook_body_is_the_same_on_every_attempt() -> None:
    assert webhook_body(envelope(attempt=1)) == webhook_body(envelope(attempt=4))


def test_unset_secret_fails_naming_the_variable_and_retries() -> None:
    with pytest.raises(DeliveryFailed) as info:
        deliverer(lambda r: httpx.Response(200), env={}).deliver(envelope())
    assert "HOOK_SECRET" in str(info.value) and "not set" in str(info.value)
    assert not info.value.permanent


# RFC 9110 and common practice: 408, 425, 429, 500, 502, 503, 504 (and other 5xx but 501/505)
# are worth another try; any other 4xx, a 3xx (the hook moved), 501 and 505 are not.
@pytest.mark.parametrize(("status", "permanent"), [
    (408, False), (425, False), (429, False), (500, False), (502, False), (503, False),
    (504, False), (522, False), (400, True), (401, True), (403, True), (404, True),
    (410, True), (413, True), (422, True), (301, True), (501, True), (505, True)])
def test_http_errors_name_the_host_only(status: int, permanent: bool) -> None:
    with pytest.raises(DeliveryFailed) as info:
        deliverer(lambda r: httpx.Response(status)).deliver(envelope())
    assert str(info.value) == f"hooks.example.test answered HTTP {status}"
    assert info.value.permanent is permanent
    assert info.value.busy is (status in (429, 503))  # the whole destination waits
    assert "topsecret" not in str(info.value)


def test_retry_after_is_passed_on() -> None:
    with pytest.raises(DeliveryFailed) as info:
        deliverer(lambda r: httpx.Response(429, headers={"Retry-After": "42"})).deliver(
            envelope())
    assert info.value.retry_after_s == 42


def test_retry_after_as_an_http_date_counts_from_the_relays_clock() -> None:
    when = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    with pytest.raises(DeliveryFailed) as info:
        deliverer(lambda r: httpx.Response(503, headers={"Retry-After": when})).deliver(
            envelope())
    assert info.value.retry_after_s == 90 and info.value.busy
    past = format_datetime(NOW - timedelta(seconds=90), usegmt=True)
    assert retry_after_s(past, NOW) == 0.0
    assert retry_after_s("soon", NOW) is None and retry_after_s(None, NOW) is None


def test_timeout_and_unreachable_receivers_are_retryable() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(DeliveryFailed, match=r"hooks\.example\.test did not answer in time") as a:
        deliverer(hang).deliver(envelope())
    with pytest.raises(DeliveryFailed, match=r"cannot reach hooks\.example\.test") as b:
        deliverer(refuse).deliver(envelope())
    assert not a.value.permanent and not b.value.permanent


def test_slack_message_is_a_text_block_with_the_action_link() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    deliverer(handler).deliver(envelope(channel_type="slack", secret_env=None))
    data = json.loads(seen[0].content)
    assert data["text"].startswith("*H-3 rejected by tech: Prototype — no capacity*")
    assert f"<{LINK}|Open H-3>" in data["text"]
    assert "Reason: no capacity" in data["text"]
    assert data["blocks"][0]["text"] == {"type": "mrkdwn", "text": data["text"]}
    assert "X-Mktflow-Signature" not in seen[0].headers


def test_slack_escapes_control_characters() -> None:
    text = slack_payload(envelope(subject="W-1 <b> & co"))["text"]
    assert text.startswith("*W-1 &lt;b&gt; &amp; co*")


def test_email_goes_to_the_channel_address() -> None:
    mailer = FakeMailer()
    deliverer(lambda r: httpx.Response(500), mailer=mailer).deliver(
        envelope(channel_type="email", url=None, to="tech-team@example.com", secret_env=None))
    msg = mailer.sent[0]
    assert (msg["To"], msg["From"], msg["Message-ID"]) == (
        "tech-team@example.com", "mktflow@example.com", "<m-1@mktflow>")
    assert msg["Subject"] == "H-3 rejected by tech: Prototype — no capacity"
    assert f"Act: {LINK}" in msg.get_content()


def test_email_without_smtp_settings_fails_clearly() -> None:
    with pytest.raises(DeliveryFailed, match="MKTFLOW_SMTP_HOST"):
        deliverer(lambda r: httpx.Response(200)).deliver(
            envelope(channel_type="email", to="a@example.com"))


def test_email_message_has_the_idempotency_key() -> None:
    msg = email_message(envelope(channel_type="email", to="a@example.com"), sender="s@x.io")
    assert msg["Idempotency-Key"] == "m-1"


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RelayPolicy(backoff_base_s=2, backoff_cap_s=60)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (12, 60)]:
        waits = [backoff_s(attempt, policy, rng) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), attempt
        assert len({round(w, 6) for w in waits}) > 1  # jittered, not all equal


def test_a_lease_that_cannot_cover_one_send_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"MKTFLOW_RELAY_LEASE_S.*MKTFLOW_RELAY_HTTP_TIMEOUT_S"):
        RelayPolicy(http_timeout_s=10, lease_s=11)
    # the SMTP conversation counts too (it was left out: 15 s leases with 10 s per command)
    with pytest.raises(ConfigError, match=r"MKTFLOW_RELAY_LEASE_S.*MKTFLOW_SMTP_TIMEOUT_S"):
        RelayPolicy(http_timeout_s=1, smtp_timeout_s=14, lease_s=15)
    policy = RelayPolicy(batch_size=100, concurrency=10, http_timeout_s=1, smtp_timeout_s=10,
                         lease_s=15)
    # the heartbeat renews the lease early enough that what is left covers a send + margin
    assert policy.lease_s - policy.heartbeat_s >= 10 + 1.5
    assert policy.send_deadline_s("email") == 10 and policy.send_deadline_s("slack") == 1


def test_the_documented_verification_snippet_accepts_real_deliveries() -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "notifications" / "index.md").read_text()
    snippet = re.search(r"```python\n((?:(?!```).)*?def verify.*?)```", doc, re.S)
    assert snippet, "the notifications page lost its signature verification example"
    namespace: dict[str, object] = {}
    exec(snippet.group(1), namespace)
    verify = namespace["verify"]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    Deliverer(http=HttpxPoster(client), mailer=None, env={"HOOK_SECRET": SECRET},
              sender_address="x@y.io", clock=clocks.now,
              ).deliver(envelope())
    headers = dict(seen[0].headers)
    headers = {"X-Mktflow-Timestamp": headers["x-mktflow-timestamp"],
               "X-Mktflow-Signature": headers["x-mktflow-signature"]}
    assert verify(SECRET, headers, seen[0].content)  # type: ignore[operator]
    assert not verify("wrong", headers, seen[0].content)  # type: ignore[operator]
    assert not verify(SECRET, headers, seen[0].content + b"x")  # type: ignore[operator]


def test_a_relay_with_an_smtp_mailer_sizes_its_lease_check_by_the_smtp_deadline() -> None:
    from mktflow.notify.relay import Relay
    from mktflow.notify.senders import SmtpMailer

    mailer = SmtpMailer(host="127.0.0.1", port=25, timeout_s=14)
    with httpx.Client() as client:
        deliverer = Deliverer(http=HttpxPoster(client), mailer=mailer, env={},
                              sender_address="s@x.io", clock=lambda: NOW)
        with pytest.raises(ConfigError, match="MKTFLOW_SMTP_TIMEOUT_S"):
            Relay(None, deliverer,  # type: ignore[arg-type]
                  RelayPolicy(http_timeout_s=1, lease_s=15))


def test_destinations_are_a_urls_host_and_port() -> None:
    from mktflow.notify.senders import http_destination

    assert http_destination("https://hooks.slack.com/services/T/B/x") == "http hooks.slack.com:443"
    assert http_destination("http://127.0.0.1:8081/h?token=1") == "http 127.0.0.1:8081"
    assert http_destination("http://example.com/a") == http_destination("http://example.com/b")
    assert http_destination("not a url") is None


def test_a_destinations_pause_is_its_retry_after_capped_else_a_doubling_backoff() -> None:
    from mktflow.notify.relay import destination_pause_s

    policy = RelayPolicy(retry_after_cap_s=120, destination_backoff_base_s=5,
                         destination_backoff_cap_s=40)
    rng = random.Random(1)
    assert destination_pause_s(1, policy, rng, 30.0) == 30.0
    assert destination_pause_s(1, policy, rng, 86400.0) == 120.0  # capped
    for failures, ceiling in ((1, 5), (2, 10), (3, 20), (4, 40), (9, 40)):
        assert ceiling / 2 <= destination_pause_s(failures, policy, rng, None) <= ceiling


def test_the_relay_waits_for_a_database_that_is_away_doubling_up_to_the_cap() -> None:
    from mktflow.notify.relay import database_retry_s

    policy = RelayPolicy(db_retry_cap_s=4)
    rng = random.Random(2)
    for failures, ceiling in ((1, 0.5), (2, 1), (3, 2), (4, 4), (50, 4)):
        assert ceiling / 2 <= database_retry_s(failures, policy, rng) <= ceiling


def test_only_a_database_that_is_away_is_waited_for() -> None:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from mktflow.domain.errors import DatabaseTimeout, DatabaseUnreachable, Unavailable
    from mktflow.notify.relay import transient

    assert transient(DatabaseUnreachable("cannot use the database: connection refused"))
    assert transient(DatabaseTimeout("the database did not answer within 4 s"))
    assert transient(Unavailable("the database is busy with another writer"))
    assert transient(OperationalError("SELECT 1", {}, Exception("server closed")))
    assert not transient(ConfigError("the database has no mktflow tables yet"))
    assert not transient(ProgrammingError("SELECT x", {}, Exception("syntax error")))
