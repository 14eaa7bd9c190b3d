"""The two halves every state-changing handler shares: check the rule, then record the change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mktflow.domain.actors import Actor, Target, authorize, authorize_read, may_read
from mktflow.domain.errors import BadInput, TransitionRefused
from mktflow.domain.model import (
    HANDOFF_RULES,
    WORK_RULES,
    Audience,
    Readable,
    Rule,
    creation_rule,
    read_rule,
    rule_for,
    target_state,
)
from mktflow.domain.words import on_field, phrase, word, words_of
from mktflow.engine.common import actor_for, changed, ref, target_of
from mktflow.engine.notices import notice
from mktflow.store.tables import Handoff, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["check", "check_new", "record"]


def _kind(item: WorkItem | Handoff) -> str:
    return "work" if isinstance(item, WorkItem) else "handoff"


def check(
    uow: UnitOfWork, item: WorkItem | Handoff, action: str, actor_email: str,
    *, reason: str | None = None, who: Callable[[Actor], None] | None = None,
) -> tuple[Actor, Rule]:
    """Who is acting and which rule allows it; refuses before anything changes.

    ``who`` replaces the row's "who may" where another rule decides it (a cancel that ends a
    process: ``processes.ender``); the state and the reason are the row's all the same. The
    state is refused (TransitionRefused, naming state and holder) only to someone who may see
    the item; anyone else is refused for who they are (NotAuthorized) first.
    """
    actor = actor_for(uow, actor_email)
    rules = WORK_RULES if isinstance(item, WorkItem) else HANDOFF_RULES
    kind = "work item" if isinstance(item, WorkItem) else item.kind.replace("_", " ")
    holder = getattr(item, "assignee_email", None)
    name = phrase("%(kind)s %(ref)s (held by %(member)s)", kind=word(kind), ref=ref(item),
                  member=holder) if holder else phrase("%(kind)s %(ref)s", kind=word(kind),
                                                       ref=ref(item))
    try:
        rule = rule_for(rules, name, action, item.state)
    except TransitionRefused:
        _who_before_state(actor, rules, action, item)
        raise
    if rule.needs_reason and not (reason and reason.strip()):
        raise BadInput(on_field("reason", phrase(
            "%(action)s needs a reason (why the %(kind)s is %(past)s)", action=word(action),
            kind=word(kind), past=word(rule.past))))
    if who is None:
        authorize(actor, rule, target_of(item))
    else:
        who(actor)
    return actor, rule


def _who_before_state(actor: Actor, rules: tuple[Rule, ...], action: str,
                      item: WorkItem | Handoff) -> None:
    """Refuse (NotAuthorized) someone who may not see ``item`` for who they are, before a
    refusal for its state could tell them what it is and who holds it: a claim on another
    department's held step is "only a member of the owning department may", never "held by
    ...". Those who may see the item (the read table) learn its state as before."""
    if actor.system:
        return
    target = target_of(item)
    reading = read_rule(Readable.WORK if isinstance(item, WorkItem) else Readable.HANDOFF)
    if may_read(actor, reading, target):
        return
    for rule in (r for r in rules if r.action == action):
        authorize(actor, replace(rule, guards=()), target)  # who may, before the state
    authorize_read(actor, reading, target)


def check_new(actor: Actor, action: str, target: Target) -> Rule:
    """The creation rule (``create``, ``offer``) allowing ``actor``; refuses before anything is
    written. The same check as ``check``, for an item that has no state yet."""
    rule = creation_rule(action)
    authorize(actor, rule, target)
    return rule


def record(
    uow: UnitOfWork,
    item: WorkItem | Handoff,
    rule: Rule,
    actor: Actor,
    *,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
    tells: tuple[Audience, ...] | None = None,
    to_state: str | None = None,
) -> dict[str, list[Any]]:
    """Apply the rule's state (or ``to_state``, where a handler's rule says otherwise) and
    ``fields``, then write the audit entry and the notices. A ``reason`` or a ``data["text"]``
    the engine or a flow wrote (a ``Phrase``) keeps its message in the entry's ``words``."""
    before = item.state
    diff = changed(item, state=to_state or target_state(rule, before), **(fields or {}))
    diff.pop("state", None)
    item.updated_at = uow.now()
    item.version += 1
    uow.session.add(item)
    if item.id is None:  # a new row: flush for the id its audit entry names
        uow.session.flush()
    assert item.id is not None
    uow.audit(
        actor=actor.email, entity_type=_kind(item), entity_id=item.id,
        process_id=item.process_id, action=rule.action, from_state=before, to_state=item.state,
        reason=reason, data=data, changes=diff or None,
        words=words_of(text=(data or {}).get("text"), reason=reason),
    )
    audiences = rule.tells if tells is None else tells
    if audiences:
        notice(uow, item, event=f"{_kind(item)}.{rule.past}", audiences=audiences,
               actor=actor.email, reason=reason)
    return diff
