"""Forms are data, not code paths (issue 10, faults 3 and 4), over real HTTP on SQLite and
PostgreSQL: a form's ``$ref`` never leaves it (a listener on 127.0.0.1 receives nothing) and a
pathological ``pattern`` answers in well under a second while ``/health`` stays responsive."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from mktflow.config import Settings
from mktflow.engine.credentials import issue_token
from tests.integration.api_support import bearer, serving

ANA = "ana.torres@example.com"
OLGA = "olga.petrova@example.com"
#: "At once" for a check that must not backtrack or fetch: milliseconds on an idle machine,
#: well under the minutes a backtracking engine takes on ``(a+)+$`` over 32 characters
#: (forever on 200,000), with room for a loaded 2-core machine. Not a speed target: those are
#: benchmarks (docs: Benchmarks).
AT_ONCE_S = 5.0


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections (and answers like a schema host)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
                             b'Content-Length: 2\r\n\r\n{}')

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    made = Listener()
    yield made
    made.close()


@pytest.fixture
def api(db: Any) -> Iterator[httpx.Client]:
    """The API for ``db``; Ana creates, Olga answers (their member tokens)."""
    from mktflow.api.app import create_app

    tokens = {who: issue_token(db.uow(), who).token for who in (ANA, OLGA)}
    with serving(create_app(db.engine, settings=Settings())) as url, httpx.Client(
            base_url=url, timeout=60, headers=bearer(tokens[ANA])) as client:
        client.headers["X-Olga"] = tokens[OLGA]  # read back by _olga
        yield client


def _olga(api: httpx.Client) -> dict[str, str]:
    return bearer(api.headers["X-Olga"])


def _create(api: httpx.Client, form: dict[str, Any]) -> httpx.Response:
    return api.post("/work", json={"department": "marketing", "title": "Brief",
                                   "form_schema": form})


def _claimed(api: httpx.Client, form: dict[str, Any]) -> int:
    r = _create(api, form)
    assert r.status_code == 201, r.text
    wid = int(r.json()["id"])
    assert api.post(f"/work/{wid}/claim", headers=_olga(api)).status_code == 200
    return wid


def test_a_remote_ref_is_refused_when_the_step_is_made_and_never_fetched(
        db: Any, api: httpx.Client, listener: Listener) -> None:
    remote = f"http://127.0.0.1:{listener.port}/schema.json"
    before = db.count("workitem"), db.count("auditentry")
    for form in ({"$ref": remote},
                 {"type": "object", "properties": {"budget": {"$ref": remote}}},
                 {"$defs": {"x": {"$id": remote}}, "type": "object"}):
        r = _create(api, form)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert remote in r.json()["detail"]
    r = _create(api, {"type": "object", "properties": {"budget": {"$ref": "#/$defs/Missing"}}})
    assert r.status_code == 422, r.text  # was a 500
    assert "'#/$defs/Missing' at properties.budget does not resolve" in r.json()["detail"]
    assert (db.count("workitem"), db.count("auditentry")) == before
    assert listener.connections == 0


def test_a_stored_remote_ref_answers_at_once_without_any_request(
        db: Any, api: httpx.Client, listener: Listener) -> None:
    """A form stored before the rules (written straight into the table) still fetches
    nothing: completion answers in under a second, and the listener hears nothing."""
    wid = _claimed(api, {"type": "object"})
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE workitem SET form_schema = :f WHERE id = :i"), {
            "f": f'{{"$ref": "http://127.0.0.1:{listener.port}/schema.json"}}', "i": wid})
    started = time.monotonic()
    r = api.post(f"/work/{wid}/complete", headers=_olga(api), json={"data": {"x": 1}})
    took = time.monotonic() - started
    assert r.status_code == 422, r.text
    assert "never fetches" in r.json()["detail"]
    assert took < AT_ONCE_S, took
    assert listener.connections == 0
    assert api.get(f"/work/{wid}").json()["state"] == "claimed"


def test_a_pathological_pattern_answers_at_once_and_health_stays_responsive(
        db: Any, api: httpx.Client) -> None:
    wid = _claimed(api, {"type": "object", "required": ["code"],
                         "properties": {"code": {"type": "string", "pattern": "^(a+)+$"}}})
    started = time.monotonic()
    r = api.post(f"/work/{wid}/complete", headers=_olga(api),
                 json={"data": {"code": "a" * 32 + "!"}})  # ~2 min backtracking
    took = time.monotonic() - started
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "code", r.text
    assert took < AT_ONCE_S, took

    # a far longer input, with /health asked while it is checked
    answers: dict[str, float] = {}

    def complete() -> None:
        t = time.monotonic()
        api.post(f"/work/{wid}/complete", headers=_olga(api),
                 json={"data": {"code": "a" * 200_000 + "!"}})
        answers["complete"] = time.monotonic() - t

    worker = threading.Thread(target=complete)
    worker.start()
    t = time.monotonic()
    assert httpx.get(str(api.base_url.join("/health")), timeout=5).status_code == 200
    answers["health"] = time.monotonic() - t
    worker.join(60)
    assert answers["health"] < AT_ONCE_S and answers["complete"] < AT_ONCE_S, answers
    ok = api.post(f"/work/{wid}/complete", headers=_olga(api), json={"data": {"code": "aaa"}})
    assert ok.status_code == 200 and ok.json()["state"] == "done", ok.text


def test_patterns_a_linear_engine_cannot_run_are_refused_when_the_step_is_made(
        db: Any, api: httpx.Client) -> None:
    for pattern in ("^(?=a)a+$", r"^(a)\1$", "[unclosed"):
        r = _create(api, {"type": "object", "properties": {"code": {"type": "string",
                                                                    "pattern": pattern}}})
        assert r.status_code == 422, (pattern, r.text)
        assert "properties.code" in r.json()["detail"], r.text
    r = _create(api, {"type": "object", "patternProperties": {"^(a+)+$": {}}})
    assert r.status_code == 422 and "patternProperties" in r.json()["detail"]
    assert db.count("workitem") == 0
