"""Who answers a demo step: the member of the demo organisation the engine lets act on it.

Both parts of ``mktflow demo`` (``runner`` for the processes, ``cycles`` for the recurring
cycles) answer their steps as the member these functions pick.
"""

from __future__ import annotations

from sqlmodel import col, select

from mktflow import bootstrap
from mktflow.engine.common import ref
from mktflow.store.tables import Branch, Member, WorkItem

__all__ = ["hq_branches", "pick_member"]


def hq_branches() -> set[str]:
    """Codes of the headquarters branches (their members may answer for any branch)."""
    with bootstrap.uow() as u:
        return {b.code for b in u.session.exec(select(Branch).where(col(Branch.is_hq)))}


def pick_member(item: WorkItem, members: list[Member], hq: set[str]) -> str:
    """Who answers: the assignee, else the first member of the department who may."""
    if item.assignee_email:
        return item.assignee_email
    for m in members:
        if m.department != item.department or m.email in item.excluded:
            continue
        if item.branch and m.branch != item.branch and m.branch not in hq:
            continue
        return m.email
    raise RuntimeError(f"{ref(item)}: nobody in {item.department} may answer")
