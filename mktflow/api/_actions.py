"""Every action the API offers on an existing item: its request body and the engine call.

The JSON endpoints and the HTML page's forms both run actions from these tables, so a form
post and a JSON post reach exactly the same engine handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from mktflow.api import _models as m
from mktflow.engine import Handoff, UnitOfWork, WorkItem, handoffs, queries, work
from mktflow.engine.common import parse_ref
from mktflow.engine.steps import complete_step

__all__ = ["HANDOFF_ACTIONS", "WORK_ACTIONS", "Action", "canonical", "run"]

#: (unit of work, item id, actor e-mail, request body or None) -> the changed item.
Handler = Callable[[UnitOfWork, int, str, Any], WorkItem | Handoff]


@dataclass(frozen=True)
class Action:
    """One action on an item: its request body (None: the actor is all it needs) and handler."""

    body: type[BaseModel] | None
    handler: Handler


#: In the order the item's page offers them: the usual next step first.
WORK_ACTIONS: dict[str, Action] = {
    "claim": Action(None, lambda u, i, a, _: work.claim(u, i, actor_email=a)),
    "complete": Action(m.CompleteWork, lambda u, i, a, b: complete_step(
        u, i, actor_email=a, data=b.data)),
    "resolve": Action(m.ResolveWork, lambda u, i, a, b: work.resolve(
        u, i, actor_email=a, data=b.data)),
    "release": Action(None, lambda u, i, a, _: work.release(u, i, actor_email=a)),
    "assign": Action(m.AssignWork, lambda u, i, a, b: work.assign(
        u, i, to=b.to, actor_email=a)),
    "delegate": Action(m.DelegateWork, lambda u, i, a, b: work.delegate(
        u, i, to=b.to, actor_email=a)),
    "comment": Action(m.Comment, lambda u, i, a, b: work.comment(
        u, i, actor_email=a, text=b.text, links=b.links)),
    "update": Action(m.UpdateWork, lambda u, i, a, b: work.update(
        u, i, actor_email=a, due_at=b.due, follow_up_at=b.follow_up, priority=b.priority,
        reason=b.reason)),
    "cancel": Action(m.CancelWork, lambda u, i, a, b: work.cancel(
        u, i, actor_email=a, reason=b.reason)),
}

HANDOFF_ACTIONS: dict[str, Action] = {
    "accept": Action(None, lambda u, i, a, _: handoffs.accept(u, i, actor_email=a)),
    "reject": Action(m.RejectHandoff, lambda u, i, a, b: handoffs.reject(
        u, i, actor_email=a, reason=b.reason)),
    "deliver": Action(m.DeliverHandoff, lambda u, i, a, b: handoffs.deliver(
        u, i, actor_email=a, data=b.data)),
    "confirm": Action(None, lambda u, i, a, _: handoffs.confirm(u, i, actor_email=a)),
    "return": Action(m.ReturnHandoff, lambda u, i, a, b: handoffs.return_(
        u, i, actor_email=a, reason=b.reason)),
    "cancel": Action(m.CancelHandoff, lambda u, i, a, b: handoffs.cancel(
        u, i, actor_email=a, reason=b.reason)),
    "comment": Action(m.Comment, lambda u, i, a, b: handoffs.comment(
        u, i, actor_email=a, text=b.text, links=b.links)),
}

_TABLES = {"work": (WORK_ACTIONS, "W"), "handoff": (HANDOFF_ACTIONS, "H")}


def canonical(kind: str, reference: str) -> str:
    """``12`` or ``w12`` as people name the item: ``W-12``."""
    return f"{_TABLES[kind][1]}-{parse_ref(reference, kind)[1]}"


def run(
    uow: UnitOfWork, kind: str, reference: str, action: str, actor: str,
    body: BaseModel | None = None,
) -> dict[str, Any]:
    """Run ``action`` on the ``kind`` item ``reference`` (``12`` or ``W-12``); return its view."""
    table, _ = _TABLES[kind]
    table[action].handler(uow, parse_ref(reference, kind)[1], actor, body)
    return queries.show(uow, canonical(kind, reference))
