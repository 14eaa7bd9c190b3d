"""A TCP proxy that a test puts between mktflow and PostgreSQL to make network faults real.

    proxy = FaultProxy(("127.0.0.1", 5432))           # PostgreSQL's address
    with proxy:                                         # listens on 127.0.0.1:<proxy.port>
        url = proxy.url(db.url)                         # the same database, through the proxy
        ...                                             # mktflow works normally ("pass")
        proxy.cut_after_commit()                        # the next COMMIT lands, its answer is lost
    proxy.cut_after_commit(matching="INSERT INTO auditentry")   # ... of a command's change
        proxy.refuse()                                  # as in a PostgreSQL restart
        proxy.stall()                                   # as in a hung network ...
        proxy.release()                                 # ... until now: bytes flow again

Modes, switchable at any time from the test's thread:

``pass``
    Bytes are forwarded both ways (the mode it starts in; ``release()`` returns to it).
``refuse``
    Every open connection is dropped at once (reset, both sides) and every new one is reset as
    soon as it is accepted: the client sees "server closed the connection unexpectedly" or
    "connection reset", as when PostgreSQL restarts.
``stall``
    Connections stay open (new ones are accepted and connected upstream) but no byte is
    forwarded either way: what was sent waits in the proxy, as in a hung network or a stopped
    server whose kernel still acknowledges. ``release()`` forwards what waited and goes on.
``cut_after_commit``
    The client's message that starts with ``COMMIT`` (a simple query ``Q`` or a ``Parse``) is
    forwarded to the server; the server's answer is read and thrown away, then both sides are
    closed. The transaction commits; the client never learns it. With ``matching``, only the
    COMMIT of a transaction that sent a statement containing that text is cut (others pass).
    After ``times`` cuts the proxy switches to the mode ``then`` (``pass`` by default;
    ``refuse`` makes the database unreachable right after the cut, so nobody can check what
    happened).
``cut_before_commit``
    The same cut, but the COMMIT is not forwarded: the server sees the connection end inside
    the transaction and rolls it back. The client cannot tell the two cuts apart.

The proxy speaks just enough of the PostgreSQL protocol to find message boundaries: it answers
a client's ``SSLRequest`` / ``GSSENCRequest`` with ``N`` itself (no TLS through the proxy, so
every message can be read), then splits the client's stream into messages. A test that needs
TLS cannot use it.

What passed is recorded in ``events`` (``Event``: when, which connection, what): connections
opened, refused and closed, each client message (its type and, for queries, the statement's
first 200 characters), the number of bytes the server sent, and each cut. ``statements()``
lists the SQL that reached the server; ``wait_for`` polls ``events`` with a deadline.

Threads, not asyncio: one accepting thread and two pumping threads per connection, all daemon
threads that end with ``close()``; none lets an exception escape (pytest treats an unhandled
thread exception as an error).
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.engine import make_url

__all__ = ["Event", "FaultProxy", "Mode"]

Mode = Literal["pass", "refuse", "stall", "cut_after_commit", "cut_before_commit"]

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_COMMIT = re.compile(rb"^\s*COMMIT\b", re.IGNORECASE)
_BEGIN = re.compile(rb"^\s*(BEGIN|START TRANSACTION)\b", re.IGNORECASE)
#: How long the proxy waits for the server's answer to a COMMIT it forwarded before cutting
#: anyway (the server may be slow; the cut must still come).
_ANSWER_WAIT_S = 10.0


@dataclass(frozen=True)
class Event:
    """One thing the proxy saw: ``kind`` is ``open``, ``refused``, ``client`` (a client message;
    ``detail`` is its type letter and, for ``Q``/``P``, its statement), ``server`` (``detail``:
    bytes the server sent), ``held`` (bytes kept back by a stall), ``cut`` or ``closed``."""

    at: float  # time.monotonic()
    link: int
    kind: str
    detail: str = ""


@dataclass
class _Link:
    """One client connection and its upstream connection."""

    number: int
    client: socket.socket
    server: socket.socket
    closed: threading.Event = field(default_factory=threading.Event)
    #: Set once the COMMIT to cut was forwarded: the server's next bytes are thrown away.
    cutting: threading.Event = field(default_factory=threading.Event)
    #: The statements sent since the transaction began (``matching`` looks in them).
    transaction: list[bytes] = field(default_factory=list)


class FaultProxy:
    """A TCP proxy on 127.0.0.1 in front of ``upstream`` whose faults a test switches on.

    See the module docstring for the modes. ``port`` is known once it is started (``start()``
    or ``with``). Methods are safe to call from any thread.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.events: list[Event] = []
        self._mode: Mode = "pass"
        self._cuts_left = 0
        self._then: Mode = "pass"
        self._matching: bytes | None = None
        self._cond = threading.Condition()
        self._links: dict[int, _Link] = {}
        self._numbers = iter(range(1, 1 << 30))
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- life -------------------------------------------------------------------------

    @classmethod
    def for_url(cls, database_url: str) -> FaultProxy:
        """A proxy in front of the server a database URL names."""
        url = make_url(database_url)
        return cls((url.host or "127.0.0.1", url.port or 5432))

    def start(self) -> FaultProxy:
        """Listen on a free port of 127.0.0.1 and accept connections."""
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        self._listener = listener
        self._spawn(self._accept, "accept")
        return self

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        assert self._listener is not None, "start the proxy first"
        return int(self._listener.getsockname()[1])

    def url(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by the proxy's."""
        url = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def close(self) -> None:
        """Stop accepting, drop every connection and wait for the threads (5 s at most)."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        self._drop_all("proxy closed")
        if self._listener is not None:
            self._listener.close()
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- modes ------------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        """The mode in force."""
        return self._mode

    def pass_through(self) -> None:
        """Forward everything (and what a stall held back)."""
        self._set("pass")

    release = pass_through

    def refuse(self) -> None:
        """Drop every connection and reset every new one until another mode is set."""
        self._set("refuse")
        self._drop_all("refused")

    def stall(self) -> None:
        """Keep connections open but forward nothing either way until ``release()``."""
        self._set("stall")

    def cut_after_commit(self, *, times: int = 1, then: Mode = "pass",
                         matching: str | None = None) -> None:
        """Let the next ``times`` COMMITs (of transactions that sent ``matching``, if given)
        reach the server, drop their answers and close both sides; then switch to ``then``."""
        self._arm("cut_after_commit", times, then, matching)

    def cut_before_commit(self, *, times: int = 1, then: Mode = "pass",
                          matching: str | None = None) -> None:
        """Close both sides instead of forwarding the next ``times`` COMMITs (of transactions
        that sent ``matching``, if given): the server rolls back; then switch to ``then``."""
        self._arm("cut_before_commit", times, then, matching)

    def _arm(self, mode: Mode, times: int, then: Mode, matching: str | None) -> None:
        with self._cond:
            self._cuts_left, self._then = times, then
            self._matching = matching.encode() if matching is not None else None
        self._set(mode)

    def _set(self, mode: Mode) -> None:
        with self._cond:
            self._mode = mode
            self._cond.notify_all()

    # --- what passed ------------------------------------------------------------------

    def statements(self) -> list[str]:
        """The SQL of every query and prepared statement the clients sent, in order."""
        return [e.detail[2:] for e in list(self.events)
                if e.kind == "client" and e.detail[:1] in ("Q", "P")]

    def cut_transactions(self) -> list[list[str]]:
        """For each cut so far, the statements of the transaction it cut (from its ``BEGIN``
        to its ``COMMIT``, on that connection), to check which change a test's cut hit."""
        events = list(self.events)
        found = []
        for cut in (e for e in events if e.kind == "cut"):
            sent = [e.detail[2:] for e in events if e.link == cut.link and e.kind == "client"
                    and e.detail[:1] in ("Q", "P") and e.at <= cut.at]
            begins = [i for i, sql in enumerate(sent) if sql.strip().upper() == "BEGIN"]
            found.append(sent[begins[-1]:] if begins else sent)
        return found

    def count(self, kind: str) -> int:
        """How many events of ``kind`` were recorded."""
        return sum(1 for e in list(self.events) if e.kind == kind)

    def wait_for(self, what: str, predicate: Callable[[list[Event]], bool],
                 timeout: float = 30.0) -> None:
        """Poll ``events`` until ``predicate`` holds; fail naming ``what`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate(list(self.events)):
            if time.monotonic() > deadline:
                raise AssertionError(f"the proxy did not see {what} within {timeout} s; "
                                     f"last events: {self.events[-10:]}")
            time.sleep(0.02)

    def _record(self, link: int, kind: str, detail: str = "") -> None:
        self.events.append(Event(time.monotonic(), link, kind, detail))

    # --- the threads ------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=self._guarded, args=(target, *args),
                                  name=f"fault-proxy-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    @staticmethod
    def _guarded(target: Callable[..., None], *args: object) -> None:
        with suppress(Exception):  # a dropped socket ends a pump; nothing else to do
            target(*args)

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            number = next(self._numbers)
            if self._mode == "refuse":
                self._record(number, "refused")
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError as exc:
                self._record(number, "refused", f"upstream: {exc}")
                _reset(client)
                continue
            for sock in (client, server):
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(number, client, server)
            with self._cond:
                self._links[number] = link
            self._record(number, "open")
            self._spawn(self._client_to_server, f"{number}-up", link)
            self._spawn(self._server_to_client, f"{number}-down", link)

    def _hold(self, link: _Link) -> bool:
        """Wait while the proxy stalls; False when the link is closed or refused meanwhile."""
        with self._cond:
            while self._mode == "stall" and not link.closed.is_set() \
                    and not self._stopping.is_set():
                self._cond.wait(0.1)
            return not link.closed.is_set() and self._mode != "refuse"

    def _client_to_server(self, link: _Link) -> None:
        """Forward the client's messages; answer TLS requests ``N``; cut after a COMMIT."""
        buffer = b""
        started = False  # after the startup message, every message has a type byte
        while not link.closed.is_set():
            chunk = link.client.recv(65536)
            if not chunk:
                self._close(link, "client closed")
                return
            if self._mode == "stall":
                self._record(link.number, "held", f"{len(chunk)} bytes from the client")
            if not self._hold(link):
                return
            buffer += chunk
            out = bytearray()
            while True:
                message, buffer, started, reply = _next_message(buffer, started)
                if message is None:
                    break
                if reply:  # an SSLRequest / GSSENCRequest: no encryption through the proxy
                    link.client.sendall(reply)
                    continue
                self._record(link.number, "client", _describe(message, started))
                if message[:1] in (b"Q", b"P"):
                    statement = _statement(message)
                    if _BEGIN.match(statement):
                        link.transaction.clear()
                    link.transaction.append(statement)
                cut = self._take_cut(link) if _is_commit(message) else None
                if cut == "cut_before_commit":
                    if out:
                        link.server.sendall(bytes(out))
                    self._cut(link, forwarded=False)
                    return
                out += message
                if cut == "cut_after_commit":
                    # marked before the COMMIT goes up: its answer can come back, and the other
                    # pump forward it, before this thread runs again (seen at load 8: a claim
                    # answered 200 with no cut)
                    link.cutting.set()
                    link.server.sendall(bytes(out))
                    self._cut(link)
                    return
            if out:
                link.server.sendall(bytes(out))

    def _server_to_client(self, link: _Link) -> None:
        """Forward the server's bytes, unless they answer a COMMIT being cut."""
        while not link.closed.is_set():
            chunk = link.server.recv(65536)
            if not chunk:
                self._close(link, "server closed")
                return
            if link.cutting.is_set():
                self._record(link.number, "cut", f"the server's answer ({len(chunk)} bytes) "
                                                 "to COMMIT was dropped")
                self._close(link, "cut after COMMIT", reset=True)
                return
            if self._mode == "stall":
                self._record(link.number, "held", f"{len(chunk)} bytes from the server")
            if not self._hold(link):
                return
            self._record(link.number, "server", str(len(chunk)))
            link.client.sendall(chunk)

    def _take_cut(self, link: _Link) -> Mode | None:
        """The cut mode in force, counting this COMMIT as one of its cuts (then switching to
        the mode after it when it was the last); None when no cut is asked for (or its
        transaction did not send what the cut is ``matching``)."""
        with self._cond:
            mode = self._mode
            if mode not in ("cut_after_commit", "cut_before_commit") or self._cuts_left <= 0:
                return None
            if self._matching is not None and not any(
                    self._matching in sql for sql in link.transaction):
                return None
            self._cuts_left -= 1
            if self._cuts_left == 0:
                self._mode = self._then
                self._cond.notify_all()
            return mode

    def _cut(self, link: _Link, *, forwarded: bool = True) -> None:
        """The COMMIT went up (``forwarded``): wait for the server's answer (thrown away by the
        other pump: ``cutting`` is set before the COMMIT is forwarded), then close; or it did
        not: close at once. Then apply ``refuse`` if that is the mode after the cut."""
        link.cutting.set()
        if not forwarded:
            self._record(link.number, "cut", "COMMIT not forwarded")
            self._close(link, "cut before COMMIT", reset=True)
        elif not link.closed.wait(_ANSWER_WAIT_S):
            self._record(link.number, "cut", "no answer to COMMIT came: cut anyway")
            self._close(link, "cut after COMMIT", reset=True)
        if self._mode == "refuse":
            self._drop_all("refused")

    def _close(self, link: _Link, why: str, *, reset: bool = False) -> None:
        if link.closed.is_set():
            return
        link.closed.set()
        with self._cond:
            self._links.pop(link.number, None)
            self._cond.notify_all()
        for sock in (link.client, link.server):
            if reset:
                _reset(sock, wake=True)
            else:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._record(link.number, "closed", why)

    def _drop_all(self, why: str) -> None:
        with self._cond:
            links = list(self._links.values())
        for link in links:
            self._close(link, why, reset=True)

    def links(self) -> Iterator[int]:
        """The numbers of the connections open now."""
        with self._cond:
            yield from list(self._links)


def _reset(sock: socket.socket, *, wake: bool = False) -> None:
    """Close with a reset (RST), as a restarting server's kernel does; ``wake`` first shuts
    the socket down, so that a pump blocked reading it returns (a bare close does not)."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if wake:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _next_message(buffer: bytes, started: bool
                  ) -> tuple[bytes | None, bytes, bool, bytes]:
    """(one whole message or None, the rest, started after it, a reply to send the client).

    Before startup a message is ``int32 length`` + body; after it, ``type`` + ``int32 length``
    + body (the length counts itself, not the type)."""
    if not started:
        if len(buffer) < 8:
            return None, buffer, started, b""
        (length,) = struct.unpack("!I", buffer[:4])
        if len(buffer) < length:
            return None, buffer, started, b""
        message, rest = buffer[:length], buffer[length:]
        (code,) = struct.unpack("!I", message[4:8])
        if code in (_SSL_REQUEST, _GSSENC_REQUEST):
            return message, rest, False, b"N"
        return message, rest, True, b""
    if len(buffer) < 5:
        return None, buffer, started, b""
    (length,) = struct.unpack("!I", buffer[1:5])
    if len(buffer) < 1 + length:
        return None, buffer, started, b""
    return buffer[:1 + length], buffer[1 + length:], True, b""


def _statement(message: bytes) -> bytes:
    """The SQL of a ``Q`` (query) or ``P`` (parse: name, then query) message."""
    body = message[5:]
    if message[:1] == b"P":
        body = body.split(b"\x00", 1)[1] if b"\x00" in body else b""
    return body.split(b"\x00", 1)[0]


def _is_commit(message: bytes) -> bool:
    return message[:1] in (b"Q", b"P") and bool(_COMMIT.match(_statement(message)))


def _describe(message: bytes, started: bool) -> str:
    kind = message[:1].decode("latin-1")
    if kind in ("Q", "P"):
        return f"{kind} " + _statement(message)[:200].decode("utf-8", "replace")
    return kind if kind.isalpha() else "startup"


@contextmanager
def process_through(url: str, monkeypatch: Any, **settings: str) -> Iterator[FaultProxy]:
    """A fault proxy in front of the database at ``url``, with this process's database URL
    (the CLI's and the API's wiring) going through it and these ``MKTFLOW_<NAME>`` settings
    (e.g. ``db_connect_timeout_s="2"``) in force; the cached wiring is rebuilt on the way in
    and out."""
    from tests.conftest import reset_caches

    with FaultProxy.for_url(url) as proxy:
        monkeypatch.setenv("MKTFLOW_DATABASE_URL", proxy.url(url))
        for name, value in settings.items():
            monkeypatch.setenv(f"MKTFLOW_{name.upper()}", value)
        reset_caches()
        yield proxy
    reset_caches()
