"""Command handlers for process instances: start, link to a flow run, finish (also when one of
its steps is cancelled: a flow cannot go on without it), and the rules of membership: who may
add work to a process and who may end it (``domain.model.ATTACH_RULE``, ``END_RULE``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from sqlmodel import col, select

from mktflow.domain.actors import Actor, authorize
from mktflow.domain.errors import BadInput, Conflict, NotAuthorized, NotFound, TransitionRefused
from mktflow.domain.inputs import REASON_MAX
from mktflow.domain.model import (
    ATTACH_RULE,
    END_RULE,
    OPEN_HANDOFF_STATES,
    OPEN_WORK_STATES,
    ProcessStatus,
    ref_of,
    rule_for,
)
from mktflow.domain.words import Phrase, on_field, phrase, word
from mktflow.engine import visibility
from mktflow.engine.answers import request_problems
from mktflow.engine.common import actor_for, changed, get_for_update, ref
from mktflow.store.tables import Handoff, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = [
    "cancel_process",
    "cancelled_item_message",
    "check_attach",
    "check_key_free",
    "close",
    "end_for_cancelled_item",
    "ender",
    "ends_with",
    "finish_process",
    "lock_process_of",
    "note_flow_version",
    "open_instance",
    "relink",
    "set_flow_version",
    "start_process",
    "start_refusal",
    "tell_run",
    "wake_run",
]

log = logging.getLogger("mktflow.processes")


def start_process(
    uow: UnitOfWork,
    *,
    process: str,
    business_key: str,
    owner_email: str,
    params: dict[str, Any] | None = None,
    flow_run_id: str | None = None,
    branch: str | None = None,
    flow_version: str | None = None,
) -> ProcessInstance:
    """Open a process instance under a unique business key.

    Starting again with the same key and the same flow run returns the existing instance
    (a flow re-run after resume); any other reuse of the key is refused. ``flow_version``:
    the version of the flow code running (Prefect's); a re-run on another version (the flow
    was changed while the run waited) records the new one with a ``flow-version`` entry.
    """
    if not business_key.strip():
        raise BadInput("business_key: must not be empty")
    with uow:
        existing = _by_key(uow, business_key)
        if existing is not None:
            if flow_run_id and existing.flow_run_id == flow_run_id:
                if flow_version and existing.flow_version != flow_version:
                    set_flow_version(uow, existing, flow_version,
                                     f"flow run {flow_run_id} went on on changed flow code")
                    uow.commit()
                return existing
            raise _taken(business_key, existing)
        owner = actor_for(uow, owner_email)
        if owner.system:  # a flow's parameters are typed by whoever starts it
            raise BadInput(f"owner: {owner.email!r} is the process engine; a process is owned "
                           "by a member")
        instance = open_instance(uow, process=process, business_key=business_key,
                                 owner_email=owner.email, params=params,
                                 flow_run_id=flow_run_id, branch=branch)
        instance.flow_version = flow_version
        uow.commit()
        return instance


def set_flow_version(uow: UnitOfWork, instance: ProcessInstance, version: str,
                     why: str) -> None:
    """Record that ``instance`` runs on flow ``version`` from now on, inside the caller's unit
    of work: a ``flow-version`` entry by the engine with the old and new versions and ``why``."""
    diff = changed(instance, flow_version=version)
    if not diff:
        return
    assert instance.id is not None
    instance.updated_at = uow.now()
    uow.session.add(instance)
    uow.audit(actor="mktflow", entity_type="process", entity_id=instance.id,
              process_id=instance.id, action="flow-version", changes=diff, reason=why)


def note_flow_version(uow: UnitOfWork, process_id: int, *, flow_run_id: str,
                      version: str) -> bool:
    """The run ``flow_run_id`` of process ``process_id`` runs flow code ``version``: recorded
    (``set_flow_version``) when it differs from what the process ran on, while the process is
    running and this run carries it; True when recorded. Raises NotFound."""
    with uow:
        instance = get_for_update(uow, ProcessInstance, process_id)
        if (instance.status != ProcessStatus.RUNNING or instance.flow_run_id != flow_run_id
                or instance.flow_version == version):
            return False
        set_flow_version(uow, instance, version,
                         f"flow run {flow_run_id} went on on changed flow code")
        uow.commit()
        return True


def start_refusal(uow: UnitOfWork, *, process: str, business_key: str, key_field: str,
                  params: dict[str, Any], flow_run_id: str | None) -> str | None:
    """Why a flow run started elsewhere than ``mktflow run`` (the Prefect UI's *Custom run*, a
    schedule, the API) may not start, in the words ``mktflow run`` refuses it with: the
    process's rules for its request (every member it names is active, a draft plan passes its
    rules: ``answers.request_problems``) and a business key no other run uses. None when it may,
    and always for a re-run of the run that opened the process (after a resume: the members
    may have changed since, and the run goes on with what it started with)."""
    with uow:
        existing = _by_key(uow, business_key)
        if existing is not None and flow_run_id and existing.flow_run_id == flow_run_id:
            return None
        problems = [f"field '{p.field}': {p.message}"
                    for p in request_problems(uow.session, process, params)]
        if existing is not None:
            problems.append(f"field '{key_field}': {_taken(business_key, existing)}")
    return f"{process} parameters: {'; '.join(problems)}" if problems else None


def check_key_free(uow: UnitOfWork, business_key: str) -> None:
    """Refuse a business key some process instance already uses (before a run is created)."""
    with uow:
        existing = _by_key(uow, business_key)
        if existing is not None:
            raise _taken(business_key, existing)


def _by_key(uow: UnitOfWork, business_key: str) -> ProcessInstance | None:
    return uow.session.exec(select(ProcessInstance).where(
        col(ProcessInstance.business_key) == business_key)).first()


def _taken(business_key: str, existing: ProcessInstance) -> Conflict:
    return Conflict(f"business key {business_key!r} is already used by {ref(existing)} "
                    f"({existing.process}, {existing.status})")


def open_instance(
    uow: UnitOfWork, *, process: str, business_key: str, owner_email: str,
    params: dict[str, Any] | None = None, flow_run_id: str | None = None,
    branch: str | None = None,
) -> ProcessInstance:
    """Insert a running instance and its start entry, inside the caller's unit of work."""
    instance = ProcessInstance(
        process=process, business_key=business_key, owner_email=owner_email,
        status=ProcessStatus.RUNNING, params=params, flow_run_id=flow_run_id, branch=branch,
        created_at=uow.now(), updated_at=uow.now(),
    )
    uow.session.add(instance)
    uow.session.flush()
    assert instance.id is not None
    uow.audit(actor=owner_email, entity_type="process", entity_id=instance.id,
              process_id=instance.id, action="start", to_state=instance.status,
              data={"process": process, "business_key": business_key,
                    "flow_run_id": flow_run_id})
    return instance


def relink(uow: UnitOfWork, instance: ProcessInstance, flow_run_id: str) -> None:
    """Point the instance at the flow run now carrying it, inside the caller's unit of work."""
    diff = changed(instance, flow_run_id=flow_run_id)
    if diff:
        assert instance.id is not None
        instance.updated_at = uow.now()
        uow.session.add(instance)
        uow.audit(actor="mktflow", entity_type="process", entity_id=instance.id,
                  process_id=instance.id, action="link", changes=diff)


def finish_process(
    uow: UnitOfWork,
    process_id: int,
    *,
    status: ProcessStatus,
    result: dict[str, Any] | None = None,
    reason: str | None = None,
) -> ProcessInstance:
    """Close the process; its open steps and handoffs are cancelled with the reason."""
    if status == ProcessStatus.RUNNING:
        raise BadInput("status: a process is finished as completed, failed or cancelled")
    with uow:
        instance = get_for_update(uow, ProcessInstance, process_id)
        if instance.status != ProcessStatus.RUNNING:
            return instance
        close(uow, instance, status=status, result=result, reason=reason, actor="mktflow")
        uow.commit()
        return instance


def check_attach(uow: UnitOfWork, actor: Actor, process_id: int) -> ProcessInstance:
    """Refuse adding a work item or a handoff to process ``process_id`` unless it is running
    and ``actor`` is someone it already involves (``ATTACH_RULE``: its owner, a member of a
    department it involves, management; the process engine always). Returns the process.

    Otherwise a member of any department could attach a handoff to another department's
    campaign and end it by cancelling what they attached (issue 19).
    """
    instance = uow.session.get(ProcessInstance, process_id)
    if instance is None:
        raise NotFound(on_field("process", phrase("%(ref)s does not exist",
                                                  ref=ref_of("process", process_id))))
    if actor.system:
        return instance
    if instance.status != ProcessStatus.RUNNING:
        raise TransitionRefused(phrase(
            "cannot add work to %(ref)s: it is %(state)s; only a running process takes new "
            "work", ref=ref(instance), state=word(instance.status)))
    authorize(actor, ATTACH_RULE, visibility.process_target(uow.session, instance))
    return instance


def ender(uow: UnitOfWork, instance: ProcessInstance | None,
          item: WorkItem | Handoff) -> Callable[[Actor], None] | None:
    """Who may cancel ``item`` when cancelling it ends ``instance`` (``ends_with``): whoever may
    end the process (``END_RULE``: its owner, whoever leads the owner's department,
    management), in place of the item's own cancel row; None when the cancel ends nothing (the
    item's row decides). For ``transitions.check(who=...)``.

    Only a step or handoff the process's flow made (it has a ``step_key``: the run waits on it
    or will) ends the process when cancelled; one a person attached is cancelled alone.
    """
    if instance is None or not ends_with(instance, item):
        return None

    def may_end(actor: Actor) -> None:
        if actor.system:
            return
        try:
            authorize(actor, END_RULE, visibility.process_target(uow.session, instance))
        except NotAuthorized as exc:
            said = exc.args[0] if exc.args else ""
            why: str = str(exc).split(": ", 1)[-1]
            if isinstance(said, Phrase) and said.msgid == END_RULE.refusal:
                why = phrase("only its owner, whoever leads %(department)s, or management may",
                             department=said.values["department"])
            raise NotAuthorized(phrase(
                "%(actor)s may not cancel %(ref)s: %(process)s (%(name)s %(key)s) waits on it "
                "and would end with it, and %(why)s; decide the step instead (reject, rework) or "
                "ask them to end the process", actor=actor.email, ref=ref(item),
                process=ref(instance), name=instance.process, key=instance.business_key,
                why=why)) from None

    return may_end


def ends_with(instance: ProcessInstance | None, item: WorkItem | Handoff) -> bool:
    """Whether cancelling ``item`` ends ``instance``: it is running and its flow made the item
    (a person's attached work is cancelled alone)."""
    return (instance is not None and instance.status == ProcessStatus.RUNNING
            and item.step_key is not None)


def cancel_process(uow: UnitOfWork, process_id: int, *, actor_email: str,
                   reason: str | None) -> ProcessInstance:
    """End a running process on purpose (``mktflow process cancel``): by its owner, whoever
    leads the owner's department, or management (``END_RULE``), with a reason. Its open steps
    and handoffs are cancelled with the reason, in the same transaction; its waiting flow run
    is ended afterwards (``tell_run``). Raises NotFound, TransitionRefused (not running, or
    the process of a complaint not closed or cancelled: ``mktflow complaint cancel`` cancels
    the case and its process), BadInput (no reason), NotAuthorized."""
    with uow:
        instance = get_for_update(uow, ProcessInstance, process_id)
        actor = actor_for(uow, actor_email)
        rule = rule_for((END_RULE,), phrase("process %(ref)s", ref=ref(instance)), "cancel",
                        instance.status)
        from mktflow.engine.complaint_cancel import cancel_refusal

        if (refused := cancel_refusal(uow, instance)) is not None:  # a case has its own cancel
            raise TransitionRefused(refused)
        if not (reason and reason.strip()):
            raise BadInput(on_field("reason", phrase(
                "cancel needs a reason (why the process is ended)")))
        authorize(actor, rule, visibility.process_target(uow.session, instance))
        why = (f"{ref(instance)} ({instance.process} {instance.business_key}) was cancelled by "
               f"{actor.email}: {reason.strip()}")[:REASON_MAX]
        close(uow, instance, status=ProcessStatus.CANCELLED, actor=actor.email, reason=why,
              result={"outcome": "cancelled", "reason": why, "cancelled_by": actor.email})
        uow.commit()
    tell_run(uow, instance, why)
    return instance


def lock_process_of(uow: UnitOfWork, model: type[WorkItem] | type[Handoff],
                    item_id: int) -> ProcessInstance | None:
    """The process of step or handoff ``item_id``, locked for update before the item itself
    is (the order ``finish_process`` locks them in); None when the item or its process is
    missing (the item's own lookup then says so)."""
    found = cast("WorkItem | Handoff | None", uow.session.get(model, item_id))
    if found is None or found.process_id is None:
        return None
    return get_for_update(uow, ProcessInstance, found.process_id)


def end_for_cancelled_item(uow: UnitOfWork, instance: ProcessInstance,
                           item: WorkItem | Handoff, *, actor: str,
                           reason: str | None) -> str | None:
    """End a running process whose step or handoff ``item`` was just cancelled, inside the
    caller's unit of work; returns why (the message its flow run ends with), or None if it had
    ended.

    A flow cannot go on without a step it waits for (``StepCancelled``) nor act on a handoff
    that was withdrawn, so the process ends here, in the cancel's transaction: its status is
    ``cancelled`` at once, and its other open steps and handoffs are cancelled with the same
    reason, so no department keeps work of a process that is over. Its flow run is ended
    afterwards (``tell_run``).
    """
    if instance.status != ProcessStatus.RUNNING:
        return None
    why = cancelled_item_message(ref(item), item.title, actor, reason)
    close(uow, instance, status=ProcessStatus.CANCELLED, actor=actor, reason=why,
          result={"outcome": "cancelled", "reason": why, "cancelled_item": ref(item),
                  "cancelled_by": actor})
    return why


def cancelled_item_message(item: str, title: str, actor: str, reason: str | None) -> str:
    """``W-5 (Campaign plan) was cancelled by ana.torres@…: <reason>. The process cannot go on
    without it.`` — the process's reason and its flow run's message (``item``: W-n or H-n)."""
    head = f"{item} ({title}) was cancelled by {actor}: "
    tail = ". The process cannot go on without it."
    because = (reason or "").strip().rstrip(".") or "no reason given"
    room = REASON_MAX - len(head) - len(tail)  # it is every closed item's reason too
    if len(because) > room:
        because = because[:max(room - 1, 0)].rstrip() + "…"
    return head + because + tail


def close(uow: UnitOfWork, instance: ProcessInstance, *, status: ProcessStatus, actor: str,
          result: dict[str, Any] | None = None, reason: str | None = None) -> None:
    """Set a running process's final status inside the caller's unit of work, cancelling its
    open steps and handoffs with the reason (by ``actor``: ``mktflow`` when the flow ends it,
    the member whose cancel ended it)."""
    assert instance.id is not None
    process_id = instance.id
    before = instance.status
    instance.status = status
    instance.result = result
    instance.updated_at = uow.now()
    uow.session.add(instance)
    why = reason or f"process {status}"
    for item in uow.session.exec(select(WorkItem).where(
            col(WorkItem.process_id) == process_id,
            col(WorkItem.state).in_(sorted(OPEN_WORK_STATES)))):
        _close(uow, item, "cancelled", why, actor)
    for handoff in uow.session.exec(select(Handoff).where(
            col(Handoff.process_id) == process_id,
            col(Handoff.state).in_(sorted(OPEN_HANDOFF_STATES)))):
        _close(uow, handoff, "cancelled", why, actor)
    uow.audit(actor=actor, entity_type="process", entity_id=process_id,
              process_id=process_id, action="finish", from_state=before, to_state=status,
              reason=reason, data=result)


def tell_run(uow: UnitOfWork, instance: ProcessInstance, why: str) -> None:
    """After the commit that ended ``instance``: end the flow run still waiting for it, through
    the unit of work's ``ender`` (wired in ``mktflow.bootstrap``: the Prefect bridge's
    ``handback.end_run``). A failure is not lost: the process stays ended in the database, a
    warning says so, and ``mktflow process resume P-N`` ends the run later."""
    if not instance.flow_run_id:
        return
    if uow.ender is None:
        log.info("%s is %s; nothing is wired to end flow run %s: `mktflow process resume %s` "
                 "does", ref(instance), instance.status, instance.flow_run_id, ref(instance))
        return
    try:
        uow.ender(instance.flow_run_id, why)
    except Exception as exc:  # the process is ended; only the news to its run waits
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("%s is %s, but its flow run %s could not be ended now (%s); `mktflow "
                    "process resume %s` ends it", ref(instance), instance.status,
                    instance.flow_run_id, first, ref(instance))


def wake_run(uow: UnitOfWork, item: WorkItem) -> None:
    """After the commit that cancelled ``item`` while its process goes on (a complaint's act
    step when its handoff is rejected: ``complaint_handoffs.hand_back``): wake the flow run
    waiting on it without an answer, through the unit of work's ``waker`` (wired in
    ``mktflow.bootstrap``: the Prefect bridge's ``handback.wake_run``); the flow reads the
    cancelled step and goes on to the next one. A failure is not lost: the step stays
    cancelled, a warning says so, and the reconciler (or ``mktflow process resume P-N``) wakes
    the run."""
    if item.process_id is None:
        return
    with uow:
        instance = uow.session.get(ProcessInstance, item.process_id)
        flow_run_id = instance.flow_run_id if instance else None
    if not flow_run_id:
        return
    if uow.waker is None:
        log.info("W-%s was cancelled; nothing is wired to wake flow run %s", item.id,
                 flow_run_id)
        return
    try:
        uow.waker(flow_run_id, item)
    except Exception as exc:  # the step is cancelled; only the news to its run waits
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("W-%s was cancelled, but its flow run %s could not be woken now (%s); "
                    "the reconciler or `mktflow process resume P-%s` wakes it", item.id,
                    flow_run_id, first, item.process_id)


def _close(uow: UnitOfWork, item: WorkItem | Handoff, state: str, reason: str,
           actor: str) -> None:
    before = item.state
    item.state = state
    item.updated_at = uow.now()
    item.version += 1
    uow.session.add(item)
    assert item.id is not None
    uow.audit(actor=actor, entity_type="work" if isinstance(item, WorkItem) else "handoff",
              entity_id=item.id, process_id=item.process_id, action="cancel",
              from_state=before, to_state=state, reason=reason)
