"""Credentials: how a door proves which member is acting.

Two kinds, both random, never stored in clear, looked up by their SHA-256 hex digest (a copy of
the database acts as nobody):

- **member tokens** (``issue_token``): a personal bearer token for the REST API and the web
  pages (``Authorization: Bearer mkt_…``), shown once, valid until revoked or until it
  expires; ``member_for_token`` turns one into the member's e-mail. Deactivating a member
  revokes their tokens (``revoke_member_tokens``, called by the organisation load). Revoking
  a token ends the page sessions signed in with it (``revoke_token``); revoking all of a
  member's (``revoke_tokens_of``) ends all their page sessions
  (``mktflow.engine.web_sessions``).
- **one-time sign-in links** (``request_sign_in_link``, then ``send_sign_in_link``):
  ``{MKTFLOW_API_URL}/sign-in/{code}``, sent through the member's *own* channels only (never
  a department's: colleagues would get it too), valid ``MKTFLOW_SIGN_IN_LINK_TTL_MIN``
  minutes (15), usable once (``redeem_sign_in_link``). The code is never stored nor shown:
  the outbox message keeps a nonce and the relay derives the code from it with the sign-in
  key when it sends the link (``mktflow.domain.sign_in``).

Asking for a link is rate-limited per e-mail address and per client, counted in the database
(``request_sign_in_link``: the same work and the same answer for members and strangers; the
member's own work, ``send_sign_in_link``, is done after the door has answered).

Every failure to prove an identity raises ``NotAuthenticated`` with the same words whatever
the cause (unknown, expired, revoked, used, inactive member), so nothing can be learnt by
guessing. Source: issue 10, "Member credentials" and "The web pages sign people in"; issue 19,
item 6.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, text
from sqlalchemy import select as core_select
from sqlmodel import col, select

from mktflow.domain.actors import SYSTEM, IdentifiedBy
from mktflow.domain.errors import (
    BadInput,
    NotAuthenticated,
    NotFound,
    Refused,
    TooManyRequests,
)
from mktflow.domain.inputs import check_id, normalise_email
from mktflow.domain.sign_in import PAYLOAD_KEY, SignInLimits, code_for, counting_key, key_id
from mktflow.engine.channels import OPERATOR, member_channels
from mktflow.engine.common import digest, find_member
from mktflow.engine.web_sessions import end_sessions_of
from mktflow.store.keys import sign_in_key
from mktflow.store.tables import Member, MemberToken, OutboxMessage, SignInLink, SignInRequest
from mktflow.store.uow import UnitOfWork

__all__ = [
    "TOKEN_PREFIX",
    "IssuedToken",
    "TokenHolder",
    "TokenView",
    "issue_token",
    "list_tokens",
    "member_for_token",
    "redeem_sign_in_link",
    "request_sign_in_link",
    "revoke_member_tokens",
    "revoke_token",
    "revoke_tokens_of",
    "send_sign_in_link",
    "token_holder",
]

#: Every member token starts with this, so secret scanners and people recognise one.
TOKEN_PREFIX = "mkt_"
#: The event of the outbox message carrying a sign-in link.
SIGN_IN_EVENT = "member.sign_in_link"
#: Longest token lifetime ``issue_token`` accepts, in days.
MAX_TOKEN_DAYS = 3650
#: ``last_used_at`` is written at most this often per token (every request would be a write).
_USE_STAMP_EVERY = timedelta(minutes=1)

_BAD_TOKEN = ("the member token is unknown, expired or revoked, or its member is no longer "
              "active: ask an operator for a new one (mktflow token create)")
_BAD_LINK = "this sign-in link is unknown, already used or expired: ask for a new one"


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: ``token`` is the secret, shown this once and never again."""

    id: int
    token: str
    member: str
    expires_at: datetime | None


@dataclass(frozen=True)
class TokenHolder:
    """A live token's id and the active member it belongs to."""

    id: int
    member: str


@dataclass(frozen=True)
class TokenView:
    """A token as ``token list`` shows it: never the secret. ``state``: active, expired or
    revoked."""

    id: int
    member: str
    state: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 strings."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in self.__dict__.items()}


def _active_person(uow: UnitOfWork, email: str) -> Member | None:
    """The active member ``email`` names; never the process engine."""
    if email.strip().lower() == SYSTEM.email:
        return None
    member = find_member(uow.session, email)
    return member if member is not None and member.active else None


def issue_token(uow: UnitOfWork, email: str, *, expires_days: int | None = None,
                actor_email: str = OPERATOR) -> IssuedToken:
    """Make a personal token for the active member ``email``; valid ``expires_days`` days
    (None: until revoked).

    Raises NotFound (no active member of that e-mail), Refused (the reserved engine name) and
    BadInput (``expires_days`` below 1 or above ``MAX_TOKEN_DAYS``).
    """
    if email.strip().lower() == SYSTEM.email:
        raise Refused(f"member: {SYSTEM.email!r} is the process engine; it has no tokens")
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise BadInput(f"expires: {expires_days} days is outside 1..{MAX_TOKEN_DAYS}")
    with uow:
        member = _active_person(uow, email)
        if member is None:
            raise NotFound(f"member: no active member with e-mail {email!r}")
        now = uow.now()
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = MemberToken(token_hash=digest(secret), member_email=member.email, created_at=now,
                          created_by=actor_email,
                          expires_at=now + timedelta(days=expires_days) if expires_days else None)
        uow.session.add(row)
        uow.session.flush()
        assert row.id is not None
        uow.audit(actor=actor_email, entity_type="token", entity_id=row.id, action="create",
                  data={"member": member.email, "expires_at": _iso(row.expires_at)})
        uow.commit()
        return IssuedToken(id=row.id, token=secret, member=member.email,
                           expires_at=row.expires_at)


def member_for_token(uow: UnitOfWork, token: str) -> str:
    """The e-mail of the member ``token`` belongs to.

    Raises NotAuthenticated when the token is unknown, expired or revoked, or its member is no
    longer active (one message for all, naming none).
    """
    return token_holder(uow, token).member


def token_holder(uow: UnitOfWork, token: str) -> TokenHolder:
    """The id of ``token`` and the e-mail of the member it belongs to (signing in to the
    pages records which token did). Raises NotAuthenticated as ``member_for_token`` does."""
    token = token.strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise NotAuthenticated(_BAD_TOKEN)
    with uow:
        row = uow.session.exec(select(MemberToken).where(
            col(MemberToken.token_hash) == digest(token))).first()
        now = uow.now()
        if (row is None or row.revoked_at is not None
                or (row.expires_at is not None and row.expires_at <= now)):
            raise NotAuthenticated(_BAD_TOKEN)
        member = _active_person(uow, row.member_email)
        if member is None:
            raise NotAuthenticated(_BAD_TOKEN)
        if row.last_used_at is None or now - row.last_used_at >= _USE_STAMP_EVERY:
            row.last_used_at = now
            uow.session.add(row)
            uow.commit()
        assert row.id is not None
        return TokenHolder(id=row.id, member=member.email)


def revoke_token(uow: UnitOfWork, token_id: int, *, actor_email: str = OPERATOR) -> list[int]:
    """Revoke token ``token_id`` at once, and end the page sessions signed in with it (a
    copied cookie stops with the token); returns the ids of the sessions ended. Revoking a
    revoked token changes nothing.

    Raises NotFound when there is no such token.
    """
    check_id(token_id, f"token {token_id}")
    with uow:
        row = uow.session.get(MemberToken, token_id, with_for_update=True)
        if row is None:
            raise NotFound(f"token {token_id} does not exist")
        if row.revoked_at is not None:
            return []
        row.revoked_at = uow.now()
        uow.session.add(row)
        uow.audit(actor=actor_email, entity_type="token", entity_id=token_id, action="revoke",
                  data={"member": row.member_email})
        ended = end_sessions_of(uow, row.member_email, why=f"token {token_id} revoked",
                                actor=actor_email, token_id=token_id)
        uow.commit()
        return ended


def revoke_tokens_of(uow: UnitOfWork, email: str, *, actor_email: str = OPERATOR
                     ) -> tuple[list[int], list[int]]:
    """Revoke every live token of member ``email`` and end all their page sessions, however
    they signed in (a lost laptop, a leaked token); returns (token ids revoked, session ids
    ended). Each is an audit entry. Raises NotFound for an e-mail of no member (active or
    not)."""
    with uow:
        member = find_member(uow.session, email)
        if member is None:
            raise NotFound(f"member: no member with e-mail {email!r}")
        revoked = revoke_member_tokens(uow, member.email)
        for token_id in revoked:
            uow.audit(actor=actor_email, entity_type="token", entity_id=token_id,
                      action="revoke", data={"member": member.email})
        ended = end_sessions_of(uow, member.email, actor=actor_email,
                                why=f"all tokens of {member.email} revoked")
        uow.commit()
        return revoked, ended


def revoke_member_tokens(uow: UnitOfWork, email: str) -> list[int]:
    """Revoke every live token of ``email`` inside the caller's transaction (a member is
    deactivated); returns the ids revoked. Unused sign-in links of the member lapse too."""
    now = uow.now()
    revoked = []
    for row in uow.session.exec(select(MemberToken).where(
            col(MemberToken.member_email) == email, col(MemberToken.revoked_at).is_(None))):
        row.revoked_at = now
        uow.session.add(row)
        assert row.id is not None
        revoked.append(row.id)
    for link in uow.session.exec(select(SignInLink).where(
            col(SignInLink.member_email) == email, col(SignInLink.used_at).is_(None))):
        link.expires_at = min(link.expires_at, now)
        uow.session.add(link)
    return revoked


def _state(row: MemberToken, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def list_tokens(uow: UnitOfWork, member: str | None = None) -> list[TokenView]:
    """Every token (or one member's), oldest first, without their secrets."""
    with uow:
        query = select(MemberToken).order_by(col(MemberToken.id))
        if member:
            query = query.where(col(MemberToken.member_email) == member.strip().lower())
        now = uow.now()
        return [TokenView(id=r.id or 0, member=r.member_email, state=_state(r, now),
                          created_at=r.created_at, created_by=r.created_by,
                          expires_at=r.expires_at, revoked_at=r.revoked_at,
                          last_used_at=r.last_used_at)
                for r in uow.session.exec(query)]


def safe_next_path(next_path: str | None) -> str | None:
    """``next_path`` if it is a path on this site (``/work/12``), else None: never another
    host (``//evil.example``, ``https://…``, a backslash), so a link cannot redirect away."""
    if not next_path or len(next_path) > 2000:
        return None
    if not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in next_path):
        return None
    return next_path


def limits_of(uow: UnitOfWork) -> SignInLimits:
    """The sign-in rate limits the settings describe (``MKTFLOW_SIGN_IN_*``)."""
    s = uow.settings
    return SignInLimits.of(per_address=s.sign_in_links_per_address,
                           per_client=s.sign_in_requests_per_client,
                           window=timedelta(minutes=s.sign_in_limit_window_min))


_R = SignInRequest.__table__  # type: ignore[attr-defined]


def request_sign_in_link(uow: UnitOfWork, email: str, *, client: str) -> None:
    """Take one "send me a link" request for ``email`` from ``client`` (its IP address), or
    refuse it because it comes too often; the link itself is ``send_sign_in_link``'s work,
    which the door does after it has answered.

    The same work whatever ``email`` names (a member, a stranger, the engine): one look at the
    requests counted for the address and for the client within the window, and one row
    written, so neither the answer nor its time says who is a member. Requests older than the
    window are deleted. Concurrent requests take turns (SQLite: the write lock each transaction
    takes at BEGIN; PostgreSQL: advisory locks on the address and the client), so processes
    serving one database never let more through than the limits.

    Raises TooManyRequests (``retry_after_s``: until a request would be taken) when the address
    had ``MKTFLOW_SIGN_IN_LINKS_PER_ADDRESS`` or the client ``MKTFLOW_SIGN_IN_REQUESTS_PER_CLIENT``
    requests taken within ``MKTFLOW_SIGN_IN_LIMIT_WINDOW_MIN``; nothing is written then.
    """
    limits = limits_of(uow)
    key = sign_in_key(uow.settings)
    address = counting_key(key, "address", normalise_email(email))
    sender = counting_key(key, "client", client.strip().lower() or "unknown")
    with uow:
        conn = uow.session.connection()
        _take_turns(conn, address, sender)
        now = uow.now()
        since = now - limits.window
        conn.execute(delete(_R).where(_R.c.at <= since))
        wait = limits.wait_before(address=_recent(conn, _R.c.address_key, address, since,
                                                  limits.per_address.most),
                                  client=_recent(conn, _R.c.client_key, sender, since,
                                                 limits.per_client.most), now=now)
        if wait is not None:
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            raise TooManyRequests(
                "too many sign-in links were asked for this address or from this network in "
                f"the last {limits.window.total_seconds() / 60:g} minutes: try again in "
                f"{minutes} minute{'s' if minutes != 1 else ''}",
                retry_after_s=math.ceil(wait.total_seconds()))
        conn.execute(insert(_R).values(at=now, address_key=address, client_key=sender))
        uow.commit()


def _recent(conn: Connection, column: Any, value: str, since: datetime, most: int
            ) -> list[datetime]:
    """The times of the newest ``most`` requests counted under ``value`` after ``since``."""
    return list(conn.execute(core_select(_R.c.at).where(column == value, _R.c.at > since)
                             .order_by(_R.c.at.desc()).limit(most)).scalars())


def _take_turns(conn: Connection, *keys: str) -> None:
    """On PostgreSQL, wait for the other transactions counting the same address or client
    (transaction-scoped advisory locks, always taken in the order given, so two requests never
    wait for each other); SQLite transactions already run one at a time."""
    if conn.dialect.name != "postgresql":
        return
    for key in keys:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                     {"k": int.from_bytes(bytes.fromhex(key)[:8], "big", signed=True)})


def send_sign_in_link(uow: UnitOfWork, email: str, *, next_path: str | None = None) -> None:
    """Queue a one-time sign-in link for the active member ``email`` through their own channels.

    The link is ``{MKTFLOW_API_URL}/sign-in/{code}``; the code is valid
    ``sign_in_link_ttl_min`` minutes and usable once. It is neither stored nor written to the
    outbox: the message carries a fresh nonce (``payload["sign_in"]``: the link's start, the
    nonce and the id of the sign-in key) and no ``link``; the relay derives the code from the
    nonce with the sign-in key when it sends (``mktflow.domain.sign_in``), and the
    ``signinlink`` row keeps only the code's SHA-256. It goes only through channels of the
    member (``channels:`` entries with ``member:``), never through a department's: a member
    without one gets a message row without a channel, which the relay marks ``skipped``.
    ``next_path`` is kept when it is a path on this site (``safe_next_path``), else dropped.

    An unknown or inactive e-mail (or the engine's name) does nothing and returns normally.
    Doors call it after answering the request (``request_sign_in_link`` is what they wait
    for), so its time says nothing either.
    """
    key = sign_in_key(uow.settings)
    with uow:
        member = _active_person(uow, email)
        if member is None:
            return
        now = uow.now()
        nonce = secrets.token_urlsafe(24)
        expires = now + timedelta(minutes=uow.settings.sign_in_link_ttl_min)
        link_row = SignInLink(code_hash=digest(code_for(key, nonce)), member_email=member.email,
                              next_path=safe_next_path(next_path), created_at=now,
                              expires_at=expires)
        uow.session.add(link_row)
        uow.session.flush()
        assert link_row.id is not None and member.id is not None
        minutes = f"{uow.settings.sign_in_link_ttl_min:g}"
        subject = f"Your mktflow sign-in link (valid {minutes} minutes, once)"
        payload: dict[str, Any] = {
            "event": SIGN_IN_EVENT, "kind": "sign-in", "ref": "sign-in link",
            "for": member.email, "recipient": member.email, "department": member.department,
            "subject": subject, "expires_at": expires.isoformat(),
            "reason": "someone asked to sign in as you; ignore it if it was not you",
            PAYLOAD_KEY: {"url": f"{uow.settings.api_url.rstrip('/')}/sign-in/",
                          "nonce": nonce, "key": key_id(key)},
        }
        channels = [c.id for c in member_channels(uow.session, [member.email])]
        for channel_id in channels or [None]:
            uow.outbox(OutboxMessage(id="", event=SIGN_IN_EVENT, department=member.department,
                                     recipient_email=member.email, channel_id=channel_id,
                                     subject=subject, payload=dict(payload), link=None))
        uow.audit(actor=SYSTEM.email, entity_type="member", entity_id=member.id,
                  action="sign_in_link", data={"member": member.email, "link": link_row.id,
                                               "expires_at": expires.isoformat(),
                                               "channels": len(channels)})
        uow.commit()


def redeem_sign_in_link(uow: UnitOfWork, code: str) -> tuple[str, str | None]:
    """Use a sign-in code once: ``(member e-mail, next_path)``; marks it used in the same
    transaction, so a second use (or a concurrent one) fails.

    Raises NotAuthenticated when the code is unknown, used or expired, or its member is no
    longer active.
    """
    code = code.strip()
    if not code or len(code) > 200:
        raise NotAuthenticated(_BAD_LINK)
    with uow:
        row = uow.session.exec(select(SignInLink).where(
            col(SignInLink.code_hash) == digest(code)).with_for_update()).first()
        now = uow.now()
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise NotAuthenticated(_BAD_LINK)
        member = _active_person(uow, row.member_email)
        if member is None:
            raise NotAuthenticated(_BAD_LINK)
        row.used_at = now
        uow.session.add(row)
        assert member.id is not None
        uow.identified_by = IdentifiedBy.SIGN_IN_LINK  # whatever door: the link proves them
        uow.audit(actor=member.email, entity_type="member", entity_id=member.id,
                  action="sign_in", data={"link": row.id})
        uow.commit()
        return member.email, row.next_path


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
