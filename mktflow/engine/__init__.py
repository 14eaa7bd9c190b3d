"""The engine: the only code that changes mktflow's state, and the queries that read it.

Doors (the CLI, the REST API, the Prefect bridge and the flows) call the handler modules named
here with a unit of work from ``mktflow.bootstrap``; they never build one, nor import
``mktflow.store``. Each handler validates, then changes state, writes its audit entry and its
outgoing notices in one transaction (``notices`` fans them out to the channels; the relay in
``mktflow.notify`` sends them later).

    from mktflow import bootstrap
    from mktflow.engine import handoffs

    handoffs.accept(bootstrap.uow(), 3, actor_email="olga.petrova@example.com")

Actions:    actions (the one table of item actions every door dispatches through)
Handlers:   work, steps, handoffs, processes, organisation, channels, credentials,
            web_sessions, approvals, budget, campaigns, products, orders, leads, complaints, cycles,
            reviews,
            sla, database, idempotency, desk (saved views, bulk actions),
            work_reports (the work reports upward), meetings (the planning meetings and
            their minutes), digests (daily digests), training (training from appraisal)
Reads:      queries, views (every view they answer, defined once), reports, planfile, forms,
            campaign_calendar (and its secret feeds), workload (a department's workload and
            waiting), dashboards (KPIs and budgets per campaign and per period)
            campaign_calendar (and its secret feeds), forecast (what next quarter will cost;
            its simulation: simulation)
Shared:     common, transitions, notices, calendars (each branch's working calendar),
            lead_handoffs, report_records (the one writer of a work report), complaint_steps
            (what answering a complaint's step does to its case), new_items (a new work item
            or handoff inside the caller's transaction)
Types for annotations: ``UnitOfWork`` (what every handler takes; get one from bootstrap),
``Resumer``, and the rows handlers return (``WorkItem``, ``Handoff``, ``ProcessInstance``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers; at run time each loads when first used
    from mktflow.engine import (
        actions,
        approvals,
        budget,
        calendars,
        campaign_calendar,
        campaigns,
        channels,
        common,
        complaint_steps,
        complaints,
        credentials,
        cycles,
        dashboards,
        database,
        desk,
        digests,
        forecast,
        forms,
        handoffs,
        idempotency,
        lead_handoffs,
        leads,
        meetings,
        new_items,
        notices,
        orders,
        organisation,
        planfile,
        processes,
        products,
        queries,
        report_records,
        reports,
        reviews,
        simulation,
        sla,
        steps,
        training,
        transitions,
        views,
        web_sessions,
        work,
        work_reports,
        workload,
    )
    from mktflow.store.tables import Handoff, ProcessInstance, WorkItem
    from mktflow.store.uow import Resumer, UnitOfWork

__all__ = [
    "Handoff",
    "ProcessInstance",
    "Resumer",
    "UnitOfWork",
    "WorkItem",
    "actions",
    "approvals",
    "budget",
    "calendars",
    "campaign_calendar",
    "campaigns",
    "channels",
    "common",
    "complaint_steps",
    "complaints",
    "credentials",
    "cycles",
    "dashboards",
    "database",
    "desk",
    "digests",
    "forecast",
    "forms",
    "handoffs",
    "idempotency",
    "lead_handoffs",
    "leads",
    "meetings",
    "new_items",
    "notices",
    "orders",
    "organisation",
    "planfile",
    "processes",
    "products",
    "queries",
    "report_records",
    "reports",
    "reviews",
    "simulation",
    "sla",
    "steps",
    "training",
    "transitions",
    "views",
    "web_sessions",
    "work",
    "work_reports",
    "workload",
]

#: Where the names that are not handler modules live.
_TYPES = {"Handoff": "mktflow.store.tables", "ProcessInstance": "mktflow.store.tables",
          "WorkItem": "mktflow.store.tables", "Resumer": "mktflow.store.uow",
          "UnitOfWork": "mktflow.store.uow"}


def __getattr__(name: str) -> Any:
    """Load a handler module (or a type) when first used: a command that reads one item does
    not pay for importing every handler's dependencies (the CLI starts in a fraction of a
    second)."""
    if name in _TYPES:
        value = getattr(importlib.import_module(_TYPES[name]), name)
    elif name in __all__:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
