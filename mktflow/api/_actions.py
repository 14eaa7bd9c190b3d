"""The API's side of the item actions: run one with its endpoint's request body.

Which engine handler an action runs is ``mktflow.engine.actions``' table, shared by every door;
the endpoints (``_work``, ``_handoffs``) declare each action's body, whose fields are the
inputs the action takes (``to``, ``text``, ``links``, ``reason``, ``data``, ``due``,
``follow_up``, ``priority``).
"""

from __future__ import annotations

from pydantic import BaseModel

from mktflow.engine import UnitOfWork, actions
from mktflow.engine.common import parse_ref
from mktflow.engine.views import HandoffPublic, WorkItemPublic, show_item

__all__ = ["Item", "canonical", "run"]

#: What an item's endpoint answers: the engine's view of the work item or handoff.
Item = WorkItemPublic | HandoffPublic

_LETTERS = {"work": "W", "handoff": "H"}


def canonical(kind: str, reference: str) -> str:
    """``12`` or ``w12`` as people name the item: ``W-12``."""
    return f"{_LETTERS[kind]}-{parse_ref(reference, kind)[1]}"


def run(
    uow: UnitOfWork, kind: str, reference: str, action: str, actor: str,
    body: BaseModel | None = None,
) -> Item:
    """Run ``action`` on the ``kind`` item ``reference`` (``12`` or ``W-12``) with the body's
    fields as its inputs; return the item's view."""
    inputs = {name: getattr(body, name) for name in type(body).model_fields} if body else {}
    actions.perform(uow, kind, parse_ref(reference, kind)[1], action, actor_email=actor,
                    **inputs)
    return show_item(uow, canonical(kind, reference))
