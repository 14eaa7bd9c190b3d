"""The two halves every state-changing handler shares: check the rule, then record the change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mktflow.domain.actors import Actor, Target, authorize
from mktflow.domain.errors import BadInput
from mktflow.domain.model import (
    HANDOFF_RULES,
    WORK_RULES,
    Audience,
    Rule,
    creation_rule,
    rule_for,
    target_state,
)
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
    process: ``processes.ender``); the state and the reason are the row's all the same.
    """
    actor = actor_for(uow, actor_email)
    rules = WORK_RULES if isinstance(item, WorkItem) else HANDOFF_RULES
    kind = "work item" if isinstance(item, WorkItem) else item.kind.replace("_", " ")
    holder = getattr(item, "assignee_email", None)
    name = f"{kind} {ref(item)}" + (f" (held by {holder})" if holder else "")
    rule = rule_for(rules, name, action, item.state)
    if rule.needs_reason and not (reason and reason.strip()):
        raise BadInput(f"reason: {action} needs a reason (why the {kind} is {rule.past})")
    if who is None:
        authorize(actor, rule, target_of(item))
    else:
        who(actor)
    return actor, rule


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
    ``fields``, then write the audit entry and the notices."""
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
    )
    audiences = rule.tells if tells is None else tells
    if audiences:
        notice(uow, item, event=f"{_kind(item)}.{rule.past}", audiences=audiences,
               actor=actor.email, reason=reason)
    return diff
