"""Tables of the REST API's requests: the answers to POSTs sent with an ``Idempotency-Key``.

A client that lost the answer to a POST sends it again with the same key and gets the first
answer instead of a second change (``mktflow.engine.idempotency``; the IETF draft "The
Idempotency-Key HTTP Header Field"). Keys are per member and kept ``MKTFLOW_IDEMPOTENCY_KEY_HOURS``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from mktflow.store.columns import created_field, json_field, timestamp_field
from mktflow.store.types import UTCDateTime

__all__ = ["IdempotencyKey"]


class IdempotencyKey(SQLModel, table=True):
    """One member's ``Idempotency-Key`` and what became of the request sent with it.

    ``fingerprint``: SHA-256 hex of the request (method, path, body): the same key with another
    request is refused. ``attempt`` is the request that holds the key now, until
    ``leased_until`` (a retry after that may take it over); ``changed_at`` is written in the
    transaction of the change the request made (``UnitOfWork.commit``), ``answered_at``,
    ``status``, ``headers`` and ``body`` once its answer is kept. Removed after ``expires_at``.
    """

    __tablename__ = "idempotencykey"
    __table_args__ = (Index("ix_idempotencykey_member_key", "member_email", "key", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    member_email: str = Field(max_length=320)
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)  # sha256 hex
    request: str = Field(max_length=2100)  # "POST /work/12/claim", for messages
    attempt: str = Field(max_length=32)
    created_at: datetime = created_field()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    leased_until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    changed_at: datetime | None = timestamp_field()
    answered_at: datetime | None = timestamp_field()
    status: int | None = Field(default=None)
    headers: list[list[str]] | None = json_field()
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary(), nullable=True))
