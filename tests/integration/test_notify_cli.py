"""``mktflow channel``, ``mktflow outbox`` and ``mktflow sla`` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from mktflow.domain import clock as clocks
from mktflow.engine import work
from mktflow.notify.testing import SmtpReceiver, WebhookReceiver
from tests.conftest import reset_caches
from tests.integration.notify_support import (
    HEAD,
    SECRET_ENV,
    channel,
    queue,
    rows,
    self_signed_tls,
)

SECRET = "cli-secret-9d2e-never-printed"


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return SECRET


def test_channels_are_added_listed_and_removed(cli: Any, secret: str) -> None:
    r = cli("channel", "add", "tech", "--type", "webhook", "--url", "https://h.example/in",
            "--secret-env", SECRET_ENV, "--json")
    assert r.exit_code == 0, r.stderr
    added = r.json()
    assert (added["department"], added["type"], added["secret_env"], added["secret_set"]) == (
        "tech", "webhook", SECRET_ENV, True)
    r = cli("channel", "add", "marketing", "--type", "email", "--to", "olga@example.com",
            "--member", "olga.petrova@example.com")
    assert r.exit_code == 0 and "added channel" in r.stdout
    listed = cli("channel", "list", "--json")
    assert [(c["department"], c["type"]) for c in listed.json()] == [
        ("marketing", "email"), ("tech", "webhook")]
    human = cli("channel", "list").stdout
    assert f"{SECRET_ENV} (set)" in human
    assert secret not in listed.stdout + human + r.stdout
    assert cli("channel", "remove", str(added["id"])).exit_code == 0
    assert [c["type"] for c in cli("channel", "list", "--json").json()] == ["email"]


def test_bad_channels_are_refused_with_the_rule(cli: Any) -> None:
    r = cli("channel", "add", "tech", "--type", "pager", "--url", "https://x.io")
    assert r.exit_code == 2 and "'pager' is not a channel type" in r.stderr
    r = cli("channel", "add", "tech", "--type", "webhook", "--url", "https://x.io/h")
    assert r.exit_code == 2 and "secret_env: a webhook channel is signed" in r.stderr
    r = cli("channel", "add", "nowhere", "--type", "slack", "--url", "https://x.io/h")
    assert r.exit_code == 2 and "unknown department 'nowhere'" in r.stderr
    r = cli("channel", "remove", "99999")
    assert r.exit_code == 2 and "channel 99999 does not exist" in r.stderr
    slack = ("channel", "add", "tech", "--type", "slack", "--url", "https://x.io/h")
    assert cli(*slack).exit_code == 0
    r = cli(*slack, "--json")
    assert r.exit_code == 1 and r.json()["kind"] == "Refused" and "already" in r.json()["error"]


def test_drain_sends_a_thousand_due_messages(cli: Any, db: Any, secret: str) -> None:
    with WebhookReceiver() as rx:
        hook = channel(db, "tech", url=f"{rx.url}/bulk")
        ids = queue(db, 1000, hook.id)
        r = cli("outbox", "drain", "--json")
    assert r.exit_code == 0, r.stderr
    summary = r.json()
    assert (summary["claimed"], summary["sent"], summary["dead"]) == (1000, 1000, 0)
    assert summary["per_second"] > 0
    assert Counter(rx.keys()) == Counter(ids)
    assert cli("outbox", "list", "--status", "pending", "--json").json() == []
    assert len(cli("outbox", "list", "--status", "sent", "--limit", "5", "--json").json()) == 5


def test_dead_letters_are_listed_and_retried(
    cli: Any, db: Any, secret: str,
) -> None:
    answers = {"status": 410}
    with WebhookReceiver(lambda r: (answers["status"], 0.0)) as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h")
        (mid,) = queue(db, 1, hook.id)
        first = cli("outbox", "drain")
        assert first.exit_code == 0 and "dead 1" in first.stdout
        assert "dead-lettered" in first.stderr  # the relay's warning
        dead = cli("outbox", "list", "--status", "dead", "--json").json()
        assert [(m["id"], m["channel_type"], m["attempts"]) for m in dead] == [
            (mid, "webhook", 1)]
        assert dead[0]["last_error"].endswith("answered HTTP 410")
        assert "410" in cli("outbox", "list").stdout
        r = cli("outbox", "retry", mid, "--json")
        assert r.exit_code == 0 and (r.json()["status"], r.json()["attempts"]) == ("pending", 0)
        answers["status"] = 200
        assert "sent 1" in cli("outbox", "drain").stdout
    assert rx.keys() == [mid, mid]
    r = cli("outbox", "retry", mid)
    assert r.exit_code == 1 and "already sent" in r.stderr
    r = cli("outbox", "retry", "no-such-id")
    assert r.exit_code == 2 and "does not exist" in r.stderr
    r = cli("outbox", "list", "--status", "lost")
    assert r.exit_code == 2 and "not an outbox status" in r.stderr


def test_sla_sweep_reports_escalations(cli: Any, db: Any) -> None:
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Overdue brief",
                                 due_at=clocks.now() - timedelta(hours=30))
    r = cli("sla", "sweep", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["by_level"] == {"1": 1, "2": 1, "3": 0}
    assert [e["ref"] for e in r.json()["escalations"]] == [f"W-{item.id}"] * 2
    again = cli("sla", "sweep")
    assert again.exit_code == 0 and "0 escalation(s)" in again.stdout
    assert len(rows(db, event="work.escalated")) == 1


def test_relay_stops_cleanly_on_sigterm(db: Any) -> None:
    with WebhookReceiver() as rx:
        hook = channel(db, "tech", url=f"{rx.url}/h")
        queue(db, 3, hook.id)
        env = {**os.environ, "MKTFLOW_DATABASE_URL": db.url, SECRET_ENV: SECRET,
               "MKTFLOW_RELAY_POLL_INTERVAL_S": "0.1"}
        proc = subprocess.Popen([sys.executable, "-m", "mktflow.cli", "outbox", "relay",
                                 "--json"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while len(rx.requests) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert proc.poll() is None  # still relaying, waiting for more
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out)["sent"] == 3
    assert {m.status for m in rows(db)} == {"sent"}


def test_outbox_drain_mails_over_starttls_with_the_smtp_settings(
        cli: Any, db: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from mktflow.engine import handoffs

    tls, cert = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the default client context trusts it
    with SmtpReceiver(credentials=("relay", "pw-from-env"), tls_context=tls) as smtp:
        for name, value in {"HOST": "127.0.0.1", "PORT": str(smtp.port), "STARTTLS": "false",
                            "USERNAME": "relay", "PASSWORD_ENV": "TEST_SMTP_PASSWORD",
                            "FROM": "marketing-ops@example.com",
                            "TIMEOUT_S": "5"}.items():
            monkeypatch.setenv(f"MKTFLOW_SMTP_{name}", value)
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "pw-from-env")
        monkeypatch.setenv("MKTFLOW_RELAY_MAX_ATTEMPTS", "1")
        reset_caches()
        channel(db, "tech", "email", to="tech-team@example.com")
        h = handoffs.offer(db.uow(), actor_email=HEAD, from_department="marketing",
                           to_department="tech", title="Banner", due_at=None)
        plain = cli("outbox", "drain", "--json")
        # a login without STARTTLS would send the password in clear: the relay does not start
        assert plain.exit_code == 2 and "MKTFLOW_SMTP_STARTTLS" in plain.stderr, plain.stderr
        (msg,) = rows(db, event="handoff.offered")
        assert (msg.status, msg.attempts) == ("pending", 0) and smtp.mails == []

        monkeypatch.setenv("MKTFLOW_SMTP_STARTTLS", "true")
        reset_caches()
        sent = cli("outbox", "drain", "--json")
        assert sent.exit_code == 0 and sent.json()["sent"] == 1, sent.stdout + sent.stderr
    (mail,) = smtp.mails
    assert mail.tls and mail.mail_from == "marketing-ops@example.com"
    assert mail.rcpt_tos == ["tech-team@example.com"]
    assert mail.message["Subject"] == f"H-{h.id} offered to tech by marketing: Banner"
    assert rows(db, event="handoff.offered")[0].status == "sent"
