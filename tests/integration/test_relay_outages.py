"""``mktflow outbox relay`` as an operator runs it, across database outages: a process on the
database through the fault proxy (PostgreSQL refused as in a restart, then stalled), or on a
SQLite file another writer holds locked; a real HTTP receiver on 127.0.0.1. The relay must
still be running afterwards, say once that the database went away, and deliver every notice
(docs/notifications/delivery.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mktflow.notify.testing import WebhookReceiver
from tests.faults import FaultProxy
from tests.integration.notify_support import SECRET_ENV, channel, queue

#: Long enough for the relay to meet the outage several times (it polls every 0.2 s).
OUTAGE_S = 5.0


def _wait_until(what: str, done: Callable[[], bool], relay: subprocess.Popen[str],
                err: Path, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while not done():
        assert relay.poll() is None, f"the relay exited: {err.read_text()}"
        assert time.monotonic() < deadline, f"{what}: not within {within_s} s\n{err.read_text()}"
        time.sleep(0.1)


@contextmanager
def _relay_process(database_url: str, tmp_path: Path, **settings: str
                   ) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """``mktflow outbox relay`` on ``database_url``, quick to poll and to look again at a
    database that is away; stopped with SIGINT at the end (it must exit 0)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MKTFLOW_")}
    env.update({"MKTFLOW_DATA_DIR": str(tmp_path / "data"), "MKTFLOW_DATABASE_URL": database_url,
                "MKTFLOW_RELAY_POLL_INTERVAL_S": "0.2", "MKTFLOW_RELAY_DB_RETRY_CAP_S": "1",
                SECRET_ENV: "s3cret", **settings})
    out, err = tmp_path / "relay.out", tmp_path / "relay.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        relay = subprocess.Popen([sys.executable, "-m", "mktflow.cli", "outbox", "relay"],
                                 env=env, stdout=stdout, stderr=stderr, text=True)
        try:
            yield relay, err
            assert relay.poll() is None, f"the relay exited: {err.read_text()}"
        finally:
            relay.send_signal(signal.SIGINT)
            relay.wait(timeout=60)
    assert relay.returncode == 0, err.read_text()
    assert "Traceback" not in err.read_text()


def _all_sent(db: Any) -> Callable[[], bool]:
    def check() -> bool:
        with db.uow() as u:
            return {s for (s,) in u.session.connection().exec_driver_sql(
                "SELECT DISTINCT status FROM outboxmessage")} == {"sent"}
    return check


def _delivered(rx: WebhookReceiver, ids: list[str]) -> Callable[[], bool]:
    return lambda: set(ids) <= set(rx.keys())


def test_the_relay_outlives_a_refused_then_a_stalled_postgresql(pg_db: Any,
                                                                 tmp_path: Path) -> None:
    with WebhookReceiver() as rx, FaultProxy.for_url(pg_db.url) as proxy, _relay_process(
            proxy.url(pg_db.url), tmp_path, MKTFLOW_DB_CONNECT_TIMEOUT_S="2",
            MKTFLOW_DB_STATEMENT_TIMEOUT_S="2") as (relay, err):
        hook = channel(pg_db, "tech", url=f"{rx.url}/h")
        before = queue(pg_db, 5, hook.id)
        _wait_until("the first notices", _delivered(rx, before), relay, err)

        proxy.refuse()  # as in a PostgreSQL restart: every connection reset, new ones refused
        during = queue(pg_db, 5, hook.id)  # written straight to the server meanwhile
        time.sleep(OUTAGE_S)
        assert relay.poll() is None, err.read_text()
        proxy.pass_through()
        _wait_until("the notices written during the refusal", _delivered(rx, during), relay, err)
        _wait_until("the relay saying the database is back",
                    lambda: "the database is back" in err.read_text(), relay, err)
        _wait_until("the notices recorded as sent", _all_sent(pg_db), relay, err)

        refusal_said = err.read_text()
        proxy.stall()  # a hung network: connections stay open, no byte passes
        stalled = queue(pg_db, 5, hook.id)
        time.sleep(OUTAGE_S)
        assert relay.poll() is None, err.read_text()
        proxy.release()
        _wait_until("the notices written during the stall", _delivered(rx, stalled), relay, err)
        _wait_until("the last notices recorded as sent", _all_sent(pg_db), relay, err)
    every = before + during + stalled
    assert set(rx.keys()) == set(every)  # every notice arrived, none lost
    assert pg_db.count("outboxmessage") == len(every)
    # one line per outage, not one per retry: the refusal meets the relay's reads; the stall
    # meets its reads, or (when the relay was opening its listening connection as the stall
    # began, blocked there until the connect timeout) only its listening connection
    assert refusal_said.count("the database is away") == 1, refusal_said
    assert refusal_said.count("the database is back") == 1, refusal_said
    stall_said = err.read_text()[len(refusal_said):]
    away, unheard = (stall_said.count(line) for line in (
        "the database is away", "cannot listen for new outbox messages"))
    assert away <= 1 and unheard <= 1 and away + unheard >= 1, stall_said
    assert stall_said.count("the database is back") == away, stall_said


def test_the_relay_outlives_a_locked_sqlite_file(sqlite_db: Any, tmp_path: Path) -> None:
    with WebhookReceiver() as rx, _relay_process(
            sqlite_db.url, tmp_path, MKTFLOW_SQLITE_BUSY_TIMEOUT_S="0.5") as (relay, err):
        hook = channel(sqlite_db, "tech", url=f"{rx.url}/h")
        before = queue(sqlite_db, 3, hook.id)
        _wait_until("the first notices", _delivered(rx, before), relay, err)
        # Another writer holds the file's write lock for a while (its transaction queues more
        # notices): every claim of the relay meets "database is locked".
        with sqlite_db.uow() as u:
            u.session.connection()  # begins IMMEDIATE: the write lock is held from here
            time.sleep(OUTAGE_S)
            assert relay.poll() is None, err.read_text()
            held = queue_in(u, hook.id, 3)
            u.commit()
        _wait_until("the notices written while it was locked", _delivered(rx, held), relay, err)
    said = err.read_text()
    assert said.count("the database is away") == 1, said
    assert set(rx.keys()) == set(before + held)


def queue_in(u: Any, channel_id: int, n: int) -> list[str]:
    """Queue ``n`` notices for a channel in the open unit of work ``u`` (committed by the
    caller)."""
    from mktflow.store.tables import OutboxMessage

    ids = []
    for i in range(n):
        m = u.outbox(OutboxMessage(id="", event="test.ping", subject=f"locked {i}",
                                   channel_id=channel_id, department="tech",
                                   payload={"ref": f"W-{i}", "n": i, "for": "tech"}))
        ids.append(m.id)
    return ids


def test_the_relay_started_before_postgresql_is_up_waits_for_it(pg_db: Any,
                                                                 tmp_path: Path) -> None:
    with WebhookReceiver() as rx, FaultProxy.for_url(pg_db.url) as proxy:
        proxy.refuse()  # PostgreSQL not up yet (a host booting, a container starting)
        hook = channel(pg_db, "tech", url=f"{rx.url}/h")
        ids = queue(pg_db, 3, hook.id)
        with _relay_process(proxy.url(pg_db.url), tmp_path,
                            MKTFLOW_DB_CONNECT_TIMEOUT_S="2") as (relay, err):
            _wait_until("the relay meeting the refusal",
                        lambda: "the database is away" in err.read_text(), relay, err)
            assert rx.requests == []
            proxy.pass_through()
            _wait_until("the notices", _delivered(rx, ids), relay, err)


@pytest.mark.parametrize("kind", ["no such database", "no tables"])
def test_the_relay_exits_on_a_configuration_error_saying_what_to_fix(
        kind: str, pg_url: str, tmp_path: Path) -> None:
    if kind == "no such database":
        url = pg_url.rsplit("/", 1)[0] + "/mktflow_no_such_database"
    else:
        url = f"sqlite:///{tmp_path / 'empty.db'}"  # a file without mktflow's tables
    env = {k: v for k, v in os.environ.items() if not k.startswith("MKTFLOW_")}
    env.update({"MKTFLOW_DATA_DIR": str(tmp_path / "data"), "MKTFLOW_DATABASE_URL": url})
    done = subprocess.run([sys.executable, "-m", "mktflow.cli", "outbox", "relay"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    expected = ("does not exist" if kind == "no such database"
                else "run `mktflow db upgrade`")
    assert expected in done.stderr and "Traceback" not in done.stderr
