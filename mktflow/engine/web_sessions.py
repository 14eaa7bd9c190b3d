"""Page sessions: a member signed in on the departments' pages is one ``websession`` row.

The browser's cookie (``mktflow.web.session``) carries the session's secret (32 random bytes);
the row keeps only its SHA-256 digest, so a copy of the database signs nobody in. Every page
request asks ``session_member``, and a session signs its member in only while

- it has not ended: signed out (``end_session``), ended by an operator (``mktflow session
  end``, ``end_session_by_id`` / ``end_member_sessions``), or ended with what it stood on
  (``end_sessions_of``): the member token it was signed in with revoked, all the member's
  tokens revoked, the member deactivated or moved to another department by ``org load``;
- it is younger than ``MKTFLOW_WEB_SESSION_HOURS`` (12) and was used within
  ``MKTFLOW_WEB_SESSION_IDLE_MIN`` (120; ``last_seen_at`` is written at most once a minute);
- its member is active.

An end takes effect at the next request and is an audit entry (``session`` ``end``, with why).
Signing in always makes a new session with a new secret (``open_session``), never one the
browser brought, so a cookie planted in a browser before sign-in never signs anyone in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from mktflow.domain.actors import SYSTEM
from mktflow.domain.errors import BadInput, NotAuthenticated, NotFound
from mktflow.domain.inputs import check_id, normalise_email
from mktflow.engine.channels import OPERATOR
from mktflow.engine.common import digest, find_member
from mktflow.store.keys import data_folder_key
from mktflow.store.tables import MemberToken, WebSession
from mktflow.store.uow import UnitOfWork

__all__ = [
    "SIGNED_IN_BY",
    "OpenedSession",
    "SessionView",
    "end_member_sessions",
    "end_session",
    "end_session_by_id",
    "end_sessions_of",
    "list_sessions",
    "open_session",
    "session_key",
    "session_member",
]

#: How a member signed in: with a member token, or with a one-time link.
SIGNED_IN_BY = frozenset({"token", "link"})
#: ``last_seen_at`` is written at most this often per session (every request would be a write).
_SEEN_STAMP_EVERY = timedelta(minutes=1)
#: The longest a secret from a cookie can be; anything longer is no session's.
_SECRET_MAX = 200

_NOT_SIGNED_IN = ("the sign-in did not go through: the member is no longer active, or the "
                  "token was revoked or expired meanwhile")


@dataclass(frozen=True)
class OpenedSession:
    """A session just opened: ``secret`` goes into the browser's cookie and nowhere else."""

    id: int
    secret: str
    member: str


@dataclass(frozen=True)
class SessionView:
    """A session as ``session list`` shows it (never its secret). ``state``: live, ended,
    expired (older than ``MKTFLOW_WEB_SESSION_HOURS``) or idle (unused for
    ``MKTFLOW_WEB_SESSION_IDLE_MIN``)."""

    id: int
    member: str
    state: str
    signed_in_by: str
    token_id: int | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    ended_why: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 strings."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in self.__dict__.items()}


def _lifetime(uow: UnitOfWork) -> tuple[timedelta, timedelta]:
    """(longest life, longest idle time) of a session, from the settings in force."""
    settings = uow.settings
    return (timedelta(hours=settings.web_session_hours),
            timedelta(minutes=settings.web_session_idle_min))


def _state(uow: UnitOfWork, row: WebSession, now: datetime) -> str:
    """live, ended, expired or idle."""
    longest, idle = _lifetime(uow)
    if row.ended_at is not None:
        return "ended"
    if now - row.created_at >= longest:
        return "expired"
    if now - row.last_seen_at >= idle:
        return "idle"
    return "live"


def open_session(uow: UnitOfWork, email: str, *, signed_in_by: str,
                 token_id: int | None = None, replacing: str | None = None) -> OpenedSession:
    """Sign the member ``email`` in on the pages: a new session with a new random secret.

    ``signed_in_by``: ``token`` (``token_id``, the member token they gave) or ``link``.
    ``replacing``: the secret of the session the browser had, ended here (a second sign-in on
    one browser leaves one session). The member (and the token) are locked and checked again
    in this transaction, so a sign-in racing a deactivation or a revocation either fails or is
    ended by it.

    Raises NotAuthenticated when the member is not active or the token is revoked, expired or
    not theirs; BadInput for an unknown ``signed_in_by``.
    """
    if signed_in_by not in SIGNED_IN_BY:
        raise BadInput(f"signed_in_by: {signed_in_by!r} is not one of {sorted(SIGNED_IN_BY)}")
    with uow:
        now = uow.now()
        member = find_member(uow.session, email, for_update=True)
        if member is None or not member.active or member.email == SYSTEM.email:
            raise NotAuthenticated(_NOT_SIGNED_IN)
        if token_id is not None:
            token = uow.session.get(MemberToken, token_id, with_for_update=True)
            if (token is None or token.member_email != member.email
                    or token.revoked_at is not None
                    or (token.expires_at is not None and token.expires_at <= now)):
                raise NotAuthenticated(_NOT_SIGNED_IN)
        before = _row_of(uow, replacing) if replacing else None
        if before is not None and before.ended_at is None:
            _end(uow, before, why="replaced by a new sign-in on the same browser",
                 actor=member.email)
        secret = secrets.token_urlsafe(32)
        row = WebSession(secret_hash=digest(secret), member_email=member.email,
                         signed_in_by=signed_in_by, token_id=token_id, created_at=now,
                         last_seen_at=now)
        uow.session.add(row)
        uow.session.flush()
        assert row.id is not None
        uow.audit(actor=member.email, entity_type="session", entity_id=row.id, action="start",
                  data={"member": member.email, "signed_in_by": signed_in_by,
                        "token": token_id})
        uow.commit()
        return OpenedSession(id=row.id, secret=secret, member=member.email)


def _row_of(uow: UnitOfWork, secret: str) -> WebSession | None:
    """The session row a secret names (locked for the command), or None."""
    if not secret or len(secret) > _SECRET_MAX:
        return None
    return uow.session.exec(select(WebSession).where(
        col(WebSession.secret_hash) == digest(secret)).with_for_update()).first()


def session_member(uow: UnitOfWork, secret: str) -> str | None:
    """The e-mail of the member the session ``secret`` signs in, or None: unknown, ended,
    expired, idle, or its member is no longer active. Notes the use (``last_seen_at``, at
    most once a minute)."""
    if not secret or len(secret) > _SECRET_MAX:
        return None
    with uow:
        row = uow.session.exec(select(WebSession).where(
            col(WebSession.secret_hash) == digest(secret))).first()
        now = uow.now()
        if row is None or _state(uow, row, now) != "live":
            return None
        member = find_member(uow.session, row.member_email)
        if member is None or not member.active:
            return None
        if now - row.last_seen_at >= _SEEN_STAMP_EVERY:
            row.last_seen_at = now
            uow.session.add(row)
            uow.commit()
        return member.email


def _end(uow: UnitOfWork, row: WebSession, *, why: str, actor: str) -> None:
    """End ``row`` now, with an audit entry saying why (inside the caller's transaction)."""
    row.ended_at = uow.now()
    row.ended_why = why[:200]
    uow.session.add(row)
    assert row.id is not None
    uow.audit(actor=actor, entity_type="session", entity_id=row.id, action="end", reason=why,
              data={"member": row.member_email})


def end_session(uow: UnitOfWork, secret: str, *, why: str = "signed out") -> int | None:
    """End the session ``secret`` names (the member signs out); returns its id, or None when
    there was no live session to end (ending an ended one changes nothing)."""
    with uow:
        row = _row_of(uow, secret)
        if row is None or row.ended_at is not None:
            return None
        _end(uow, row, why=why, actor=row.member_email)
        uow.commit()
        return row.id


def end_session_by_id(uow: UnitOfWork, session_id: int, *, why: str = "ended by an operator",
                      actor_email: str = OPERATOR) -> bool:
    """End session ``session_id`` at once (``mktflow session end ID``); False when it had
    ended already (nothing changes). Raises NotFound when there is no such session."""
    check_id(session_id, f"session {session_id}")
    with uow:
        row = uow.session.get(WebSession, session_id, with_for_update=True)
        if row is None:
            raise NotFound(f"session {session_id} does not exist")
        if row.ended_at is not None:
            return False
        _end(uow, row, why=why, actor=actor_email)
        uow.commit()
        return True


def end_sessions_of(uow: UnitOfWork, email: str, *, why: str, actor: str,
                    token_id: int | None = None) -> list[int]:
    """End every session of ``email`` not ended yet, or only those signed in with member
    token ``token_id``, inside the caller's transaction (its commit makes them end); each end
    is an audit entry with ``why``. Returns the ids ended. Sessions past their lifetime are
    left as they are (they sign nobody in already)."""
    longest, _ = _lifetime(uow)
    query = select(WebSession).where(col(WebSession.member_email) == normalise_email(email),
                                     col(WebSession.ended_at).is_(None),
                                     col(WebSession.created_at) > uow.now() - longest)
    if token_id is not None:
        query = query.where(col(WebSession.token_id) == token_id)
    ended = []
    for row in list(uow.session.exec(query.order_by(col(WebSession.id)).with_for_update())):
        _end(uow, row, why=why, actor=actor)
        assert row.id is not None
        ended.append(row.id)
    return ended


def end_member_sessions(uow: UnitOfWork, email: str, *, why: str = "ended by an operator",
                        actor_email: str = OPERATOR) -> list[int]:
    """End every session of member ``email`` at once (``mktflow session end --member``);
    returns the ids ended. Raises NotFound for an e-mail of no member (active or not)."""
    with uow:
        member = find_member(uow.session, email)
        if member is None:
            raise NotFound(f"member: no member with e-mail {email!r}")
        ended = end_sessions_of(uow, member.email, why=why, actor=actor_email)
        uow.commit()
        return ended


def list_sessions(uow: UnitOfWork, member: str | None = None, *, everything: bool = False
                  ) -> list[SessionView]:
    """The live sessions (``everything``: also ended, expired and idle ones), oldest first,
    of everyone or of one member; never their secrets."""
    with uow:
        now = uow.now()
        longest, _ = _lifetime(uow)
        query = select(WebSession).order_by(col(WebSession.id))
        if member:
            query = query.where(col(WebSession.member_email) == normalise_email(member))
        if not everything:
            query = query.where(col(WebSession.ended_at).is_(None),
                                col(WebSession.created_at) > now - longest)
        views = [SessionView(id=r.id or 0, member=r.member_email, state=_state(uow, r, now),
                             signed_in_by=r.signed_in_by, token_id=r.token_id,
                             created_at=r.created_at, last_seen_at=r.last_seen_at,
                             expires_at=r.created_at + longest, ended_at=r.ended_at,
                             ended_why=r.ended_why)
                 for r in uow.session.exec(query)]
        return views if everything else [v for v in views if v.state == "live"]


def session_key(secret: str | None, data_dir: Path) -> bytes:
    """The key the pages sign their session cookies with: ``secret`` when given
    (``MKTFLOW_WEB_SESSION_SECRET``), else the data folder's ``web-session.key``, made once
    and whole, so the first pages asked at once of a new data folder all read the same key
    (``store.keys.data_folder_key``)."""
    if secret:
        return secret.encode()
    return data_folder_key(data_dir, "web-session.key")
