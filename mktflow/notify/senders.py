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
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, Protocol

import httpcore
import httpx

from mktflow.domain.errors import ConfigError, DeliveryFailed  # DeliveryFailed: its old home
from mktflow.domain.organisation import ChannelType
from mktflow.engine.channels import read_secret
from mktflow.notify.render import (
    USER_AGENT,
    Envelope,
    email_message,
    slack_payload,
    webhook_body,
    webhook_headers,
    with_sign_in_link,
)

__all__ = [
    "BUSY_HTTP_STATUSES",
    "TEMPORARY_HTTP_STATUSES",
    "Deliverer",
    "DeliveryFailed",
    "HttpPoster",
    "HttpReply",
    "HttpxPoster",
    "Mailer",
    "SmtpMailer",
    "http_destination",
    "http_is_temporary",
    "retry_after_s",
    "smtp_is_temporary",
]

#: HTTP answers worth sending again (RFC 9110 and common practice): the request timed out (408),
#: came too early (425), too many requests (429), and the server errors 500, 502, 503, 504 (and
#: any other 5xx but 501 and 505, such as a CDN's 520 to 524). Every other answer that is not 2xx
#: (3xx: the hook moved; 4xx: the request or its credentials are wrong; 501, 505) will not
#: change by sending the same request again: the message is dead-lettered at once.
TEMPORARY_HTTP_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: HTTP answers that say the receiver as a whole is limiting or overloaded: its destination is
#: paused, not just the message (``DeliveryFailed.busy``).
BUSY_HTTP_STATUSES = frozenset({429, 503})
#: 5xx answers that are not temporary: the server does not implement the method or version.
_PERMANENT_5XX = frozenset({501, 505})


def http_is_temporary(status: int) -> bool:
    """Whether an HTTP answer that is not 2xx is worth trying again (see
    ``TEMPORARY_HTTP_STATUSES``)."""
    return status in TEMPORARY_HTTP_STATUSES or (500 <= status < 600
                                                 and status not in _PERMANENT_5XX)


def smtp_is_temporary(code: int) -> bool:
    """Whether an SMTP reply code is a temporary failure (RFC 5321 §4.2.1: 4yz, "transient
    negative completion", e.g. 421, 450, 451 greylisting, 452) rather than a permanent one
    (5yz, e.g. 550 no such mailbox, 554)."""
    return 400 <= code < 500


@dataclass(frozen=True)
class HttpReply:
    """What a receiver answered: its status and its ``Retry-After`` header as sent (seconds or
    an HTTP date; ``retry_after_s`` reads it)."""

    status: int
    retry_after: str | None = None

    def retry_after_s(self, now: datetime) -> float | None:
        """How long the receiver asks us to wait, in seconds from ``now`` (never negative), or
        None when it did not say or said something unreadable."""
        return retry_after_s(self.retry_after, now)


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as seconds from
    ``now``; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class HttpPoster(Protocol):
    """Posts bytes to a URL; raises DeliveryFailed when the receiver cannot be reached."""

    def post(self, url: str, *, content: bytes, headers: Mapping[str, str]) -> HttpReply: ...


class Mailer(Protocol):
    """Sends one e-mail; raises DeliveryFailed when it cannot."""

    def send(self, message: EmailMessage) -> None: ...


@lru_cache(maxsize=1024)  # asked for every send; channels are few
def http_destination(url: str) -> str | None:
    """``http <host>:<port>`` of a URL (its port, or its scheme's), None if it is no URL."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    if not parsed.host:
        return None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"http {parsed.host}:{port}"


def host_of(url: str) -> str:
    """The host (and port) of ``url``, the only part of it error messages show."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "an invalid URL"
    return f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host


class _HideChannelUrls(logging.Filter):
    """Show only the host of channel URLs in httpx's own request log.

    httpx logs every request's full URL at INFO; a Slack-compatible hook carries its token in
    the path, so the relay's requests are logged as ``scheme://host/…`` instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()  # as httpx logs them
        self._seen: set[str] = set()  # as channels give them

    def hide(self, url: str) -> None:
        """Hide ``url``'s path and query in httpx's log from now on."""
        if url not in self._seen:  # parsed once per channel URL, not once per send
            self.urls.add(str(httpx.URL(url)))
            self._seen.add(url)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 1 and str(args[1]) in self.urls:
            url = httpx.URL(str(args[1]))
            record.args = (args[0], f"{url.scheme}://{host_of(str(url))}/…", *args[2:])
        return True


_hide_urls = _HideChannelUrls()
logging.getLogger("httpx").addFilter(_hide_urls)


_deadline = threading.local()  # the monotonic time the current thread's send must end by


def _left(timeout: float | None, exc: type[Exception]) -> float | None:
    """The timeout for one socket operation: never past the current send's deadline."""
    end: float | None = getattr(_deadline, "end", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise exc("the whole-send deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the deadline of the send using it.

    httpx's timeouts are per operation: a receiver trickling one byte just inside the read
    timeout keeps a request open for ever. A pooled connection serves one send at a time, so
    the deadline is the calling thread's (``_deadline``).
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner
        # asked of every pooled connection on every request (is it still readable?): the
        # inner stream's own method, without a call through this one
        self.get_extra_info = inner.get_extra_info  # type: ignore[method-assign]

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self.inner.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> object:
        return self.inner.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    """httpcore's socket backend, with every connection bounded by the send's deadline."""

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(super().connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options))


#: httpcore's errors and httpx's of the same name, the most specific first.
_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = tuple(
    (getattr(httpcore, name), getattr(httpx, name)) for name in (
        "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout", "TimeoutException",
        "ConnectError", "ReadError", "WriteError", "NetworkError", "LocalProtocolError",
        "RemoteProtocolError", "ProtocolError", "UnsupportedProtocol", "ProxyError"))


_CORE_ERRORS = tuple(core for core, _ in _HTTPX_ERRORS)


def _as_httpx(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    """httpcore's error as httpx's, as ``httpx.HTTPTransport`` raises it."""
    mapped = next(m for core, m in _HTTPX_ERRORS if isinstance(exc, core))
    return mapped(str(exc), request=request)


class _DeadlineResponseStream(httpx.SyncByteStream):
    def __init__(self, inner: Iterable[bytes], request: httpx.Request) -> None:
        self._inner, self._request = inner, request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._inner
        except _CORE_ERRORS as exc:
            raise _as_httpx(exc, self._request) from exc

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class _DeadlineTransport(httpx.BaseTransport):
    """An httpx transport on httpcore's connection pool over ``_DeadlineBackend``.

    httpx's own ``HTTPTransport`` does the same, with httpcore's plain socket backend and no
    setting to choose another; both are public in httpcore (``ConnectionPool(network_backend=
    …)``, ``SyncBackend``, ``NetworkStream``), so this transport is built from them.
    """

    def __init__(self, *, limits: httpx.Limits, socket_options: list[tuple[int, int, int]]
                 ) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=_DeadlineBackend(),
            socket_options=socket_options)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions)
        try:
            answer = self._pool.handle_request(core)
        except _CORE_ERRORS as exc:
            raise _as_httpx(exc, request) from exc
        assert isinstance(answer.stream, Iterable)
        return httpx.Response(status_code=answer.status, headers=answer.headers,
                              stream=_DeadlineResponseStream(answer.stream, request),
                              extensions=answer.extensions)

    def close(self) -> None:
        self._pool.close()


class HttpxPoster:
    """The real HttpPoster: one shared ``httpx.Client`` (connection reuse, limits), and one
    deadline for the whole request (connect + write + read), ``timeout_s``."""

    def __init__(self, client: httpx.Client, *, timeout_s: float | None = None) -> None:
        self.client, self.timeout_s = client, timeout_s

    @classmethod
    def create(cls, *, timeout_s: float, concurrency: int) -> HttpxPoster:
        """A poster whose pool keeps one connection per concurrent send; each send, from
        connecting to the last byte of the answer, takes at most ``timeout_s`` seconds."""
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        # Without TCP_NODELAY a request written as headers then body waits for the receiver's
        # delayed ACK (~40 ms on Linux) on every reused connection.
        transport = _DeadlineTransport(
            limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        return cls(httpx.Client(timeout=timeout_s, transport=transport,
                                headers={"User-Agent": USER_AGENT}), timeout_s=timeout_s)

    def post(self, url: str, *, content: bytes, headers: Mapping[str, str]) -> HttpReply:
        try:
            _hide_urls.hide(url)
            # every socket operation of this send, in this thread, ends by this deadline
            previous = getattr(_deadline, "end", None)
            _deadline.end = None if self.timeout_s is None else time.monotonic() + self.timeout_s
            try:
                response = self.client.post(url, content=content, headers=dict(headers))
            finally:
                _deadline.end = previous
        except httpx.TimeoutException as exc:
            within = f"{self.timeout_s:g} s, " if self.timeout_s else ""
            raise DeliveryFailed(f"{host_of(url)} did not answer in time ({within}"
                                 f"{type(exc).__name__}); it may have got the message: every "
                                 "attempt carries the same Idempotency-Key", busy=True) from None
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"cannot reach {host_of(url)} ({type(exc).__name__})",
                                 busy=True) from None
        return HttpReply(response.status_code, response.headers.get("Retry-After"))

    def close(self) -> None:
        """Close the pooled connections."""
        self.client.close()


class SmtpMailer:
    """The real Mailer: one SMTP conversation per message, over TLS when configured, with a
    login if a user name is given.

    ``starttls`` upgrades the connection with STARTTLS (refusing a server that does not offer
    it); ``tls`` speaks TLS from the first byte (SMTPS, port 465); both verify the server's
    certificate. A user name needs one of them: the login (``AUTH PLAIN``/``LOGIN``) carries
    the password readable by anyone on the path otherwise. Only ``allow_plaintext_auth`` (the
    operator's explicit, insecure choice) lets it log in without TLS.

    ``timeout_s`` bounds the whole conversation (connect, greeting, EHLO, STARTTLS, AUTH, MAIL,
    RCPT, DATA, QUIT), not each command: at the deadline the connection is shut.

    Raises ConfigError when built with a user name and no TLS (unless ``allow_plaintext_auth``)
    or with both ``starttls`` and ``tls``: the relay refuses to start, so no message is tried,
    let alone dead-lettered, and none sends the password in clear.
    """

    def __init__(self, *, host: str, port: int, starttls: bool = False, tls: bool = False,
                 username: str | None = None, password: str | None = None,
                 timeout_s: float = 10.0, allow_plaintext_auth: bool = False) -> None:
        if starttls and tls:
            raise ConfigError("MKTFLOW_SMTP_STARTTLS and MKTFLOW_SMTP_TLS are both set: choose "
                              "one (STARTTLS on port 587, or TLS from the start on port 465)")
        if username and not (starttls or tls or allow_plaintext_auth):
            raise ConfigError(
                "MKTFLOW_SMTP_USERNAME is set but the SMTP connection would not be encrypted, "
                "so the password would cross the network in clear: set MKTFLOW_SMTP_STARTTLS="
                "true (port 587) or MKTFLOW_SMTP_TLS=true (port 465); only if the server is "
                "reachable by nobody else, MKTFLOW_SMTP_ALLOW_PLAINTEXT_AUTH=true (insecure)")
        self.host, self.port, self.starttls, self.tls = host, port, starttls, tls
        self.username, self._password, self.timeout_s = username, password, timeout_s
        self.allow_plaintext_auth = allow_plaintext_auth

    def send(self, message: EmailMessage) -> None:
        where = f"SMTP server {self.host}:{self.port}"
        smtp = _DeadlineSMTP(self.host, time.monotonic() + self.timeout_s, timeout=self.timeout_s,
                             tls_context=ssl.create_default_context() if self.tls else None)
        watchdog = threading.Timer(self.timeout_s, smtp.expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            smtp.connect(self.host, self.port)
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                if not (smtp.encrypted or self.allow_plaintext_auth):  # never the password in clear
                    raise DeliveryFailed(f"{where}: the connection is not encrypted; the login "
                                         "was not sent", permanent=True)
                smtp.login(self.username, self._password or "")
            smtp.send_message(message)
            with suppress(smtplib.SMTPException, OSError):  # accepted: a failed QUIT is no failure
                smtp.quit()
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refused(where, exc.recipients) from None
        except smtplib.SMTPAuthenticationError as exc:
            # The relay's own login is wrong (a setting), not the message: fixing
            # MKTFLOW_SMTP_USERNAME / the password delivers it. The server waits meanwhile,
            # so it does not see a wrong login per message (and lock the account).
            raise DeliveryFailed(
                f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)} to the relay's "
                "login (check MKTFLOW_SMTP_USERNAME and its password; tried again later)",
                busy=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            # smtplib turns a socket timeout into SMTPServerDisconnected (context: the timeout)
            if smtp.expired or isinstance(exc, TimeoutError) or isinstance(
                    exc.__context__, TimeoutError):
                raise DeliveryFailed(
                    f"{where} did not finish the conversation in time ({self.timeout_s:g} s); "
                    "it may have got the message: every attempt carries the same Message-ID",
                    busy=True) from None
            if isinstance(exc, smtplib.SMTPResponseException):
                raise _answered(where, exc.smtp_code, exc.smtp_error) from None
            raise DeliveryFailed(f"{where}: {type(exc).__name__}: {exc}",
                                 busy=isinstance(exc, OSError)) from None
        finally:
            watchdog.cancel()
            smtp.close()


class _DeadlineSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` whose every socket operation ends by one deadline; ``expire`` (the
    watchdog) shuts the socket when a server trickles its answers past it. With
    ``tls_context`` it speaks TLS from the first byte (as ``smtplib.SMTP_SSL`` does)."""

    def __init__(self, host: str, end: float, *, timeout: float,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.end, self.expired = end, False
        self._tls_context = tls_context  # TLS from the first byte (SMTPS)
        super().__init__(timeout=timeout)  # no host: connect() comes once the watchdog runs
        self._host = host  # what STARTTLS and SMTPS check the certificate against

    @property
    def encrypted(self) -> bool:
        """Whether the conversation runs over TLS now (SMTPS, or after STARTTLS)."""
        return isinstance(self.sock, ssl.SSLSocket)

    def _left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            self.expired = True
            raise TimeoutError("the SMTP conversation's deadline has passed")
        return left

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock: socket.socket = super()._get_socket(  # type: ignore[misc]
            host, port, min(timeout, self._left()))
        if self._tls_context is None:
            return sock
        return self._tls_context.wrap_socket(sock, server_hostname=self._host)

    def send(self, s: Any) -> None:
        if self.sock is not None:
            self.sock.settimeout(self._left())
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        if self.sock is not None:
            self.sock.settimeout(self._left())
        return super().getreply()

    def expire(self) -> None:
        """Called at the deadline: stop the conversation wherever it is."""
        self.expired = True
        sock = self.sock
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else raw


def _answered(where: str, code: int, text: bytes | str) -> DeliveryFailed:
    """The failure an SMTP reply stands for: 4xx temporary (421: the server closes the
    connection, so the whole server waits), 5xx permanent; with the server's own words."""
    reply = f"{where} answered {code} {_text(text)}".strip()
    if smtp_is_temporary(code):
        return DeliveryFailed(f"{reply} (temporary: tried again later)", busy=code == 421)
    return DeliveryFailed(reply, permanent=True)


def _refused(where: str, recipients: Mapping[str, tuple[int, bytes | str]]) -> DeliveryFailed:
    """The failure of a refused RCPT: permanent only when every recipient was refused for good
    (5xx); a 4xx (greylisting's ``451 4.7.1``, a full mailbox's 452) is tried again later."""
    answers = "; ".join(f"{who}: {code} {_text(text)}".strip()
                        for who, (code, text) in sorted(recipients.items()))
    if all(not smtp_is_temporary(code) for code, _ in recipients.values()):
        return DeliveryFailed(f"{where} refused the recipient ({answers})", permanent=True)
    return DeliveryFailed(f"{where} deferred the recipient ({answers}; temporary: tried "
                          "again later)",
                          busy=any(code == 421 for code, _ in recipients.values()))


class Deliverer:
    """Sends one envelope over its channel: signed webhook, Slack-compatible hook, or e-mail.

    ``sign_in_key`` makes the links of one-time sign-in messages as they are sent
    (``render.with_sign_in_link``); without it they are dead-lettered saying why.
    """

    def __init__(
        self,
        *,
        http: HttpPoster,
        mailer: Mailer | None,
        env: Mapping[str, str],
        sender_address: str,
        clock: Callable[[], datetime],
        sign_in_key: bytes | None = None,
    ) -> None:
        self.http, self.mailer, self.env = http, mailer, env
        self.sender_address, self.clock = sender_address, clock
        self.sign_in_key = sign_in_key

    def deliver(self, envelope: Envelope) -> None:
        """Send it, or raise DeliveryFailed."""
        envelope = with_sign_in_link(envelope, self.sign_in_key)
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
        """Raise DeliveryFailed unless the answer is 2xx: temporary or permanent as
        ``http_is_temporary`` says, ``busy`` for 429/503, with the Retry-After it gave."""
        if 200 <= reply.status < 300:
            return
        raise DeliveryFailed(f"{host_of(e.url or '')} answered HTTP {reply.status}",
                             permanent=not http_is_temporary(reply.status),
                             retry_after_s=reply.retry_after_s(self.clock()),
                             busy=reply.status in BUSY_HTTP_STATUSES)

    def destination(self, channel_type: str | None, url: str | None) -> str | None:
        """Where a message over a channel of this type and URL goes, as the relays pause it:
        ``http <host>:<port>`` of a webhook or Slack hook, ``smtp <host>:<port>`` of the SMTP
        server; None when it cannot be told (no channel, no URL, e-mail off)."""
        if channel_type in (ChannelType.WEBHOOK, ChannelType.SLACK) and url:
            return http_destination(url)
        if channel_type == ChannelType.EMAIL and self.mailer is not None:
            host, port = getattr(self.mailer, "host", None), getattr(self.mailer, "port", None)
            return f"smtp {host}:{port}" if host else "smtp"
        return None

    def _email(self, e: Envelope) -> None:
        if self.mailer is None:
            raise DeliveryFailed("e-mail is not configured: set MKTFLOW_SMTP_HOST")
        self.mailer.send(email_message(e, sender=self.sender_address))
