"""Page sessions live on the server (issue 19, item 4), over real HTTP on SQLite and PostgreSQL.

A copy of a signed-in browser's cookie (taken from a shared computer, a proxy log, a backup)
stops acting the moment the session ends: at sign-out, when the token it was signed in with
is revoked (or all the member's are), when ``org load`` deactivates the member or moves them
to another department, when an operator ends it, and when it is too old or unused too long.
A cookie planted in a browser before its owner signs in never becomes a signed-in session.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from mktflow.engine import queries
from mktflow.engine.credentials import issue_token, revoke_token
from mktflow.engine.work import create_work_item
from mktflow.web.session import COOKIE, Session
from tests.integration.api_support import serving
from tests.integration.web_support import Browser, sign_in_code

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
LI = "li.na@example.com"  # marketing deputy


@pytest.fixture
def app(db: Any) -> Any:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    return create_app(db.engine, settings=Settings())


@pytest.fixture
def site(app: Any) -> Iterator[str]:
    """The API and the pages for ``db``, served on 127.0.0.1."""
    with serving(app) as url:
        yield url


@pytest.fixture
def browser(site: str) -> Iterator[Callable[[], Browser]]:
    """New browsers on the site (closed afterwards)."""
    made: list[Browser] = []

    def new() -> Browser:
        made.append(Browser(site))
        return made[-1]

    yield new
    for b in made:
        b.client.close()


def _cookie(b: Browser) -> str:
    return str(b.client.cookies[COOKIE])


def _copy(b: Browser, new: Callable[[], Browser]) -> Browser:
    """Another browser holding a copy of ``b``'s cookie (and the form token its page showed)."""
    thief = new()
    thief.client.cookies.set(COOKIE, _cookie(b), domain="127.0.0.1")
    thief.csrf = b.csrf
    return thief


def _signed_in(b: Browser) -> bool:
    """Whether the browser's cookie signs anyone in: "My work" answers, not the sign-in page."""
    r = b.get("/my-work", follow_redirects=False)
    assert r.status_code in (200, 303), r.text
    return r.status_code == 200


def _step(db: Any) -> int:
    item = create_work_item(db.uow(), actor_email=ANA, department="marketing",
                            title="Brief for SPRING")
    return int(item.id)


def _claim_refused(b: Browser, db: Any, item: int) -> None:
    """A post with the copy's cookie and form token acts as nobody: 403, nothing written."""
    before = db.count("auditentry"), db.count("outboxmessage")
    r = b.post(f"/work/{item}", {"action": "claim"})
    assert r.status_code == 403 and "token does not match" in r.text, r.text
    assert (db.count("auditentry"), db.count("outboxmessage")) == before
    assert queries.show(db.uow(), f"W-{item}").state == "open"


def _sessions(db: Any, member: str) -> list[dict[str, Any]]:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT id, secret_hash, signed_in_by, token_id, ended_at, ended_why FROM websession "
            "WHERE member_email = :m ORDER BY id"), {"m": member}).mappings()]


def _ends(db: Any) -> list[tuple[str, int, str]]:
    """The audit entries of ended sessions: (actor, session id, reason)."""
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(  # type: ignore[misc]
            "SELECT actor, entity_id, reason FROM auditentry WHERE entity_type = 'session' "
            "AND action = 'end' ORDER BY id"))]


def _org_load(db: Any, tmp_path: Path, *, drop: str | None = None,
              move: tuple[str, str] | None = None) -> dict[str, Any]:
    """``mktflow org load FILE --json`` with the demo organisation, one member dropped (a
    leaver) or moved to another department."""
    org = yaml.safe_load(resources.files("mktflow.demo").joinpath(
        "demo-organisation.yaml").read_text("utf-8"))
    org["members"] = [m for m in org["members"] if m["email"] != drop]
    for m in org["members"]:
        if move and m["email"] == move[0]:
            m["department"] = move[1]
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    return dict(_cli(db, "org", "load", str(path), "--json"))


# --- what ends a session ------------------------------------------------------------------


def test_a_copied_cookie_stops_at_sign_out(db: Any, browser: Callable[[], Browser]) -> None:
    item = _step(db)
    olga = browser()
    olga.sign_in(db, OLGA)
    olga.get(f"/work/{item}")
    thief = _copy(olga, browser)
    assert _signed_in(thief)  # a copy acts while the session lives: the risk being closed
    assert olga.post("/sign-out", {}).status_code == 200
    assert not _signed_in(thief)
    _claim_refused(thief, db, item)
    [row] = _sessions(db, OLGA)
    assert row["ended_at"] is not None and row["ended_why"] == "signed out"
    assert _ends(db) == [(OLGA, row["id"], "signed out")]


def test_a_copied_cookie_stops_when_the_token_it_signed_in_with_is_revoked(
        db: Any, browser: Callable[[], Browser]) -> None:
    item = _step(db)
    token = issue_token(db.uow(), OLGA)
    olga = browser()
    olga.get("/sign-in")
    assert olga.post("/sign-in", {"token": token.token}).status_code == 200
    olga.get(f"/work/{item}")
    other = browser()
    other.sign_in(db, OLGA)  # another browser, signed in with another token of hers
    thief = _copy(olga, browser)
    assert _signed_in(thief)
    assert revoke_token(db.uow(), token.id) == [_sessions(db, OLGA)[0]["id"]]
    assert not _signed_in(thief) and not _signed_in(olga)
    _claim_refused(thief, db, item)
    assert _signed_in(other)  # a session that token did not sign in goes on
    assert _sessions(db, OLGA)[0]["ended_why"] == f"token {token.id} revoked"


def test_revoking_all_of_a_members_tokens_ends_every_session_of_theirs(
        db: Any, browser: Callable[[], Browser], tmp_path: Path) -> None:
    olga = browser()
    _sign_in_by_link(db, olga, OLGA)
    thief = _copy(olga, browser)
    by_token = browser()
    by_token.sign_in(db, OLGA)
    r = _cli(db, "token", "revoke", "--member", OLGA, "--json")
    assert len(r["revoked"]) == 1 and len(r["sessions_ended"]) == 2, r
    assert not _signed_in(thief) and not _signed_in(by_token)
    assert {s["ended_why"] for s in _sessions(db, OLGA)} == {f"all tokens of {OLGA} revoked"}


def test_a_copied_cookie_stops_when_the_member_leaves_through_org_load(
        db: Any, browser: Callable[[], Browser], tmp_path: Path) -> None:
    item = _step(db)
    olga = browser()
    olga.sign_in(db, OLGA)
    olga.get(f"/work/{item}")
    thief = _copy(olga, browser)
    summary = _org_load(db, tmp_path, drop=OLGA)
    [row] = _sessions(db, OLGA)
    assert summary["sessions_ended"] == {OLGA: [row["id"]]}
    assert not _signed_in(thief)
    _claim_refused(thief, db, item)
    why = "left the organisation (no longer in the organisation file)"
    assert row["ended_why"] == why and _ends(db) == [("mktflow", row["id"], why)]


def test_a_copied_cookie_stops_when_the_member_moves_department_through_org_load(
        db: Any, browser: Callable[[], Browser], tmp_path: Path) -> None:
    item = _step(db)
    olga = browser()
    olga.sign_in(db, OLGA)
    olga.get(f"/work/{item}")
    thief = _copy(olga, browser)
    summary = _org_load(db, tmp_path, move=(OLGA, "sales"))
    assert summary["movers"][OLGA]["from"] == "marketing" and OLGA in summary["sessions_ended"]
    assert not _signed_in(thief) and not _signed_in(olga)
    _claim_refused(thief, db, item)
    assert _sessions(db, OLGA)[0]["ended_why"] == "moved from marketing to sales"
    olga.sign_in(db, OLGA)  # she signs in again, as a member of sales now
    assert "sales" in olga.get("/my-work").text


def test_an_operator_lists_and_ends_sessions(db: Any, browser: Callable[[], Browser]) -> None:
    olga, li = browser(), browser()
    olga.sign_in(db, OLGA)
    li.sign_in(db, LI)
    listed = _cli(db, "session", "list", "--json")
    assert [(s["member"], s["state"], s["signed_in_by"]) for s in listed] == [
        (OLGA, "live", "token"), (LI, "live", "token")]
    assert "secret" not in json.dumps(listed)
    assert _cli(db, "session", "end", str(listed[0]["id"]), "--reason", "laptop stolen",
                "--json") == {"ended": [listed[0]["id"]]}
    assert not _signed_in(olga) and _signed_in(li)
    assert _cli(db, "session", "end", "--member", LI, "--json") == {"ended": [listed[1]["id"]]}
    assert not _signed_in(li)
    assert _cli(db, "session", "list", "--json") == []
    ended = _cli(db, "session", "list", "--all", "--json")
    assert [(s["state"], s["ended_why"]) for s in ended] == [
        ("ended", "laptop stolen"), ("ended", "ended by an operator")]
    assert _ends(db) == [("operator", listed[0]["id"], "laptop stolen"),
                         ("operator", listed[1]["id"], "ended by an operator")]


# --- lifetime ---------------------------------------------------------------------------------


def test_a_session_ends_after_its_hours_however_busy_and_when_left_idle(
        db: Any, clock: Any, browser: Callable[[], Browser]) -> None:
    olga = browser()
    olga.sign_in(db, OLGA)
    thief = _copy(olga, browser)
    for _ in range(7):  # used every 100 minutes: never idle, 11 h 40 min in all
        clock.advance(minutes=100)
        assert _signed_in(olga)
    clock.advance(minutes=21)  # 12 h 01 min after signing in (MKTFLOW_WEB_SESSION_HOURS=12)
    assert not _signed_in(thief) and not _signed_in(olga)
    assert _cli(db, "session", "list", "--all", "--json")[0]["state"] == "expired"

    olga.sign_in(db, OLGA)
    clock.advance(minutes=119)
    assert _signed_in(olga)
    idle = _copy(olga, browser)
    clock.advance(minutes=121)  # unused for longer than MKTFLOW_WEB_SESSION_IDLE_MIN=120
    assert not _signed_in(idle) and not _signed_in(olga)
    assert [s["state"] for s in _cli(db, "session", "list", "--all", "--json")] == [
        "expired", "idle"]


# --- how a session begins -----------------------------------------------------------------


def test_a_cookie_planted_before_sign_in_never_signs_anyone_in(
        db: Any, app: Any, browser: Callable[[], Browser]) -> None:
    from mktflow.engine.common import digest

    attacker = browser()
    attacker.get("/sign-in")  # a visitor's cookie, with its form token: the attacker knows both
    planted = _cookie(attacker)
    victim = browser()
    victim.client.cookies.set(COOKIE, planted, domain="127.0.0.1")
    victim.sign_in(db, OLGA)
    assert _cookie(victim) != planted
    assert _signed_in(victim) and not _signed_in(attacker)

    # worst case: a cookie that names a secret of the attacker's choosing, signed with the
    # server's own key; signing in never adopts it
    chosen = "attacker-chosen-secret"
    forged = app.state.web.keys.dump(Session.signed_in(chosen))
    second = browser()
    second.client.cookies.set(COOKIE, forged, domain="127.0.0.1")
    assert not _signed_in(second)  # no row has that secret
    second.sign_in(db, OLGA)
    assert _cookie(second) != forged
    holder = browser()
    holder.client.cookies.set(COOKIE, forged, domain="127.0.0.1")
    assert not _signed_in(holder)
    assert digest(chosen) not in {s["secret_hash"] for s in _sessions(db, OLGA)}


def test_a_second_sign_in_on_one_browser_ends_the_first(
        db: Any, browser: Callable[[], Browser]) -> None:
    olga = browser()
    olga.sign_in(db, OLGA)
    thief = _copy(olga, browser)
    olga.sign_in(db, LI)  # someone else signs in on the same browser
    assert not _signed_in(thief)
    assert _sessions(db, OLGA)[0]["ended_why"] == "replaced by a new sign-in on the same browser"


def test_visitors_write_nothing_and_the_secret_is_stored_only_hashed(
        db: Any, site: str, browser: Callable[[], Browser]) -> None:
    from mktflow.engine.common import digest

    before = db.count("websession"), db.count("auditentry")
    visitor = browser()
    for path in ("/sign-in", "/my-work", "/", "/inbox/marketing"):
        visitor.get(path)
    assert 'name="csrf"' in visitor.get("/sign-in").text  # the sign-in form has its token
    assert (db.count("websession"), db.count("auditentry")) == before
    olga = browser()
    olga.sign_in(db, OLGA)
    body = _cookie(olga).split(".")[0]
    secret = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["s"]
    [row] = _sessions(db, OLGA)
    assert row["secret_hash"] == digest(secret) and len(secret) >= 40
    from sqlalchemy import text

    with db.engine.connect() as conn:
        dump = json.dumps([list(r) for r in conn.execute(text("SELECT * FROM websession"))],
                          default=str)
    assert secret not in dump and olga.csrf not in dump
    assert olga.csrf != secret  # the page's form token is not the cookie's secret


# --- helpers that need a database ---------------------------------------------------------


def _sign_in_by_link(db: Any, b: Browser, email: str) -> None:

    from mktflow.engine.credentials import send_sign_in_link

    send_sign_in_link(db.uow(), email)
    code = sign_in_code(db, email)
    b.get(f"/sign-in/{code}")
    r = b.post(f"/sign-in/{code}", {})
    assert r.status_code == 200 and "Signed in as" in r.text, r.text


def _cli(db: Any, *args: str) -> Any:
    """``mktflow ARGS`` in-process against ``db``; its JSON output."""
    from typer.testing import CliRunner

    from mktflow.cli import app as cli_app
    from tests.conftest import reset_caches

    with pytest.MonkeyPatch.context() as env:
        env.setenv("MKTFLOW_DATABASE_URL", db.url)
        reset_caches()
        r = CliRunner().invoke(cli_app, list(args))
    reset_caches()
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)
