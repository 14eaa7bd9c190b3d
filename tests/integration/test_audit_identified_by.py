"""Every audit entry a door writes says how the door knew who acts (issue 19, item 9), on both
databases: an answer typed in the Prefect UI's resume form reads "typed in the Prefect UI form
(not proven)" in the history, beside the member token, the signed-in session, the SSO proxy and
the command line (operator); the process engine's own entries say nothing. ``mktflow history``,
``GET /history`` and the item page show it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.api_support import as_member, member_api, serving
from tests.integration.web_support import Browser

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
TYPED = "typed in the Prefect UI form (not proven)"
FORM = {"type": "object", "properties": {"note": {"type": "string"}}}


def _step(db: Any, *, assignee: str | None = None) -> int:
    from mktflow.engine.work import create_work_item

    return int(create_work_item(db.uow(), actor_email=ANA, department="marketing",
                                title="Confirm the plan", form_schema=FORM,
                                assignee=assignee).id)


def _how(db: Any, ref: str) -> list[tuple[str, str, str | None]]:
    """(actor, action, identified_by) of each entry of ``ref``'s history, oldest first."""
    from mktflow.engine import queries

    return [(e.actor, e.action, e.identified_by) for e in queries.history(db.uow(), ref)]


def _answer_in_the_prefect_form(db: Any, item_id: int, who: str, data: dict[str, Any]) -> Any:
    """What the Prefect UI's resume form does with an answer: the bridge's
    ``reconcile_ui_answer``, run on ``db`` (its body; the flow test runs it in a real run)."""
    from mktflow import bootstrap
    from mktflow.config import get_settings
    from mktflow.prefect.tasks.common import reconcile_ui_answer

    bootstrap.wire(settings=get_settings(), database=db.engine, resumer=lambda *_: None)
    try:
        return reconcile_ui_answer.fn(item_id, "plan", who, data)
    finally:
        bootstrap.reset()


@pytest.fixture
def api(db: Any) -> Iterator[httpx.Client]:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    with member_api(db, create_app(db.engine, settings=Settings()), ANA, timeout=10) as c:
        yield c


def test_an_answer_typed_in_the_prefect_form_is_recorded_as_typed(db: Any) -> None:
    wid = _step(db)
    assert _answer_in_the_prefect_form(db, wid, OLGA, {"note": "from the UI"})["ok"]
    assert _how(db, f"W-{wid}") == [
        (ANA, "create", None),  # a unit of work no door made: nothing to say
        (OLGA, "claim", TYPED), (OLGA, "complete", TYPED)]
    # a refused one: its note is the engine's, which is never "identified"
    other = _step(db)
    refused = _answer_in_the_prefect_form(db, other, "raj.patel@example.com", {"note": "x"})
    assert not refused["ok"]
    assert _how(db, f"W-{other}")[-1] == ("mktflow", "comment", None)


def test_the_command_line_the_api_and_the_proxy_say_how_they_knew(
        cli: Any, db: Any, api: httpx.Client) -> None:
    from pydantic import SecretStr

    from mktflow.api.app import create_app
    from mktflow.config import Settings

    wid = _step(db)
    assert cli("work", "claim", f"W-{wid}", "--as", OLGA).exit_code == 0
    r = api.post(f"/work/{wid}/comment", json={"text": "by token"}, headers=as_member(OLGA))
    assert r.status_code == 200, r.text
    proxied = create_app(db.engine, settings=Settings(
        trust_proxy_header=True, api_token=SecretStr("proxy-shared-token-123")))
    with serving(proxied) as url:
        r = httpx.post(f"{url}/work/{wid}/comment", json={"text": "by proxy"}, timeout=10,
                       headers={"Authorization": "Bearer proxy-shared-token-123",
                                "X-Mktflow-Actor": OLGA})
        assert r.status_code == 200, r.text
    assert _how(db, f"W-{wid}")[1:] == [
        (OLGA, "claim", "command line (operator)"), (OLGA, "comment", "member token"),
        (OLGA, "comment", "SSO proxy")]
    trail = api.get(f"/history/W-{wid}").json()
    assert [e["identified_by"] for e in trail] == [
        None, "command line (operator)", "member token", "SSO proxy"]


def test_history_and_the_item_page_show_a_typed_answer_as_typed(cli: Any, db: Any) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    wid = _step(db)
    _answer_in_the_prefect_form(db, wid, OLGA, {"note": "from the UI"})
    shown = cli("history", f"W-{wid}")
    assert shown.exit_code == 0, shown.stderr
    header, *lines = shown.stdout.splitlines()
    assert "IDENTIFIED_BY" in header
    assert [line for line in lines if " complete " in line and TYPED in line], shown.stdout
    assert [e["identified_by"] for e in cli("history", f"W-{wid}", "--json").json()] == [
        None, TYPED, TYPED]
    with serving(create_app(db.engine, settings=Settings())) as url:
        ana = Browser(url)
        ana.sign_in(db, ANA)
        ana.get(f"/work/{wid}")
        r = ana.post(f"/work/{wid}", {"action": "comment", "text": "seen on the page"})
        assert r.status_code == 200, r.text
        history = r.text.split('id="h-history"')[1].split("</table>")[0]
        ana.client.close()
    rows = history.split("<tr>")[2:]
    assert len(rows) == 4
    assert "(how identified)" in r.text
    assert f'{OLGA}<span class="hint identified-by">{TYPED}</span>' in rows[2]
    assert f'{ANA}<span class="hint identified-by">signed-in session</span>' in rows[3]
    assert "identified-by" not in rows[0]  # the step's creation: no door said
