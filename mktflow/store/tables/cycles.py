"""Tables of the recurring management cycles: cycle runs, research findings, distributors and
their reviews, appraisals, work reports, planning meetings and their decisions, training
(needs, plans, sessions).

Business tables (plans, budget lines, KPIs) live in ``mktflow.store.tables.business``; these hold
what only the cycles need. Migration ``0004_cycles`` creates them (``0019_work_reports`` the
work reports, ``0024_meetings`` the meetings, ``0026_training`` the training tables).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from mktflow.store.columns import created_field, json_field, text_field, timestamp_field

__all__ = ["Appraisal", "CycleRun", "Distributor", "DistributorReview", "Meeting",
           "MeetingDecision", "ResearchFinding", "TrainingNeed", "TrainingPlan", "TrainingSession",
           "WorkReport"]


class CycleRun(SQLModel, table=True):
    """One run of a recurring cycle for one period: what it carried in and what it left open."""

    __table_args__ = (UniqueConstraint("cycle", "period", name="uq_cyclerun_period"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle: str = Field(max_length=60, index=True)
    period: str = Field(max_length=20)
    status: str = Field(default="running", max_length=20)  # running | completed | failed
    flow_run_id: str | None = Field(default=None, max_length=64)
    process_id: int | None = Field(default=None, foreign_key="processinstance.id")
    previous_period: str | None = Field(default=None, max_length=20)
    skipped_periods: list[str] = json_field(list)
    carried: list[dict[str, Any]] = json_field(list)  # open items taken over from the previous run
    open_items: list[dict[str, Any]] = json_field(list)  # what this run leaves for the next one
    summary: dict[str, Any] | None = json_field()
    started_at: datetime = created_field()
    finished_at: datetime | None = timestamp_field()


class ResearchFinding(SQLModel, table=True):
    """What one member found on consumers, the market or competitors in one collection round."""

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=20, index=True)  # the collection period
    topic: str = Field(max_length=40)  # consumer | market | competitor
    member_email: str = Field(max_length=320)
    work_item_id: int = Field(foreign_key="workitem.id", unique=True)
    compiled_in: str = Field(max_length=20)  # the period of the run that compiled it
    summary: str = ""
    details: dict[str, Any] | None = json_field()
    received_at: datetime = created_field()


class Distributor(SQLModel, table=True):
    """A channel partner that marketing manages; sales owns the relationship."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=300)
    branch: str | None = Field(default=None, max_length=64)
    owner_email: str = Field(max_length=320)
    status: str = Field(default="active", max_length=20)  # active | on-notice | removed
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class DistributorReview(SQLModel, table=True):
    """A distributor's figures for a period, its score, and the head's decision if flagged."""

    __table_args__ = (UniqueConstraint("distributor_id", "period", name="uq_distreview_period"),)

    id: int | None = Field(default=None, primary_key=True)
    distributor_id: int = Field(foreign_key="distributor.id", index=True)
    period: str = Field(max_length=20)
    figures: dict[str, Any] = json_field(dict)  # sales, target, days_late, coverage, complaints
    scores: dict[str, Any] | None = json_field()  # criterion -> 0..100
    total: float | None = None
    flagged: bool = False
    work_item_id: int | None = Field(default=None, foreign_key="workitem.id")
    decision: str | None = Field(default=None, max_length=20)  # keep | adjust | remove
    decided_by: str | None = Field(default=None, max_length=320)
    decided_at: datetime | None = timestamp_field()
    note: str = ""
    created_at: datetime = created_field()


class Appraisal(SQLModel, table=True):
    """A member's or a department's appraisal for a period, signed by the head."""

    __table_args__ = (
        UniqueConstraint("period", "subject_type", "subject", name="uq_appraisal_subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=20)
    subject_type: str = Field(max_length=20)  # member | department
    subject: str = Field(max_length=320)  # e-mail or department code
    department: str = Field(max_length=64)
    kpis: list[dict[str, Any]] = json_field(list)
    attainment: float | None = None  # share of KPIs met, 0..1
    work_item_id: int | None = Field(default=None, foreign_key="workitem.id")
    result: str | None = Field(default=None, max_length=20)  # reward | training | adjustment | none
    comment: str = ""
    signed_by: str | None = Field(default=None, max_length=320)
    signed_at: datetime | None = timestamp_field()
    created_at: datetime = created_field()


class WorkReport(SQLModel, table=True):
    """One member's work report for one period (``mktflow.domain.work_reports``): what was done,
    the problems met, what comes next; daily ones written by the member, weekly and monthly
    ones written by the member or gathered from their daily ones (``submitted_by`` mktflow)."""

    __table_args__ = (UniqueConstraint("member_email", "kind", "period_start"),)

    id: int | None = Field(default=None, primary_key=True)
    member_email: str = Field(max_length=320, index=True)
    department: str = Field(max_length=64, index=True)  # the member's when written
    branch: str | None = Field(default=None, max_length=64)
    kind: str = Field(max_length=10)  # daily | weekly | monthly
    period_start: date = Field(index=True)  # the day, the week's Monday, the month's 1st
    done: str = text_field(40_000, default="")
    problems: str = text_field(40_000, default="")
    next: str = text_field(40_000, default="")
    work_item_id: int | None = Field(default=None, foreign_key="workitem.id")  # the daily step
    due_at: datetime | None = timestamp_field()
    submitted_by: str = Field(max_length=320)
    submitted_at: datetime = created_field()


class Meeting(SQLModel, table=True):
    """One planning meeting of marketing (``mktflow.domain.meetings``): the quarterly one for a
    quarter, the annual one for a year; its agenda, minutes, who approved them and when they
    were sent. Its decisions are ``MeetingDecision`` rows."""

    __table_args__ = (UniqueConstraint("period"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # quarterly | annual
    period: str = Field(max_length=20)  # 2027-Q1 | 2027
    process_id: int | None = Field(default=None, foreign_key="processinstance.id")
    state: str = Field(default="agenda", max_length=10)  # agenda|minutes|approval|sent
    agenda: str = text_field(40_000, default="")
    held_on: date | None = None
    attendees: str = text_field(4_000, default="")
    summary: str = text_field(40_000, default="")
    minutes_by: str | None = Field(default=None, max_length=320)
    approved_by: str | None = Field(default=None, max_length=320)
    approved_at: datetime | None = timestamp_field()
    sent_to: list[str] = json_field(list)  # department codes
    sent_at: datetime | None = timestamp_field()
    created_at: datetime = created_field()


class MeetingDecision(SQLModel, table=True):
    """One decision of a meeting's minutes and the work it became: a work item in the owner's
    department (marketing's own) or a handoff from marketing to the owner's department."""

    __table_args__ = (UniqueConstraint("meeting_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    number: int  # 1, 2, ... in the minutes' order
    text: str = text_field(2_000, default="")
    owner_email: str = Field(max_length=320)
    owner_department: str = Field(max_length=64)
    due_on: date
    departments: list[str] = json_field(list)
    work_item_id: int | None = Field(default=None, foreign_key="workitem.id")
    handoff_id: int | None = Field(default=None, foreign_key="handoff.id")


class TrainingNeed(SQLModel, table=True):
    """A member's training need, created by their appraisal of a period
    (``mktflow.domain.training.training_need``): the topics (the KPIs missed)."""

    id: int | None = Field(default=None, primary_key=True)
    appraisal_id: int = Field(foreign_key="appraisal.id", unique=True)
    period: str = Field(max_length=20, index=True)  # the appraisal's period
    member_email: str = Field(max_length=320, index=True)
    department: str = Field(max_length=64, index=True)
    branch: str | None = Field(default=None, max_length=64)
    topics: list[str] = json_field(list)
    attainment: float | None = None  # the appraisal's, 0..1
    created_at: datetime = created_field()


class TrainingPlan(SQLModel, table=True):
    """A department's training plan for a period: prepared in a step, approved by the head."""

    __table_args__ = (UniqueConstraint("period", "department", name="uq_trainingplan_dept"),)

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=20)
    department: str = Field(max_length=64, index=True)
    status: str = Field(default="preparing", max_length=20)  # preparing | submitted | approved
    prepare_item_id: int | None = Field(default=None, foreign_key="workitem.id")
    approval_item_id: int | None = Field(default=None, foreign_key="workitem.id")
    prepared_by: str | None = Field(default=None, max_length=320)
    approved_by: str | None = Field(default=None, max_length=320)
    approved_at: datetime | None = timestamp_field()
    returns: int = 0  # how many times the head returned it
    note: str = ""
    created_at: datetime = created_field()


class TrainingSession(SQLModel, table=True):
    """One session of a training plan: topic, participants, owner, first and last day, and
    who attended (recorded by the owner)."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="trainingplan.id", index=True)
    topic: str = Field(max_length=200)
    owner_email: str = Field(max_length=320)
    participants: list[str] = json_field(list)
    starts_on: date
    ends_on: date
    attended: list[str] | None = json_field()  # None until the owner records attendance
    attendance_item_id: int | None = Field(default=None, foreign_key="workitem.id")
    recorded_by: str | None = Field(default=None, max_length=320)
    recorded_at: datetime | None = timestamp_field()
    created_at: datetime = created_field()
