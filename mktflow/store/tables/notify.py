"""Tables of notifications: the channels departments and members are told through."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from mktflow.store.columns import created_field

__all__ = ["Channel", "ChannelSource"]


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
