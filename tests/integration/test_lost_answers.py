"""Outcome, not guess (issue 20, item 1): when the answer to a COMMIT is lost, every door asks
the database what happened and says it.

PostgreSQL through the fault proxy (``tests/faults.py``): cut after COMMIT (recorded, its answer
lost), cut before COMMIT (not recorded), cut after COMMIT with the database refused right after
(nobody can tell). On both databases: a complete repeated by the member who made it is told it
is done, not refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from mktflow.engine import work
from tests.conftest import CliResult, Db
from tests.faults import FaultProxy, process_through
from tests.integration.api_support import bearer, member_tokens, serving
from tests.integration.web_support import Browser

HEAD = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
LINA = "li.na@example.com"  # marketing deputy
RUN = "8f5c2d1e-7a3b-4c6d-9e0f-1a2b3c4d5e6f"
#: What the transaction of a command's change sends (bookkeeping such as a token's last use,
#: a page session's or an Idempotency-Key's own row, does not): the cuts aim at it.
CHANGE = "INSERT INTO auditentry"


@pytest.fixture
def proxy(pg_db: Db, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A fault proxy in front of ``pg_db``'s server; the process's database URL (the CLI's and
    the API's wiring) goes through it, with short deadlines."""
    with process_through(pg_db.url, monkeypatch, db_connect_timeout_s="2",
                         db_outcome_check_s="2") as fault:
        yield fault


def _mktflow(*args: str) -> CliResult:
    """``mktflow`` in-process, on the process's settings (the proxy's URL)."""
    from typer.testing import CliRunner

    from mktflow.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def _step(db: Db, *, claimed_by: str | None = OLGA, **kw: Any) -> int:
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Brief the agency", **kw)
    assert item.id is not None
    if claimed_by:
        work.claim(db.uow(), item.id, actor_email=claimed_by)
    return item.id


def _state(db: Db, item_id: int) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(text("SELECT state FROM workitem WHERE id = :i"),
                                {"i": item_id}).scalar_one())


def _entries(db: Db, item_id: int, action: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM auditentry WHERE entity_type = 'work' AND entity_id = :i "
            "AND action = :a"), {"i": item_id, "a": action}).scalar_one())


# --- the command line ---------------------------------------------------------------------

def test_a_complete_whose_answer_is_lost_is_checked_and_said_done(pg_db: Db,
                                                                  proxy: FaultProxy) -> None:
    wid = _step(pg_db)
    proxy.cut_after_commit(matching=CHANGE)
    r = _mktflow("work", "complete", f"W-{wid}", "--as", OLGA, "--data", '{"note": "sent"}')
    assert proxy.count("cut") == 1 and _cut_wrote_audit(proxy), (r.exit_code, r.stderr,
                                                                 proxy.events[-5:])
    assert r.exit_code == 0, r.stderr
    assert "state: done" in r.stdout
    assert r.stderr.strip() == (
        f"note: the change to W-{wid} (complete) was recorded, although the connection to the "
        "database dropped while it was committed (mktflow asked the database again: it is "
        "there)")
    assert (_state(pg_db, wid), _entries(pg_db, wid, "complete")) == ("done", 1)


def test_a_claim_whose_answer_is_lost_is_checked_and_said_claimed(pg_db: Db,
                                                                 proxy: FaultProxy) -> None:
    wid = _step(pg_db, claimed_by=None)
    proxy.cut_after_commit(matching=CHANGE)
    r = _mktflow("work", "claim", f"W-{wid}", "--as", OLGA)
    assert (r.exit_code, proxy.count("cut")) == (0, 1), r.stderr
    assert "state: claimed" in r.stdout and "(claim) was recorded" in r.stderr
    # claimed again by the same member (a retry): nothing changes, and it says so
    again = _mktflow("work", "claim", f"W-{wid}", "--as", OLGA)
    assert again.exit_code == 0, again.stderr
    assert again.stderr.strip() == f"note: W-{wid} is already claimed by you; nothing changed"
    assert (_state(pg_db, wid), _entries(pg_db, wid, "claim")) == ("claimed", 1)


def test_a_commit_that_never_reached_the_database_says_nothing_changed(
        pg_db: Db, proxy: FaultProxy) -> None:
    wid = _step(pg_db)
    proxy.cut_before_commit(matching=CHANGE)
    r = _mktflow("work", "complete", f"W-{wid}", "--as", OLGA, "--data", "{}")
    assert r.exit_code == 1, r.stderr
    assert r.stderr.strip() == (
        f"error: the connection to the database dropped while the change to W-{wid} "
        "(complete) was committed, and the database says it was not recorded: nothing "
        "changed; try again")
    assert (_state(pg_db, wid), _entries(pg_db, wid, "complete")) == ("claimed", 0)
    assert _mktflow("work", "complete", f"W-{wid}", "--as", OLGA, "--data", "{}"
                    ).exit_code == 0
    assert _state(pg_db, wid) == "done"


def test_an_outcome_nobody_can_check_is_exit_3_naming_where_to_look(
        pg_db: Db, proxy: FaultProxy) -> None:
    wid = _step(pg_db)
    # the database is gone right after the COMMIT
    proxy.cut_after_commit(then="refuse", matching=CHANGE)
    r = _mktflow("work", "complete", f"W-{wid}", "--as", OLGA, "--data", "{}")
    assert r.exit_code == 3, r.stderr
    assert r.stderr.startswith(
        f"error: the connection to the database dropped while the change to W-{wid} "
        "(complete) was committed, and the database could not say within 2 s "
        "(MKTFLOW_DB_OUTCOME_CHECK_S) whether it was recorded: it may or may not have been; "
        f"look before trying again: `mktflow work show W-{wid}` (API: GET /work/{wid})")
    assert r.stdout == ""
    proxy.pass_through()  # the database is back: looking shows it was done
    shown = _mktflow("work", "show", f"W-{wid}", "--json")
    assert shown.json()["state"] == "done"
    retry = _mktflow("work", "complete", f"W-{wid}", "--as", OLGA, "--data", "{}")
    assert retry.exit_code == 0, retry.stderr
    assert "was already completed by you" in retry.stderr
    assert _entries(pg_db, wid, "complete") == 1


def test_a_repeated_complete_says_who_did_it(db: Db, cli: Callable[..., CliResult]) -> None:
    """Both databases: the same member with the same answer is told it is done (exit 0,
    nothing changes); another answer or another member is refused, naming who and when."""
    wid = _step(db)
    done = cli("work", "complete", f"W-{wid}", "--as", OLGA, "--data", '{"note": "ok"}')
    assert done.exit_code == 0, done.stderr
    audits, notices = db.count("auditentry"), db.count("outboxmessage")
    again = cli("work", "complete", f"W-{wid}", "--as", OLGA, "--data", '{"note": "ok"}')
    assert again.exit_code == 0, again.stderr
    assert again.stderr.startswith(f"note: W-{wid} was already completed by you at ")
    assert again.stderr.strip().endswith("with this answer; nothing changed")
    other = cli("work", "complete", f"W-{wid}", "--as", OLGA, "--data", '{"note": "changed"}')
    assert other.exit_code == 1
    assert f"cannot complete W-{wid}: it is done (you completed it at " in other.stderr
    assert "with another answer); a done step's answer is not changed" in other.stderr
    colleague = cli("work", "complete", f"W-{wid}", "--as", LINA, "--data", '{"note": "ok"}')
    assert colleague.exit_code == 1
    assert f"it is done (completed by {OLGA} at " in colleague.stderr
    assert (db.count("auditentry"), db.count("outboxmessage")) == (audits, notices)


def test_a_verified_completion_hands_the_answer_to_the_waiting_run(pg_db: Db,
                                                                  proxy: FaultProxy) -> None:
    """The flow run waiting for the step gets its answer although the COMMIT's answer was
    lost: the door goes on as it would have (the run is resumed)."""
    from mktflow.bootstrap import Wiring
    from mktflow.config import get_settings
    from mktflow.engine import processes
    from mktflow.engine.steps import complete_step
    from mktflow.store.db import get_engine

    p = processes.start_process(pg_db.uow(), process="campaign", business_key="CMP-LOST-1",
                                owner_email=OLGA, flow_run_id=RUN)
    step = work.create_work_item(pg_db.engine_uow(), actor_email="mktflow",
                                 department="marketing", title="Plan", process_id=p.id,
                                 step_key="plan-1", assignee=OLGA)
    assert step.id is not None
    handed: list[tuple[str, int | None, dict[str, Any] | None]] = []
    wiring = Wiring(settings=get_settings(), database=get_engine(),
                    resumer=lambda run, item: handed.append((run, item.id, item.data)))
    proxy.cut_after_commit(matching=CHANGE)
    done = complete_step(wiring.uow(), step.id, actor_email=OLGA, data={"note": "go"})
    assert (done.state, proxy.count("cut")) == ("done", 1)
    assert handed == [(RUN, step.id, {"note": "go"})]


# --- the REST API and the pages -----------------------------------------------------------

@pytest.fixture
def api(pg_db: Db, proxy: FaultProxy) -> Iterator[httpx.Client]:
    """The API served on the proxy's database URL (the process's wiring), acting as Olga."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    token = member_tokens(pg_db)[OLGA]
    with serving(create_app(settings=Settings())) as url, \
            httpx.Client(base_url=url, timeout=60, headers=bearer(token)) as client:
        # the token's first use is stamped (a COMMIT of its own): done before any cut
        assert client.get("/org").status_code == 200
        yield client


def test_api_claim_and_complete_whose_answers_are_lost_answer_200_with_a_note(
        pg_db: Db, proxy: FaultProxy, api: httpx.Client) -> None:
    wid = _step(pg_db, claimed_by=None)
    proxy.cut_after_commit(matching=CHANGE)
    claimed = api.post(f"/work/{wid}/claim")
    assert (claimed.status_code, claimed.json()["state"]) == (200, "claimed"), claimed.text
    assert "(claim) was recorded" in claimed.headers["Mktflow-Note"]
    proxy.cut_after_commit(matching=CHANGE)
    done = api.post(f"/work/{wid}/complete", json={"data": {"note": "ok"}})
    assert (done.status_code, done.json()["state"]) == (200, "done"), done.text
    assert "(complete) was recorded, although the connection to the database dropped" in \
        done.headers["Mktflow-Note"]
    assert proxy.count("cut") == 2 and _cut_wrote_audit(proxy)
    assert (_entries(pg_db, wid, "claim"), _entries(pg_db, wid, "complete")) == (1, 1)
    again = api.post(f"/work/{wid}/complete", json={"data": {"note": "ok"}})
    assert again.status_code == 200
    assert "was already completed by you" in again.headers["Mktflow-Note"]


def test_api_outcome_unknown_is_503_naming_what_to_look_at(
        pg_db: Db, proxy: FaultProxy, api: httpx.Client) -> None:
    wid = _step(pg_db)
    proxy.cut_after_commit(then="refuse", matching=CHANGE)
    r = api.post(f"/work/{wid}/complete", json={"data": {}})
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "urn:mktflow:problem:outcome-unknown"
    assert body["refs"] == [f"W-{wid}"]
    assert f"GET /work/{wid}" in body["detail"] and "Retry-After" not in r.headers
    proxy.pass_through()
    assert api.get(f"/work/{wid}").json()["state"] == "done"


def test_api_change_not_recorded_is_503_try_again(pg_db: Db, proxy: FaultProxy,
                                                  api: httpx.Client) -> None:
    wid = _step(pg_db)
    proxy.cut_before_commit(matching=CHANGE)
    r = api.post(f"/work/{wid}/complete", json={"data": {}})
    assert (r.status_code, r.json()["type"]) == (503, "urn:mktflow:problem:unavailable"), r.text
    assert "was not recorded: nothing changed; try again" in r.json()["detail"]
    assert r.headers["Retry-After"] == "5"
    assert api.post(f"/work/{wid}/complete", json={"data": {}}).status_code == 200


def test_page_claim_whose_answer_is_lost_shows_it_claimed(pg_db: Db,
                                                          proxy: FaultProxy) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    wid = _step(pg_db, claimed_by=None)
    with serving(create_app(settings=Settings())) as url:
        browser = Browser(url)
        try:
            browser.sign_in(pg_db, OLGA)
            browser.get(f"/work/{wid}")
            proxy.cut_after_commit(matching=CHANGE)
            page = browser.post(f"/work/{wid}", {"action": "claim"})
        finally:
            browser.client.close()
    assert (page.status_code, proxy.count("cut")) == (200, 1), page.text[:500]
    assert _cut_wrote_audit(proxy)
    assert _state(pg_db, wid) == "claimed" and _entries(pg_db, wid, "claim") == 1


def _cut_wrote_audit(proxy: FaultProxy) -> bool:
    """Whether every cut hit a command's transaction (one writing an audit entry), not some
    bookkeeping (a token's or a page session's last use)."""
    return all(any(s.startswith("INSERT INTO auditentry") for s in statements)
               for statements in proxy.cut_transactions())


# --- with an Idempotency-Key --------------------------------------------------------------

def test_a_keyed_retry_after_an_unknown_outcome_learns_the_change_was_made(
        pg_db: Db, proxy: FaultProxy, api: httpx.Client, clock: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    """The key is stamped in the change's own transaction: after an outcome nobody could
    check, a retry with the same key is told the truth (in flight while the first request
    holds the key, then: its change was made, its answer lost), never a second change."""
    from mktflow.engine.idempotency import LEASE_S

    wid = _step(pg_db)
    key = {"Idempotency-Key": '"complete-once"'}
    proxy.cut_after_commit(then="refuse", matching=CHANGE)
    first = api.post(f"/work/{wid}/complete", json={"data": {}}, headers=key)
    assert first.json()["type"] == "urn:mktflow:problem:outcome-unknown", first.text
    # after answering, the request tries to let its key go: the database is still away
    _wait_for_log(caplog, "an Idempotency-Key could not be let go now")
    proxy.pass_through()
    busy = api.post(f"/work/{wid}/complete", json={"data": {}}, headers=key)
    assert busy.json()["type"] == "urn:mktflow:problem:idempotency-key-in-flight", busy.text
    clock.advance(seconds=LEASE_S + 1)
    lost = api.post(f"/work/{wid}/complete", json={"data": {}}, headers=key)
    assert lost.status_code == 409, lost.text
    assert lost.json()["type"] == "urn:mktflow:problem:idempotency-key-answer-lost"
    assert f"(POST /work/{wid}/complete) made its change at " in lost.json()["detail"]
    assert (_state(pg_db, wid), _entries(pg_db, wid, "complete")) == ("done", 1)


def _wait_until(done: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.05)


def _wait_for_log(caplog: pytest.LogCaptureFixture, text: str) -> None:
    _wait_until(lambda: text in caplog.text, f"the server to log {text!r}")


def test_a_keyed_retry_after_a_change_not_recorded_runs_it(pg_db: Db, proxy: FaultProxy,
                                                          api: httpx.Client) -> None:
    wid = _step(pg_db)
    key = {"Idempotency-Key": '"complete-again"'}
    proxy.cut_before_commit(matching=CHANGE)
    first = api.post(f"/work/{wid}/complete", json={"data": {}}, headers=key)
    assert first.json()["type"] == "urn:mktflow:problem:unavailable", first.text
    _wait_until(lambda: pg_db.count("idempotencykey") == 0,  # let go right after answering
                "the failed request to let its key go")
    again = api.post(f"/work/{wid}/complete", json={"data": {}}, headers=key)
    assert (again.status_code, again.json()["state"]) == (200, "done"), again.text
    assert "Idempotent-Replayed" not in again.headers
    replay = api.post(f"/work/{wid}/complete", json={"data": {}}, headers=key)
    assert (replay.content, replay.headers["Idempotent-Replayed"]) == (again.content, "true")
    assert _entries(pg_db, wid, "complete") == 1
