"""What the command line and the REST API say when they refuse: the field and the rule in words,
on both databases (the fresh-user trial's findings 3, 5-8, 12 and 14)."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mktflow.domain import clock as clocks
from tests.integration.api_support import as_member, member_api
from tests.views import work_item

HEAD = "ana.torres@example.com"
OLGA = "olga.petrova@example.com"
TOM = "tom.berg@example.com"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@pytest.fixture
def api(db: Any) -> Iterator[httpx.Client]:
    """The REST API served for ``db`` on 127.0.0.1, read with Ana's member token."""
    from mktflow.api.app import create_app

    with member_api(db, create_app(db.engine), HEAD, timeout=10) as client:
        yield client


# --- finding 5: a field that is not an e-mail address, W-None, form and parameter wording ----


def test_an_assignee_that_is_not_an_e_mail_is_named_as_such(cli: Any, api: httpx.Client) -> None:
    r = cli("work", "create", "marketing", "--title", "Brief", "--assignee", "olga.petrova@",
            "--as", HEAD)
    assert r.exit_code == 2
    assert r.stderr.strip() == "error: assignee: 'olga.petrova@' is not an e-mail address"
    answer = api.post("/work", headers=as_member(HEAD), json={
        "department": "marketing", "title": "Brief", "assignee": "olga.petrova@"})
    assert answer.status_code == 422, answer.text
    assert "assignee: 'olga.petrova@' is not an e-mail address" in answer.json()["detail"]


def test_an_assignee_of_another_department_is_refused_for_the_new_item(cli: Any) -> None:
    r = cli("work", "create", "marketing", "--title", "Brief", "--assignee", TOM, "--as", HEAD)
    assert r.exit_code == 1
    assert (f"cannot assign the new item to {TOM}: they are in tech, not marketing"
            in r.stderr)
    assert "W-None" not in r.stderr


FORM = {"type": "object", "required": ["goal", "owner", "start"], "properties": {
    "goal": {"type": "string"},
    "owner": {"type": "string", "pattern": EMAIL},
    "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$", "title": "Code like CMP-12"},
    "start": {"type": "string", "format": "date"},
    "extra": {"type": "object"},
}}


def test_form_errors_speak_json_and_never_show_a_regex(cli: Any, api: httpx.Client) -> None:
    r = cli("work", "create", "marketing", "--title", "Plan", "--form", json.dumps(FORM),
            "--assignee", OLGA, "--as", HEAD, "--json")
    assert r.exit_code == 0, r.stderr
    ref = r.json()["ref"]
    bad = {"goal": None, "owner": "bad-email", "code": "cmp12", "start": "next tuesday",
           "extra": [1]}
    done = cli("work", "complete", ref, "--as", OLGA, "--data", json.dumps(bad))
    assert done.exit_code == 2
    for said in ("field 'goal': is required (got null)",
                 "field 'owner': 'bad-email' is not an e-mail address",
                 "field 'code': 'cmp12' does not match the expected form (Code like CMP-12)",
                 "field 'start': 'next tuesday' is not a date (YYYY-MM-DD)",
                 "field 'extra': must be an object, got array"):
        assert said in done.stderr, done.stderr
    assert "^[" not in done.stderr and "None" not in done.stderr and "list" not in done.stderr
    answer = api.post(f"/work/{ref[2:]}/complete", headers=as_member(OLGA), json={"data": bad})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "'bad-email' is not an e-mail address" in detail and "^[" not in detail
    assert {e["field"]: e["message"] for e in answer.json()["errors"]}["goal"] == \
        "is required (got null)"
    not_object = api.post(f"/work/{ref[2:]}/complete", headers=as_member(OLGA),
                          json={"data": [1]})
    assert not_object.status_code == 422
    assert "dictionary" not in not_object.text and "data: must be a JSON object, got array" \
        in not_object.json()["detail"]


def test_run_parameters_are_refused_in_words(cli: Any) -> None:
    from mktflow.prefect.registry import example

    params = example("campaign", "words1")
    params["plan"] = {**params["plan"], "goal": None, "start": "next tuesday", "kpis": {}}
    r = cli("run", "campaign", "--params", json.dumps(params))
    assert r.exit_code == 2
    assert "field 'plan.goal': is required (got null)" in r.stderr
    assert "field 'plan.start': 'next tuesday' is not a date (YYYY-MM-DD)" in r.stderr
    assert "field 'plan.kpis': must be an array, got object" in r.stderr
    assert "None" not in r.stderr and "Value error" not in r.stderr
    params["plan"] = [1]
    r = cli("run", "campaign", "--params", json.dumps(params))
    assert r.exit_code == 2 and "field 'plan': must be a JSON object, got array" in r.stderr


# --- finding 6: the inbox member filter -------------------------------------------------------


def test_the_inbox_member_filter_refuses_someone_who_is_not_a_member(
        cli: Any, api: httpx.Client) -> None:
    r = cli("inbox", "marketing", "--member", "nobody@example.com")
    assert r.exit_code == 2
    assert "member: 'nobody@example.com' is not an active member" in r.stderr
    assert cli("inbox", "marketing", "--member", "nobody@").exit_code == 2
    assert cli("inbox", "marketing", "--member", OLGA).exit_code == 0
    answer = api.get("/inbox/marketing", params={"member": "nobody@example.com"})
    assert answer.status_code == 422
    assert "member: 'nobody@example.com' is not an active member" in answer.json()["detail"]
    assert api.get("/inbox/marketing", params={"member": OLGA}).status_code == 200


# --- finding 7: a department's delegate is one of its own members -----------------------------


def test_a_delegate_from_another_department_is_refused(cli: Any, tmp_path: Path) -> None:
    r = cli("org", "away", "marketing", "--delegate", TOM, "--as", HEAD)
    assert r.exit_code == 2
    assert f"delegate: {TOM} is in tech, not marketing" in r.stderr
    ok = cli("org", "away", "marketing", "--delegate", "li.na@example.com", "--as", HEAD)
    assert ok.exit_code == 0, ok.stderr
    org = _demo_org()
    next(d for d in org["departments"] if d["code"] == "marketing")["delegate"] = TOM
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(org), "utf-8")
    refused = cli("org", "load", str(path))
    assert refused.exit_code == 2
    assert f"delegate '{TOM}' is in tech, not marketing" in refused.stderr


# --- finding 8: a due time already past -------------------------------------------------------


def test_a_due_time_in_the_past_is_refused_naming_due(cli: Any, api: httpx.Client) -> None:
    r = cli("handoff", "offer", "--from", "marketing", "--to", "tech", "--title", "Specs",
            "--due", "2020-01-01", "--as", HEAD)
    assert r.exit_code == 2
    assert r.stderr.startswith("error: due: 2020-01-01 23:59 UTC is already past")
    created = cli("work", "create", "marketing", "--title", "Brief", "--due", "2020-01-01",
                  "--as", HEAD)
    assert created.exit_code == 2 and "due: 2020-01-01 23:59 UTC is already past" in \
        created.stderr
    answer = api.post("/handoffs", headers=as_member(HEAD), json={
        "from_department": "marketing", "to_department": "tech", "title": "Specs",
        "due": "2020-01-01"})
    assert answer.status_code == 422, answer.text
    assert "due: 2020-01-01 23:59 UTC is already past" in answer.json()["detail"]
    answer = api.post("/work", headers=as_member(HEAD), json={
        "department": "marketing", "title": "Brief", "due": "2020-01-01T10:00:00Z"})
    assert answer.status_code == 422 and "due:" in answer.json()["detail"]
    # today (a date alone is the end of that day) and later are fine

    today = clocks.now().date().isoformat()
    assert cli("work", "create", "marketing", "--title", "Today", "--due", today,
               "--as", HEAD).exit_code == 0
    assert api.post("/handoffs", headers=as_member(HEAD), json={
        "from_department": "marketing", "to_department": "tech", "title": "Specs",
        "due": "2099-01-01"}).status_code == 201


# --- finding 14: org load reports every problem at once --------------------------------------


def _demo_org() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("mktflow.demo").joinpath("demo-organisation.yaml").read_text("utf-8")
    org: dict[str, Any] = yaml.safe_load(text)
    return org


def test_org_load_reports_every_problem_of_the_file_at_once(cli: Any, tmp_path: Path) -> None:
    org = _demo_org()
    org["departments"] = [d for d in org["departments"] if d["code"] in ("marketing", "tech")]
    org["members"][0]["email"] = "bad-email"
    org["members"][1]["role"] = "wizard"
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(org), "utf-8")
    r = cli("org", "load", str(path))
    assert r.exit_code == 2
    assert "email: 'bad-email' is not an e-mail address" in r.stderr
    assert "role:" in r.stderr
    for code in ("sales", "production", "supply", "finance", "management"):
        assert f"required department {code!r} is missing" in r.stderr
    assert "should match pattern" not in r.stderr and "^[" not in r.stderr


# --- findings 3 and 12: hints that work as printed, server status --------------------------------


def test_the_demo_hints_work_when_copied_as_printed(db: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The "Where to see it" block's commands name the data folder: pasted into a shell that
    has no MKTFLOW_ variable, they read the demo's database."""
    from mktflow.demo.runner import _where_to_look
    from tests.conftest import reset_caches

    if db.kind != "sqlite":
        pytest.skip("the data folder holds the SQLite database")
    data = tmp_path / "data"
    data.mkdir()
    (data / "mktflow.db").write_bytes(Path(db.url.removeprefix("sqlite:///")).read_bytes())
    monkeypatch.setenv("MKTFLOW_DATA_DIR", str(data))
    monkeypatch.delenv("MKTFLOW_DATABASE_URL", raising=False)
    reset_caches()
    lines: list[str] = []
    _where_to_look(lines.append, "http://127.0.0.1:4200", local=True)
    text = "\n".join(lines)
    assert "server stop" in text and "keeps running" in text
    command = next(line.split("Processes", 1)[1].strip() for line in text.splitlines()
                   if "Processes" in line)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MKTFLOW_", "PREFECT_"))}
    env["HOME"] = str(tmp_path / "home")  # a plain `mktflow` would look in ~/.mktflow
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    done = subprocess.run(command, shell=True, env=env, text=True, capture_output=True,
                          timeout=60)
    assert done.returncode == 0, (command, done.stderr)
    assert "no processes" in done.stdout
    assert not (tmp_path / "home" / ".mktflow").exists()
    assert shlex.split(command)[0] == f"MKTFLOW_DATA_DIR={data.resolve()}"
    reset_caches()


def test_server_status_shows_where_everything_is(cli: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import reset_caches

    monkeypatch.setenv("MKTFLOW_DATA_DIR", str(tmp_path / "data"))
    reset_caches()
    r = cli("server", "status")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("local Prefect server: not running")
    folder = tmp_path / "data" / "prefect"
    assert f"  state file {folder / 'server.json'}" in lines
    assert f"  log        {folder / 'server.log'}" in lines
    assert any(line.startswith("  port") for line in lines)


# --- findings 4 and 11: what a run says while it waits, and a detached run ----------------------


def test_a_detached_run_is_reported_scheduled_not_finished(
        capsys: pytest.CaptureFixture[str]) -> None:
    from mktflow.cli.process import _finished

    _finished({"flow_run_id": "f", "process": "P-1", "state": "SCHEDULED", "detached": True},
              True)
    said = json.loads(capsys.readouterr().out)
    assert (said["event"], said["state"], said["detached"]) == ("scheduled", "SCHEDULED", True)


def test_a_waiting_step_names_item_department_holder_and_command() -> None:
    from mktflow.cli.process import waiting_line

    held = work_item(ref="W-3", id=3, department="sales", title="Enter the order",
                     assignee="sara.lind@example.com", state="claimed")
    text = waiting_line(held, False)
    assert text.startswith("waiting at W-3 (sales): Enter the order — held by "
                           "sara.lind@example.com")
    assert "mktflow work complete W-3 --as sara.lind@example.com --data @answers.json" in text
    open_item = dataclasses.replace(held, assignee=None, state="open")
    assert "mktflow work claim W-3 --as MEMBER && mktflow work complete W-3" in \
        waiting_line(open_item, False)
    assert json.loads(waiting_line(held, True))["event"] == "waiting"
