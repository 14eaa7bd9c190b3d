"""Tables of credentials: personal API tokens and one-time sign-in links, stored only hashed.

A token or a sign-in code is shown once, when it is made; the database keeps its SHA-256 hex
digest (``secret_hash``), so a copy of the database acts as nobody. Both are looked up by that
digest (unique index).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from mktflow.store.columns import created_field, timestamp_field

__all__ = ["MemberToken", "SignInLink"]


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
