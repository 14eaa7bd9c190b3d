"""Stand-ins for the outside world of notifications, for tests and benchmarks.

``FakeMailer`` is a fake (the fake clock is ``mktflow.domain.clock.FrozenClock``);
``WebhookReceiver`` (HTTP) and ``SmtpReceiver`` (SMTP, needs the ``aiosmtpd`` dev dependency)
are real servers on 127.0.0.1 that record what they receive and can be told to fail or hang.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mktflow.domain.errors import DeliveryFailed

__all__ = [
    "FakeMailer",
    "ReceivedLogin",
    "ReceivedMail",
    "ReceivedRequest",
    "SmtpReceiver",
    "WebhookReceiver",
]


class FakeMailer:
    """Records e-mails instead of sending them; ``fail`` makes every send fail with it."""

    def __init__(self, fail: DeliveryFailed | None = None) -> None:
        self.sent: list[EmailMessage] = []
        self.fail = fail

    def send(self, message: EmailMessage) -> None:
        """Record the message, or raise the configured failure."""
        if self.fail is not None:
            raise self.fail
        self.sent.append(message)


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the webhook receiver got."""

    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    client: tuple[str, int]


#: Decides the answer to a request: (status, seconds to wait before answering), or with a
#: third item, headers to send with it (``{"Retry-After": "30"}``).
Responder = Callable[[ReceivedRequest],
                     tuple[int, float] | tuple[int, float, dict[str, str]]]


#: For a request, seconds between the bytes of the answer (0: write it at once).
Trickler = Callable[[ReceivedRequest], float]


class WebhookReceiver:
    """A real HTTP/1.1 server (keep-alive) on 127.0.0.1 recording every POST it receives.

    ``respond`` picks the status and a wait before answering; ``trickle`` makes it write the
    answer one byte at a time with that many seconds between bytes (a slow-loris receiver).
    """

    def __init__(self, respond: Responder | None = None,
                 trickle: Trickler | None = None) -> None:
        self.requests: list[ReceivedRequest] = []
        self.respond: Responder = respond or (lambda _r: (200, 0.0))
        self.trickle: Trickler = trickle or (lambda _r: 0.0)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def keys(self) -> list[str]:
        """The Idempotency-Key of every request received, in order."""
        with self._lock:
            return [r.headers.get("idempotency-key", "") for r in self.requests]

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = ReceivedRequest(
                    path=self.path, headers={k.lower(): v for k, v in self.headers.items()},
                    body=body, client=self.client_address[:2])
                with receiver._lock:
                    receiver.requests.append(request)
                answer = receiver.respond(request)
                status, delay = answer[0], answer[1]
                extra: dict[str, str] = answer[2] if len(answer) > 2 else {}
                if delay:
                    time.sleep(delay)
                reply = b'{"ok": true}' if status < 300 else b'{"ok": false}'
                pause = receiver.trickle(request)
                try:
                    if pause:
                        self._trickle(status, reply, pause)
                        return
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the client gave up waiting (a "hanging" receiver)

            def _trickle(self, status: int, reply: bytes, pause: float) -> None:
                answer = (f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(reply)}\r\n\r\n").encode() + reply
                for i in range(len(answer)):
                    self.wfile.write(answer[i:i + 1])
                    self.wfile.flush()
                    time.sleep(pause)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler


@dataclass(frozen=True)
class ReceivedMail:
    """One e-mail the SMTP receiver accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool = False  # received over TLS (SMTPS, or after STARTTLS)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ReceivedLogin:
    """One AUTH the SMTP receiver was sent: the user name, and whether it came over TLS (a
    login in clear is readable by anyone on the path)."""

    login: str
    tls: bool


def _over_tls(server: Any) -> bool:
    """Whether an aiosmtpd session's connection is encrypted (SMTPS, or after STARTTLS)."""
    transport = getattr(server, "transport", None)
    return transport is not None and transport.get_extra_info("ssl_object") is not None


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; with ``credentials`` it checks AUTH (and
    records every login, ``logins``, in clear or not); with ``tls_context`` it offers STARTTLS
    and refuses mail (and AUTH) before it, or with ``implicit_tls`` speaks TLS from the first
    byte (SMTPS); with ``delay_s`` it waits that long before every reply (the greeting
    included); with ``answer_rcpt`` it answers each RCPT TO with what that function returns for
    the address and the number of RCPTs seen so far (``"451 4.7.1 Greylisted"``, ``"550 5.1.1
    No such user"``; ``"250 OK"`` accepts). A mail counts as received (``mails``) once its data
    is in, before the reply to it: a client that gives up while waiting for that reply has still
    delivered it."""

    def __init__(self, credentials: tuple[str, str] | None = None,
                 tls_context: ssl.SSLContext | None = None, delay_s: float = 0.0,
                 implicit_tls: bool = False,
                 answer_rcpt: Callable[[str, int], str] | None = None) -> None:
        import asyncio

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP, AuthResult

        self.mails: list[ReceivedMail] = []
        self.logins: list[ReceivedLogin] = []
        self.rcpts: list[tuple[str, str]] = []  # every RCPT TO and the answer it got
        self.port = free_port()
        receiver = self

        class Handler:
            async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any,
                                  address: str, _options: Any) -> str:
                reply = answer_rcpt(address, len(receiver.rcpts)) if answer_rcpt else "250 OK"
                receiver.rcpts.append((address, reply))
                if reply.startswith("250"):
                    envelope.rcpt_tos.append(address)
                return reply

            async def handle_DATA(self, server: Any, _session: Any, envelope: Any) -> str:
                parsed = message_from_bytes(envelope.original_content, policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                receiver.mails.append(ReceivedMail(envelope.mail_from,
                                                   list(envelope.rcpt_tos), parsed,
                                                   tls=_over_tls(server)))
                return "250 Message accepted"

        def authenticate(server: Any, _session: Any, _envelope: Any, _mechanism: str,
                         data: Any) -> AuthResult:
            receiver.logins.append(ReceivedLogin(data.login.decode(), _over_tls(server)))
            ok = credentials is not None and (
                data.login.decode(), data.password.decode()) == credentials
            return AuthResult(success=ok, handled=False)  # let aiosmtpd answer 535

        options: dict[str, Any] = {}
        if credentials:
            # AUTH over plain text on 127.0.0.1 only; a wrong login is still refused (535).
            options = {"authenticator": authenticate, "auth_require_tls": False}
        if tls_context is not None and implicit_tls:
            options.update(ssl_context=tls_context)  # TLS from the first byte: AUTH is safe
        elif tls_context is not None:
            options.update(tls_context=tls_context, require_starttls=True,
                           auth_require_tls=True)
        class SlowSMTP(SMTP):
            async def push(self, status: Any) -> None:
                line = status if isinstance(status, str) else status.decode()
                if line[3:4] == " ":  # the last line of a reply
                    await asyncio.sleep(delay_s)
                await super().push(status)

        class SlowController(Controller):
            def factory(self) -> SMTP:
                return SlowSMTP(self.handler, **self.SMTP_kwargs)

        controller_class = SlowController if delay_s else Controller
        self._controller = controller_class(Handler(), hostname="127.0.0.1", port=self.port,
                                            ready_timeout=30, **options)

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()
