"""Tables of the department's desk: saved views of a department's queue and each member's
default view (``mktflow.domain.desk`` holds their rules, ``mktflow.engine.desk`` changes them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from mktflow.store.columns import created_field

__all__ = ["SavedView", "SavedViewDefault"]


class SavedView(SQLModel, table=True):
    """A department queue's filter set saved by name (``V-3``): the queue page's filters
    (``state``, ``process`` business key or ``P-n``, ``due`` band ``overdue``/``on-time``,
    ``holder`` e-mail, ``priority`` band, ``text`` in the title; None: any), its owner, the
    department whose queue it filters, and whether the department sees it (``shared``). A name
    is unique per owner and department."""

    __tablename__ = "savedview"
    __table_args__ = (UniqueConstraint("owner_email", "department", "name",
                                       name="uq_savedview_owner_department_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    owner_email: str = Field(max_length=320)
    department: str = Field(max_length=64, index=True)
    shared: bool = False
    state: str | None = Field(default=None, max_length=20)
    process: str | None = Field(default=None, max_length=200)
    due: str | None = Field(default=None, max_length=10)
    holder: str | None = Field(default=None, max_length=320)
    priority: str | None = Field(default=None, max_length=10)  # a band: urgent, high, ...
    text: str | None = Field(default=None, max_length=100)  # words in the title
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class SavedViewDefault(SQLModel, table=True):
    """The view a member chose as their default for one department's queue."""

    __tablename__ = "savedviewdefault"

    member_email: str = Field(max_length=320, primary_key=True)
    department: str = Field(max_length=64, primary_key=True)
    view_id: int = Field(foreign_key="savedview.id", index=True)
