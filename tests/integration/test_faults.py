"""The fault proxy of ``tests/faults.py`` does what its modes say: in front of a TCP echo server
(pass, refuse, stall) and in front of the real PostgreSQL (cuts around COMMIT)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import closing, suppress

import psycopg
import pytest

from tests.faults import FaultProxy


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    """A TCP server on 127.0.0.1 that sends back every byte it gets."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with closing(conn), suppress(OSError):
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[:2]
    stop.set()
    thread.join(5)
    server.close()


def _startup() -> bytes:
    """A PostgreSQL startup message (protocol 3.0), so the proxy splits what follows."""
    body = (3 << 16).to_bytes(4, "big") + b"user\x00t\x00\x00"
    return (len(body) + 4).to_bytes(4, "big") + body


def _query(sql: str) -> bytes:
    body = sql.encode() + b"\x00"
    return b"Q" + (len(body) + 4).to_bytes(4, "big") + body


def _client(proxy: FaultProxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    sock.sendall(_startup())
    assert _read(sock, len(_startup())) == _startup()
    return sock


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _gone(sock: socket.socket) -> bool:
    """Whether the peer closed or reset ``sock`` (waits up to its timeout)."""
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def _reset_at_once(proxy: FaultProxy) -> bool:
    """Whether a new connection is reset (at connect or at the first read)."""
    try:
        with closing(socket.create_connection(("127.0.0.1", proxy.port), timeout=10)) as new:
            return _gone(new)
    except ConnectionResetError:
        return True


def test_pass_forwards_both_ways_and_records_what_passed(echo: tuple[str, int]) -> None:
    with FaultProxy(echo) as proxy, closing(_client(proxy)) as sock:
        sock.sendall(_query("SELECT 1"))
        assert _read(sock, len(_query("SELECT 1"))) == _query("SELECT 1")
        assert proxy.statements() == ["SELECT 1"]
        assert proxy.count("open") == 1 and proxy.count("server") >= 1


def test_refuse_drops_open_connections_and_resets_new_ones(echo: tuple[str, int]) -> None:
    with FaultProxy(echo) as proxy, closing(_client(proxy)) as open_one:
        proxy.refuse()
        assert _gone(open_one), "an open connection stayed up after refuse()"
        assert _reset_at_once(proxy), "a new connection was served while refusing"
        assert proxy.count("refused") == 1
        proxy.pass_through()
        with closing(_client(proxy)) as again:  # served again, no restart
            again.sendall(_query("SELECT 2"))
            assert _read(again, len(_query("SELECT 2"))) == _query("SELECT 2")


def test_stall_holds_every_byte_until_released(echo: tuple[str, int]) -> None:
    with FaultProxy(echo) as proxy, closing(_client(proxy)) as sock:
        proxy.stall()
        sock.sendall(_query("SELECT 3"))
        proxy.wait_for("the stalled query held", lambda ev: any(e.kind == "held" for e in ev))
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(1)  # nothing came back while stalled
        with closing(socket.create_connection(("127.0.0.1", proxy.port), timeout=10)) as new:
            new.sendall(_startup())  # a new connection is accepted, and held too
            new.settimeout(0.5)
            with pytest.raises(TimeoutError):
                new.recv(1)
        sock.settimeout(10)
        proxy.release()
        assert _read(sock, len(_query("SELECT 3"))) == _query("SELECT 3")


def test_cut_after_commit_commits_and_loses_the_answer(pg_url: str) -> None:
    with FaultProxy.for_url(pg_url) as proxy:
        with psycopg.connect(pg_url, autocommit=True) as direct:
            direct.execute("CREATE TABLE t (x int)")
        conn = psycopg.connect(proxy.url(pg_url))
        conn.execute("INSERT INTO t VALUES (1)")
        proxy.cut_after_commit()
        with pytest.raises(psycopg.OperationalError):
            conn.commit()
        assert conn.closed
        with psycopg.connect(pg_url) as direct:  # it landed all the same
            assert direct.execute("SELECT x FROM t").fetchall() == [(1,)]
        assert proxy.mode == "pass" and proxy.count("cut") == 1
        assert [s for s in proxy.statements() if s.startswith(("INSERT", "COMMIT"))] == [
            "INSERT INTO t VALUES (1)", "COMMIT"]
        with psycopg.connect(proxy.url(pg_url)) as after:  # and it passes again
            assert after.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_cut_before_commit_rolls_back_and_then_refuses(pg_url: str) -> None:
    with FaultProxy.for_url(pg_url) as proxy:
        with psycopg.connect(pg_url, autocommit=True) as direct:
            direct.execute("CREATE TABLE t (x int)")
        conn = psycopg.connect(proxy.url(pg_url))
        conn.execute("INSERT INTO t VALUES (1)")
        proxy.cut_before_commit(then="refuse")
        with pytest.raises(psycopg.OperationalError):
            conn.commit()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(proxy.url(pg_url), connect_timeout=5)
        with psycopg.connect(pg_url) as direct:
            assert direct.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_a_cut_can_aim_at_the_transaction_that_sent_a_statement(pg_url: str) -> None:
    with FaultProxy.for_url(pg_url) as proxy:
        with psycopg.connect(pg_url, autocommit=True) as direct:
            direct.execute("CREATE TABLE t (x int)")
            direct.execute("CREATE TABLE audit (y int)")
        conn = psycopg.connect(proxy.url(pg_url))
        proxy.cut_after_commit(matching="INSERT INTO audit")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()  # not aimed at: passes
        conn.execute("INSERT INTO t VALUES (2)")
        conn.execute("INSERT INTO audit VALUES (2)")
        with pytest.raises(psycopg.OperationalError):
            conn.commit()
        assert proxy.cut_transactions() == [
            ["BEGIN", "INSERT INTO t VALUES (2)", "INSERT INTO audit VALUES (2)", "COMMIT"]]
        with psycopg.connect(pg_url) as direct:
            assert direct.execute("SELECT count(*) FROM audit").fetchone() == (1,)
