"""A member's digest choice at each door (issue #24 item 6): the My work page's form as a
browser posts it (no script), the REST API (``/me/digest``, problem+json naming the field) and
the command line (``mktflow digest``, ``--json``, exit 2); on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from mktflow.engine import digests
from mktflow.engine.credentials import issue_token
from mktflow.engine.work import create_work_item
from tests.integration.api_support import bearer, serving
from tests.integration.web_support import Browser

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist


@pytest.fixture
def site(db: Any) -> Iterator[str]:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    with serving(create_app(db.engine, settings=Settings())) as url:
        yield url


def test_the_my_work_page_saves_a_daily_digest_and_names_a_bad_time_beside_its_field(
        db: Any, site: str) -> None:
    olga = Browser(site)
    try:
        olga.sign_in(db, OLGA)
        page = olga.get("/my-work")
        assert 'id="h-digest"' in page.text and 'value="each" checked' in page.text
        assert "Digest time (HH:MM, UTC)" in page.text and 'value="17:00"' in page.text
        assert "of your calendar (default working day, UTC)." in page.text
        worded = "在您日历的工作日（默认工作日，UTC）发送"  # noqa: RUF001 (Chinese punctuation)
        assert worded in olga.get("/my-work?lang=zh").text
        olga.get("/my-work?lang=en")
        r = olga.post("/my-work/digest", {"mode": "daily", "at": "18:75"})
        assert r.status_code == 422
        assert ('<span class="field-error" id="e-digest-at">at: &#39;18:75&#39; is not a time '
                'of day') in r.text
        assert 'value="18:75"' in r.text and 'value="daily" checked' in r.text  # as typed
        assert digests.show_choice(db.uow(), OLGA).mode == "each"  # nothing saved
        r = olga.post("/my-work/digest", {"mode": "daily", "at": "08:30"})
        assert r.status_code == 200 and "Your notice choice is saved." in r.text
        assert 'value="daily" checked' in r.text and 'value="08:30"' in r.text
        r = olga.post("/my-work/digest", {"mode": "hourly", "at": "08:30"})
        assert r.status_code == 422 and 'id="e-digest-mode">mode: &#39;hourly&#39;' in r.text
    finally:
        olga.client.close()
    choice = digests.show_choice(db.uow(), OLGA)
    assert (choice.mode, choice.at) == ("daily", "08:30")


def test_the_api_reads_and_sets_the_acting_members_choice(db: Any, site: str) -> None:
    ana = bearer(issue_token(db.uow(), ANA).token)
    create_work_item(db.uow(), actor_email=ANA, department="marketing", title="Press list",
                     assignee=OLGA)
    with httpx.Client(base_url=site, timeout=10) as api:
        r = api.get("/me/digest", headers=ana)
        assert r.status_code == 200 and r.json() == {
            "member": ANA, "mode": "each", "at": "17:00", "zone": "UTC",
            "calendar": "default working day, UTC", "department_digest": True}
        r = api.put("/me/digest", headers=ana, json={"mode": "daily", "at": "7:30"})
        assert r.status_code == 200 and (r.json()["mode"], r.json()["at"]) == ("daily", "07:30")
        r = api.put("/me/digest", headers=ana, json={"mode": "daily", "at": "24:00"})
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "at" in r.text
        r = api.put("/me/digest", headers=ana, json={"mode": "weekly"})
        assert r.status_code == 422 and "mode" in r.text
        r = api.put("/me/digest", headers=ana, json={"mode": "each"})
        assert (r.json()["mode"], r.json()["at"]) == ("each", "07:30")  # her time is kept
        api.put("/me/digest", headers=ana, json={"mode": "daily"})
        r = api.get("/me/digest/preview", headers=ana)
        assert r.status_code == 200
        preview = r.json()
        assert preview["member"] == ANA and preview["department"]["counts"]["open"] == 1
        assert preview["department"]["entries"][0]["holder"] == OLGA
        assert api.get("/me/digest").status_code == 401  # only for someone proven
    assert digests.show_choice(db.uow(), ANA).at == "07:30"


def test_the_command_line_sets_shows_previews_and_sends(db: Any, clock: Any,
                                                        cli: Callable[..., Any]) -> None:
    from datetime import UTC, datetime, time, timedelta

    from tests.dates import date_ahead

    day = date_ahead(7)
    day += timedelta(days=(7 - day.weekday()) % 7)  # a Monday: a working day
    clock.set(datetime.combine(day, time(10), tzinfo=UTC))
    r = cli("digest", "set", "--as", OLGA, "--mode", "daily", "--at", "09:30", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["mode"] == "daily" and json.loads(r.stdout)["at"] == "09:30"
    r = cli("digest", "set", "--as", OLGA, "--mode", "daily", "--at", "noon")
    assert r.exit_code == 2 and "at: 'noon' is not a time of day (HH:MM" in r.stderr
    r = cli("digest", "show", "--as", OLGA)
    assert r.stdout.startswith(f"{OLGA}: a daily digest at 09:30 UTC")
    create_work_item(db.uow(), actor_email=ANA, department="marketing", title="Press list",
                     assignee=OLGA)
    r = cli("digest", "preview", "--as", OLGA, "--json")
    assert json.loads(r.stdout)["counts"]["changes"] == 1  # the assignment, held
    r = cli("digest", "preview", "--as", OLGA)
    assert "Changes held for this digest (1)" in r.stdout and "Press list" in r.stdout
    sent = json.loads(cli("digest", "send", "--json").stdout)
    assert [(s["member"], s["day"], s["changes"]) for s in sent] == [
        (OLGA, day.isoformat(), 1)]
    assert json.loads(cli("digest", "send", "--json").stdout) == []  # never twice a day
    assert "no digest due now" in cli("digest", "send").stdout
