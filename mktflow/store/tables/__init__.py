"""Every mktflow table, by area; importing this registers them all on ``SQLModel.metadata``.

    work        the work engine: organisation, processes, work items, handoffs, audit, outbox
    business    plans, budget lines and spend, KPIs, campaigns, products, customers, orders
    cycles      the recurring cycles: cycle runs, research findings, distributors, appraisals
    notify      the channels departments and members are told through
    credentials member tokens and one-time sign-in links (hashed)
"""

from __future__ import annotations

from mktflow.store.tables.business import (
    BudgetLine,
    Campaign,
    CampaignActivity,
    Customer,
    Kpi,
    Plan,
    Product,
    SalesOrder,
    SpendEntry,
)
from mktflow.store.tables.credentials import MemberToken, SignInLink
from mktflow.store.tables.cycles import (
    Appraisal,
    CycleRun,
    Distributor,
    DistributorReview,
    ResearchFinding,
)
from mktflow.store.tables.notify import Channel, ChannelSource
from mktflow.store.tables.work import (
    AuditEntry,
    Branch,
    Department,
    Handoff,
    Member,
    OutboxMessage,
    ProcessInstance,
    WorkItem,
)

__all__ = [
    "Appraisal",
    "AuditEntry",
    "Branch",
    "BudgetLine",
    "Campaign",
    "CampaignActivity",
    "Channel",
    "ChannelSource",
    "Customer",
    "CycleRun",
    "Department",
    "Distributor",
    "DistributorReview",
    "Handoff",
    "Kpi",
    "Member",
    "MemberToken",
    "OutboxMessage",
    "Plan",
    "ProcessInstance",
    "Product",
    "ResearchFinding",
    "SalesOrder",
    "SignInLink",
    "SpendEntry",
    "WorkItem",
]
