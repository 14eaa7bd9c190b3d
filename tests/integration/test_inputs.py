"""What mktflow accepts (issue 11): every case refused at its door, naming the field, on both
databases; nothing stored that would break a reader or a sender later."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.integration.api_support import TOKENS, as_member, member_api, member_tokens, serving
from tests.integration.web_support import Browser

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
LI = "li.na@example.com"  # marketing deputy
FORM = {"type": "object", "properties": {"budget": {"type": "number", "minimum": 0}},
        "required": ["budget"]}
JOSE = "josé.núñez@example.com"


def _app(db: Any, **settings: Any) -> Any:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    return create_app(db.engine, settings=Settings(**settings))


@pytest.fixture
def api(db: Any) -> Iterator[httpx.Client]:
    """The API served for ``db``; requests act with the member tokens ``as_`` sends."""
    with member_api(db, _app(db), ANA) as client:
        yield client


as_ = as_member


def _problem(r: httpx.Response, status: int, *needles: str) -> dict[str, Any]:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    for needle in needles:
        assert needle in body["detail"], body
    return body


def _held_item(api: httpx.Client) -> int:
    r = api.post("/work", headers=as_(ANA), json={"department": "marketing",
                                                   "title": "Spring brief", "form_schema": FORM})
    assert r.status_code == 201, r.text
    wid = int(r.json()["id"])
    assert api.post(f"/work/{wid}/claim", headers=as_(OLGA)).status_code == 200
    return wid


def _post_raw(api: httpx.Client, path: str, text: str | bytes) -> httpx.Response:
    return api.post(path, content=text.encode() if isinstance(text, str) else text,
                    headers={**as_(OLGA), "Content-Type": "application/json"})


# --- numbers, text and nesting in JSON ---------------------------------------------------------

@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused_and_the_item_stays_readable(
        api: httpx.Client, db: Any, number: str) -> None:
    wid = _held_item(api)
    before = db.count("auditentry")
    r = _post_raw(api, f"/work/{wid}/complete", '{"data": {"budget": ' + number + "}}")
    _problem(r, 422, "body.data.budget")
    assert db.count("auditentry") == before
    shown = api.get(f"/work/{wid}")
    assert shown.status_code == 200 and shown.json()["state"] == "claimed"


def test_engine_refuses_non_finite_data_whatever_the_door(db: Any) -> None:
    from mktflow.domain.errors import BadInput
    from mktflow.engine import work

    item = work.create_work_item(db.uow(), actor_email=ANA, department="marketing",
                                 title="Brief", assignee=OLGA)
    with pytest.raises(BadInput, match=r"data\.budget: must be a finite number"):
        work.complete(db.uow(), item.id, actor_email=OLGA, data={"budget": float("nan")})
    with pytest.raises(BadInput, match=r"data\.x: must not contain a lone surrogate"):
        work.complete(db.uow(), item.id, actor_email=OLGA, data={"x": "\ud800"})


@pytest.mark.parametrize(("body", "field"), [
    ('{"data": {"channel": "\\ud800"}}', "body.data.channel"),      # a lone surrogate
    ('{"data": {"channel": "a\\u0000b"}}', "body.data.channel"),    # NUL
    ('{"data": {"budget": 1' + "0" * 5000 + "}}", "body"),           # 5,001 digits
    ('{"data": {"budget": 99999999999999999999}}', "body.data.budget"),  # beyond 64 bits
    ('{"data": ' + "[" * 100_000 + "]" * 100_000 + "}", "body"),     # 100,000 deep
])
def test_json_that_would_break_a_reader_is_refused(
        api: httpx.Client, db: Any, body: str, field: str) -> None:
    wid = _held_item(api)
    _problem(_post_raw(api, f"/work/{wid}/complete", body), 422, field)
    assert api.get(f"/work/{wid}").json()["state"] == "claimed"


@pytest.mark.parametrize(("who", "fields", "needle"), [
    (OLGA, {"action": "complete", "budget": "NaN"}, "must be a finite number"),
    (OLGA, {"action": "comment", "text": "x" * 10_001}, "text"),
    (ANA, {"action": "cancel", "reason": "r" * 2_001}, "reason"),
])
def test_the_pages_forms_follow_the_same_rules(api: httpx.Client, db: Any, who: str,
                                               fields: dict[str, str], needle: str) -> None:
    wid = _held_item(api)
    browser = Browser(str(api.base_url).rstrip("/"))
    try:
        browser.sign_in(db, who)
        browser.get(f"/work/{wid}")
        before = db.count("auditentry")
        r = browser.post(f"/work/{wid}", fields)
    finally:
        browser.client.close()
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html"), r.text
    assert needle in r.text
    assert db.count("auditentry") == before


def test_binary_body_is_refused(api: httpx.Client) -> None:
    wid = _held_item(api)
    _problem(_post_raw(api, f"/work/{wid}/complete", Path("/bin/ls").read_bytes()[:50_000]),
             422, "body")


def test_request_size_limit(db: Any) -> None:
    with serving(_app(db, api_max_body_bytes=10_000)) as url, \
            httpx.Client(base_url=url, timeout=30) as c:
        big = {"department": "marketing", "title": "x", "description": "y" * 20_000}
        _problem(c.post("/work", headers=as_(ANA), json=big), 413, "10000 bytes")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
            yield b'{"department": "marketing", "title": "x", "description": "'
            for _ in range(30):
                yield b"y" * 1000
            yield b'"}'
        streamed = c.post("/work", headers={**as_(ANA), "Content-Type": "application/json"},
                          content=chunks())
        _problem(streamed, 413)
    assert db.count("workitem") == 0


# --- text fields: limits declared once, the same on both databases -----------------------------

@pytest.mark.parametrize(("fields", "field"), [
    ({"title": "t" * 301}, "title"),
    ({"title": "t" * 100_000}, "title"),
    ({"title": "Flyer\nBcc: x@example.com"}, "title"),
    ({"title": "a\u0000b"}, "title"),
    ({"title": "bell\u0007"}, "title"),
    ({"branch": "b" * 65}, "branch"),
    ({"description": "d" * 10_001}, "description"),
])
def test_text_beyond_its_limit_or_with_forbidden_characters(
        api: httpx.Client, db: Any, fields: dict[str, str], field: str) -> None:
    body = {"department": "marketing", "title": "Spring brief", **fields}
    r = api.post("/work", headers=as_(ANA), json=body)
    problem = _problem(r, 422)
    assert field in json.dumps(problem), problem
    assert db.count("workitem") == 0


def test_reasons_may_span_lines_but_are_bounded(api: httpx.Client, db: Any) -> None:
    wid = _held_item(api)
    long = api.post(f"/work/{wid}/cancel", headers=as_(ANA), json={"reason": "r" * 2001})
    _problem(long, 422)
    ok = api.post(f"/work/{wid}/cancel", headers=as_(ANA),
                  json={"reason": "no budget\nsee the minutes"})
    assert ok.status_code == 200 and ok.json()["state"] == "cancelled", ok.text


def test_engine_refuses_over_long_text_on_both_databases(db: Any) -> None:
    from mktflow.domain.errors import BadInput
    from mktflow.engine import handoffs, work

    with pytest.raises(BadInput, match=r"^title: must be at most 300 characters, got 100000$"):
        work.create_work_item(db.uow(), actor_email=ANA, department="marketing",
                              title="t" * 100_000)
    with pytest.raises(BadInput, match=r"^title: must not contain a line break"):
        handoffs.offer(db.uow(), actor_email=ANA, from_department="marketing",
                       to_department="sales", title="Kit\nBcc: x@example.com", due_at=None)
    assert db.count("workitem") == 0 and db.count("handoff") == 0


# --- ids and times out of range -----------------------------------------------------------------

@pytest.mark.parametrize("ref", ["99999999999999999999", "W-" + "9" * 40, "2147483648"])
def test_ids_beyond_the_tables_are_not_found(api: httpx.Client, ref: str) -> None:
    _problem(api.post(f"/work/{ref}/claim", headers=as_(OLGA)), 404, "does not exist")
    _problem(api.get(f"/work/{ref}"), 404)


@pytest.mark.parametrize("due", ["9999-12-31T23:00-05:00", "0001-01-01T00:00+05:00",
                                 "1969-12-31T23:59Z"])
def test_times_out_of_range_are_refused(api: httpx.Client, db: Any, due: str) -> None:
    r = api.post("/work", headers=as_(ANA),
                 json={"department": "marketing", "title": "x", "due": due})
    _problem(r, 422)
    assert "out of range" in r.text
    assert db.count("workitem") == 0


# --- the CLI door -------------------------------------------------------------------------------

def _claimed(cli: Any) -> str:
    r = cli("work", "create", "marketing", "--title", "Brief", "--form", json.dumps(FORM),
            "--as", ANA, "--json")
    assert r.exit_code == 0, r.stderr
    ref = r.json()["ref"]
    assert cli("work", "claim", ref, "--as", OLGA).exit_code == 0
    return str(ref)


@pytest.mark.parametrize("data", ['{"budget": NaN}', '{"budget": Infinity}',
                                  '{"budget": 1e400}', '{"budget": 1' + "0" * 5000 + "}",
                                  "[" * 100_000 + "]" * 100_000, "@/bin/ls"])
def test_cli_data_that_is_not_plain_json_exits_2(cli: Any, data: str) -> None:
    ref = _claimed(cli)
    r = cli("work", "complete", ref, "--as", OLGA, "--data", data)
    assert r.exit_code == 2, r.stdout
    assert r.stderr.startswith("error: data") and len(r.stderr.strip().splitlines()) == 1
    shown = cli("work", "show", ref, "--json")
    assert shown.exit_code == 0 and shown.json()["state"] == "claimed"


def test_cli_data_file_with_a_bom_is_accepted(cli: Any, tmp_path: Path) -> None:
    ref = _claimed(cli)
    data = tmp_path / "data.json"
    data.write_bytes(b"\xef\xbb\xbf" + b'{"budget": 2500}')
    r = cli("work", "complete", ref, "--as", OLGA, "--data", f"@{data}", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["data"] == {"budget": 2500}


@pytest.mark.parametrize(("args", "needle"), [
    (("--due", "9999-12-31T23:00-05:00"), "due:"),
    (("--due", "0001-01-01T00:00+05:00"), "due:"),
    (("--title", "t" * 301), "title: must be at most 300 characters"),
    (("--title", "Flyer\nBcc: x@example.com"), "title: must not contain a line break"),
    (("--title", "bad \udcff bytes"), "title: must not contain a lone surrogate"),
])
def test_cli_options_out_of_range_exit_2(cli: Any, db: Any, args: tuple[str, ...],
                                         needle: str) -> None:
    base = ["work", "create", "marketing", "--as", ANA]
    if "--title" not in args:
        base += ["--title", "Brief"]
    r = cli(*base, *args)
    assert r.exit_code == 2 and needle in r.stderr, (r.exit_code, r.stderr)
    assert db.count("workitem") == 0


@pytest.mark.parametrize("args", [
    ("work", "claim", "W-1", "--as", "olga\udcff@example.com"),
    ("inbox", "market\x00ing"),
    ("work", "create", "market\udcffing", "--title", "x", "--as", ANA),
])
def test_cli_lookups_by_text_no_database_holds_exit_2(cli: Any, args: tuple[str, ...]) -> None:
    _claimed(cli)
    r = cli(*args)
    assert r.exit_code == 2, (r.exit_code, r.stderr)
    assert "must not contain" in r.stderr or "no active member" in r.stderr, r.stderr


def test_cli_ids_beyond_64_bits(cli: Any) -> None:
    r = cli("work", "claim", "W-" + "1" * 40, "--as", OLGA)
    assert r.exit_code == 2 and "does not exist" in r.stderr


def test_org_load_of_a_binary_file_exits_2(cli: Any, tmp_path: Path) -> None:
    binary = tmp_path / "org.yaml"
    binary.write_bytes(Path("/bin/ls").read_bytes()[:20_000])
    r = cli("org", "load", str(binary))
    assert r.exit_code == 2 and "binary file" in r.stderr


def test_plan_csv_with_semicolons_says_what_is_expected(cli: Any, tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text("id;title;category;owner;goal;resources;parent\n"
                    "S1;Strategy;strategy selection;ana.torres@example.com;Grow;team;\n"
                    "F1;Plan;long-term plan;ana.torres@example.com;Grow;team;S1\n")
    r = cli("plan", "balance", str(plan))
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        f'error: {plan}: the header is separated by semicolons (;); a plan CSV is '
        'comma-separated (,) UTF-8 text with a header row (in a spreadsheet: save as '
        '"CSV UTF-8 (comma delimited)")']


# --- e-mails: one member however the name is spelled ------------------------------------------

def _org_with(tmp_path: Path, *extra: dict[str, str], drop: str | None = None) -> Path:
    text = resources.files("mktflow.demo").joinpath("demo-organisation.yaml").read_text()
    org = yaml.safe_load(text)
    org["members"] = [m for m in org["members"] if m["email"] != drop] + list(extra)
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    return path


def test_composed_and_decomposed_emails_are_one_member(cli: Any, tmp_path: Path) -> None:
    composed = unicodedata.normalize("NFC", JOSE)
    decomposed = unicodedata.normalize("NFD", JOSE)
    assert composed != decomposed
    member = {"name": "José Núñez", "department": "marketing", "branch": "hq"}
    both = _org_with(tmp_path, {**member, "email": composed},
                     {**member, "email": decomposed.upper()})
    refused = cli("org", "load", str(both))
    assert refused.exit_code == 2 and "duplicate" in refused.stderr.lower(), refused.stderr
    assert cli("org", "load", str(_org_with(tmp_path, {**member, "email": decomposed}))
               ).exit_code == 0
    r = cli("work", "create", "marketing", "--title", "Brief", "--as", ANA, "--json")
    ref = r.json()["ref"]
    claimed = cli("work", "claim", ref, "--as", composed.upper(), "--json")
    assert claimed.exit_code == 0, claimed.stderr
    assert claimed.json()["assignee"] == composed
    emails = [m["email"] for m in cli("org", "show", "--json").json()["members"]]
    assert emails.count(composed) == 1 and decomposed not in emails
    released = cli("work", "release", ref, "--as", decomposed, "--json")
    assert released.exit_code == 0, released.stderr


def test_api_bodies_name_members_however_spelled(api: httpx.Client, cli: Any,
                                                 tmp_path: Path) -> None:
    member = {"name": "José Núñez", "department": "marketing", "branch": "hq",
              "email": unicodedata.normalize("NFC", JOSE)}
    assert cli("org", "load", str(_org_with(tmp_path, member))).exit_code == 0
    r = api.post("/work", headers=as_(ANA), json={"department": "marketing", "title": "x"})
    assigned = api.post(f"/work/{r.json()['id']}/assign", headers=as_(ANA),
                        json={"to": unicodedata.normalize("NFD", JOSE).upper()})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"] == unicodedata.normalize("NFC", JOSE)


def test_the_sso_proxy_names_a_member_in_utf8(db: Any, cli: Any, tmp_path: Path) -> None:
    from pydantic import SecretStr

    from mktflow.api.app import create_app
    from mktflow.config import Settings

    member = {"name": "José Núñez", "department": "marketing", "branch": "hq",
              "email": unicodedata.normalize("NFC", JOSE)}
    assert cli("org", "load", str(_org_with(tmp_path, member))).exit_code == 0
    app = create_app(db.engine, settings=Settings(
        api_token=SecretStr("proxy-secret"), trust_proxy_header=True))
    shared = {"Authorization": "Bearer proxy-secret"}
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        created = client.post("/work", json={"department": "marketing", "title": "Brief"},
                              headers={**shared, "X-Mktflow-Actor": JOSE.encode()})
        assert created.status_code == 201, created.text
        history = client.get(f"/history/W-{created.json()['id']}", headers=shared).json()
        assert [e["actor"] for e in history] == [unicodedata.normalize("NFC", JOSE)]
        latin1 = client.post("/work", json={"department": "marketing", "title": "Brief"},
                             headers={**shared, "X-Mktflow-Actor": JOSE.encode("latin-1")})
        assert latin1.status_code == 422 and "UTF-8" in latin1.json()["detail"], latin1.text


# --- people who leave ---------------------------------------------------------------------------

def test_a_leaver_is_listed_with_what_she_holds_and_her_work_can_move(
        cli: Any, tmp_path: Path) -> None:
    ref = _claimed(cli)
    delegated = _claimed(cli)
    assert cli("work", "delegate", delegated, "--to", LI, "--as", OLGA).exit_code == 0
    r = cli("org", "load", str(_org_with(tmp_path, drop=OLGA)))
    assert r.exit_code == 0, r.stderr
    assert f"{OLGA} left and still holds {ref} (assigned), {delegated} (delegated by them)" \
        in r.stdout
    again = cli("org", "load", str(_org_with(tmp_path, drop=OLGA)), "--json").json()
    assert again["leavers_hold"] == {}  # already inactive: listed once, when she left

    # nothing is handed to her any more
    assert cli("work", "assign", ref, "--to", OLGA, "--as", ANA).exit_code == 2
    # her delegated step comes back to the department's queue, not to her
    back = cli("work", "resolve", delegated, "--as", LI, "--json")
    assert back.exit_code == 0, back.stderr
    assert (back.json()["state"], back.json().get("assignee")) == ("open", None)
    # and what she holds moves, although she is no longer active
    moved = cli("work", "reassign-all", "--from", OLGA, "--to", LI, "--as", ANA, "--json")
    assert moved.exit_code == 0, moved.stderr
    assert [x["ref"] for x in moved.json()] == [ref]
    assert moved.json()[0]["assignee"] == LI


# --- one time rule --------------------------------------------------------------------------------

def test_times_leave_in_utc_with_z_everywhere(cli: Any, db: Any, clock: Any) -> None:
    from sqlmodel import select

    from mktflow.store.tables import OutboxMessage

    day = clock.today() + timedelta(days=5)
    r = cli("work", "create", "marketing", "--title", "Brief", "--due",
            f"{day}T17:00+01:00", "--as", ANA, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["due"] == f"{day}T16:00:00Z"
    assert cli("work", "show", r.json()["ref"], "--json").json()["due"] == f"{day}T16:00:00Z"
    with db.uow() as uow:
        payloads = [m.payload for m in uow.session.exec(select(OutboxMessage))]
    assert payloads and {p["due"] for p in payloads} == {f"{day}T16:00:00Z"}


# --- the database as a caller sees it ------------------------------------------------------

def test_busy_sqlite_is_503_with_retry_after_and_no_path(sqlite_db: Any) -> None:
    from sqlalchemy import create_engine

    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from mktflow.store.db import engine_for

    path = sqlite_db.url.removeprefix("sqlite:///")
    TOKENS.update(member_tokens(sqlite_db))
    impatient = engine_for(sqlite_db.url, busy_timeout_s=0.2)
    holder = create_engine(sqlite_db.url).raw_connection()
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        with serving(create_app(impatient, settings=Settings())) as url:
            r = httpx.post(f"{url}/work", headers=as_(ANA), timeout=30,
                           json={"department": "marketing", "title": "x"})
        body = _problem(r, 503, "busy")
        assert r.headers["retry-after"].isdigit()
        assert path not in r.text and Path(path).name not in r.text, body
    finally:
        holder.rollback()
        holder.close()
        impatient.dispose()


def test_a_database_fault_is_503_naming_no_file(tmp_path: Path) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from mktflow.store.db import engine_for

    empty = engine_for(f"sqlite:///{tmp_path}/never-migrated.db")
    try:
        with serving(create_app(empty, settings=Settings())) as url:
            r = httpx.post(f"{url}/work", headers=as_(ANA), timeout=30,
                           json={"department": "marketing", "title": "x"})
        _problem(r, 503)
        assert str(tmp_path) not in r.text and "never-migrated" not in r.text
    finally:
        empty.dispose()


def _mktflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mktflow.cli", *args], env=env, text=True,
                          capture_output=True, timeout=120)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MKTFLOW_")}
    return {**clean, "MKTFLOW_DATA_DIR": str(tmp_path / "data")}


def test_passwords_in_urls_are_never_printed(env: dict[str, str], pg_url: str) -> None:
    secret = "s3cret-pw"
    env["MKTFLOW_DATABASE_URL"] = f"{pg_url}?password={secret}"
    upgraded = _mktflow(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "password=***" in upgraded.stdout and secret not in upgraded.stdout
    env["MKTFLOW_DATABASE_URL"] = f"postgresql://u:{secret}@127.0.0.1:1/x?password={secret}"
    for args in (("process", "list"), ("db", "upgrade")):
        r = _mktflow(env, *args)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert secret not in r.stdout + r.stderr and "***" in r.stderr


def test_two_upgrades_at_once_on_an_empty_postgresql(env: dict[str, str], pg_url: str) -> None:
    env["MKTFLOW_DATABASE_URL"] = pg_url
    results: list[subprocess.CompletedProcess[str]] = []
    threads = [threading.Thread(target=lambda: results.append(_mktflow(env, "db", "upgrade")))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert all("Traceback" not in r.stderr for r in results)
