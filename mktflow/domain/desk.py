"""The department's desk: the rules of saved views and of bulk actions (issue #24, items 1-2).

A **saved view** is a department queue's filter set (the queue page's own filters: ``state``,
``process``, ``due`` band, ``holder``, ``priority`` band and ``text`` in the title), saved by
name by one member, private to them or shared with the department whose queue it filters; a
member may choose one view they see as their default, applied when they open that queue with
no filter in the address.

Who may see a view: its owner, and when it is shared every member of its department (and
whoever leads it). Who may change or delete it: its owner; a shared one also whoever leads the
department (head or active delegate, ``Actor.leads``), who keeps the shared views in order.

A **bulk action** runs one item action (``engine.actions``) on many work items, each item in
its own unit of work: each passes or is refused by its own rule.
"""

from __future__ import annotations

from typing import Any

from mktflow.domain.actors import Actor
from mktflow.domain.errors import BadInput, NotAuthorized
from mktflow.domain.inputs import check_text
from mktflow.domain.words import on_field, phrase

__all__ = [
    "BULK_ACTIONS",
    "BULK_MAX",
    "DUE_BANDS",
    "FILTERS",
    "FILTER_TEXT_MAX",
    "PRIORITY_BANDS",
    "VIEW_NAME_MAX",
    "VIEW_RULE",
    "check_bulk",
    "check_due_band",
    "check_filter_text",
    "check_priority_band",
    "check_view_name",
    "may_change_view",
    "may_see_view",
    "view_ref",
]

#: The longest name a saved view may have (characters).
VIEW_NAME_MAX = 80
#: The queue's due bands: overdue, or not overdue yet.
DUE_BANDS: tuple[str, ...] = ("overdue", "on-time")
#: The filters a view stores, in the queue page's order (``holder``: a member's e-mail;
#: ``priority``: a band of ``PRIORITY_BANDS``; ``text``: words in the title).
FILTERS: tuple[str, ...] = ("state", "process", "due", "holder", "priority", "text")
#: Priority 0-100 as people read it, each band's lowest and highest value (50, the default,
#: is normal: most work is). The pages name an item's priority by these bands.
PRIORITY_BANDS: dict[str, tuple[int, int]] = {
    "urgent": (90, 100), "high": (70, 89), "normal": (30, 69), "low": (0, 29)}
#: The longest text the ``text`` filter looks for in titles (characters).
FILTER_TEXT_MAX = 100
#: Who may see and change a saved view, in words (refusals quote it).
VIEW_RULE = phrase("a saved view is its owner's; a shared one is seen by its department, and "
                   "changed or deleted by its owner or whoever leads the department")

#: The item actions a bulk request may run on work items (each through ``engine.actions``):
#: ``assign`` also reassigns a held item; ``update`` changes due times and priority.
BULK_ACTIONS: tuple[str, ...] = ("claim", "release", "assign", "update", "cancel")
#: The most items one bulk request names.
BULK_MAX = 200


def view_ref(view_id: int | None) -> str:
    """How a saved view is named to people: ``V-3``."""
    return f"V-{view_id}"


def check_view_name(name: str) -> str:
    """The view's name, stripped: 1 to ``VIEW_NAME_MAX`` characters of one line. Raises
    BadInput naming ``name``."""
    if not isinstance(name, str) or not name.strip():
        raise BadInput(on_field("name", phrase("a saved view needs a name")))
    return check_text(name.strip(), field="name", max_length=VIEW_NAME_MAX)


def check_due_band(due: str | None) -> str | None:
    """``due`` if it is one of ``DUE_BANDS`` (None or empty: any). Raises BadInput naming
    ``due``."""
    if not due:
        return None
    if due not in DUE_BANDS:
        raise BadInput(on_field("due", phrase("must be one of %(choices)s, got %(got)s",
                                              choices=", ".join(DUE_BANDS), got=repr(due))))
    return due


def check_priority_band(band: str | None) -> tuple[int, int] | None:
    """The priority range of ``band`` (a key of ``PRIORITY_BANDS``; None or empty: any).
    Raises BadInput naming ``priority``."""
    if not band:
        return None
    if band not in PRIORITY_BANDS:
        raise BadInput(on_field("priority", phrase(
            "must be one of %(choices)s, got %(got)s", choices=", ".join(PRIORITY_BANDS),
            got=repr(band))))
    return PRIORITY_BANDS[band]


def check_filter_text(text: str | None) -> str | None:
    """The ``text`` filter stripped (None when empty): one line of at most
    ``FILTER_TEXT_MAX`` characters. Raises BadInput naming ``text``."""
    if not text or not text.strip():
        return None
    return check_text(text.strip(), field="text", max_length=FILTER_TEXT_MAX)


def may_see_view(actor: Actor, *, owner: str, department: str, shared: bool) -> bool:
    """Whether ``actor`` sees a view: their own, or a shared one of their department."""
    return actor.email == owner or (shared and actor.in_department(department))


def may_change_view(actor: Actor, *, ref: str, owner: str, department: str,
                    shared: bool) -> None:
    """Refuse (NotAuthorized, quoting ``VIEW_RULE``) unless ``actor`` may change or delete the
    view: its owner, or for a shared one whoever leads its department."""
    if actor.email == owner or (shared and department in actor.leads):
        return
    raise NotAuthorized(phrase("%(actor)s may not change saved view %(ref)s: %(why)s",
                               actor=actor.email, ref=ref, why=VIEW_RULE))


def check_bulk(action: str, items: Any) -> None:
    """Refuse a bulk request that no item could pass: an action bulk does not run, no items,
    or more than ``BULK_MAX``. Raises BadInput naming ``action`` or ``items``."""
    if action not in BULK_ACTIONS:
        raise BadInput(on_field("action", phrase(
            "%(action)s is not a bulk action (one of: %(choices)s)", action=repr(action),
            choices=", ".join(BULK_ACTIONS))))
    if not isinstance(items, list | tuple) or not items:
        raise BadInput(on_field("items", phrase("name at least one work item (W-12 or 12)")))
    if len(items) > BULK_MAX:
        raise BadInput(on_field("items", phrase(
            "at most %(n)s work items per bulk request, got %(got)s", n=BULK_MAX,
            got=len(items))))
