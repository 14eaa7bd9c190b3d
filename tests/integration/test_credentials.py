"""Member tokens and one-time sign-in links (issue 10, "Member credentials"), on both databases.

Tokens and codes are stored only hashed; every way a credential can fail is one
NotAuthenticated; deactivating a member (the organisation load) revokes their tokens.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from mktflow.domain import clock as clocks
from mktflow.domain.errors import NotAuthenticated, NotFound, Refused
from mktflow.domain.organisation import ChannelSpec
from mktflow.engine import channels, credentials
from mktflow.engine.organisation import load_organisation, read_organisation_file

OLGA = "olga.petrova@example.com"
MARCO = "marco.rossi@example.com"


def test_token_acts_as_its_member_and_is_stored_only_hashed(db: Any) -> None:
    issued = credentials.issue_token(db.uow(), "Olga.Petrova@example.com ", expires_days=30)
    assert issued.member == OLGA and issued.token.startswith("mkt_")
    assert credentials.member_for_token(db.uow(), issued.token) == OLGA
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM membertoken")).scalars().all()
        audit = conn.execute(text("SELECT data FROM auditentry WHERE entity_type='token'")
                             ).scalars().all()
    assert stored == [credentials.digest(issued.token)]
    assert issued.token not in str(audit)
    [view] = credentials.list_tokens(db.uow(), member=OLGA)
    assert view.state == "active" and view.id == issued.id and "token" not in view.as_dict()


def test_unknown_expired_revoked_tokens_and_the_engine_name_are_refused(db: Any) -> None:
    with pytest.raises(NotAuthenticated):
        credentials.member_for_token(db.uow(), "mkt_" + "x" * 43)
    issued = credentials.issue_token(db.uow(), OLGA, expires_days=1)
    later = clocks.now() + timedelta(days=1, seconds=1)
    with pytest.raises(NotAuthenticated):
        credentials.member_for_token(db.uow(clock=lambda: later), issued.token)
    credentials.revoke_token(db.uow(), issued.id)
    with pytest.raises(NotAuthenticated):
        credentials.member_for_token(db.uow(), issued.token)
    assert credentials.list_tokens(db.uow())[0].state == "revoked"
    with pytest.raises(Refused):
        credentials.issue_token(db.uow(), "mktflow")
    with pytest.raises(NotFound):
        credentials.issue_token(db.uow(), "nobody@example.com")
    with pytest.raises(NotFound):
        credentials.revoke_token(db.uow(), 999)


def test_deactivating_a_member_revokes_their_tokens(db: Any) -> None:
    issued = credentials.issue_token(db.uow(), MARCO)
    spec = read_organisation_file(None, demo=True)
    spec = spec.model_copy(update={"members": [m for m in spec.members if m.email != MARCO]})
    summary = load_organisation(db.uow(), spec, source="test")
    assert f"token {issued.id} of {MARCO}" in summary.deactivated
    assert credentials.list_tokens(db.uow(), member=MARCO)[0].state == "revoked"
    # back in the file: active again, but the old token stays revoked
    load_organisation(db.uow(), read_organisation_file(None, demo=True), source="test")
    with pytest.raises(NotAuthenticated):
        credentials.member_for_token(db.uow(), issued.token)


def _links(db: Any) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT recipient_email, channel_id, link, payload FROM outboxmessage "
            "WHERE event = 'member.sign_in_link'")).mappings().all()
    return [dict(r) for r in rows]


def _code(msg: dict[str, Any]) -> str:
    """The code the relay puts in the link it sends (it derives it with the sign-in key)."""
    import json

    from mktflow.config import get_settings
    from mktflow.domain.sign_in import code_for
    from mktflow.store.keys import sign_in_key

    payload = msg["payload"] if isinstance(msg["payload"], dict) else json.loads(msg["payload"])
    return code_for(sign_in_key(get_settings()), payload["sign_in"]["nonce"])


def test_sign_in_link_goes_to_the_member_channel_once(db: Any) -> None:
    channels.add_channel(db.uow(), ChannelSpec(department="marketing", type="webhook",
                                               url="https://hooks.example/dept",
                                               secret_env="HOOK_SECRET"))
    own = channels.add_channel(db.uow(), ChannelSpec(
        department="marketing", type="webhook", url="https://hooks.example/olga", member=OLGA,
        secret_env="HOOK_SECRET"))
    credentials.send_sign_in_link(db.uow(), OLGA, next_path="/work/3")
    [msg] = _links(db)
    assert msg["recipient_email"] == OLGA and msg["channel_id"] == own.id  # never the dept's
    code = _code(msg)
    assert msg["link"] is None and code not in str(msg["payload"])  # made when it is sent
    with db.engine.connect() as conn:
        assert code not in str(conn.execute(text("SELECT * FROM signinlink")).all())
    assert credentials.redeem_sign_in_link(db.uow(), code) == (OLGA, "/work/3")
    with pytest.raises(NotAuthenticated):
        credentials.redeem_sign_in_link(db.uow(), code)


def test_sign_in_link_expires_and_unknown_emails_leave_no_trace(db: Any) -> None:
    before = db.count("outboxmessage"), db.count("auditentry")
    for nobody in ("nobody@example.com", "mktflow"):
        credentials.send_sign_in_link(db.uow(), nobody)
    assert (db.count("outboxmessage"), db.count("auditentry")) == before
    assert db.count("signinlink") == 0
    credentials.send_sign_in_link(db.uow(), OLGA, next_path="//evil.example/x")
    [msg] = _links(db)
    assert msg["channel_id"] is None  # no own channel: a row the relay marks skipped
    code = _code(msg)
    late = clocks.now() + timedelta(minutes=15, seconds=1)
    with pytest.raises(NotAuthenticated):
        credentials.redeem_sign_in_link(db.uow(clock=lambda: late), code)
    assert credentials.redeem_sign_in_link(db.uow(), code) == (OLGA, None)
