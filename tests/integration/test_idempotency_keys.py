"""``Idempotency-Key`` on every POST of the API (issue 20, item 7), on SQLite and PostgreSQL.

A retry of a POST whose answer was lost gets the first answer and makes no second change (one
item, one audit entry, one set of notices); the same key with another body is 422; two at once
make one change; keys are per member and expire.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from mktflow.engine import idempotency, work
from tests.conftest import Db
from tests.integration.api_support import as_member, member_api

HEAD = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
TOM = "tom.berg@example.com"  # tech specialist


@pytest.fixture
def api(db: Db) -> Iterator[httpx.Client]:
    """The API served for ``db``, reading as the marketing head."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    with member_api(db, create_app(db.engine, settings=Settings()), HEAD) as client:
        yield client


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f'"{uuid.uuid4()}"'}


def _counts(db: Db) -> tuple[int, int, int]:
    return db.count("workitem"), db.count("auditentry"), db.count("outboxmessage")


def test_a_lost_answer_retried_gets_the_first_answer_and_one_change(db: Db,
                                                                   api: httpx.Client) -> None:
    key = _key()
    body = {"department": "marketing", "title": "Spring brief", "assignee": OLGA}
    before = _counts(db)
    first = api.post("/work", json=body, headers=key)  # its answer "lost": asked again
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    made = _counts(db)
    assert made[0] == before[0] + 1 and made[1] == before[1] + 1 and made[2] > before[2]
    for _ in range(2):
        again = api.post("/work", json=body, headers=key)
        assert (again.status_code, again.content) == (201, first.content)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.headers["Location"] == first.headers["Location"]
        assert again.headers["content-type"] == "application/json"
    assert _counts(db) == made  # one item, one audit entry, one set of notices


def test_the_same_key_with_another_body_is_422_naming_the_header(db: Db,
                                                                 api: httpx.Client) -> None:
    key = _key()
    body = {"department": "marketing", "title": "Autumn brief"}
    assert api.post("/work", json=body, headers=key).status_code == 201
    before = _counts(db)
    other = api.post("/work", json={**body, "title": "Winter brief"}, headers=key)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    problem = other.json()
    assert problem["type"] == "urn:mktflow:problem:idempotency-key-reused"
    assert problem["title"] == "Idempotency-Key is already used"
    assert problem["detail"].startswith(f"Idempotency-Key {key['Idempotency-Key'][1:-1]!r} "
                                        "was sent with another request (POST /work)")
    assert "use a new key for a new request" in problem["detail"]
    elsewhere = api.post("/work/1/claim", headers=key)  # another path is another request
    assert elsewhere.json()["type"] == "urn:mktflow:problem:idempotency-key-reused"
    assert _counts(db) == before


def test_two_at_once_make_one_change(db: Db, api: httpx.Client) -> None:
    key = _key()
    body = {"department": "marketing", "title": "Raced brief"}
    before = _counts(db)
    answers: list[httpx.Response] = []
    start = threading.Barrier(4)

    def send() -> None:
        start.wait(10)
        answers.append(api.post("/work", json=body, headers=key))

    threads = [threading.Thread(target=send, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a request was not answered within 60 s"
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, statuses
    assert len({a.content for a in answers if a.status_code == 201}) == 1
    for busy in (a for a in answers if a.status_code == 409):
        assert busy.json()["type"] == "urn:mktflow:problem:idempotency-key-in-flight"
        assert int(busy.headers["Retry-After"]) >= 1
    assert _counts(db)[:2] == (before[0] + 1, before[1] + 1)
    assert api.post("/work", json=body, headers=key).status_code == 201  # now: the answer


def test_keys_are_per_member(db: Db, api: httpx.Client) -> None:
    key = _key()
    body = {"department": "marketing", "title": "Shared key"}
    mine = api.post("/work", json=body, headers=key)
    theirs = api.post("/work", json=body, headers={**key, **as_member(OLGA)})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_refusal_is_an_answer_kept_too(db: Db, api: httpx.Client) -> None:
    wid = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                title="Marketing only").id
    key = {**_key(), **as_member(TOM)}  # tech may not take marketing's step
    first = api.post(f"/work/{wid}/claim", headers=key)
    assert first.status_code == 403
    again = api.post(f"/work/{wid}/claim", headers=key)
    assert (again.status_code, again.content, again.headers["Idempotent-Replayed"]) == (
        403, first.content, "true")


@pytest.mark.parametrize("value", [b'""', b"two words", b'"a"b"', b"x" * 256,
                                   "ключ".encode()])
def test_a_key_that_breaks_the_rule_is_422(db: Db, api: httpx.Client, value: bytes) -> None:
    r = api.post("/work", json={"department": "marketing", "title": "x"},
                 headers={"Idempotency-Key": value})
    assert r.status_code == 422
    problem = r.json()
    assert problem["type"] == "urn:mktflow:problem:request-invalid"
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert problem["errors"][0]["in"] == "header"


def test_a_bare_key_works_as_the_quoted_one(db: Db, api: httpx.Client) -> None:
    body = {"department": "marketing", "title": "Bare key"}
    first = api.post("/work", json=body, headers={"Idempotency-Key": "order-42"})
    again = api.post("/work", json=body, headers={"Idempotency-Key": '"order-42"'})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"


def test_a_key_in_flight_is_409_then_its_answer(pg_db: Db) -> None:
    """PostgreSQL: the first request waits on a row another transaction holds; the same key
    meanwhile is 409 with Retry-After; once the first has answered, its answer."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    wid = work.create_work_item(pg_db.uow(), actor_email=HEAD, department="marketing",
                                title="Held").id
    key = _key()
    with member_api(pg_db, create_app(pg_db.engine, settings=Settings()), OLGA) as api:
        holder = pg_db.engine.connect()
        holder.execute(text("SELECT id FROM workitem WHERE id = :i FOR UPDATE"), {"i": wid})
        first: list[httpx.Response] = []
        thread = threading.Thread(target=lambda: first.append(
            api.post(f"/work/{wid}/claim", headers=key)), daemon=True)
        thread.start()
        try:
            pg_db.wait_until_a_session_waits_on_a_lock(
                "the first request did not reach the held row", timeout=30)
            busy = api.post(f"/work/{wid}/claim", headers=key)
        finally:
            holder.rollback()
            holder.close()
        thread.join(60)
        assert not thread.is_alive(), "the first request was not answered within 60 s"
        assert busy.status_code == 409, busy.text
        assert busy.json()["type"] == "urn:mktflow:problem:idempotency-key-in-flight"
        assert busy.headers["Retry-After"]
        assert first[0].status_code == 200 and first[0].json()["state"] == "claimed"
        replay = api.post(f"/work/{wid}/claim", headers=key)
        assert (replay.status_code, replay.content) == (200, first[0].content)


def test_keys_expire_after_their_hours_and_are_purged(db: Db, api: httpx.Client,
                                                      clock: Any) -> None:
    key = _key()
    body = {"department": "marketing", "title": "Yesterday's brief"}
    first = api.post("/work", json=body, headers=key)
    clock.advance(hours=23)
    assert api.post("/work", json=body, headers=key).headers["Idempotent-Replayed"] == "true"
    clock.advance(hours=2)  # past MKTFLOW_IDEMPOTENCY_KEY_HOURS (24): a new request
    later = api.post("/work", json=body, headers=key)
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    assert db.count("idempotencykey") >= 1
    clock.advance(hours=25)
    assert idempotency.purge(db.uow()) >= 1
    assert db.count("idempotencykey") == 0


def test_a_change_without_a_kept_answer_is_never_made_twice(db: Db, clock: Any) -> None:
    """Engine level: the server stopped after a request's change and before its answer was
    kept (409 answer-lost once its lease is over); one that stopped before changing anything
    is taken over by the retry, and the first one can then change nothing."""
    wid = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                title="Interrupted").id
    assert wid is not None

    def begin(key: str) -> idempotency.Claim:
        return idempotency.begin(db.uow(), member=OLGA, key=key, fingerprint="f" * 64,
                                 request=f"POST /work/{wid}/claim", keep_hours=24)

    changed = begin("k1")
    assert changed.kind == "started" and changed.stamp is not None
    unit = db.uow()
    unit.request = changed.stamp
    work.claim(unit, wid, actor_email=OLGA)  # the change, stamped; then the server stops
    assert begin("k1").kind == "in_flight"
    clock.advance(seconds=idempotency.LEASE_S + 1)
    lost = begin("k1")
    assert lost.kind == "answer_lost" and lost.changed_at is not None

    wid2 = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Stopped early").id
    assert wid2 is not None
    stalled = idempotency.begin(db.uow(), member=OLGA, key="k2", fingerprint="e" * 64,
                                request="POST", keep_hours=24)
    clock.advance(seconds=idempotency.LEASE_S + 1)
    retry = idempotency.begin(db.uow(), member=OLGA, key="k2", fingerprint="e" * 64,
                              request="POST", keep_hours=24)
    assert retry.kind == "started" and retry.stamp != stalled.stamp
    late = db.uow()
    late.request = stalled.stamp  # the first attempt comes back to life
    from mktflow.domain.errors import Conflict

    audits = db.count("auditentry")
    with pytest.raises(Conflict, match="took this one over"):
        work.claim(late, wid2, actor_email=OLGA)
    assert db.count("auditentry") == audits  # rolled back with its change
