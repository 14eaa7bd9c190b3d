"""Who acts is proven at every door (issue 10), on SQLite and PostgreSQL.

Fault 1: the reserved name ``mktflow`` (the process engine) is refused at every door (REST API
header, CLI ``--as``, the HTML form, ``org away``, ``POST /handoffs``, ``POST /work`` with an
assignee of another department); the engine still acts inside flows.
Fault 2: an approval step re-checks the authority matrix when it is taken or decided: a
specialist who joined after the step was created cannot claim or approve it.
Fault 6: a typed e-mail (a header without a credential) no longer acts; a member token acts as
its member whatever header comes with it; SSO-proxy mode is a setting, refused beyond the
loopback without its token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from mktflow.config import Settings
from mktflow.domain.actors import Approval
from mktflow.domain.errors import ConfigError, NotAuthorized
from mktflow.domain.organisation import MemberSpec
from mktflow.engine import approvals, queries, work
from mktflow.engine.credentials import issue_token
from mktflow.engine.organisation import load_organisation, read_organisation_file
from tests.conftest import reset_caches
from tests.dates import days_ahead
from tests.integration.api_support import bearer, serving

ANA = "ana.torres@example.com"  # marketing head
LI = "li.na@example.com"  # marketing deputy
OLGA = "olga.petrova@example.com"  # marketing specialist: submits the campaign
CARLOS = "carlos.mendez@example.com"  # sales head
NINA = "nina.new@example.com"  # joins marketing as a specialist after the step exists
SHARED = "proxy-shared-token"
APPROVAL_FORM = {"type": "object", "required": ["decision"], "properties": {
    "decision": {"enum": ["approve", "reject", "rework"]}, "reason": {"type": "string"}}}
APPROVE = {"data": {"decision": "approve"}}


def _approval_step(db: Any) -> int:
    """A campaign approval step as ``seek_approval`` makes one: marketing head or deputy,
    the submitter (Olga) and members without those roles excluded."""
    chain = approvals.approval_chain(db.uow(), "campaign", 8000.0, None)
    [stage] = chain.stages
    who = approvals.approvers_for_step(db.uow(), stage, submitter=OLGA, earlier_approvers=[])
    item = work.create_work_item(
        db.engine_uow(), actor_email="mktflow", department=stage.department,
        title="Approve the spring campaign", form_schema=APPROVAL_FORM, excluded=who.excluded,
        branch=stage.branch,
        approval=Approval(stage.department, stage.roles, stage.branch, chain.describe()))
    assert item.id is not None
    return item.id


def _written(db: Any) -> tuple[int, int]:
    return db.count("auditentry"), db.count("outboxmessage")


@pytest.fixture
def proxy_api(db: Any) -> Iterator[httpx.Client]:
    """The API in SSO-proxy mode with its shared token, as the issue's attacker met it."""
    from mktflow.api.app import create_app

    settings = Settings(api_token=SecretStr(SHARED), trust_proxy_header=True)
    with serving(create_app(db.engine, settings=settings)) as url, httpx.Client(
            base_url=url, timeout=10, headers=bearer(SHARED)) as client:
        yield client


@pytest.fixture
def token_api(db: Any) -> Iterator[httpx.Client]:
    """The API as it runs by default: member tokens only."""
    from mktflow.api.app import create_app

    with serving(create_app(db.engine, settings=Settings())) as url, httpx.Client(
            base_url=url, timeout=10) as client:
        yield client


# --- fault 1: the engine's name at every door ----------------------------------------------


def test_the_engine_name_is_refused_by_the_api_in_proxy_mode(db: Any,
                                                             proxy_api: httpx.Client) -> None:
    wid = _approval_step(db)
    before = _written(db)
    engine = {"X-Mktflow-Actor": "mktflow"}
    for path, body in [(f"/work/{wid}/claim", None), (f"/work/{wid}/complete", APPROVE)]:
        r = proxy_api.post(path, headers=engine, json=body)
        assert r.status_code == 403, r.text
        assert "'mktflow' is the process engine" in r.json()["detail"]
    r = proxy_api.post("/handoffs", headers=engine, json={
        "from_department": "marketing", "to_department": "sales", "title": "Kit",
        "due": days_ahead(35), "criteria": "ok"})
    assert r.status_code == 403 and "process engine" in r.json()["detail"]
    r = proxy_api.post("/work", headers=engine, json={
        "department": "sales", "title": "Cross-department", "assignee": CARLOS})
    assert r.status_code == 403 and "process engine" in r.json()["detail"]
    assert _written(db) == before
    item = queries.show(db.uow(), f"W-{wid}")
    assert (item.state, item.assignee, item.completed_by) == ("open", None, None)
    # the proxy naming a real member still acts, as that member
    r = proxy_api.post(f"/work/{wid}/claim", headers={"X-Mktflow-Actor": LI})
    assert r.status_code == 200 and r.json()["assignee"] == LI


def test_a_member_token_acts_as_its_member_whatever_the_header_says(
        db: Any, token_api: httpx.Client) -> None:
    wid = _approval_step(db)
    li = bearer(issue_token(db.uow(), LI).token)
    for path, body in [(f"/work/{wid}/claim", None), (f"/work/{wid}/complete", APPROVE)]:
        r = token_api.post(path, headers={**li, "X-Mktflow-Actor": "mktflow"}, json=body)
        assert r.status_code == 200, r.text
    item = queries.show(db.uow(), f"W-{wid}")
    assert (item.state, item.completed_by) == ("done", LI)
    actors = {h.actor for h in queries.history(db.uow(), f"W-{wid}")}
    assert actors == {"mktflow", LI}  # the engine created it (inside a flow), Li decided it


def test_the_engine_name_is_refused_by_the_command_line(cli: Any, db: Any) -> None:
    wid = _approval_step(db)
    before = _written(db)
    for args in [("work", "claim", str(wid)), ("work", "complete", f"W-{wid}", "--data",
                                                 '{"decision": "approve"}'),
                 ("org", "away", "marketing", "--delegate", LI),
                 ("work", "create", "sales", "--title", "x", "--assignee", CARLOS),
                 ("handoff", "offer", "--from", "marketing", "--to", "sales", "--title", "Kit",
                  "--due", days_ahead(35))]:
        r = cli(*args, "--as", "mktflow")
        assert r.exit_code == 1, (args, r.stdout, r.stderr)
        assert "'mktflow' is the process engine" in r.stderr, (args, r.stderr)
    r = cli("token", "create", "--member", "mktflow")
    assert r.exit_code == 1 and "process engine" in r.stderr
    assert _written(db) == before


def test_the_engine_name_typed_in_the_page_form_does_not_act(db: Any,
                                                             token_api: httpx.Client) -> None:
    wid = _approval_step(db)
    before = _written(db)
    r = token_api.post(f"/work/{wid}", data={"action": "claim", "actor": "mktflow"},
                       headers={"Accept": "text/html", "Origin": str(token_api.base_url)[:-1]})
    assert r.status_code >= 300 or "claimed" not in r.text
    assert _written(db) == before
    assert queries.show(db.uow(), f"W-{wid}").assignee is None


def test_the_engine_still_acts_inside_flows(db: Any) -> None:
    wid = _approval_step(db)
    done = work.comment(db.engine_uow(), wid, actor_email="mktflow", text="reminder")
    assert done.id == wid
    with pytest.raises(NotAuthorized, match="process engine"):
        work.comment(db.uow(), wid, actor_email="mktflow", text="from a door")


# --- fault 2: approvals are checked when decided ---------------------------------------------


def _join_marketing(db: Any, email: str, role: str = "specialist") -> None:
    spec = read_organisation_file(None, demo=True)
    member = MemberSpec(name="Nina New", email=email, department="marketing", branch="hq",
                        role=role)  # type: ignore[arg-type]
    load_organisation(db.uow(), spec.model_copy(update={"members": [*spec.members, member]}),
                      source="test")


def test_a_late_joiner_cannot_claim_or_approve_an_approval(db: Any) -> None:
    wid = _approval_step(db)
    _join_marketing(db, NINA)
    before = _written(db)
    with pytest.raises(NotAuthorized, match=r"approval for marketing \(head/deputy\).*"
                                            r"specialist in marketing today"):
        work.claim(db.uow(), wid, actor_email=NINA)
    with pytest.raises(NotAuthorized, match="approval for marketing"):
        work.assign(db.uow(), wid, to=NINA, actor_email=ANA)
    assert _written(db) == before
    # held by an eligible deputy, then handed to the late joiner: still not theirs to decide
    work.claim(db.uow(), wid, actor_email=LI)
    with pytest.raises(NotAuthorized, match="approval for marketing"):
        work.delegate(db.uow(), wid, to=NINA, actor_email=LI)
    assert work.complete(db.uow(), wid, actor_email=LI, data={"decision": "approve"}
                         ).completed_by == LI


def test_a_role_taken_away_after_the_step_was_made_is_checked_at_the_decision(db: Any) -> None:
    wid = _approval_step(db)
    work.claim(db.uow(), wid, actor_email=LI)
    spec = read_organisation_file(None, demo=True)  # Li is demoted to specialist
    members = [m.model_copy(update={"role": "specialist"}) if m.email == LI else m
               for m in spec.members]
    load_organisation(db.uow(), spec.model_copy(update={"members": members}), source="test")
    with pytest.raises(NotAuthorized, match=f"{LI} may not complete W-{wid}: .*specialist"):
        work.complete(db.uow(), wid, actor_email=LI, data={"decision": "approve"})
    assert queries.show(db.uow(), f"W-{wid}").state == "claimed"


def test_four_eyes_still_hold_on_an_approval(db: Any) -> None:
    wid = _approval_step(db)
    _join_marketing(db, OLGA.replace("olga", "olga2"), role="deputy")  # unrelated newcomer
    with pytest.raises(NotAuthorized, match="four eyes"):
        work.claim(db.uow(), wid, actor_email=OLGA)


# --- fault 6: typed identities, proxy mode -------------------------------------------------


def test_a_typed_email_without_a_credential_does_not_act(db: Any,
                                                         token_api: httpx.Client) -> None:
    wid = _approval_step(db)
    before = _written(db)
    for headers in [{"X-Mktflow-Actor": LI}, {**bearer(SHARED), "X-Mktflow-Actor": LI},
                    bearer("mkt_" + "x" * 43)]:
        r = token_api.post(f"/work/{wid}/claim", headers=headers)
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.headers["content-type"].startswith("application/problem+json")
    assert token_api.get(f"/work/{wid}").status_code == 401  # reads need a credential too
    assert token_api.get("/inbox/marketing").status_code == 401
    assert token_api.get("/health").status_code == 200
    assert _written(db) == before


def test_revoked_and_deactivated_members_tokens_stop_acting(db: Any,
                                                            token_api: httpx.Client) -> None:
    from mktflow.engine.credentials import revoke_token

    wid = _approval_step(db)
    issued = issue_token(db.uow(), LI)
    assert token_api.get("/org", headers=bearer(issued.token)).status_code == 200
    revoke_token(db.uow(), issued.id)
    assert token_api.post(f"/work/{wid}/claim", headers=bearer(issued.token)).status_code == 401
    other = issue_token(db.uow(), LI)
    spec = read_organisation_file(None, demo=True)
    load_organisation(db.uow(), spec.model_copy(update={
        "members": [m for m in spec.members if m.email != LI]}), source="test")
    assert token_api.post(f"/work/{wid}/claim", headers=bearer(other.token)).status_code == 401


def test_proxy_mode_is_refused_beyond_the_loopback_without_its_token(
        cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from mktflow.api.app import check_exposure

    proxy = Settings(trust_proxy_header=True)
    with pytest.raises(ConfigError, match="MKTFLOW_API_TOKEN"):
        check_exposure(proxy, "0.0.0.0")
    check_exposure(proxy, "127.0.0.1")
    check_exposure(Settings(trust_proxy_header=True, api_token=SecretStr(SHARED)), "0.0.0.0")
    check_exposure(Settings(), "0.0.0.0")  # member tokens only: safe to expose
    monkeypatch.setenv("MKTFLOW_TRUST_PROXY_HEADER", "true")
    reset_caches()
    r = cli("api", "serve", "--host", "0.0.0.0", "--port", "1")
    assert r.exit_code == 2 and "MKTFLOW_TRUST_PROXY_HEADER=true" in r.stderr


def test_token_commands_print_once_list_and_revoke(cli: Any) -> None:
    made = cli("token", "create", "--member", LI, "--expires", "30", "--json")
    assert made.exit_code == 0, made.stderr
    token = made.json()["token"]
    listed = cli("token", "list", "--member", LI, "--json")
    assert listed.exit_code == 0 and token not in listed.stdout
    [row] = listed.json()
    assert (row["member"], row["state"]) == (LI, "active") and row["expires_at"]
    assert cli("token", "revoke", str(row["id"])).exit_code == 0
    assert cli("token", "list", "--json").json()[0]["state"] == "revoked"
    assert cli("token", "revoke", "999").exit_code == 2
    assert cli("token", "create", "--member", "nobody@example.com").exit_code == 2
