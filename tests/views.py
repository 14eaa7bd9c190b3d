"""A work item's view as the engine builds it, for tests of what reads one (no database)."""

from __future__ import annotations

import dataclasses
from typing import Any

from mktflow.engine.views import WorkItemPublic

_OPEN = WorkItemPublic(
    id=12, ref="W-12", kind="work", state="open", title="Plan", description="",
    department="marketing", branch=None, assignee=None, owner=None, priority=50, due=None,
    due_basis=None, follow_up=None, escalation_level=0, overdue=False, process=None,
    process_id=None,
    step_key=None, form_name=None, form_schema=None, data=None, draft=None, excluded=[],
    created_by="ana.torres@example.com", created_at=None, completed_by=None,
    completed_at=None, version=1)


def work_item(**changes: Any) -> WorkItemPublic:
    """An open, unassigned work item W-12 of marketing, with ``changes`` (``ref=``, ``id=``
    and the rest by the view's field names)."""
    return dataclasses.replace(_OPEN, **changes)
