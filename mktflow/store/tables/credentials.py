"""Tables of credentials: personal API tokens, one-time sign-in links, the pages' signed-in
sessions and the campaign calendar's feed URLs, stored only hashed, and the requests for sign-in
links the rate limits count.

A token is shown once, when it is made; a session's secret is set once as the browser's cookie;
a sign-in code is never shown nor stored (the relay derives it from the sign-in key when it
sends the link). The database keeps each one's SHA-256 hex digest, so a copy of the database
acts as nobody; each is looked up by that digest (unique index). A sign-in request keeps no
e-mail and no address of a client: only keyed digests of them, to count by.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from mktflow.store.columns import created_field, timestamp_field

__all__ = ["CalendarFeed", "MemberToken", "SignInLink", "SignInRequest", "WebSession"]


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


class SignInRequest(SQLModel, table=True):
    """One "send me a link" request that was taken (member or not), counted by the sign-in
    rate limits for ``MKTFLOW_SIGN_IN_LIMIT_WINDOW_MIN``, then deleted.

    ``address_key`` and ``client_key`` are HMAC-SHA256 hex digests, under the sign-in key, of
    the e-mail as typed (normalised) and of the client's IP address: every process serving
    the database counts the same requests, and a copy of it does not say who asked.
    """

    __tablename__ = "signinrequest"
    __table_args__ = (
        Index("ix_signinrequest_address", "address_key", "at"),
        Index("ix_signinrequest_client", "client_key", "at"),
        Index("ix_signinrequest_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_field()
    address_key: str = Field(max_length=64)
    client_key: str = Field(max_length=64)


class CalendarFeed(SQLModel, table=True):
    """A member's secret campaign-calendar feed URL (``/calendar/{secret}.ics``): the feed
    lists what its member may see; ``revoked_at`` set means it answers 404."""

    __tablename__ = "calendarfeed"

    id: int | None = Field(default=None, primary_key=True)
    secret_hash: str = Field(max_length=64, unique=True, index=True)  # sha256 hex of the secret
    member_email: str = Field(max_length=320, index=True)
    created_at: datetime = created_field()
    revoked_at: datetime | None = timestamp_field()
    last_used_at: datetime | None = timestamp_field()
