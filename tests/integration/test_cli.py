"""The ``mktflow`` command line as a department member and an operator use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dates import days_ahead

HEAD = "ana.torres@example.com"
OLGA = "olga.petrova@example.com"
TOM = "tom.berg@example.com"
HANA = "hana.kim@example.com"
FORM = json.dumps({"type": "object", "properties": {"budget": {"type": "number", "minimum": 0}},
                   "required": ["budget"]})


def _create(cli: Any, *extra: str) -> int:
    r = cli("work", "create", "marketing", "--title", "Brief", "--as", HEAD, "--json", *extra)
    assert r.exit_code == 0, r.stderr
    return int(r.json()["id"])


def test_work_item_life_with_exit_codes(cli: Any, tmp_path: Path) -> None:
    wid = _create(cli, "--form", FORM, "--due", days_ahead(35))
    claimed = cli("work", "claim", f"W-{wid}", "--as", OLGA, "--json")
    assert claimed.exit_code == 0 and claimed.json()["state"] == "claimed"
    refused = cli("work", "claim", str(wid), "--as", HEAD)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: cannot claim work item W-")
    bad = cli("work", "complete", str(wid), "--as", OLGA, "--data", '{"budget": -1}')
    assert bad.exit_code == 2 and "field 'budget'" in bad.stderr
    not_json = cli("work", "complete", str(wid), "--as", OLGA, "--data", "{budget")
    assert not_json.exit_code == 2 and "data: not valid JSON" in not_json.stderr
    data = tmp_path / "data.json"
    data.write_text('{"budget": 2500}')
    done = cli("work", "complete", str(wid), "--as", OLGA, "--data", f"@{data}", "--json")
    assert done.exit_code == 0, done.stderr
    assert (done.json()["state"], done.json()["data"]) == ("done", {"budget": 2500})
    show = cli("work", "show", str(wid), "--json").json()
    assert show["form_schema"]["required"] == ["budget"] and show["department"] == "marketing"


def test_json_error_object_for_scripts(cli: Any) -> None:
    r = cli("work", "claim", "424242", "--as", OLGA, "--json")
    assert r.exit_code == 2
    assert r.json() == {"error": "W-424242 does not exist", "kind": "NotFound", "exit_code": 2}


def test_bad_usage_exits_2(cli: Any) -> None:
    assert cli("work", "claim", "1").exit_code == 2  # --as missing
    assert cli("work", "claim", "H-1", "--as", OLGA).exit_code == 2  # wrong kind of ref
    assert cli("handoff", "offer", "--from", "marketing", "--to", "tech", "--title", "x",
               "--due", "next tuesday", "--as", OLGA).exit_code == 2


def test_handoff_round_trip_and_history(cli: Any) -> None:
    day = days_ahead(60)
    offered = cli("handoff", "offer", "--from", "marketing", "--to", "tech", "--title",
                  "Prototype of the new bottle", "--due", f"{day}T12:00:00+01:00",
                  "--criteria", "drop-tested", "--as", OLGA, "--json")
    assert offered.exit_code == 0, offered.stderr
    hid = offered.json()["id"]
    assert offered.json()["due"] == f"{day}T11:00:00Z"
    assert cli("handoff", "reject", str(hid), "--as", TOM).exit_code == 2  # reason required
    assert cli("handoff", "accept", str(hid), "--as", OLGA).exit_code == 1  # wrong side
    for action, who in (("accept", TOM), ("deliver", TOM)):
        assert cli("handoff", action, str(hid), "--as", who).exit_code == 0
    ret = cli("handoff", "return", str(hid), "--as", OLGA, "--reason", "cap leaks", "--json")
    assert ret.json()["state"] == "returned" and ret.json()["return_count"] == 1
    assert cli("handoff", "deliver", str(hid), "--as", TOM, "--data", '{"v": 2}').exit_code == 0
    assert cli("handoff", "confirm", str(hid), "--as", OLGA).exit_code == 0
    trail = cli("history", f"H-{hid}", "--json").json()
    assert [(e["action"], e["to_state"]) for e in trail] == [
        ("offer", "offered"), ("accept", "accepted"), ("deliver", "delivered"),
        ("return", "returned"), ("deliver", "delivered"), ("confirm", "confirmed")]
    assert trail[3]["reason"] == "cap leaks" and trail[3]["actor"] == OLGA
    assert all({"actor", "at", "from_state", "to_state", "reason"} <= set(e) for e in trail)


def test_responsibility_letter_is_signed_on_accept(cli: Any) -> None:
    r = cli("handoff", "offer", "--from", "marketing", "--to", "production", "--title",
            "Pilot run", "--due", days_ahead(90), "--letter", "--deliverable", "trial run",
            "--deliverable", "unit cost", "--as", HEAD, "--json")
    assert r.json()["handoff_kind"] == "responsibility_letter"
    assert r.json()["deliverables"] == ["trial run", "unit cost"]
    signed = cli("handoff", "accept", str(r.json()["id"]), "--as", "pedro.alves@example.com",
                 "--json").json()
    assert signed["signed_by"] == "pedro.alves@example.com"


def test_inbox_json_shape_and_overdue_first(cli: Any, db: Any, clock: Any) -> None:
    from datetime import timedelta

    from mktflow.engine.work import create_work_item

    # a step that became overdue (a new one may not be due in the past)
    late = create_work_item(db.uow(), actor_email=HEAD, department="marketing", title="Brief",
                            due_at=clock.now() + timedelta(hours=1)).id
    clock.advance(days=3)
    _create(cli, "--due", days_ahead(1100))
    page = cli("inbox", "marketing", "--json").json()
    entries = page["rows"]
    assert entries[0]["id"] == late and entries[0]["overdue"] is True
    assert page["next_cursor"] is None
    for entry in entries:
        assert {"id", "kind", "state", "title", "due", "process"} <= set(entry)
    text = cli("inbox", "marketing")
    assert "OVERDUE" in text.stdout.splitlines()[1]


def test_inbox_pages_with_limit_and_cursor(cli: Any) -> None:
    made = [_create(cli, "--due", days_ahead(400 + day)) for day in (1, 2, 3)]
    first = cli("inbox", "marketing", "--limit", "2", "--json").json()
    assert [r["id"] for r in first["rows"]] == made[:2] and first["next_cursor"]
    rest = cli("inbox", "marketing", "--limit", "2", "--cursor", first["next_cursor"],
               "--json").json()
    assert [r["id"] for r in rest["rows"]] == made[2:] and rest["next_cursor"] is None
    human = cli("inbox", "marketing", "--limit", "2").stdout.splitlines()
    assert len(human) == 4 and "--cursor " in human[-1]  # header, two rows, the next page
    cursor = human[-1].split("--cursor ")[1]
    again = cli("inbox", "marketing", "--limit", "2", "--cursor", cursor, "--json").json()
    assert [r["id"] for r in again["rows"]] == made[2:]
    bad = cli("inbox", "marketing", "--limit", "0")
    assert bad.exit_code == 2 and "limit: must be a whole number from 1 to 200" in bad.stderr
    assert cli("inbox", "marketing", "--cursor", "junk").exit_code == 2


def test_org_show_and_reload_never_duplicates(cli: Any, tmp_path: Path) -> None:
    members = cli("org", "show", "--json").json()["members"]
    assert {"email", "department", "role", "branch"} <= set(members[0])
    assert {m["department"] for m in members} >= {"marketing", "sales", "tech", "production",
                                                  "supply", "finance", "management"}
    again = cli("org", "load", "--demo", "--json").json()
    assert again["added"] == [] and again["updated"] == []
    assert len(cli("org", "show", "--json").json()["members"]) == len(members)


def test_bad_organisation_file_is_refused_whole(cli: Any, tmp_path: Path) -> None:
    from importlib import resources

    text = resources.files("mktflow.demo").joinpath("demo-organisation.yaml").read_text()
    bad = tmp_path / "org.yaml"
    bad.write_text(text.replace("department: tech, branch: hq, role: specialist",
                                "department: tech, branch: east, role: specialist")
                   .replace("Olga Petrova", "Olga P."))
    r = cli("org", "load", str(bad))
    assert r.exit_code == 2
    assert f"{bad}: members[9] (tom.berg@example.com): unknown branch 'east'" in r.stderr
    names = {m["name"] for m in cli("org", "show", "--json").json()["members"]}
    assert "Olga Petrova" in names  # nothing from the refused file was loaded


def test_reassign_all_and_head_away(cli: Any) -> None:
    a, b = _create(cli, "--assignee", OLGA), _create(cli, "--assignee", OLGA)
    r = cli("work", "reassign-all", "--from", OLGA, "--to", "li.na@example.com", "--as",
            "li.na@example.com")
    assert r.exit_code == 1  # the deputy does not lead while the head is present
    assert cli("org", "away", "marketing", "--delegate", "li.na@example.com", "--from",
               "2020-01-01", "--as", HEAD).exit_code == 0
    moved = cli("work", "reassign-all", "--from", OLGA, "--to", "marco.rossi@example.com",
                "--as", "li.na@example.com", "--json")
    assert moved.exit_code == 0, moved.stderr
    assert sorted(x["id"] for x in moved.json()) == sorted([a, b])
    assert all(x["assignee"] == "marco.rossi@example.com" for x in moved.json())


def _mktflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mktflow.cli", *args], env=env, text=True,
                          capture_output=True, timeout=60)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MKTFLOW_")}
    return {**clean, "MKTFLOW_DATA_DIR": str(tmp_path / "data")}


def test_unreachable_database_is_one_clear_line(env: dict[str, str]) -> None:
    env["MKTFLOW_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/nowhere"
    r = _mktflow(env, "inbox", "marketing")
    assert r.returncode == 2
    assert r.stderr.startswith("error: cannot use the database at "
                               "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_wrong_url_is_one_clear_line(env: dict[str, str]) -> None:
    env["MKTFLOW_DATABASE_URL"] = "mysql://root@localhost/db"
    r = _mktflow(env, "db", "upgrade")
    assert r.returncode == 2
    assert r.stderr.strip() == ("error: MKTFLOW_DATABASE_URL uses 'mysql': mktflow supports "
                                "postgresql and sqlite")
    env["MKTFLOW_DATABASE_URL"] = "not a url"
    r = _mktflow(env, "db", "upgrade")
    assert r.returncode == 2 and "is not a database URL" in r.stderr


def test_unmigrated_database_says_what_to_run(env: dict[str, str]) -> None:
    r = _mktflow(env, "org", "show")
    assert r.returncode == 2
    assert "has no mktflow tables yet: run `mktflow db upgrade`" in r.stderr


def test_plain_postgresql_url_works(env: dict[str, str], pg_url: str) -> None:
    env["MKTFLOW_DATABASE_URL"] = pg_url  # postgresql://postgres@127.0.0.1:5432/<name>
    assert _mktflow(env, "db", "upgrade").returncode == 0
    assert _mktflow(env, "org", "load", "--demo").returncode == 0
    r = _mktflow(env, "org", "show", "--json")
    assert r.returncode == 0, r.stderr
    demo = yaml.safe_load((Path(__file__).parents[2] / "mktflow/demo/demo-organisation.yaml")
                          .read_text())
    shown = {m["email"] for m in json.loads(r.stdout)["members"]}
    assert shown == {m["email"] for m in demo["members"]}  # every member, on PostgreSQL


def test_commands_that_run_no_flow_do_not_import_prefect(env: dict[str, str]) -> None:
    code = ("import sys, mktflow.cli, mktflow.engine.queries, mktflow.engine.work; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('prefect', 'fastapi', 'uvicorn')))")
    r = subprocess.run([sys.executable, "-c", code], env=env, text=True, capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
