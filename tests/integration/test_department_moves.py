"""A member who moves department keeps nothing of the old one (issue 19, item 5), on SQLite and
PostgreSQL: ``org load`` lists what the mover held there and hands each back (audited, with the
reason ``moved from supply to marketing``), and the mover can no longer complete the old
department's steps through the REST API or the pages.

Raj Patel (supply specialist) moves to marketing. Before the load he holds W1 (claimed), a
step his head Elena delegated to him (W2), a step he delegated to Elena (W3), and he leads
supply while Elena is away.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mktflow.engine import queries, tasklist, work
from mktflow.engine.credentials import issue_token
from mktflow.engine.organisation import set_head_away
from tests.dates import date_ahead
from tests.integration.api_support import bearer, serving
from tests.integration.web_support import Browser

RAJ = "raj.patel@example.com"  # supply specialist, moves to marketing
ELENA = "elena.volkova@example.com"  # supply head
ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist, moves to sales


@pytest.fixture
def site(db: Any) -> Iterator[str]:
    """The API and the pages for ``db``, served on 127.0.0.1."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    with serving(create_app(db.engine, settings=Settings())) as url:
        yield url


def _supply_step(db: Any, title: str, assignee: str | None) -> int:
    item = work.create_work_item(db.uow(), actor_email=ELENA, department="supply", title=title,
                                 assignee=assignee)
    return int(item.id)


def _raj_holds_supply_work(db: Any) -> tuple[int, int, int, int]:
    """W1 claimed by Raj, W2 delegated to him by Elena, W3 delegated by him to Elena, W4 open;
    Raj leads supply while Elena is away."""
    w1 = _supply_step(db, "Reorder shelf talkers", RAJ)
    w2 = _supply_step(db, "Check the pallet count", ELENA)
    work.delegate(db.uow(), w2, to=RAJ, actor_email=ELENA)
    w3 = _supply_step(db, "Book the spring freight", RAJ)
    work.delegate(db.uow(), w3, to=ELENA, actor_email=RAJ)
    w4 = _supply_step(db, "Count the returns", None)
    set_head_away(db.uow(), "supply", delegate=RAJ, start=None, until=date_ahead(10),
                  actor_email=ELENA)
    return w1, w2, w3, w4


def _org_file(tmp_path: Path, moves: dict[str, str]) -> Path:
    """The demo organisation with members moved: e-mail -> new department."""
    org = yaml.safe_load(resources.files("mktflow.demo").joinpath(
        "demo-organisation.yaml").read_text("utf-8"))
    for m in org["members"]:
        m["department"] = moves.get(m["email"], m["department"])
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    return path


def _view(db: Any, item: int) -> Any:
    return queries.show(db.uow(), f"W-{item}")


def test_a_mover_gives_back_the_old_departments_work_and_cannot_complete_it(
        db: Any, cli: Any, site: str, tmp_path: Path) -> None:
    w1, w2, w3, w4 = _raj_holds_supply_work(db)
    assert "complete" in tasklist.allowed_actions(db.uow(), f"W-{w1}", RAJ)  # before: his
    raj_token = issue_token(db.uow(), RAJ).token
    elena_token = issue_token(db.uow(), ELENA).token
    raj = Browser(site)
    raj.sign_in(db, RAJ)
    raj.get(f"/work/{w1}")

    loaded = cli("org", "load", str(_org_file(tmp_path, {RAJ: "marketing"})), "--json")
    assert loaded.exit_code == 0, loaded.stderr
    summary = loaded.json()
    assert summary["movers"] == {RAJ: {
        "from": "supply", "to": "marketing",
        "handed_back": [f"W-{w1} (claimed): back in the supply queue",
                        f"W-{w2} (delegated to them): back to {ELENA}",
                        f"W-{w3} (delegated by them to {ELENA}): back in the supply queue"],
        "delegate_of": ["supply"]}}
    assert list(summary["sessions_ended"]) == [RAJ] and summary["leavers_hold"] == {}

    # the steps are back where the old department decides on them
    for item, state, holder in ((w1, "open", None), (w2, "claimed", ELENA),
                                (w3, "open", None), (w4, "open", None)):
        view = _view(db, item)
        assert (view.state, view.assignee) == (state, holder), view
    with httpx.Client(base_url=site, timeout=10) as api:
        queue = api.get("/inbox/supply", params={"state": "open"}, headers=bearer(elena_token))
        assert queue.status_code == 200, queue.text
        assert {f"W-{w1}", f"W-{w3}", f"W-{w4}"} <= {r["ref"] for r in queue.json()["rows"]}
        trail = api.get(f"/history/W-{w1}", headers=bearer(elena_token)).json()
        last = trail[-1]
        assert (last["action"], last["actor"], last["from_state"], last["to_state"],
                last["reason"]) == ("take_back", "mktflow", "claimed", "open",
                                    "moved from supply to marketing")
        back = api.get(f"/history/W-{w2}", headers=bearer(elena_token)).json()[-1]
        assert (back["action"], back["reason"]) == ("resolve", "moved from supply to marketing")

        # the REST API: his token still works (he is still a member), the old steps do not
        assert api.get("/org", headers=bearer(raj_token)).status_code == 200
        claim = api.post(f"/work/{w1}/claim", headers=bearer(raj_token))
        assert claim.status_code == 403 and "(marketing) may not claim" in claim.text, claim.text
        done = api.post(f"/work/{w2}/complete", json={"data": {}}, headers=bearer(raj_token))
        assert done.status_code == 403 and "only the assignee" in done.text, done.text
        # Elena (supply head) hands W1 to her deputy-less department: she takes it herself
        assert api.post(f"/work/{w1}/claim", headers=bearer(elena_token)).status_code == 200
        done = api.post(f"/work/{w1}/complete", json={"data": {}}, headers=bearer(raj_token))
        assert done.status_code == 403 and "only the assignee" in done.text, done.text

    # the pages: his session ended with the move; signed in again, the old steps refuse him
    assert raj.get("/my-work", follow_redirects=False).status_code == 303
    raj.sign_in(db, RAJ)
    page = raj.get(f"/work/{w2}")  # supply's step: not his department's to see any more
    assert page.status_code == 403 and "may not see" in page.text
    assert 'value="complete"' not in page.text and 'value="claim"' not in page.text
    refused = raj.post(f"/work/{w2}", {"action": "complete"})
    assert refused.status_code == 403 and "may not see" in refused.text
    refused = raj.post(f"/work/{w3}", {"action": "claim"})
    assert refused.status_code == 403 and "may not see" in refused.text
    assert (_view(db, w1).assignee, _view(db, w2).state, _view(db, w3).state) == (
        ELENA, "claimed", "open")
    raj.client.close()

    # supply is told, and no longer led by him while Elena is away
    with db.engine.connect() as conn:
        from sqlalchemy import text

        told = conn.execute(text(
            "SELECT department FROM outboxmessage WHERE event = 'work.taken_back'")).scalars()
        assert set(told) == {"supply"}
    supply = next(d for d in queries.organisation(db.uow()).departments
                  if d.code == "supply")
    assert supply.delegate is None


def test_org_load_prints_what_each_mover_gave_back(db: Any, cli: Any, tmp_path: Path) -> None:
    w1 = _supply_step(db, "Reorder shelf talkers", RAJ)
    brief = work.create_work_item(db.uow(), actor_email=ANA, department="marketing",
                                  title="Brief", assignee=OLGA).id
    moved = _org_file(tmp_path, {RAJ: "marketing", OLGA: "sales"})
    r = cli("org", "load", str(moved))
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert f"{RAJ} moved from supply to marketing; W-{w1} (claimed): back in the supply queue" \
        in lines
    assert f"{OLGA} moved from marketing to sales; W-{brief} (claimed): back in the " \
           "marketing queue" in lines
    again = cli("org", "load", str(moved), "--json")
    assert again.json()["movers"] == {}  # moved once, listed once
    # moving back is a move too; what he does not hold stays where it is
    assert cli("work", "claim", str(w1), "--as", ELENA).exit_code == 0
    back = cli("org", "load", str(_org_file(tmp_path, {OLGA: "sales"})), "--json").json()
    assert back["movers"] == {RAJ: {"from": "marketing", "to": "supply", "handed_back": [],
                                    "delegate_of": []}}
    assert back["sessions_ended"] == {} and _view(db, w1).assignee == ELENA
