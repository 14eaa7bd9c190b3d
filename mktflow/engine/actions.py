"""The one table of actions on an existing item, which every door dispatches through.

The REST API (``POST /work/{item}/claim`` …), the pages' forms (``/work/W-3`` "Claim"), the
command line (``mktflow work claim W-3``) and the flows' tasks (a Prefect UI answer claiming
the step) all run an action as ``perform(uow, kind, item_id, action, actor_email=…, **inputs)``:
the action's name picks the engine handler here, once. A door only gathers the inputs the
action ``takes`` in its own way (a JSON body, a form, options) and shows the result.

Inputs, named alike at every door:

- ``to``: a member's e-mail (assign, delegate);
- ``text``, ``links``: a comment's text and links;
- ``reason``: why (cancel, reject, return; optional on update);
- ``data``: an answer or a proposal (complete, resolve) or what is delivered (deliver);
- ``due``, ``follow_up``, ``priority``: a step's times and priority (update).

Who may do what is not decided here: each handler asks ``transitions.check`` (the rule rows
of ``mktflow.domain.model``), so the table only names the handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from mktflow.domain.errors import BadInput
from mktflow.domain.words import on_field, phrase, word
from mktflow.engine import handoffs, work
from mktflow.engine.steps import complete_step
from mktflow.store.tables import Handoff, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["ACTIONS", "ItemAction", "Kind", "action_of", "perform", "taken"]

Kind = Literal["work", "handoff"]
#: (unit of work, item id, actor e-mail, inputs) -> the changed item.
Handler = Callable[..., WorkItem | Handoff]


@dataclass(frozen=True)
class ItemAction:
    """One action on a work item or a handoff: the inputs it takes (names above; all optional
    to the handler unless the rule says otherwise) and the engine handler that does it."""

    name: str
    takes: tuple[str, ...]
    handler: Handler


def _update(uow: UnitOfWork, item_id: int, *, actor_email: str, due: Any = None,
            follow_up: Any = None, priority: int | None = None,
            reason: str | None = None) -> WorkItem:
    return work.update(uow, item_id, actor_email=actor_email, due_at=due,
                       follow_up_at=follow_up, priority=priority, reason=reason)


def _table(*actions: ItemAction) -> dict[str, ItemAction]:
    return {a.name: a for a in actions}


#: Per kind, in the order an item's page offers them: the usual next step first.
ACTIONS: dict[str, dict[str, ItemAction]] = {
    "work": _table(
        ItemAction("claim", (), work.claim),
        ItemAction("complete", ("data",), complete_step),
        ItemAction("resolve", ("data",), work.resolve),
        ItemAction("release", (), work.release),
        ItemAction("assign", ("to",), work.assign),
        ItemAction("delegate", ("to",), work.delegate),
        ItemAction("comment", ("text", "links"), work.comment),
        ItemAction("update", ("due", "follow_up", "priority", "reason"), _update),
        ItemAction("cancel", ("reason",), work.cancel),
    ),
    "handoff": _table(
        ItemAction("accept", (), handoffs.accept),
        ItemAction("reject", ("reason",), handoffs.reject),
        ItemAction("deliver", ("data",), handoffs.deliver),
        ItemAction("confirm", (), handoffs.confirm),
        ItemAction("return", ("reason",), handoffs.return_),
        ItemAction("cancel", ("reason",), handoffs.cancel),
        ItemAction("comment", ("text", "links"), handoffs.comment),
    ),
}


def action_of(kind: str, action: str) -> ItemAction:
    """The action ``action`` on a ``kind`` item. Raises BadInput naming the actions there are."""
    table = ACTIONS.get(kind, {})
    found = table.get(action)
    if found is None:
        raise BadInput(on_field("action", phrase(
            "%(given)s is not an action on a %(kind)s item (one of: %(actions)s)",
            given=repr(action), kind=word(kind), actions=", ".join(table) or "none")))
    return found


def taken(kind: str, action: str, offered: dict[str, Any]) -> dict[str, Any]:
    """The inputs of ``offered`` that ``action`` takes (a door that reads every input it has,
    such as a page's form, passes only these). Raises BadInput for an unknown action."""
    takes = action_of(kind, action).takes
    return {name: value for name, value in offered.items() if name in takes}


def perform(uow: UnitOfWork, kind: str, item_id: int, action: str, *, actor_email: str,
            **inputs: Any) -> WorkItem | Handoff:
    """Run ``action`` on the ``kind`` item ``item_id`` as ``actor_email`` with ``inputs``
    (only the names the action takes; a door passing others is a programming error:
    TypeError). Returns the changed item; raises what the handler raises (the
    ``mktflow.domain.errors`` tree: NotFound, Forbidden, Conflict, BadInput, FormInvalid …)."""
    found = action_of(kind, action)
    extra = set(inputs) - set(found.takes)
    if extra:
        raise TypeError(f"{kind} {action} takes {found.takes}, not {sorted(extra)}")
    return found.handler(uow, item_id, actor_email=actor_email, **inputs)
