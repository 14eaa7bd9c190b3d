"""Command handlers of the recurring management cycles: begin and finish a cycle run, record
what came back from a collection round.

A cycle run is one period of one cycle. Beginning it opens (or, for a re-run of the same
period, reopens) its process instance and its cycle-run row in one transaction, notes the
periods skipped since the last run, and takes over what the last run left open.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from mktflow.config import Settings, get_settings
from mktflow.domain.actors import SYSTEM
from mktflow.domain.calendars import WorkingDue
from mktflow.domain.cycles import CYCLES, Cycle, Frequency, skipped_between
from mktflow.domain.errors import BadInput, NotFound
from mktflow.domain.inputs import format_time, normalise_email
from mktflow.domain.model import OPEN_HANDOFF_STATES, OPEN_WORK_STATES, ProcessStatus, WorkState
from mktflow.domain.words import phrase
from mktflow.engine import work
from mktflow.engine.common import as_engine, get_for_update, ref
from mktflow.engine.processes import open_instance, relink
from mktflow.store.tables import (
    CycleRun,
    Handoff,
    Member,
    ProcessInstance,
    ResearchFinding,
    WorkItem,
)
from mktflow.store.uow import UnitOfWork

__all__ = [
    "RESEARCH_TOPICS", "assign_collection", "begin_cycle", "business_key", "collection_key",
    "collection_rows", "compile_collection", "cycle_spec", "default_collectors",
    "fail_cycle_run", "finish_cycle", "hand_report", "previous_run", "record_findings",
    "work_items",
]


def cycle_spec(name: str, settings: Settings | None = None) -> Cycle:
    """A cycle as configured: the appraisal (and the training that follows it) runs quarterly
    or half-yearly by setting.

    Handlers pass their unit of work's settings; ``None`` (the bridge's cycle helpers and the
    deployment catalog, until they pass the wiring's) reads the settings in force.
    """
    spec = CYCLES[name]
    frequency = (settings or get_settings()).appraisal_frequency
    if name == "performance-appraisal" and frequency == "half-yearly":
        return replace(spec, frequency=Frequency.HALF_YEARLY, cron="0 6 5 1,7 *")
    if name == "training" and frequency == "half-yearly":  # follows the appraisal's periods
        return replace(spec, frequency=Frequency.HALF_YEARLY, cron="0 6 15 1,7 *")
    return spec


def work_items(uow: UnitOfWork, ids: list[int]) -> dict[int, WorkItem]:
    """Work items by id; call inside ``with uow``."""
    rows = uow.session.exec(select(WorkItem).where(col(WorkItem.id).in_(sorted(ids))))
    return {i.id: i for i in rows if i.id is not None}


def business_key(cycle: str, period: str) -> str:
    """The process instance key of a cycle run, e.g. ``market-research/2026-11``."""
    return f"{cycle}/{period}"


def previous_run(uow: UnitOfWork, cycle: str, period: str) -> CycleRun | None:
    """The latest run of ``cycle`` for a period before ``period``; call inside ``with uow``."""
    return uow.session.exec(
        select(CycleRun).where(col(CycleRun.cycle) == cycle, col(CycleRun.period) < period)
        .order_by(col(CycleRun.period).desc())
    ).first()


def _process(uow: UnitOfWork, cycle: str, period: str, flow_run_id: str | None,
             params: dict[str, Any] | None) -> ProcessInstance:
    key = business_key(cycle, period)
    process = uow.session.exec(
        select(ProcessInstance).where(col(ProcessInstance.business_key) == key)
        .with_for_update()).first()
    if process is None:
        return open_instance(uow, process=cycle, business_key=key, owner_email=SYSTEM.email,
                             params=params, flow_run_id=flow_run_id)
    if flow_run_id:
        relink(uow, process, flow_run_id)
    return process


def begin_cycle(
    uow: UnitOfWork,
    *,
    cycle: str,
    period: str,
    flow_run_id: str | None = None,
    params: dict[str, Any] | None = None,
) -> CycleRun:
    """Open the run of ``cycle`` for ``period``: skipped periods noted, open items carried in.

    Running a period again (a retry, a manual re-run) reopens the same row and keeps what it
    carried in the first time, so nothing is carried twice.
    """
    if cycle not in CYCLES:
        raise BadInput(f"cycle: unknown cycle {cycle!r} (known: {', '.join(sorted(CYCLES))})")
    frequency = cycle_spec(cycle, uow.settings).frequency
    skipped_between(period, period, frequency)  # refuses a malformed period
    with uow:
        process = _process(uow, cycle, period, flow_run_id, params)
        run = uow.session.exec(select(CycleRun).where(
            col(CycleRun.cycle) == cycle, col(CycleRun.period) == period).with_for_update()
        ).first()
        action = "reopen"
        if run is None:
            action = "begin"
            last = previous_run(uow, cycle, period)
            run = CycleRun(
                cycle=cycle, period=period, process_id=process.id,
                previous_period=last.period if last else None,
                skipped_periods=skipped_between(last.period if last else None, period,
                                                frequency),
                carried=list(last.open_items) if last else [], started_at=uow.now(),
            )
        run.status = "running"
        run.flow_run_id = flow_run_id
        run.finished_at = None
        uow.session.add(run)
        uow.session.flush()
        assert run.id is not None
        uow.audit(actor=SYSTEM.email, entity_type="cycle", entity_id=run.id,
                  process_id=process.id, action=action, to_state="running",
                  data={"cycle": cycle, "period": period, "skipped": run.skipped_periods,
                        "carried": len(run.carried)})
        uow.commit()
        return run


def _settled(uow: UnitOfWork, process_id: int) -> bool:
    open_work = uow.session.exec(select(WorkItem.id).where(
        col(WorkItem.process_id) == process_id,
        col(WorkItem.state).in_(sorted(OPEN_WORK_STATES)))).first()
    open_handoffs = uow.session.exec(select(Handoff.id).where(
        col(Handoff.process_id) == process_id,
        col(Handoff.state).in_(sorted(OPEN_HANDOFF_STATES)))).first()
    return open_work is None and open_handoffs is None


def _close_process(uow: UnitOfWork, process_id: int | None, status: str, *,
                   when_settled: bool = False) -> None:
    """Close a cycle's process instance (``when_settled``: only once nothing under it is open)."""
    if process_id is None:
        return
    process = uow.session.get(ProcessInstance, process_id, with_for_update=True)
    if process is None or process.status != ProcessStatus.RUNNING:
        return
    if when_settled and not _settled(uow, process_id):
        return
    process.status = status
    process.updated_at = uow.now()
    uow.session.add(process)
    uow.audit(actor=SYSTEM.email, entity_type="process", entity_id=process_id,
              process_id=process_id, action="finish", from_state=ProcessStatus.RUNNING,
              to_state=status)


def finish_cycle(
    uow: UnitOfWork,
    run_id: int,
    *,
    open_items: list[dict[str, Any]],
    summary: dict[str, Any] | None = None,
    status: str = "completed",
) -> CycleRun:
    """Close a cycle run with what it leaves open for the next one and its summary.

    Its process instance ends with the run (completed or failed), as its flow run does: the
    steps it leaves open stay in their queues and are carried to the next run. Processes of
    earlier runs still running (left so by mktflow before 2026-11) are closed once settled.
    """
    if status not in ("completed", "failed"):
        raise BadInput(f"status: a cycle run finishes completed or failed, not {status!r}")
    with uow:
        run = uow.session.get(CycleRun, run_id, with_for_update=True)
        if run is None:
            raise NotFound(f"cycle run {run_id} does not exist")
        before = run.status
        run.status = status
        run.open_items = open_items
        run.summary = summary
        run.finished_at = uow.now()
        uow.session.add(run)
        uow.audit(actor=SYSTEM.email, entity_type="cycle", entity_id=run_id,
                  process_id=run.process_id, action="finish", from_state=before,
                  to_state=status, data={"open_items": len(open_items)})
        earlier = uow.session.exec(select(CycleRun).where(
            col(CycleRun.cycle) == run.cycle, col(CycleRun.period) < run.period)).all()
        for r in earlier:
            _close_process(uow, r.process_id, ProcessStatus.COMPLETED, when_settled=True)
        _close_process(uow, run.process_id, ProcessStatus.COMPLETED if status == "completed"
                       else ProcessStatus.FAILED)
        uow.commit()
        return run


def fail_cycle_run(uow: UnitOfWork, *, flow_run_id: str, reason: str | None = None,
                   ) -> CycleRun | None:
    """The cycle run carried by a flow run that failed or crashed ends failed, with its
    process; what it carried in is carried on, so the next run still sees it."""
    with uow:
        run = uow.session.exec(select(CycleRun).where(
            col(CycleRun.flow_run_id) == flow_run_id, col(CycleRun.status) == "running")
        ).first()
        if run is None or run.id is None:
            return None
        run_id, carried = run.id, list(run.carried)
    return finish_cycle(uow, run_id, open_items=carried, summary={"failed": reason or "failed"},
                        status="failed")


def collection_key(topic: str, member_email: str) -> str:
    """The step key of one member's collection step on one topic."""
    return f"collect/{topic}/{member_email}"


def record_findings(uow: UnitOfWork, *, compiled_in: str,
                    item_ids: list[int]) -> list[ResearchFinding]:
    """Keep what came back from collection steps as findings; each step is recorded once.

    The topic comes from the step's key (``collect/<topic>/<member>``), the collection period
    from its cycle run's business key (``market-research/<period>``).
    """
    with uow:
        found: list[ResearchFinding] = []
        for item_id in item_ids:
            item = get_for_update(uow, WorkItem, item_id)
            if item.state != WorkState.DONE or not (item.step_key or "").startswith("collect/"):
                raise BadInput(f"{ref(item)} is a {item.state} step {item.step_key!r}: only "
                               "done collection steps have findings")
            existing = uow.session.exec(select(ResearchFinding).where(
                col(ResearchFinding.work_item_id) == item_id)).first()
            if existing is not None:
                found.append(existing)
                continue
            process = uow.session.get(ProcessInstance, item.process_id)
            data = dict(item.data or {})
            finding = ResearchFinding(
                period=process.business_key.rsplit("/", 1)[-1] if process else compiled_in,
                topic=(item.step_key or "").split("/")[1],
                member_email=item.completed_by or item.assignee_email or "",
                work_item_id=item_id, compiled_in=compiled_in,
                summary=str(data.pop("summary", "")), details=data,
                received_at=item.completed_at or uow.now(),
            )
            uow.session.add(finding)
            uow.session.flush()
            assert finding.id is not None
            uow.audit(actor=SYSTEM.email, entity_type="finding", entity_id=finding.id,
                      process_id=item.process_id, action="record",
                      data={"work_item": item_id, "topic": finding.topic})
            found.append(finding)
        uow.commit()
        return found


#: What a market-research round collects (seed 002: consumers, the market, competitors).
RESEARCH_TOPICS = ("consumer", "market", "competitor")


def default_collectors(uow: UnitOfWork) -> list[tuple[str, str]]:
    """(topic, member) pairs: the topics dealt round the marketing specialists by e-mail."""
    with uow:
        members = [m.email for m in uow.session.exec(
            select(Member).where(col(Member.department) == "marketing",
                                 col(Member.role) == "specialist", col(Member.active))
            .order_by(col(Member.email)))]
    if not members:
        raise NotFound("no active marketing specialist to collect market research")
    return [(topic, members[i % len(members)]) for i, topic in enumerate(RESEARCH_TOPICS)]


def assign_collection(
    uow: UnitOfWork,
    *,
    run_id: int,
    assignments: list[tuple[str, str]],
    due_at: datetime | WorkingDue,
    form_schema: dict[str, Any],
) -> list[WorkItem]:
    """Give each named member a collection step on their topic (once per member and topic)."""
    with uow:
        run = uow.session.get(CycleRun, run_id)
        if run is None:
            raise NotFound(f"cycle run {run_id} does not exist")
        emails = {normalise_email(email) for _, email in assignments}
        members = {m.email: m for m in uow.session.exec(
            select(Member).where(col(Member.email).in_(sorted(emails)), col(Member.active)))}
    problems = [f"assignments: {e!r} is not an active member" for e in sorted(emails)
                if e not in members]
    problems += [f"assignments: unknown topic {t!r} (known: {', '.join(RESEARCH_TOPICS)})"
                 for t, _ in assignments if t not in RESEARCH_TOPICS]
    if problems:
        raise BadInput("; ".join(problems))
    items = []
    for topic, raw_email in assignments:
        member = members[normalise_email(raw_email)]
        with as_engine(uow):
            items.append(work.create_work_item(
                uow, actor_email=SYSTEM.email, department=member.department,
                title=phrase("Market research %(period)s: %(topic)s findings",
                             period=run.period, topic=topic), assignee=member.email,
                description=phrase("Collect what you learn about the %(topic)s this period and "
                                   "hand it in before the due date; the next round compiles it "
                                   "for management.", topic=topic),
                form_schema=form_schema, form_name="ResearchFindings", due_at=due_at,
                process_id=run.process_id, step_key=collection_key(topic, member.email),
            ))
    return items


def _collection_row(item: WorkItem, period: str, now: datetime) -> dict[str, Any]:
    topic, member = (item.step_key or "collect/?/?").split("/")[1:3]
    late = (now - item.due_at).total_seconds() / 86400 if item.due_at else 0.0
    return {"ref": ref(item), "work_item_id": item.id, "topic": topic, "member": member,
            "department": item.department, "period": period,
            "due": format_time(item.due_at),
            "days_overdue": round(max(0.0, late), 1)}


def collection_rows(uow: UnitOfWork, *, run_id: int) -> list[dict[str, Any]]:
    """This run's collection steps, as the next run carries them."""
    with uow:
        run = uow.session.get(CycleRun, run_id)
        if run is None:
            raise NotFound(f"cycle run {run_id} does not exist")
        items = uow.session.exec(select(WorkItem).where(
            col(WorkItem.process_id) == run.process_id,
            col(WorkItem.step_key).startswith("collect/")).order_by(col(WorkItem.id)))
        return [_collection_row(i, run.period, uow.now()) for i in items]


def compile_collection(uow: UnitOfWork, *, run_id: int) -> dict[str, list[dict[str, Any]]]:
    """Sort the collection steps carried into this run: findings that came back (recorded),
    steps still missing (with whose they are), steps withdrawn."""
    with uow:
        run = uow.session.get(CycleRun, run_id)
        if run is None:
            raise NotFound(f"cycle run {run_id} does not exist")
        ids = [int(c["work_item_id"]) for c in run.carried]
        items = {i.id: i for i in uow.session.exec(
            select(WorkItem).where(col(WorkItem.id).in_(sorted(ids))))}
        now = uow.now()
        period = run.period
    done = [i for i in ids if i in items and items[i].state == WorkState.DONE]
    findings = {f.work_item_id: f for f in record_findings(uow, compiled_in=period,
                                                           item_ids=done)}
    out: dict[str, list[dict[str, Any]]] = {"findings": [], "missing": [], "withdrawn": []}
    for carried in run.carried:
        item = items.get(int(carried["work_item_id"]))
        if item is None or item.state == WorkState.CANCELLED:
            out["withdrawn"].append(carried)
        elif item.state == WorkState.DONE:
            assert item.id is not None
            f = findings[item.id]
            due = item.due_at
            out["findings"].append({
                **carried, "summary": f.summary, "details": f.details,
                "received": format_time(f.received_at),
                "late": bool(due and item.completed_at and item.completed_at > due)})
        else:
            row = _collection_row(item, carried["period"], now)
            out["missing"].append({**row, "state": item.state,
                                   "holder": item.assignee_email or item.department})
    return out


def hand_report(uow: UnitOfWork, *, run_id: int, departments: list[str], title: str,
                description: str) -> list[WorkItem]:
    """Put the report in each department's queue to read; each is told through the outbox."""
    with uow:
        run = uow.session.get(CycleRun, run_id)
        if run is None:
            raise NotFound(f"cycle run {run_id} does not exist")
    with as_engine(uow):
        return [work.create_work_item(
            uow, actor_email=SYSTEM.email, department=dept, title=title,
            description=description, form_schema={"type": "object", "properties": {
                "acknowledged": {"type": "boolean"}, "comment": {"type": "string"}}},
            form_name="ReportRead", process_id=run.process_id, step_key=f"report/{dept}",
        ) for dept in dict.fromkeys(departments)]
