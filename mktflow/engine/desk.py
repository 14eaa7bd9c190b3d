"""The department's desk: saved views of a queue, each member's default view, and bulk actions
on work items (issue #24 items 1 and 2; the rules are ``mktflow.domain.desk``).

Saved views are kept in the database (``savedview``, ``savedviewdefault``), so a member finds
theirs and their department's on any browser, at the command line and through the API. A view's
filters are checked by reading the queue with them (``inbox.work_page``, one row): the same
rules, messages and read rule as the queue itself (an unknown state, process or holder, a queue
the member may not read).

A bulk action runs one action of ``engine.actions`` (the one table every door dispatches
through) on each item in turn, each in its own transaction with its own audit entry and outbox
rows, so one item's refusal undoes nothing done to the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from mktflow.domain.actors import Actor
from mktflow.domain.desk import (
    FILTERS,
    check_bulk,
    check_due_band,
    check_filter_text,
    check_view_name,
    may_change_view,
    may_see_view,
    view_ref,
)
from mktflow.domain.errors import BadInput, Conflict, MktflowError, NotFound
from mktflow.domain.inputs import check_id, normalise_email
from mktflow.domain.words import on_field, phrase
from mktflow.engine import actions, inbox
from mktflow.engine.common import actor_for
from mktflow.engine.refs import parse_ref, ref_number
from mktflow.engine.views import BulkAnswer, BulkItemAnswer, SavedViewPublic
from mktflow.store.tables import SavedView, SavedViewDefault
from mktflow.store.uow import UnitOfWork

__all__ = [
    "bulk",
    "default_view",
    "delete_view",
    "list_views",
    "save_view",
    "set_default",
    "show_view",
    "view_number",
]


def _flush(uow: UnitOfWork, message: str) -> None:
    """Write what the session holds; Conflict (409, ``message``) when a unique key was taken by
    a request that committed first (two saves of one name at once): nothing is written."""
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict(message) from None


def view_number(reference: str | int) -> int:
    """The id in ``V-3``, ``v3`` or ``3``. Raises BadInput naming ``view``."""
    number = ref_number(reference, "V", dash_optional=True)
    if number is None:
        raise BadInput(on_field("view", phrase(
            "%(given)s is not a saved view's reference (e.g. V-3)",
            given=repr(str(reference).strip()[:40]))))
    return check_id(number, f"view: V-{number}")


def _url(view: SavedView) -> str:
    args = {name: getattr(view, name) for name in FILTERS if getattr(view, name)}
    return f"/inbox/{view.department}?" + urlencode({**args, "view": view_ref(view.id)})


def _public(view: SavedView, actor: Actor, default_id: int | None) -> SavedViewPublic:
    assert view.id is not None
    changeable = True
    try:
        may_change_view(actor, ref=view_ref(view.id), owner=view.owner_email,
                        department=view.department, shared=view.shared)
    except MktflowError:
        changeable = False
    return SavedViewPublic(
        id=view.id, ref=view_ref(view.id), name=view.name, department=view.department,
        owner=view.owner_email, shared=view.shared, state=view.state, process=view.process,
        due=view.due, holder=view.holder, priority=view.priority, text=view.text,
        default=view.id == default_id,
        may_change=changeable, url=_url(view))


def _defaults(uow: UnitOfWork, email: str) -> dict[str, int]:
    rows = uow.session.exec(select(SavedViewDefault).where(
        col(SavedViewDefault.member_email) == email)).all()
    return {row.department: row.view_id for row in rows}


def _seen(uow: UnitOfWork, actor: Actor, view_id: int) -> SavedView:
    """The view ``view_id`` if ``actor`` sees it; NotFound otherwise (another member's private
    view is not shown to exist)."""
    view = uow.session.get(SavedView, view_id)
    if view is None or not may_see_view(actor, owner=view.owner_email,
                                        department=view.department, shared=view.shared):
        raise NotFound(on_field("view", phrase("%(ref)s is not a saved view you can see",
                                               ref=view_ref(view_id))))
    return view


def list_views(uow: UnitOfWork, *, reader: str, department: str | None = None
               ) -> list[SavedViewPublic]:
    """The saved views ``reader`` sees (their own, and the shared ones of their department or
    the departments they lead), of one ``department``'s queue if given; by department, then
    name, then id. NotFound for an e-mail of no active member."""
    with uow:
        actor = actor_for(uow, reader)
        departments = sorted({actor.department, *actor.leads} - {""})
        query = select(SavedView).where(or_(
            col(SavedView.owner_email) == actor.email,
            and_(col(SavedView.shared), col(SavedView.department).in_(departments))))
        if department:
            query = query.where(col(SavedView.department) == department)
        rows = [v for v in uow.session.exec(query).all()  # the rule itself, once more
                if may_see_view(actor, owner=v.owner_email, department=v.department,
                                shared=v.shared)]
        defaults = _defaults(uow, actor.email)
        rows.sort(key=lambda v: (v.department, v.name.casefold(), v.id or 0))
        return [_public(v, actor, defaults.get(v.department)) for v in rows]


def show_view(uow: UnitOfWork, view_id: int, *, reader: str) -> SavedViewPublic:
    """One saved view ``reader`` sees. NotFound (naming ``view``) for one they do not."""
    with uow:
        actor = actor_for(uow, reader)
        view = _seen(uow, actor, view_id)
        return _public(view, actor, _defaults(uow, actor.email).get(view.department))


def save_view(uow: UnitOfWork, *, actor_email: str, department: str, name: str,
              state: str | None = None, process: str | None = None, due: str | None = None,
              holder: str | None = None, priority: str | None = None,
              text: str | None = None, shared: bool = False) -> SavedViewPublic:
    """Save the filters of ``department``'s queue as the view ``name`` of ``actor_email``
    (``shared``: every member of the department sees it). The same name again (of the same
    owner and queue) replaces that view's filters and sharing.

    Filters as the queue takes them: ``state`` open, claimed or delegated; ``process`` a
    business key or ``P-n``; ``due`` ``overdue`` or ``on-time``; ``holder`` an active member's
    e-mail; ``priority`` a band (urgent, high, normal, low); ``text`` words of the title; None
    or empty: any. Raises BadInput naming the field (``name``, ``due``, ``state``
    ...), NotFound for an unknown department or process, NotAuthorized when the actor may not
    read that queue. Writes one audit entry (``view``, ``save``).
    """
    name = check_view_name(name)
    due = check_due_band(due)
    state = (state or "").strip().lower() or None
    process = (process or "").strip() or None
    holder = normalise_email(holder) or None if holder else None
    priority = (priority or "").strip().lower() or None
    text = check_filter_text(text)
    # the queue's own rules: read one row with these filters, as this member
    try:
        inbox.work_page(uow, department, member=holder, states=[state] if state else None,
                        overdue={"overdue": True, "on-time": False}.get(due or ""),
                        process=process, priority=priority, text=text, limit=1,
                        reader=actor_email)
    except BadInput as exc:  # the queue calls the holder filter ``member``
        text = str(exc)
        if not text.startswith("member: "):
            raise
        raise type(exc)("holder: " + text.removeprefix("member: ")) from None
    with uow:
        actor = actor_for(uow, actor_email)
        view = uow.session.exec(select(SavedView).where(
            col(SavedView.owner_email) == actor.email, col(SavedView.department) == department,
            col(SavedView.name) == name).with_for_update()).first()
        action = "change" if view else "save"
        if view is None:
            view = SavedView(name=name, owner_email=actor.email, department=department,
                             created_at=uow.now())
        view.shared, view.state, view.process, view.due, view.holder = (
            bool(shared), state, process, due, holder)
        view.priority, view.text = priority, text
        view.updated_at = uow.now()
        uow.session.add(view)
        _flush(uow, f"name: another request saved a view named {name!r} of this queue just "
                    "now; save again to replace it")
        assert view.id is not None
        uow.audit(actor=actor.email, entity_type="view", entity_id=view.id, action=action,
                  data={"name": name, "department": department, "shared": view.shared,
                        **{f: getattr(view, f) for f in FILTERS}})
        uow.commit()
        return _public(view, actor, _defaults(uow, actor.email).get(department))


def delete_view(uow: UnitOfWork, view_id: int, *, actor_email: str) -> None:
    """Delete a saved view (and every member's choice of it as default): its owner, or for a
    shared view whoever leads its department. NotFound for a view the actor does not see;
    NotAuthorized for one they see but may not change."""
    with uow:
        actor = actor_for(uow, actor_email)
        view = _seen(uow, actor, view_id)
        may_change_view(actor, ref=view_ref(view_id), owner=view.owner_email,
                        department=view.department, shared=view.shared)
        for chosen in uow.session.exec(select(SavedViewDefault).where(
                col(SavedViewDefault.view_id) == view_id)).all():
            uow.session.delete(chosen)
        uow.session.flush()
        uow.session.delete(view)
        uow.audit(actor=actor.email, entity_type="view", entity_id=view_id, action="delete",
                  data={"name": view.name, "department": view.department,
                        "owner": view.owner_email})
        uow.commit()


def set_default(uow: UnitOfWork, *, actor_email: str, view_id: int | None = None,
                department: str | None = None) -> SavedViewPublic | None:
    """Choose the view ``view_id`` (one the actor sees) as the actor's default for its queue,
    or, with ``view_id`` None, clear their default for ``department``'s queue. Returns the
    default view, or None once cleared. BadInput when neither is given."""
    with uow:
        actor = actor_for(uow, actor_email)
        if view_id is None:
            if not department:
                raise BadInput(on_field("department", phrase(
                    "name the queue whose default view to clear")))
            found = uow.session.get(SavedViewDefault, (actor.email, department))
            if found is not None:
                uow.session.delete(found)
                uow.commit()
            return None
        view = _seen(uow, actor, view_id)
        chosen = uow.session.get(SavedViewDefault, (actor.email, view.department))
        if chosen is None:
            chosen = SavedViewDefault(member_email=actor.email, department=view.department,
                                      view_id=view_id)
        chosen.view_id = view_id
        uow.session.add(chosen)
        _flush(uow, "view: another request chose a default view of this queue just now; "
                    "choose again")
        uow.commit()
        return _public(view, actor, view_id)


def default_view(uow: UnitOfWork, *, reader: str, department: str) -> SavedViewPublic | None:
    """The view ``reader`` chose as default for ``department``'s queue, if any (and if they
    still see it)."""
    with uow:
        actor = actor_for(uow, reader)
        chosen = uow.session.get(SavedViewDefault, (actor.email, department))
        if chosen is None:
            return None
        view = uow.session.get(SavedView, chosen.view_id)
        if view is None or not may_see_view(actor, owner=view.owner_email,
                                            department=view.department, shared=view.shared):
            return None
        return _public(view, actor, view.id)


# --- bulk actions ---------------------------------------------------------------------------


def _status(exc: MktflowError) -> int:
    return int(exc.http_status)


def bulk(new_uow: Callable[[], UnitOfWork], action: str, items: Sequence[str], *,
         actor_email: str, **inputs: Any) -> BulkAnswer:
    """Run ``action`` (one of ``domain.desk.BULK_ACTIONS``) on each work item of ``items``
    (``W-12`` or ``12``; at most ``BULK_MAX``) as ``actor_email``, with the inputs the action
    takes (``to``; ``due``, ``follow_up``, ``priority``, ``reason``; ``reason``), through the
    one table of item actions (``actions.perform``).

    Each item is its own unit of work (``new_uow()`` gives one): done with its own audit entry
    and outbox rows, or refused by its own rule, in the order asked; a refusal undoes nothing
    done to the others. A reference that names no work item, or the same item twice, is
    answered refused for that item. Raises BadInput (naming ``action`` or ``items``) only for
    a request no item could pass: an action bulk does not run, no items, too many.
    """
    check_bulk(action, items)
    taken = actions.taken("work", action, inputs)
    answers: list[BulkItemAnswer] = []
    seen: set[int] = set()
    for reference in items:
        shown = str(reference)[:40]
        try:
            number = parse_ref(str(reference), "work")[1]
            shown = f"W-{number}"
            if number in seen:
                raise BadInput(phrase(
                    "%(ref)s is named twice in this request; it was acted on once", ref=shown))
            seen.add(number)
            item = actions.perform(new_uow(), "work", number, action, actor_email=actor_email,
                                   **taken)
        except MktflowError as exc:
            answers.append(BulkItemAnswer(ref=shown, ok=False, state=None, message=str(exc),
                                          status=_status(exc)))
            continue
        answers.append(BulkItemAnswer(ref=shown, ok=True, state=str(item.state),
                                      message=f"{shown} {_past(action)}", status=200))
    done = sum(1 for a in answers if a.ok)
    return BulkAnswer(action=action, done=done, refused=len(answers) - done, items=answers)


def _past(action: str) -> str:
    from mktflow.domain.model import WORK_RULES

    return next((r.past for r in WORK_RULES if r.action == action), f"{action} done")
