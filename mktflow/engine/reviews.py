"""Command handlers of the review cycles: budget review, performance appraisal, channel
evaluation, annual planning; and the distributor records channel evaluation scores.

Each review puts the decisions people must take into their queues as work items (an owner
explains an overrun, a head signs an appraisal, the marketing head decides on a distributor)
and never waits for them: the next run of the cycle reads what was answered and carries what
was not. The rules themselves are pure, in ``mktflow.domain.reviews``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from mktflow.domain.actors import SYSTEM
from mktflow.domain.cycles import period_bounds
from mktflow.domain.errors import BadInput, NotAuthorized, NotFound
from mktflow.domain.model import Role, WorkState
from mktflow.domain.money import money
from mktflow.domain.reviews import budget_verdict, kpi_verdict, score_distributor
from mktflow.domain.training import attainment_change
from mktflow.domain.words import joined, phrase
from mktflow.engine import training, work
from mktflow.engine.common import actor_for, as_engine, find_member, ref, ref_of
from mktflow.engine.cycles import cycle_spec, work_items
from mktflow.engine.notices import head_of
from mktflow.engine.reports import handoff_facts, start_of
from mktflow.store.tables import (
    Appraisal,
    BudgetLine,
    CycleRun,
    Distributor,
    DistributorReview,
    Handoff,
    Kpi,
    Member,
    ProcessInstance,
    WorkItem,
)
from mktflow.store.uow import UnitOfWork

__all__ = [
    "APPRAISAL_FORM",
    "DECISION_FORM",
    "EXPLANATION_FORM",
    "PLAN_ITEMS_FORM",
    "add_distributor",
    "appraise",
    "evaluate_channels",
    "open_plan_collection",
    "period_budget_lines",
    "period_kpis",
    "plan_submissions",
    "record_appraisal_results",
    "record_channel_decisions",
    "record_distributor_figures",
    "record_member_kpi",
    "review_budget",
    "settle_carried",
]

EXPLANATION_FORM: dict[str, Any] = {
    "type": "object", "required": ["action", "explanation"],
    "properties": {
        "action": {"enum": ["explain", "re-plan"]},
        "explanation": {"type": "string", "minLength": 1},
        "new_planned_to_date": {"type": "number", "minimum": 0},
    },
}
APPRAISAL_FORM: dict[str, Any] = {
    "type": "object", "required": ["result"],
    "properties": {"result": {"enum": ["reward", "training", "adjustment", "none"]},
                   "comment": {"type": "string"}},
}
DECISION_FORM: dict[str, Any] = {
    "type": "object", "required": ["decision"],
    "properties": {"decision": {"enum": ["keep", "adjust", "remove"]},
                   "note": {"type": "string"}},
}
PLAN_ITEMS_FORM: dict[str, Any] = {
    "type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["title", "category"],
        "properties": {k: {"type": "string"} for k in (
            "id", "title", "category", "owner", "goal", "horizon", "resources", "parent",
            "important", "urgent")},
        "additionalProperties": False}}},
}


def _run(uow: UnitOfWork, run_id: int) -> CycleRun:
    run = uow.session.get(CycleRun, run_id)
    if run is None:
        raise NotFound(f"cycle run {run_id} does not exist")
    return run


def _step(uow: UnitOfWork, run: CycleRun, *, department: str, title: str, key: str,
          form: dict[str, Any], description: str = "", assignee: str | None = None,
          excluded: list[str] | None = None) -> WorkItem:
    """One decision step of this cycle run, in a queue (idempotent by its key)."""
    with as_engine(uow):
        return work.create_work_item(
            uow, actor_email=SYSTEM.email, department=department, title=title,
            form_schema=form, description=description, assignee=assignee,
            process_id=run.process_id, step_key=key, excluded=excluded)


def settle_carried(uow: UnitOfWork, *, run_id: int) -> dict[str, list[dict[str, Any]]]:
    """The steps carried into this run: answered since (with their data) and still open."""
    with uow:
        run = _run(uow, run_id)
        items = work_items(uow, [int(c["work_item_id"]) for c in run.carried])
        out: dict[str, list[dict[str, Any]]] = {"answered": [], "open": [], "withdrawn": []}
        for carried in run.carried:
            item = items.get(int(carried["work_item_id"]))
            if item is None or item.state == WorkState.CANCELLED:
                out["withdrawn"].append(carried)
            elif item.state == WorkState.DONE:
                out["answered"].append({**carried, "data": item.data or {},
                                        "by": item.completed_by})
            else:
                out["open"].append({**carried, "holder": item.assignee_email or
                                    item.department})
        return out


# --- budget review ------------------------------------------------------------------------


def period_budget_lines(uow: UnitOfWork, period: str) -> list[BudgetLine]:
    """The budget lines a period's budget review reads (inside an open unit of work): those of
    the period, of its year and of no period, by id."""
    return list(uow.session.exec(select(BudgetLine).where(
        col(BudgetLine.period).in_(["", period[:4], period])).order_by(col(BudgetLine.id))))


def period_kpis(uow: UnitOfWork, period: str) -> list[Kpi]:
    """The KPIs a period's performance appraisal reads (inside an open unit of work): those
    of exactly that period, by id."""
    return list(uow.session.exec(select(Kpi).where(col(Kpi.period) == period)
                                 .order_by(col(Kpi.id))))


def review_budget(uow: UnitOfWork, *, run_id: int, tolerance_pct: float,
                  key_project_min: float, open_lines: set[int]) -> dict[str, Any]:
    """Every budget line of the period against plan to date; overruns go to their owner to
    explain or re-plan, key projects without guaranteed resources to finance (and management
    reads the report). Lines whose last explanation is still open are not asked again."""
    with uow:
        run = _run(uow, run_id)
        lines = period_budget_lines(uow, run.period)
    rows: list[dict[str, Any]] = []
    for line in lines:
        assert line.id is not None
        v = budget_verdict(planned=line.planned, allocated=line.allocated, spent=line.spent,
                           planned_to_date=line.planned_to_date, tolerance_pct=tolerance_pct,
                           key_project_min=key_project_min)
        row: dict[str, Any] = {
            "line": line.code, "line_id": line.id, "title": line.title,
            "department": line.department, "owner": line.owner_email,
            "planned": line.planned, "allocated": line.allocated, "spent": line.spent,
            "planned_to_date": line.planned_to_date, "over_plan_pct": v.over_plan_pct,
            "flags": "; ".join(v.flags), "unguaranteed": v.unguaranteed, "ref": None,
            "finance_ref": None,
        }
        if v.flagged and line.id not in open_lines:
            item = _step(uow, run, department=line.department,
                         title=phrase("Budget %(period)s: explain or re-plan %(line)s",
                                      period=run.period, line=line.code),
                         key=f"overrun/{line.id}", form=EXPLANATION_FORM,
                         assignee=_active(uow, line.owner_email),
                         description=phrase("%(title)s: %(flags)s", title=line.title,
                                            flags=list(v.flags)))
            row["ref"] = ref(item)
            row["work_item_id"] = item.id
        if v.unguaranteed:
            item = _step(uow, run, department="finance",
                         title=phrase("Guarantee resources for key project %(line)s",
                                      line=line.code),
                         key=f"guarantee/{line.id}", form={"type": "object"},
                         description=phrase(
                             "%(title)s: planned %(planned)s, allocated only %(allocated)s",
                             title=line.title, planned=money(line.planned),
                             allocated=money(line.allocated)))
            row["finance_ref"] = ref(item)
        rows.append(row)
    return {"lines": rows}


def _active(uow: UnitOfWork, email: str) -> str | None:
    """``email`` if it names an active member (the step goes to them), else None (queue)."""
    with uow:
        member = find_member(uow.session, email)
        return member.email if member is not None and member.active else None


# --- performance appraisal ----------------------------------------------------------------


def _delays(uow: UnitOfWork, start: datetime, end: datetime) -> dict[str, list[dict[str, Any]]]:
    """Late handoffs by the member (or department) whose work waited on them: handoffs the
    member offered, or that belong to a process the member owns, late by the receiver."""
    owners = {p.id: p.owner_email for p in uow.session.exec(select(ProcessInstance))}
    facts = handoff_facts(uow, since=start, until=end)
    offered_by = {h_id: email for h_id, email in uow.session.exec(
        select(col(Handoff.id), col(Handoff.offered_by)).where(
            col(Handoff.id).in_([f.id for f in facts])))}
    now = uow.now()
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in facts:
        late = f.late_hours(now)
        if late <= 0:
            continue
        entry = {"ref": ref_of("handoff", f.id), "to": f.to_department, "title": f.title,
                 "late_days": round(late / 24, 1)}
        waiting = {offered_by.get(f.id), owners.get(f.process_id) if f.process_id else None}
        for who in waiting - {None, SYSTEM.email}:
            assert who is not None
            out[who].append(entry)
        out[f"dept:{f.from_department}"].append(entry)
    return out


def appraise(uow: UnitOfWork, *, run_id: int) -> list[dict[str, Any]]:
    """An appraisal per member and per department from the KPIs of the period, each with the
    days its work waited on other departments' late handoffs; the head signs each one."""
    with uow:
        run = _run(uow, run_id)
        start, end = period_bounds(run.period, cycle_spec(run.cycle, uow.settings).frequency)
        kpis = period_kpis(uow, run.period)
        delays = _delays(uow, start_of(start), start_of(end))
        members = {m.email: m for m in uow.session.exec(select(Member))}
    groups: dict[tuple[str, str], list[Kpi]] = defaultdict(list)
    for k in kpis:
        groups[("member", k.owner_email)].append(k)
        groups[("department", k.department)].append(k)
    out = []
    for (kind, subject), group in sorted(groups.items()):
        late = delays.get(subject if kind == "member" else f"dept:{subject}", [])
        delay_days = round(sum(d["late_days"] for d in late), 1)
        rows = []
        for k in group:
            v = kpi_verdict(target=k.target, actual=k.actual, higher_is_better=k.higher_is_better)
            rows.append({"kpi": k.name, "owner": k.owner_email, "target": k.target,
                         "actual": k.actual, "met": v.met, "gap_pct": v.gap_pct,
                         "delay_days_from_others": delay_days if v.met is False else 0.0})
        judged = [r for r in rows if r["met"] is not None]
        attainment = (round(sum(1 for r in judged if r["met"]) / len(judged), 4)
                      if judged else None)
        department = members[subject].department if kind == "member" and subject in members \
            else group[0].department
        out.append(_appraisal(uow, run, kind, subject, department, rows, attainment, late,
                              members))
    return out


def _appraisal(uow: UnitOfWork, run: CycleRun, kind: str, subject: str, department: str,
               rows: list[dict[str, Any]], attainment: float | None,
               late: list[dict[str, Any]], members: dict[str, Member]) -> dict[str, Any]:
    """Record one appraisal and give it to the head who signs it (management for a
    department, or for a head's own appraisal); a member's shows the training they attended
    since their previous appraisal and the change of attainment (``engine.training``)."""
    with uow:
        signer_dept = department
        head = head_of(uow, department)
        if kind == "department" or head == subject or (
                subject in members and members[subject].role == Role.HEAD):
            signer_dept, head = "management", head_of(uow, "management")
        trained, before = training.attended_since(uow, subject, run.period) \
            if kind == "member" else ([], None)
    change = attainment_change(before, attainment)
    effect = "" if kind != "member" else (
        f" Training since the last appraisal: "
        f"{', '.join(s.topic for s in trained) or 'none'}; attainment change: "
        f"{'-' if change is None else f'{change:+.1f} points'}.")
    item = _step(uow, run, department=signer_dept,
                 title=phrase("Sign the %(period)s appraisal of %(department)s",
                              period=run.period, department=subject) if kind == "department"
                 else phrase("Sign the %(period)s appraisal of %(member)s", period=run.period,
                             member=subject),
                 key=f"appraisal/{kind}/{subject}", form=APPRAISAL_FORM, assignee=head,
                 excluded=[subject] if kind == "member" else None,
                 description="; ".join(f"{r['kpi']}: {r['actual']} of {r['target']}"
                                       for r in rows) + effect)
    with uow:
        row = uow.session.exec(select(Appraisal).where(
            col(Appraisal.period) == run.period, col(Appraisal.subject_type) == kind,
            col(Appraisal.subject) == subject)).first()
        if row is None:
            row = Appraisal(period=run.period, subject_type=kind, subject=subject,
                            department=department, created_at=uow.now())
        row.kpis, row.attainment, row.work_item_id = rows, attainment, item.id
        uow.session.add(row)
        uow.session.flush()
        assert row.id is not None
        uow.audit(actor=SYSTEM.email, entity_type="appraisal", entity_id=row.id,
                  process_id=run.process_id, action="appraise",
                  data={"subject": subject, "attainment": attainment})
        uow.commit()
    return {"subject_type": kind, "subject": subject, "department": department,
            "kpis": rows, "attainment": attainment, "late_handoffs": late,
            "delay_days_from_others": round(sum(d["late_days"] for d in late), 1),
            "ref": ref(item), "work_item_id": item.id, "signer": head or signer_dept,
            "period": run.period, "training": [s.topic for s in trained],
            "attainment_change": change}


def record_appraisal_results(uow: UnitOfWork, *, answered: list[dict[str, Any]]) -> int:
    """Write the signed results (reward, training, adjustment) onto their appraisals."""
    with uow:
        count = 0
        for entry in answered:
            row = uow.session.exec(select(Appraisal).where(
                col(Appraisal.work_item_id) == int(entry["work_item_id"]))).first()
            if row is None or row.signed_by:
                continue
            row.result = str(entry["data"].get("result"))
            row.comment = str(entry["data"].get("comment", ""))
            row.signed_by, row.signed_at = entry["by"], uow.now()
            uow.session.add(row)
            assert row.id is not None
            uow.audit(actor=entry["by"] or SYSTEM.email, entity_type="appraisal",
                      entity_id=row.id, action="sign", data={"result": row.result})
            count += 1
        uow.commit()
        return count


# --- channel evaluation -------------------------------------------------------------------


def record_member_kpi(uow: UnitOfWork, *, owner_email: str, name: str, period: str,
                      target: float, actual: float | None, actor_email: str, unit: str = "",
                      higher_is_better: bool = True) -> Kpi:
    """Set a member's KPI of a period (target and, once known, actual) that the period's
    performance appraisal reads; setting the same name and period again replaces target and
    actual. Goals are set by management, not by marketers for themselves (seed 002; seed 003
    §1(1)): only a head or deputy of the owner's department, or of management, may set them.

    Raises NotFound for an owner who is no active member, NotAuthorized for anyone else,
    BadInput for an empty name or period."""
    if not name.strip() or not period.strip():
        raise BadInput("name and period: must not be empty")
    with uow:
        actor = actor_for(uow, actor_email)
        owner = find_member(uow.session, owner_email)
        if owner is None or not owner.active:
            raise NotFound(f"member {owner_email!r} does not exist")
        if not actor.system and not ({owner.department, "management"} & actor.leads):
            raise NotAuthorized(f"{actor.email} may not set the KPIs of {owner.email}: only "
                                f"the head of {owner.department} or management may")
        kpi = uow.session.exec(select(Kpi).where(
            col(Kpi.owner_email) == owner.email, col(Kpi.name) == name.strip(),
            col(Kpi.period) == period, col(Kpi.campaign_id).is_(None))).first()
        kpi = kpi or Kpi(name=name.strip(), owner_email=owner.email,
                         department=owner.department, period=period, target=target,
                         created_at=uow.now())
        kpi.target, kpi.actual, kpi.unit = float(target), actual, unit
        kpi.higher_is_better, kpi.updated_at = higher_is_better, uow.now()
        uow.session.add(kpi)
        uow.session.flush()
        assert kpi.id is not None
        uow.audit(actor=actor.email, entity_type="kpi", entity_id=kpi.id, action="set",
                  data={"owner": owner.email, "name": kpi.name, "period": period,
                        "target": kpi.target, "actual": actual})
        uow.commit()
        return kpi


def add_distributor(uow: UnitOfWork, *, code: str, name: str, owner_email: str,
                    actor_email: str, branch: str | None = None) -> Distributor:
    """Put a distributor on the books (sales owns the relationship)."""
    if not code.strip() or not name.strip():
        raise BadInput("code and name: must not be empty")
    with uow:
        actor = actor_for(uow, actor_email)
        if uow.session.exec(select(Distributor).where(col(Distributor.code) == code)).first():
            raise BadInput(f"code: distributor {code!r} already exists")
        d = Distributor(code=code, name=name, owner_email=owner_email, branch=branch,
                        created_at=uow.now(), updated_at=uow.now())
        uow.session.add(d)
        uow.session.flush()
        assert d.id is not None
        uow.audit(actor=actor.email, entity_type="distributor", entity_id=d.id, action="add",
                  data={"code": code, "name": name})
        uow.commit()
        return d


def record_distributor_figures(uow: UnitOfWork, *, code: str, period: str,
                               figures: dict[str, Any], actor_email: str) -> DistributorReview:
    """Record a distributor's figures for a period (sales, target, days_late, coverage,
    complaints); recording again replaces them until the period is scored."""
    with uow:
        actor = actor_for(uow, actor_email)
        d = uow.session.exec(select(Distributor).where(col(Distributor.code) == code)).first()
        if d is None or d.id is None:
            raise NotFound(f"distributor {code!r} does not exist")
        review = uow.session.exec(select(DistributorReview).where(
            col(DistributorReview.distributor_id) == d.id,
            col(DistributorReview.period) == period)).first()
        review = review or DistributorReview(distributor_id=d.id, period=period,
                                             created_at=uow.now())
        review.figures = dict(figures)
        uow.session.add(review)
        uow.session.flush()
        assert review.id is not None
        uow.audit(actor=actor.email, entity_type="distributor", entity_id=d.id,
                  action="figures", data={"period": period, **figures})
        uow.commit()
        return review


def evaluate_channels(uow: UnitOfWork, *, run_id: int, weights: dict[str, float],
                      threshold: float, undecided: set[str]) -> list[dict[str, Any]]:
    """Score every active distributor on the period's figures; those below the threshold (or
    without figures) go to the marketing head to keep, adjust or remove. A distributor whose
    last decision is still open is not asked about again."""
    with uow:
        run = _run(uow, run_id)
        distributors = list(uow.session.exec(select(Distributor).where(
            col(Distributor.status) != "removed").order_by(col(Distributor.code))))
        reviews = {r.distributor_id: r for r in uow.session.exec(select(DistributorReview)
                   .where(col(DistributorReview.period) == run.period))}
        marketing_head = head_of(uow, "marketing")
    rows = []
    for d in distributors:
        assert d.id is not None
        review = reviews.get(d.id)
        score = score_distributor(review.figures if review else {}, weights=weights,
                                  threshold=threshold)
        row: dict[str, Any] = {"distributor": d.code, "name": d.name, **score.scores,
                               "total": score.total, "flagged": score.flagged,
                               "reasons": "; ".join(score.reasons), "ref": None}
        if score.flagged and d.code not in undecided:
            item = _step(uow, run, department="marketing", assignee=marketing_head,
                         title=phrase("Channel %(period)s: keep, adjust or remove %(name)s",
                                      period=run.period, name=d.name),
                         key=f"channel/{d.code}", form=DECISION_FORM,
                         description=joined(score.reasons))
            row.update(ref=ref(item), work_item_id=item.id)
        _store_score(uow, run, d.id, review, score.scores, score.total, score.flagged,
                     row.get("work_item_id"))
        rows.append(row)
    return rows


def _store_score(uow: UnitOfWork, run: CycleRun, distributor_id: int,
                 review: DistributorReview | None, scores: dict[str, float], total: float,
                 flagged: bool, work_item_id: int | None) -> None:
    with uow:
        row = uow.session.get(DistributorReview, review.id) if review and review.id else None
        row = row or DistributorReview(distributor_id=distributor_id, period=run.period,
                                       created_at=uow.now())
        row.scores, row.total, row.flagged = scores, total, flagged
        row.work_item_id = work_item_id or row.work_item_id
        uow.session.add(row)
        uow.session.flush()
        uow.audit(actor=SYSTEM.email, entity_type="distributor", entity_id=distributor_id,
                  process_id=run.process_id, action="score",
                  data={"period": run.period, "total": total, "flagged": flagged})
        uow.commit()


def record_channel_decisions(uow: UnitOfWork, *, answered: list[dict[str, Any]]) -> int:
    """Apply the marketing head's decisions: keep, adjust (on notice) or remove."""
    status = {"keep": "active", "adjust": "on-notice", "remove": "removed"}
    with uow:
        count = 0
        for entry in answered:
            review = uow.session.exec(select(DistributorReview).where(
                col(DistributorReview.work_item_id) == int(entry["work_item_id"]))).first()
            if review is None or review.decision:
                continue
            decision = str(entry["data"].get("decision"))
            review.decision, review.decided_by = decision, entry["by"]
            review.decided_at, review.note = uow.now(), str(entry["data"].get("note", ""))
            distributor = uow.session.get(Distributor, review.distributor_id)
            assert distributor is not None and distributor.id is not None
            before = distributor.status
            distributor.status, distributor.updated_at = status[decision], uow.now()
            uow.session.add_all([review, distributor])
            uow.audit(actor=entry["by"] or SYSTEM.email, entity_type="distributor",
                      entity_id=distributor.id, action=decision, from_state=before,
                      to_state=distributor.status, reason=review.note or None)
            count += 1
        uow.commit()
        return count


# --- annual planning ----------------------------------------------------------------------


def open_plan_collection(uow: UnitOfWork, *, run_id: int,
                         departments: list[str]) -> list[WorkItem]:
    """Ask each department's head for next year's plan items (once per department)."""
    with uow:
        run = _run(uow, run_id)
        heads = {d: head_of(uow, d) for d in departments}
    return [_step(uow, run, department=d, assignee=heads[d], key=f"plan/{d}",
                  title=phrase("Plan items for %(period)s", period=run.period),
                  form=PLAN_ITEMS_FORM,
                  description=phrase("List every plan item: title, category, owner, goal, "
                                     "resources, and the item above it (parent)."))
            for d in dict.fromkeys(departments)]


def plan_submissions(uow: UnitOfWork, *, run_id: int) -> list[dict[str, Any]]:
    """Each department's plan-item step: its state, holder and the items handed in."""
    with uow:
        run = _run(uow, run_id)
        items = uow.session.exec(select(WorkItem).where(
            col(WorkItem.process_id) == run.process_id,
            col(WorkItem.step_key).startswith("plan/")).order_by(col(WorkItem.id)))
        return [{"department": i.department, "state": i.state, "ref": ref(i),
                 "holder": i.assignee_email or i.department,
                 "items": (i.data or {}).get("items", []) if i.state == WorkState.DONE else []}
                for i in items]

