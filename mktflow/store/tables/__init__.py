"""Every mktflow table, by area; ``register_all()`` registers them all on ``SQLModel.metadata``.

    work        the work engine: organisation, processes, work items, handoffs, audit, outbox
    business    plans, budget lines and spend, KPIs, campaigns, products, customers, orders,
                leads
    cycles      the recurring cycles: cycle runs, research findings, distributors, appraisals,
                work reports
    notify      the channels departments and members are told through, destinations paused
    credentials member tokens, one-time sign-in links and the pages' sessions (hashed),
                sign-in requests (counted)
    requests    the REST API's answers to POSTs sent with an Idempotency-Key
    desk        saved views of a department's queue and each member's default view

Each area's module is imported when one of its tables is first used (``from
mktflow.store.tables import WorkItem`` loads only ``work``): building SQLModel classes is a good
part of a command's start-up, and a command that reads one work item needs none of the business
tables. What needs the whole schema (migrations, comparing models with them) calls
``register_all()`` first. A new table module goes in ``_AREAS``, its names in the
``TYPE_CHECKING`` block.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mktflow.store.tables.business import (
        BudgetLine,
        Campaign,
        CampaignActivity,
        Complaint,
        Customer,
        Kpi,
        Lead,
        Plan,
        Product,
        SalesOrder,
        SpendEntry,
    )
    from mktflow.store.tables.credentials import (
        CalendarFeed,
        MemberToken,
        SignInLink,
        SignInRequest,
        WebSession,
    )
    from mktflow.store.tables.cycles import (
        Appraisal,
        CycleRun,
        Distributor,
        DistributorReview,
        Meeting,
        MeetingDecision,
        ResearchFinding,
        TrainingNeed,
        TrainingPlan,
        TrainingSession,
        WorkReport,
    )
    from mktflow.store.tables.desk import SavedView, SavedViewDefault
    from mktflow.store.tables.notify import (
        Channel,
        ChannelSource,
        DestinationBackoff,
        DigestChoice,
    )
    from mktflow.store.tables.requests import IdempotencyKey
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
    "CalendarFeed",
    "Campaign",
    "CampaignActivity",
    "Channel",
    "ChannelSource",
    "Complaint",
    "Customer",
    "CycleRun",
    "Department",
    "DestinationBackoff",
    "DigestChoice",
    "Distributor",
    "DistributorReview",
    "Handoff",
    "IdempotencyKey",
    "Kpi",
    "Lead",
    "Meeting",
    "MeetingDecision",
    "Member",
    "MemberToken",
    "OutboxMessage",
    "Plan",
    "ProcessInstance",
    "Product",
    "ResearchFinding",
    "SalesOrder",
    "SavedView",
    "SavedViewDefault",
    "SignInLink",
    "SignInRequest",
    "SpendEntry",
    "TrainingNeed",
    "TrainingPlan",
    "TrainingSession",
    "WebSession",
    "WorkItem",
    "WorkReport",
]

#: The modules of this package, each an area of tables.
_AREAS = ("work", "business", "cycles", "notify", "credentials", "requests", "desk")

#: The area (module of this package) of each table.
_AREA_OF: dict[str, str] = {
    "BudgetLine": "business", "Campaign": "business", "CampaignActivity": "business",
    "Complaint": "business", "Customer": "business", "Kpi": "business", "Lead": "business",
    "Plan": "business",
    "Product": "business",
    "SalesOrder": "business", "SpendEntry": "business",
    "Appraisal": "cycles", "CycleRun": "cycles", "Distributor": "cycles",
    "DistributorReview": "cycles", "ResearchFinding": "cycles",
    "WorkReport": "cycles", "Meeting": "cycles", "MeetingDecision": "cycles",
    "TrainingNeed": "cycles", "TrainingPlan": "cycles", "TrainingSession": "cycles",
    "Channel": "notify", "ChannelSource": "notify", "DestinationBackoff": "notify",
    "DigestChoice": "notify",
    "CalendarFeed": "credentials", "MemberToken": "credentials", "SignInLink": "credentials",
    "WebSession": "credentials",
    "SignInRequest": "credentials",
    "IdempotencyKey": "requests",
    "SavedView": "desk", "SavedViewDefault": "desk",
    "AuditEntry": "work", "Branch": "work", "Department": "work", "Handoff": "work",
    "Member": "work", "OutboxMessage": "work", "ProcessInstance": "work", "WorkItem": "work",
}


def register_all() -> None:
    """Import every area, so ``SQLModel.metadata`` holds every table (migrations need it)."""
    for area in _AREAS:
        importlib.import_module(f"{__name__}.{area}")


def __getattr__(name: str) -> Any:
    """A table class, importing its area's module the first time one of its tables is used."""
    if name not in _AREA_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    importlib.import_module(f"{__name__}.work")  # every area's foreign keys point into it
    value = getattr(importlib.import_module(f"{__name__}.{_AREA_OF[name]}"), name)
    globals()[name] = value
    return value
