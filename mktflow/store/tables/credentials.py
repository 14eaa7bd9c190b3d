"""Tables of credentials: personal API tokens, one-time sign-in links and the pages' signed-in
sessions, stored only hashed.

A token, a sign-in code or a session's secret is given out once (shown, sent, or set as the
browser's cookie); the database keeps its SHA-256 hex digest, so a copy of the database acts as
nobody. Each is looked up by that digest (unique index).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from mktflow.store.columns import created_field, timestamp_field

__all__ = ["MemberToken", "SignInLink", "WebSession"]


class MemberToken(SQLModel, table=True):
    """A personal API token of one member; ``revoked_at`` set means it no longer acts."""

    __tablename__ = "membertoken"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)  # sha256 hex of the token
    member_email: str = Field(max_length=320, index=True)
    created_at: datetime = created_field()
    created_by: str = Field(max_length=320)
    expires_at: datetime | None = timestamp_field()  # None: until revoked
    revoked_at: datetime | None = timestamp_field()
    last_used_at: datetime | None = timestamp_field()


class SignInLink(SQLModel, table=True):
    """A one-time sign-in link sent to a member through their own channel."""

    __tablename__ = "signinlink"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)  # sha256 hex of the code
    member_email: str = Field(max_length=320, index=True)
    next_path: str | None = Field(default=None, max_length=2000)
    created_at: datetime = created_field()
    expires_at: datetime = created_field()
    used_at: datetime | None = timestamp_field()


class WebSession(SQLModel, table=True):
    """A member signed in on the departments' pages: the browser's cookie carries its secret.

    It signs its member in while ``ended_at`` is unset, it is younger than
    ``MKTFLOW_WEB_SESSION_HOURS`` and it was used within ``MKTFLOW_WEB_SESSION_IDLE_MIN``
    (``mktflow.engine.web_sessions``). ``token_id``: the member token it was signed in with
    (None: a one-time link); revoking that token ends it.
    """

    __tablename__ = "websession"

    id: int | None = Field(default=None, primary_key=True)
    secret_hash: str = Field(max_length=64, unique=True, index=True)  # sha256 hex of the secret
    member_email: str = Field(max_length=320, index=True)
    signed_in_by: str = Field(max_length=10)  # token | link
    token_id: int | None = Field(default=None, index=True)
    created_at: datetime = created_field()
    last_seen_at: datetime = created_field()
    ended_at: datetime | None = timestamp_field()
    ended_why: str | None = Field(default=None, max_length=200)  # signed out, moved from …
