"""The SMTP password never crosses the network in clear (issue 19, item 7), against a real SMTP
server on 127.0.0.1 that records every login and whether it came over TLS, on both databases.

With a user name, the relay needs STARTTLS or TLS from the start (SMTPS); otherwise it refuses
to start, naming the settings, and nothing is sent or dead-lettered. Only the explicitly
insecure ``MKTFLOW_SMTP_ALLOW_PLAINTEXT_AUTH`` lets a login go in clear.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mktflow.config import Settings
from mktflow.domain.errors import ConfigError
from mktflow.notify.relay import build_relay
from mktflow.notify.testing import ReceivedLogin, SmtpReceiver
from tests.conftest import reset_caches
from tests.integration.notify_support import HEAD, channel, rows, self_signed_tls

PASSWORD = "pw-smtp-never-in-clear"


@pytest.fixture
def tls(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context whose certificate the relay's default context trusts."""
    context, cert = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return context


@pytest.fixture
def smtp_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set ``MKTFLOW_SMTP_*`` for a receiver's port, with a login (``relay``) whose password
    is in ``TEST_SMTP_PASSWORD``."""
    def use(port: int, **extra: str) -> None:
        given = {"HOST": "127.0.0.1", "PORT": str(port), "USERNAME": "relay",
                 "PASSWORD_ENV": "TEST_SMTP_PASSWORD", "TIMEOUT_S": "5", **extra}
        for name, value in given.items():
            monkeypatch.setenv(f"MKTFLOW_SMTP_{name}", value)
        monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
        monkeypatch.setenv("MKTFLOW_RELAY_MAX_ATTEMPTS", "1")
        reset_caches()

    yield use
    reset_caches()


def _a_message(db: Any) -> None:
    """One e-mail waiting in the outbox: a handoff offered to tech, whose channel is e-mail."""
    from mktflow.engine import handoffs

    channel(db, "tech", "email", to="tech-team@example.com")
    handoffs.offer(db.uow(), actor_email=HEAD, from_department="marketing",
                   to_department="tech", title="Banner", due_at=None)


def test_a_login_without_tls_stops_the_relay_before_it_sends_anything(
        cli: Any, db: Any, smtp_settings: Callable[..., None]) -> None:
    with SmtpReceiver(credentials=("relay", PASSWORD)) as smtp:  # AUTH offered in clear
        smtp_settings(smtp.port)
        _a_message(db)
        drained = cli("outbox", "drain")
        relayed = cli("outbox", "relay", "--json")
    assert smtp.logins == [] and smtp.mails == []  # the password never left
    for run in (drained, relayed):
        assert run.exit_code == 2, run.stdout + run.stderr
        for setting in ("MKTFLOW_SMTP_USERNAME", "MKTFLOW_SMTP_STARTTLS", "MKTFLOW_SMTP_TLS",
                        "MKTFLOW_SMTP_ALLOW_PLAINTEXT_AUTH"):
            assert setting in run.stderr, run.stderr
    (msg,) = rows(db, event="handoff.offered")
    assert (msg.status, msg.attempts, msg.last_error) == ("pending", 0, None)  # not lost


def test_the_explicit_insecure_setting_lets_the_login_cross_in_clear(
        cli: Any, db: Any, smtp_settings: Callable[..., None],
        caplog: pytest.LogCaptureFixture) -> None:
    with SmtpReceiver(credentials=("relay", PASSWORD)) as smtp:
        smtp_settings(smtp.port, ALLOW_PLAINTEXT_AUTH="true")
        _a_message(db)
        with caplog.at_level(logging.WARNING, logger="mktflow.notify.relay"):
            sent = cli("outbox", "drain", "--json")
    assert sent.exit_code == 0 and sent.json()["sent"] == 1, sent.stdout + sent.stderr
    assert smtp.logins == [ReceivedLogin("relay", tls=False)]
    assert "crosses the network unencrypted" in caplog.text


def test_a_login_goes_over_starttls(cli: Any, db: Any, tls: ssl.SSLContext,
                                    smtp_settings: Callable[..., None]) -> None:
    with SmtpReceiver(credentials=("relay", PASSWORD), tls_context=tls) as smtp:
        smtp_settings(smtp.port, STARTTLS="true")
        _a_message(db)
        sent = cli("outbox", "drain", "--json")
    assert sent.exit_code == 0 and sent.json()["sent"] == 1, sent.stdout + sent.stderr
    assert smtp.logins == [ReceivedLogin("relay", tls=True)]
    (mail,) = smtp.mails
    assert mail.tls and mail.rcpt_tos == ["tech-team@example.com"]


def test_a_login_goes_over_tls_from_the_first_byte(
        cli: Any, db: Any, tls: ssl.SSLContext, smtp_settings: Callable[..., None]) -> None:
    with SmtpReceiver(credentials=("relay", PASSWORD), tls_context=tls,
                      implicit_tls=True) as smtp:  # SMTPS, as on port 465
        smtp_settings(smtp.port, TLS="true")
        _a_message(db)
        sent = cli("outbox", "drain", "--json")
    assert sent.exit_code == 0 and sent.json()["sent"] == 1, sent.stdout + sent.stderr
    assert smtp.logins == [ReceivedLogin("relay", tls=True)]
    assert [m.tls for m in smtp.mails] == [True]


def test_a_server_without_starttls_gets_no_login_and_no_mail(
        cli: Any, db: Any, smtp_settings: Callable[..., None]) -> None:
    """STARTTLS asked for and not offered: the relay does not fall back to clear text."""
    with SmtpReceiver(credentials=("relay", PASSWORD)) as smtp:
        smtp_settings(smtp.port, STARTTLS="true")
        _a_message(db)
        done = cli("outbox", "drain", "--json")
    assert done.exit_code == 0 and done.json()["sent"] == 0
    assert smtp.logins == [] and smtp.mails == []
    (msg,) = rows(db, event="handoff.offered")
    assert msg.status == "dead" and "STARTTLS" in (msg.last_error or ""), msg.last_error


def test_the_settings_are_checked_where_a_relay_is_built(db: Any) -> None:
    plain = Settings(smtp_host="127.0.0.1", smtp_username="relay")
    with pytest.raises(ConfigError, match="MKTFLOW_SMTP_ALLOW_PLAINTEXT_AUTH"):
        build_relay(plain, engine=db.engine, env={})
    both = Settings(smtp_host="127.0.0.1", smtp_starttls=True, smtp_tls=True)
    with pytest.raises(ConfigError, match="both set"):
        build_relay(both, engine=db.engine, env={})
    # no login, no password to protect: plain SMTP stays possible (a relay on the same host)
    with build_relay(Settings(smtp_host="127.0.0.1"), engine=db.engine, env={}) as relay:
        assert relay.deliverer.mailer is not None


def test_serve_refuses_to_start_with_a_login_in_clear(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``mktflow serve`` checks the SMTP settings before it starts anything (no server, no
    API, no schedule), as the relay it serves would refuse them."""
    from typer.testing import CliRunner

    from mktflow.cli import app

    for name, value in {"HOST": "127.0.0.1", "USERNAME": "relay"}.items():
        monkeypatch.setenv(f"MKTFLOW_SMTP_{name}", value)
    # were the check missing, serve would stop at once here, not start a Prefect server
    monkeypatch.setenv("MKTFLOW_PREFECT_API_URL", "http://127.0.0.1:9/api")
    reset_caches()
    try:
        done = CliRunner().invoke(app, ["serve", "--no-api", "--only", "sla-sweep"])
    finally:
        reset_caches()
    assert done.exit_code == 2, done.output
    assert "MKTFLOW_SMTP_ALLOW_PLAINTEXT_AUTH" in done.stderr
