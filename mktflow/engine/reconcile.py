"""What the reconciler reads from mktflow's tables and the corrections it records there.

The reconciler (``mktflow.prefect.reconcile``) compares mktflow's processes with their Prefect
runs. This module is its engine side: which processes to look at (``changed_since``, the audit
trail as a change feed, so a tick reads only what moved; ``watched`` for given processes,
``running`` for a full sweep; ``running_of_runs`` for runs Prefect says have ended), and the
two corrections, each audited as the process engine with a reason naming the reconciler, and
idempotent (a second reconciler, or a second tick, finds nothing left to do):

* ``record_handed_back``: a run waited on a step already done (or its process had ended) and
  the reconciler resumed (or ended) it: one ``reconcile`` entry on the process;
* ``settle_ended_run``: a process still ``running`` whose run has ended (Failed, Crashed,
  Cancelled, Completed) is closed with the run's state and message (``close``: its open steps
  and handoffs are cancelled with that reason), in one transaction with its audit entries; a
  cycle's process through its cycle run (``cycles.fail_cycle_run``: what it carried in is
  carried on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import col, func, select

from mktflow.domain.actors import SYSTEM
from mktflow.domain.errors import BadInput, NotFound
from mktflow.domain.inputs import REASON_MAX
from mktflow.domain.model import OPEN_WORK_STATES, ProcessStatus
from mktflow.engine.common import get_for_update, ref
from mktflow.engine.cycles import fail_cycle_run
from mktflow.engine.processes import close, set_flow_version
from mktflow.engine.refs import parse_ref
from mktflow.store.tables import AuditEntry, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["RUN_ENDS", "WHO", "Candidate", "changed_since", "latest_entry", "migrate_version",
           "record_handed_back", "running", "running_of_runs", "settle_ended_run",
           "waiting_processes", "watched"]

#: How the reconciler names itself in the reasons it records.
WHO = "the reconciler"

#: A Prefect run's final state type → the status its process is closed with.
RUN_ENDS: dict[str, ProcessStatus] = {
    "COMPLETED": ProcessStatus.COMPLETED, "FAILED": ProcessStatus.FAILED,
    "CRASHED": ProcessStatus.FAILED, "CANCELLED": ProcessStatus.CANCELLED,
}


@dataclass(frozen=True)
class Candidate:
    """A process with a flow run, as the reconciler compares it with that run.

    ``done``: its flow's steps (with a step key) that are done, whose data a waiting run is
    handed; ``reason``: why it ended, when it is not running; ``cancelled``: its flow's steps
    cancelled while it runs on (a complaint's act step whose handoff was rejected), on which a
    waiting run is woken.
    """

    process_id: int
    ref: str
    status: str
    flow_run_id: str
    reason: str | None = None
    done: list[WorkItem] = field(default_factory=list)
    cancelled: list[WorkItem] = field(default_factory=list)


def latest_entry(uow: UnitOfWork) -> int:
    """The id of the newest audit entry (0 when there is none): where a feed starts."""
    with uow:
        return int(uow.session.exec(select(func.max(AuditEntry.id))).one() or 0)


def changed_since(uow: UnitOfWork, after: int, *, limit: int = 1000) -> tuple[set[int], int]:
    """The processes with an audit entry newer than entry ``after`` (at most ``limit`` entries
    read), and the id of the last entry read (``after`` when none): the next call's start."""
    with uow:
        rows = uow.session.exec(
            select(AuditEntry.id, AuditEntry.process_id)
            .where(col(AuditEntry.id) > after).order_by(col(AuditEntry.id)).limit(limit)).all()
    last = max((int(r[0]) for r in rows if r[0] is not None), default=after)
    return {int(r[1]) for r in rows if r[1] is not None}, last


def watched(uow: UnitOfWork, process_ids: set[int]) -> list[Candidate]:
    """The processes ``process_ids`` that have a flow run, with their done steps."""
    if not process_ids:
        return []
    return _candidates(uow, col(ProcessInstance.id).in_(sorted(process_ids)))


def running(uow: UnitOfWork) -> list[Candidate]:
    """Every running process with a flow run (the full sweep), with its done steps."""
    return _candidates(uow, col(ProcessInstance.status) == ProcessStatus.RUNNING)


def running_of_runs(uow: UnitOfWork, flow_run_ids: set[str]) -> list[Candidate]:
    """The running processes linked to one of ``flow_run_ids`` (runs Prefect says ended)."""
    if not flow_run_ids:
        return []
    return _candidates(uow, col(ProcessInstance.flow_run_id).in_(sorted(flow_run_ids)),
                       col(ProcessInstance.status) == ProcessStatus.RUNNING)


def _candidates(uow: UnitOfWork, *where: object) -> list[Candidate]:
    with uow:
        processes = list(uow.session.exec(select(ProcessInstance).where(
            col(ProcessInstance.flow_run_id).is_not(None), *where)))  # type: ignore[arg-type]
        ids = [p.id for p in processes]
        items = list(uow.session.exec(select(WorkItem).where(
            col(WorkItem.process_id).in_(ids), col(WorkItem.state).in_(("done", "cancelled")),
            col(WorkItem.step_key).is_not(None)))) if ids else []
    by_process: dict[tuple[int, str], list[WorkItem]] = {}
    for item in items:
        assert item.process_id is not None
        by_process.setdefault((item.process_id, item.state), []).append(item)
    found = []
    for p in processes:
        assert p.id is not None and p.flow_run_id is not None
        found.append(Candidate(p.id, ref(p), p.status, p.flow_run_id,
                               (p.result or {}).get("reason"), by_process.get((p.id, "done"), []),
                               by_process.get((p.id, "cancelled"), [])))
    return found


def record_handed_back(uow: UnitOfWork, process_id: int, *, flow_run_id: str,
                       what: str, reason: str, item_id: int | None = None) -> None:
    """Audit what the reconciler did to a process's run (``what``: ``resume``, ``wake`` or
    ``end-run``),
    with ``reason`` saying why (it names the reconciler), as the process engine."""
    with uow:
        uow.audit(actor=SYSTEM.email, entity_type="process", entity_id=process_id,
                  process_id=process_id, action="reconcile", reason=reason[:REASON_MAX],
                  data={"by": WHO, "did": what, "flow_run_id": flow_run_id,
                        "item": f"W-{item_id}" if item_id is not None else None})
        uow.commit()


def settle_ended_run(uow: UnitOfWork, process_id: int, *, flow_run_id: str, state_type: str,
                     state_name: str, message: str | None) -> ProcessInstance | None:
    """Close a process that is still ``running`` although its flow run ``flow_run_id`` ended in
    ``state_type`` (``RUN_ENDS``: Failed and Crashed → failed, Cancelled → cancelled, Completed
    → completed), with the run's message as the reason, as the process engine. Returns the
    process when it was closed here; None when there was nothing to do (it is no longer
    running, or another run carries it now). Raises NotFound for an unknown process, KeyError
    for a state type that is not final."""
    status = RUN_ENDS[state_type]
    said = (message or "").strip() or "no message"
    if status != ProcessStatus.COMPLETED:  # a cycle's run ends failed with its process, and
        # what it carried in is carried on (as the cycle flows' own crash hooks do)
        cycle = fail_cycle_run(uow, flow_run_id=flow_run_id,
                               reason=f"{WHO} found flow run {flow_run_id} {state_name}: "
                                      f"{said}"[:REASON_MAX])
        if cycle is not None:
            with uow:
                return uow.session.get(ProcessInstance, process_id)
    with uow:
        instance = get_for_update(uow, ProcessInstance, process_id)
        if instance.status != ProcessStatus.RUNNING or instance.flow_run_id != flow_run_id:
            return None
        why = (f"{WHO} found flow run {flow_run_id} {state_name} while {ref(instance)} was "
               f"still running: {said}")[:REASON_MAX]
        close(uow, instance, status=status, actor=SYSTEM.email, reason=why,
              result={"outcome": str(status), "reason": why, "flow_run_state": state_name,
                      "settled_by": WHO})
        uow.commit()
        return instance


def waiting_processes(uow: UnitOfWork, refs: list[str] | None = None) -> list[dict[str, object]]:
    """The running processes with a flow run (only ``refs``, ``P-n``, when given), each with
    the flow version it runs on and the flow's steps it waits on (open or claimed, with a step
    key): what ``mktflow process migrate`` compares with the flow code deployed now. Raises
    NotFound for a reference that is no process."""
    wanted: list[int] | None = None
    if refs:
        wanted = []
        for reference in refs:
            kind, number = parse_ref(reference, "process")
            if kind != "process":
                raise BadInput(f"{reference}: give processes (P-n)")
            wanted.append(number)
    with uow:
        query = select(ProcessInstance).where(
            col(ProcessInstance.status) == ProcessStatus.RUNNING,
            col(ProcessInstance.flow_run_id).is_not(None))
        if wanted is not None:
            query = query.where(col(ProcessInstance.id).in_(wanted))
        processes = list(uow.session.exec(query.order_by(col(ProcessInstance.id))))
        if wanted is not None:
            missing = sorted(set(wanted) - {p.id for p in processes})
            if missing:
                raise NotFound(f"{', '.join(f'P-{m}' for m in missing)}: no running process "
                               "with a flow run")
        ids = [p.id for p in processes]
        items = list(uow.session.exec(select(WorkItem).where(
            col(WorkItem.process_id).in_(ids), col(WorkItem.state).in_(sorted(OPEN_WORK_STATES)),
            col(WorkItem.step_key).is_not(None)).order_by(col(WorkItem.id)))) if ids else []
    return [{"process_id": p.id, "ref": ref(p), "process": p.process,
             "business_key": p.business_key, "flow_version": p.flow_version,
             "waiting": [{"ref": ref(i), "step_key": i.step_key, "title": i.title,
                          "form_name": i.form_name, "form_schema": i.form_schema}
                         for i in items if i.process_id == p.id]}
            for p in processes]


def migrate_version(uow: UnitOfWork, process_id: int, *, version: str, why: str) -> bool:
    """Record that running process ``process_id`` goes on on flow ``version``
    (``mktflow process migrate``): a ``flow-version`` entry by the engine with ``why``; False
    when it already runs on it or is no longer running. Raises NotFound."""
    with uow:
        instance = get_for_update(uow, ProcessInstance, process_id)
        if instance.status != ProcessStatus.RUNNING or instance.flow_version == version:
            return False
        set_flow_version(uow, instance, version, why[:REASON_MAX])
        uow.commit()
        return True
