"""Sending one message over its channel: the HTTP and SMTP dependencies behind small Protocols.

``HttpPoster`` and ``Mailer`` are what the relay needs from the outside world; ``HttpxPoster``
and ``SmtpMailer`` are the real ones (``httpx.MockTransport`` and ``FakeMailer`` stand in for
them in tests). ``Deliverer`` picks the right one for a channel type and raises
``DeliveryFailed`` when an attempt fails, saying whether retrying can help.

Error messages name the receiving host, never a URL's path or query (Slack hook URLs carry
their token there) and never a secret.
"""

from __future__ import annotations

import json
import logging
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

import httpx

from mktflow.domain.errors import DeliveryFailed  # re-exported: its old home
from mktflow.domain.organisation import ChannelType
from mktflow.engine.channels import read_secret
from mktflow.notify.render import (
    USER_AGENT,
    Envelope,
    email_message,
    slack_payload,
    webhook_body,
    webhook_headers,
)

__all__ = [
    "PERMANENT_HTTP_STATUSES",
    "Deliverer",
    "DeliveryFailed",
    "HttpPoster",
    "HttpReply",
    "HttpxPoster",
    "Mailer",
    "SmtpMailer",
]

#: Answers that will not change by sending again: the message is dead-lettered at once.
#: Everything else (5xx, 408, 429, 401/403 after a secret is fixed, timeouts) is retried.
PERMANENT_HTTP_STATUSES = frozenset({400, 404, 405, 410, 413, 422})


@dataclass(frozen=True)
class HttpReply:
    """What a receiver answered: its status and, for 429/503, how long it asks us to wait."""

    status: int
    retry_after_s: float | None = None


class HttpPoster(Protocol):
    """Posts bytes to a URL; raises DeliveryFailed when the receiver cannot be reached."""

    def post(self, url: str, *, content: bytes, headers: Mapping[str, str]) -> HttpReply: ...


class Mailer(Protocol):
    """Sends one e-mail; raises DeliveryFailed when it cannot."""

    def send(self, message: EmailMessage) -> None: ...


def host_of(url: str) -> str:
    """The host (and port) of ``url``, the only part of it error messages show."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "an invalid URL"
    return f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class _HideChannelUrls(logging.Filter):
    """Show only the host of channel URLs in httpx's own request log.

    httpx logs every request's full URL at INFO; a Slack-compatible hook carries its token in
    the path, so the relay's requests are logged as ``scheme://host/…`` instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 1 and str(args[1]) in self.urls:
            url = httpx.URL(str(args[1]))
            record.args = (args[0], f"{url.scheme}://{host_of(str(url))}/…", *args[2:])
        return True


_hide_urls = _HideChannelUrls()
logging.getLogger("httpx").addFilter(_hide_urls)


class HttpxPoster:
    """The real HttpPoster: one shared ``httpx.Client`` (connection reuse, timeouts, limits)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    @classmethod
    def create(cls, *, timeout_s: float, concurrency: int) -> HttpxPoster:
        """A poster whose pool keeps one connection per concurrent send."""
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        # Without TCP_NODELAY a request written as headers then body waits for the receiver's
        # delayed ACK (~40 ms on Linux) on every reused connection.
        transport = httpx.HTTPTransport(
            limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        return cls(httpx.Client(timeout=timeout_s, transport=transport,
                                headers={"User-Agent": USER_AGENT}))

    def post(self, url: str, *, content: bytes, headers: Mapping[str, str]) -> HttpReply:
        try:
            _hide_urls.urls.add(str(httpx.URL(url)))
            response = self.client.post(url, content=content, headers=dict(headers))
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"{host_of(url)} did not answer in time "
                                 f"({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"cannot reach {host_of(url)} ({type(exc).__name__})") from None
        return HttpReply(response.status_code, _retry_after(response.headers.get("Retry-After")))

    def close(self) -> None:
        """Close the pooled connections."""
        self.client.close()


class SmtpMailer:
    """The real Mailer: one SMTP conversation per message, STARTTLS and login if configured."""

    def __init__(self, *, host: str, port: int, starttls: bool = False,
                 username: str | None = None, password: str | None = None,
                 timeout_s: float = 10.0) -> None:
        self.host, self.port, self.starttls = host, port, starttls
        self.username, self._password, self.timeout_s = username, password, timeout_s

    def send(self, message: EmailMessage) -> None:
        where = f"SMTP server {self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            raise DeliveryFailed(f"{where} refused the recipient {refused}",
                                 permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"{where} answered {exc.smtp_code}: "
                                 f"{_text(exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"{where}: {type(exc).__name__}: {exc}") from None


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else raw


class Deliverer:
    """Sends one envelope over its channel: signed webhook, Slack-compatible hook, or e-mail."""

    def __init__(
        self,
        *,
        http: HttpPoster,
        mailer: Mailer | None,
        env: Mapping[str, str],
        sender_address: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.http, self.mailer, self.env = http, mailer, env
        self.sender_address, self.clock = sender_address, clock

    def deliver(self, envelope: Envelope) -> None:
        """Send it, or raise DeliveryFailed."""
        kind = envelope.channel_type
        if kind == ChannelType.WEBHOOK:
            self._webhook(envelope)
        elif kind == ChannelType.SLACK:
            self._slack(envelope)
        elif kind == ChannelType.EMAIL:
            self._email(envelope)
        else:
            raise DeliveryFailed(f"unknown channel type {kind!r}", permanent=True)

    def _webhook(self, e: Envelope) -> None:
        secret = read_secret(e.secret_env, self.env)
        if secret is None:
            raise DeliveryFailed(f"cannot sign: environment variable {e.secret_env} (secret of "
                                 f"channel {e.channel_id}) is not set")
        body = webhook_body(e)
        timestamp = int(self.clock().timestamp())
        self._check(e, self.http.post(e.url or "", content=body, headers=webhook_headers(
            e, body=body, secret=secret, timestamp=timestamp)))

    def _slack(self, e: Envelope) -> None:
        body = json.dumps(slack_payload(e), ensure_ascii=False).encode()
        self._check(e, self.http.post(e.url or "", content=body, headers={
            "Content-Type": "application/json", "Idempotency-Key": e.id}))

    def _check(self, e: Envelope, reply: HttpReply) -> None:
        if 200 <= reply.status < 300:
            return
        raise DeliveryFailed(f"{host_of(e.url or '')} answered HTTP {reply.status}",
                             permanent=reply.status in PERMANENT_HTTP_STATUSES,
                             retry_after_s=reply.retry_after_s)

    def _email(self, e: Envelope) -> None:
        if self.mailer is None:
            raise DeliveryFailed("e-mail is not configured: set MKTFLOW_SMTP_HOST")
        self.mailer.send(email_message(e, sender=self.sender_address))
