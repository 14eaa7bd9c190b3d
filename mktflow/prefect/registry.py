"""The business processes mktflow runs as flows: where each flow lives, its parameters, and a
valid example. Importing this module imports no flow (and no Prefect)."""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from mktflow.domain import clock
from mktflow.domain.errors import NotFound

__all__ = ["PROCESSES", "ProcessSpec", "example", "run_parameters", "spec_for", "unwrap"]


@dataclass(frozen=True)
class ProcessSpec:
    """One process: its flow (module, attribute), the flow's one parameter and its model."""

    name: str
    module: str
    flow_attr: str
    param: str
    model: str
    key_field: str
    owner_field: str
    branch_field: str | None

    def load(self) -> tuple[Any, Any]:
        """(flow, parameter model), importing the flow module."""
        module = importlib.import_module(self.module)
        return getattr(module, self.flow_attr), getattr(module, self.model)


PROCESSES: dict[str, ProcessSpec] = {
    "new-product-development": ProcessSpec(
        "new-product-development", "flows.new_product_development", "new_product_development",
        "project", "ProjectRequest", "code", "owner", None),
    "campaign": ProcessSpec("campaign", "flows.campaign", "campaign", "request",
                            "CampaignRequest", "code", "owner", "branch"),
    "order-handling": ProcessSpec("order-handling", "flows.order_handling", "order_handling",
                                  "order", "OrderRequest", "number", "sales", "branch"),
}


def spec_for(name: str) -> ProcessSpec:
    """The process called ``name``; refuses naming the known ones."""
    if name not in PROCESSES:
        raise NotFound(f"process: unknown process {name!r} (known: {', '.join(PROCESSES)})")
    return PROCESSES[name]


def run_parameters(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as the flow's parameters, the way the Prefect UI's Custom run JSON view wants
    them: ``{"request": {...}}`` for the campaign (the flow's parameter name, per process)."""
    return {spec_for(name).param: values}


def unwrap(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """The process's parameter object from either form people paste: wrapped in the flow's
    parameter name (what the Prefect UI's JSON view shows) or bare."""
    param = spec_for(name).param
    if list(given) == [param] and isinstance(given[param], dict):
        return given[param]
    return given


def example(name: str, suffix: str | None = None, *, today: date | None = None) -> dict[str, Any]:
    """Valid parameters for ``name`` with the demo organisation (unique keys per suffix)."""
    spec_for(name)
    s = suffix or uuid.uuid4().hex[:6]
    day = today or clock.today()
    if name == "order-handling":
        return {"number": f"ORD-{s}", "sales": "carlos.mendez@example.com",
                "customer_code": "CUST-ACME", "customer_name": "Acme Retail",
                "customer_contact": "buyer@acme.example",
                "lines": [{"sku": "TEA-GREEN-250", "description": "Green tea 250 g",
                           "quantity": 120, "unit_price": 4.5},
                          {"sku": "TEA-BLACK-250", "description": "Black tea 250 g",
                           "quantity": 80, "unit_price": 4.0}],
                "delivery_date": str(day + timedelta(days=14)), "due_hours": 48}
    if name == "campaign":
        start, end = day + timedelta(days=7), day + timedelta(days=37)
        return {"code": f"CMP-{s}", "owner": "olga.petrova@example.com", "plan": {
            "name": "Spring tea tasting", "goal": "Win 400 new retail customers in the north",
            "target_customers": "Independent grocers, north region",
            "channels": ["in-store tasting", "social ads"],
            "start": str(start), "end": str(end),
            "kpis": [{"name": "new customers", "unit": "customers", "target": 400},
                     {"name": "cost per lead", "unit": "EUR", "target": 20,
                      "higher_is_better": False}],
            "activities": [
                {"title": "Tasting days in 20 stores", "owner": "marco.rossi@example.com",
                 "channel": "in-store tasting", "start": str(start), "end": str(end),
                 "budget_line": "tasting"},
                {"title": "Social ads", "owner": "olga.petrova@example.com",
                 "channel": "social ads", "start": str(start), "end": str(end),
                 "budget_line": "ads"}],
            "budget_lines": [{"code": "tasting", "title": "Tasting staff and samples",
                              "amount": 9000},
                             {"code": "ads", "title": "Social ads", "amount": 6000}]},
            "due_hours": 72}
    return {"code": f"NPD-{s}", "product_name": "Cold-brew tea bottle",
            "owner": "olga.petrova@example.com",
            "gate_approvers": ["ana.torres@example.com", "maria.garcia@example.com"],
            "budget_lines": [
                {"code": "design", "title": "Design and prototype", "department": "tech",
                 "amount": 30000},
                {"code": "trial", "title": "Trial production run", "department": "production",
                 "amount": 25000},
                {"code": "launch", "title": "Launch promotion", "department": "marketing",
                 "amount": 40000}],
            "due_hours": 120}
