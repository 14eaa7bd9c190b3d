"""SQLModel tables of the business: plans, budget lines and spend, KPIs, campaigns and their
activities, products, customers and orders, sales leads, customer complaints.

The flows own them, and the recurring cycles (budget review, appraisal by KPI owner, channel
evaluation, annual planning) read and extend them, so they stay general: a KPI has an owner
member, a department and a period; a budget line has an owner, a planned amount, an allocation,
what was spent and what should have been spent to date; a customer has a standing. Amounts are
``Decimal`` in the company currency with two places (``money_field``; ``mktflow.domain.money``
is the one rounding rule).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from mktflow.store.columns import (
    created_field,
    json_field,
    money_field,
    text_field,
    timestamp_field,
)

__all__ = [
    "BudgetLine",
    "Campaign",
    "CampaignActivity",
    "Complaint",
    "Customer",
    "Kpi",
    "Lead",
    "Plan",
    "Product",
    "SalesOrder",
    "SpendEntry",
]


class Plan(SQLModel, table=True):
    """A plan: a campaign plan, a project plan, an annual plan; present or future work."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=100, unique=True)
    title: str = Field(max_length=300)
    kind: str = Field(max_length=30)  # campaign | product | annual | ...
    horizon: str = Field(default="present", max_length=20)  # present | future
    period: str = Field(default="", max_length=40)  # e.g. 2027, 2027-Q1
    department: str = Field(max_length=64)
    owner_email: str = Field(max_length=320)
    status: str = Field(default="draft", max_length=20)
    goals: list[str] = json_field(list)
    process_id: int | None = Field(default=None, index=True)
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class BudgetLine(SQLModel, table=True):
    """Money for one purpose: planned, allocated by finance, spent, and planned to date."""

    __table_args__ = (UniqueConstraint("plan_id", "code", name="uq_budgetline_plan_code"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int | None = Field(default=None, foreign_key="plan.id", index=True)
    code: str = Field(max_length=100)
    title: str = Field(max_length=300)
    department: str = Field(max_length=64)
    owner_email: str = Field(max_length=320)
    period: str = Field(default="", max_length=40)
    planned: Decimal = money_field()
    allocated: Decimal = money_field()
    spent: Decimal = money_field()
    planned_to_date: Decimal = money_field()
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class SpendEntry(SQLModel, table=True):
    """One amount spent against a budget line; ``key`` makes recording it idempotent."""

    id: int | None = Field(default=None, primary_key=True)
    budget_line_id: int = Field(foreign_key="budgetline.id", index=True)
    key: str = Field(max_length=200, unique=True)
    amount: Decimal = money_field()
    note: str = ""
    recorded_by: str = Field(max_length=320)
    process_id: int | None = Field(default=None, index=True)
    at: datetime = created_field()


class Kpi(SQLModel, table=True):
    """A measurable goal: target and actual, owned by a member of a department for a period."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int | None = Field(default=None, foreign_key="plan.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    name: str = Field(max_length=200)
    unit: str = Field(default="", max_length=40)
    higher_is_better: bool = True
    target: float
    actual: float | None = None
    owner_email: str = Field(max_length=320, index=True)
    department: str = Field(max_length=64)
    period: str = Field(default="", max_length=40)
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class Campaign(SQLModel, table=True):
    """A promotion campaign: goal, target customers, channels, timetable, status, lessons."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=300)
    plan_id: int | None = Field(default=None, foreign_key="plan.id")
    process_id: int | None = Field(default=None, index=True)
    owner_email: str = Field(max_length=320)
    branch: str | None = Field(default=None, max_length=64)
    goal: str = ""
    target_customers: str = ""
    channels: list[str] = json_field(list)
    start: date | None = None
    end: date | None = None
    status: str = Field(default="planned", max_length=20)
    approved_amount: Decimal | None = money_field(nullable=True)
    matrix_version: str | None = Field(default=None, max_length=40)
    evaluation: dict[str, Any] | None = json_field()
    lessons: str = ""
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class CampaignActivity(SQLModel, table=True):
    """One activity of a campaign, owned by one member, charged to one budget line."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    title: str = Field(max_length=300)
    owner_email: str = Field(max_length=320)
    channel: str = Field(default="", max_length=100)
    start: date | None = None
    end: date | None = None
    budget_line_id: int | None = Field(default=None, foreign_key="budgetline.id")
    status: str = Field(default="planned", max_length=20)
    work_item_id: int | None = None
    report: dict[str, Any] | None = json_field()


class Product(SQLModel, table=True):
    """A product in development: proposal, stage reached, figures from each department."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=300)
    process_id: int | None = Field(default=None, index=True)
    plan_id: int | None = Field(default=None, foreign_key="plan.id")
    owner_email: str = Field(max_length=320)
    stage: str = Field(default="proposed", max_length=20)
    status: str = Field(default="active", max_length=20)  # active | launched | stopped | rejected
    market_need: str = ""
    target_customers: str = ""
    positioning: str = ""
    forecast_units: int | None = None
    forecast_revenue: Decimal | None = money_field(nullable=True)
    unit_cost: Decimal | None = money_field(nullable=True)
    facts: dict[str, Any] = json_field(dict)  # what each stage established (capacity, ...)
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class Customer(SQLModel, table=True):
    """A customer file: contact, standing with finance, purchase history, satisfaction."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=100, unique=True)
    name: str = Field(max_length=300)
    branch: str | None = Field(default=None, max_length=64)
    contact_email: str | None = Field(default=None, max_length=320)
    standing: str = Field(default="good", max_length=20)
    orders_count: int = 0
    total_ordered: Decimal = money_field()
    last_order_at: datetime | None = timestamp_field()
    last_satisfaction: int | None = None
    open_complaints: int = 0
    history: list[dict[str, Any]] = json_field(list)
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class SalesOrder(SQLModel, table=True):
    """A customer's order from intake to follow-up."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=100, unique=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    process_id: int | None = Field(default=None, index=True)
    branch: str | None = Field(default=None, max_length=64)
    sales_email: str = Field(max_length=320)
    status: str = Field(max_length=20)
    lines: list[dict[str, Any]] = json_field(list)
    total: Decimal = money_field()
    delivery_date: date | None = None
    credit: dict[str, Any] | None = json_field()
    fulfilment: dict[str, Any] | None = json_field()
    shipment: dict[str, Any] | None = json_field()
    invoice: dict[str, Any] | None = json_field()
    follow_up: dict[str, Any] | None = json_field()
    reason: str | None = None
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class Lead(SQLModel, table=True):
    """A sales lead marketing gathered (``mktflow.domain.leads``): who, how to reach them,
    through which channel and campaign, where, the marketing member who owns it, its state, and
    the handoff that passed it to sales with what came of it."""

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=20)  # campaign | research | import
    campaign: str | None = Field(default=None, max_length=100, index=True)  # business key
    company: str = Field(max_length=300)
    contact: str = Field(max_length=300)
    channel: str = Field(max_length=64, index=True)
    branch: str | None = Field(default=None, max_length=64)  # the region (a branch code)
    notes: str = text_field(10_000, default="")
    department: str = Field(max_length=64)  # the owning department: marketing
    owner_email: str = Field(max_length=320)
    state: str = Field(max_length=20, index=True)
    reason: str | None = text_field(2_000)  # why disqualified or lost
    handoff_id: int | None = Field(default=None, foreign_key="handoff.id", index=True)
    order_ref: str | None = Field(default=None, max_length=100)  # the order a won lead became
    created_by: str = Field(max_length=320)
    qualified_at: datetime | None = timestamp_field()
    outcome_at: datetime | None = timestamp_field()
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class Complaint(SQLModel, table=True):
    """A customer's complaint, a case in customer service (``mktflow.domain.complaints``): the
    customer, the order it is about, what was said, where it came in, its state and round, the
    response deadline, the department acting on it and the handoff to it, what was done, the
    customer's last answer, and the process whose steps carry it."""

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    order_number: str | None = Field(default=None, max_length=100)
    text: str = text_field(10_000, default="")
    source: str = Field(max_length=20)  # order | page | api | cli | prefect
    department: str = Field(max_length=64)  # customer service: marketing
    branch: str | None = Field(default=None, max_length=64)
    state: str = Field(max_length=20, index=True)
    round: int = 1
    escalation_level: int = 0
    respond_due: datetime | None = timestamp_field()
    acting_department: str | None = Field(default=None, max_length=64)
    request: str | None = text_field(2_000)  # what customer service asked of it
    handoff_id: int | None = Field(default=None, foreign_key="handoff.id", index=True)
    done: str | None = text_field(2_000)  # what the acting department did
    satisfied: bool | None = None  # the customer's last answer
    customer_note: str | None = text_field(2_000)
    process_id: int | None = Field(default=None, index=True)
    opened_by: str = Field(max_length=320)
    created_at: datetime = created_field()
    updated_at: datetime = created_field()
    closed_at: datetime | None = timestamp_field()
