"""Tables of notifications: the channels departments and members are told through, the
destinations the relay pauses (a receiver that asked it to wait), and each member's choice of
a daily digest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from mktflow.store.columns import created_field, timestamp_field
from mktflow.store.types import UTCDateTime

__all__ = ["Channel", "ChannelSource", "DestinationBackoff", "DigestChoice"]


class ChannelSource:
    """Where a channel was configured: the organisation file (replaced on load) or the CLI."""

    ORGANISATION = "organisation"
    CLI = "cli"


class Channel(SQLModel, table=True):
    """Where a department (or one member of it) is told: a webhook, a Slack hook or an address.

    ``secret_env`` names the environment variable holding a webhook's signing secret; the
    secret itself is never stored.
    """

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(foreign_key="department.code", max_length=64, index=True)
    member_email: str | None = Field(default=None, max_length=320, index=True)
    type: str = Field(max_length=20)
    url: str | None = None
    to_address: str | None = Field(default=None, max_length=320)
    secret_env: str | None = Field(default=None, max_length=128)
    source: str = Field(default=ChannelSource.CLI, max_length=20)
    created_at: datetime = created_field()


class DestinationBackoff(SQLModel, table=True):
    """A destination the relays leave alone until ``until``: it answered 429/503 (HTTP) or 421
    (SMTP), timed out or could not be reached. One row per destination, shared by every relay
    and kept across restarts; removed when a send to it succeeds.

    ``destination`` is ``http <host>:<port>`` (a webhook's or Slack hook's host) or
    ``smtp <host>:<port>`` (the SMTP server). Once ``until`` has passed, one relay takes the
    probe (``probe_until``: one message is sent, the others of the destination wait); while a
    probe is out nobody else sends there.
    """

    destination: str = Field(primary_key=True, max_length=300)
    until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    failures: int = Field(default=1)  # consecutive failed sends (the first and the probes)
    reason: str = Field(default="", max_length=500)  # the receiver's last answer, shortened
    probe_until: datetime | None = timestamp_field()
    probe_by: str | None = Field(default=None, max_length=100)  # the probing batch's token
    updated_at: datetime = created_field()


class DigestChoice(SQLModel, table=True):
    """How one member is told of changes addressed to them personally
    (``mktflow.domain.digests``): ``mode`` ``each`` (one notice per change) or ``daily`` (held,
    one digest a working day at ``at_minute``, minutes after midnight in their working
    calendar's zone). A member without a row is told of each change."""

    member_email: str = Field(primary_key=True, max_length=320)
    mode: str = Field(default="each", max_length=10)
    at_minute: int = Field(default=17 * 60)
    updated_at: datetime = created_field()
