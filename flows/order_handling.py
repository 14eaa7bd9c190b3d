"""Order handling: sales records the order → finance checks credit → production schedules or
confirms stock → supply ships → finance invoices → customer service follows up → the customer
file is updated. A complaint heard at the follow-up opens a case in customer service
(``flows/complaint.py``, docs/processes/complaints.md), which runs to its own closure while the
order closes. A rejection at any stage ends the order with a reason and tells sales."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import count
from typing import Any, Literal

from prefect import flow
from pydantic import BaseModel, Field

from mktflow.domain.model import ProcessStatus
from mktflow.domain.money import exact, money, money_json, money_sum
from mktflow.domain.words import phrase
from mktflow.prefect import tasks
from mktflow.prefect.approvals import describe, seek_approval
from mktflow.prefect.artifacts import markdown_table, publish, table_rows
from mktflow.prefect.steps import Answer, StepForm, WorkingTime, human_step, step_due
from mktflow.prefect.tasks import process_guard
from mktflow.prefect.tasks.complaints import open_from_order
from mktflow.prefect.tasks.orders import (
    advance,
    credit_check,
    record_order,
    update_customer_file,
)

PROCESS = "order-handling"


# --- parameters and forms -----------------------------------------------------------------


class OrderLine(BaseModel):
    """One line of an order."""

    sku: str = Field(min_length=1, description="Product code")
    description: str = ""
    quantity: float = Field(gt=0)
    unit_price: float = Field(ge=0, description="Price per unit, in the company currency")


class OrderRequest(BaseModel):
    """An order as sales takes it from the customer."""

    number: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{1,60}$",
                        description="Order number (unique; the process's business key)")
    sales: str = Field(description="E-mail of the sales member who owns the order")
    customer_code: str = Field(min_length=1)
    customer_name: str = ""
    customer_contact: str | None = None
    branch: str | None = Field(default=None, description="Branch taking the order (HQ if empty)")
    lines: list[OrderLine] = Field(min_length=1)
    delivery_date: date
    due_hours: float = Field(default=48, gt=0, description="Time each department has per step")
    due_working: WorkingTime | None = Field(
        default=None, description="Working time each step has, counted in the calendar of "
        "its branch ('3 working days', '2 working hours', 'end of the working day'); "
        "replaces due_hours")


class OrderEntry(StepForm):
    """Sales records (or corrects) the order: customer, lines, prices, delivery date."""

    customer_code: str = Field(min_length=1)
    customer_name: str = ""
    lines: list[OrderLine] = Field(min_length=1)
    delivery_date: date
    note: str = ""


class Fulfilment(StepForm, json_schema_extra={
    "if": {"properties": {"outcome": {"const": "cannot_fulfil"}}},
    "then": {"properties": {"reason": {"minLength": 3}}, "required": ["reason"]}}):
    """Production schedules the order or confirms stock (or says why it cannot)."""

    outcome: Literal["from_stock", "scheduled", "cannot_fulfil"]
    ready_date: date | None = None
    reason: str = ""


class Shipment(StepForm, json_schema_extra={
    "if": {"properties": {"outcome": {"const": "shipped"}}},
    "then": {"properties": {"carrier": {"minLength": 2}, "tracking_number": {"minLength": 6}},
             "required": ["carrier", "tracking_number"]},
    "else": {"properties": {"reason": {"minLength": 3}}, "required": ["reason"]}}):
    """Supply ships: carrier and tracking number (or why it cannot ship)."""

    outcome: Literal["shipped", "cannot_ship"]
    carrier: str = ""
    tracking_number: str = Field(default="", pattern=r"^([A-Z0-9-]{6,40})?$")
    reason: str = ""


class Invoice(StepForm):
    """Finance invoices what was shipped."""

    invoice_number: str = Field(pattern=r"^INV-[A-Z0-9-]{2,40}$")
    amount: float = Field(gt=0)
    payment_due: date


class FollowUp(StepForm):
    """Customer service asks the customer: satisfaction, and a complaint if there is one."""

    satisfaction: int = Field(ge=1, le=5, description="1 (very unhappy) to 5 (very happy)")
    complaint: str = Field(default="", description="The customer's complaint, if any")


# --- the flow -----------------------------------------------------------------------------


@flow(name="order-handling", persist_result=True, flow_run_name="order-{order.number}")
def order_handling(order: OrderRequest) -> dict[str, Any]:
    """Take an order from intake through credit, production, shipping, invoicing, follow-up."""
    refusal = tasks.start_refusal(PROCESS, order.number, "number", order.model_dump(mode="json"))
    if refusal:  # as `mktflow run` would refuse it: the field and the rule, no traceback
        return tasks.refused_start(refusal)
    pid = tasks.start_process(PROCESS, order.number, order.sales,
                              order.model_dump(mode="json"), order.branch)
    due = step_due(order.due_hours, order.due_working)
    log: list[dict[str, Any]] = []
    with process_guard(pid):
        entry: dict[str, Any] = order.model_dump(
            mode="json", include={"customer_code", "customer_name", "lines", "delivery_date"})
        rework_note = ""
        for attempt in count(1):
            recorded = human_step(
                pid, f"order-entry-{attempt}", department="sales", assignee=order.sales,
                branch=order.branch, form=OrderEntry,
                title=phrase("Record order %(number)s", number=order.number),
                due=due, initial=entry, description=rework_note)
            entry = recorded.form.model_dump(mode="json")
            order_id = record_order(pid, order.number, entry, order.customer_contact,
                                    order.sales, order.branch, recorded.by)
            log.append(_stage("order recorded", "sales", recorded))
            check = credit_check(order_id, attempt)
            if check["outcome"] == "auto_approved":
                advance(order_id, "approve_credit", "mktflow", data=check)
                log.append({"stage": "credit", "department": "finance", "by": "automatic",
                            "ref": "", "note": check["reason"]})
                break
            outcome = seek_approval(
                pid, f"credit-{attempt}", process="order-credit", amount=check["total"],
                branch=order.branch, submitter=recorded.by, due=due,
                subject=phrase("credit for order %(number)s (%(customer)s)",
                               number=order.number, customer=check["customer"]),
                details=phrase("Credit check: %(reason)s.", reason=check["reason"]))
            log.append({"stage": "credit", "department": "finance",
                        "by": ", ".join(outcome.approvers), "ref": ", ".join(outcome.steps),
                        "note": f"{outcome.decision} {outcome.reason}".strip()})
            if outcome.approved:
                advance(order_id, "approve_credit", outcome.approvers[-1],
                        data={**check, **describe(outcome)})
                break
            if outcome.decision == "reject":
                return _reject(pid, order_id, order, "credit", outcome.reason,
                               recorded.item_id, log)
            rework_note = phrase("Finance asks for a correction: %(reason)s",
                                 reason=outcome.reason)

        made = human_step(pid, "production", department="production", due=due,
                          title=phrase("Schedule order %(number)s or confirm stock",
                                       number=order.number),
                          form=Fulfilment, description=_lines_md(entry))
        log.append(_stage("production", "production", made, made.form.outcome))
        if made.form.outcome == "cannot_fulfil":
            return _reject(pid, order_id, order, "production", made.form.reason, made.item_id,
                           log)
        advance(order_id, "schedule", made.by, data=made.form.model_dump(mode="json"))

        shipped = human_step(pid, "shipping", department="supply", due=due,
                             title=phrase("Ship order %(number)s", number=order.number),
                             form=Shipment,
                             description=phrase("Deliver by %(day)s.",
                                                day=entry["delivery_date"]))
        log.append(_stage("shipping", "supply", shipped, shipped.form.tracking_number))
        if shipped.form.outcome == "cannot_ship":
            return _reject(pid, order_id, order, "shipping", shipped.form.reason,
                           shipped.item_id, log)
        advance(order_id, "ship", shipped.by, data=shipped.form.model_dump(mode="json"))

        invoiced = human_step(pid, "invoice", department="finance", due=due,
                              title=phrase("Invoice order %(number)s", number=order.number),
                              form=Invoice,
                              initial={"amount": money_json(check["total"])})
        advance(order_id, "invoice", invoiced.by, data=invoiced.form.model_dump(mode="json"))
        log.append(_stage("invoice", "finance", invoiced, invoiced.form.invoice_number))

        followed = human_step(pid, "follow-up", department="marketing", due=due,
                              title=phrase("Follow up order %(number)s with the customer",
                                           number=order.number),
                              form=FollowUp)
        follow = followed.form.model_dump(mode="json")
        log.append(_stage("follow-up", "marketing", followed,
                          f"satisfaction {followed.form.satisfaction}"))
        if followed.form.complaint:  # a case in customer service, run to its own closure
            follow["complaint_case"] = open_from_order(order.number, entry["customer_code"],
                                                       followed.form.complaint, followed.by)
            log.append(_stage("complaint opened", "marketing", followed,
                              follow["complaint_case"]))
        advance(order_id, "follow_up", followed.by, data=follow)
        customer = update_customer_file(order_id, followed.by)

        result = {"outcome": "closed", "order": order.number,
                  "complaint": follow.get("complaint_case"),
                  "total": money_json(check["total"]),
                  "customer": customer, "tracking_number": shipped.form.tracking_number,
                  "invoice": invoiced.form.invoice_number}
        _report(order, entry, check["total"], "closed", log)
        tasks.finish_process(pid, ProcessStatus.COMPLETED, result=result)
        return result


def _stage(stage: str, department: str, answer: Answer[Any], note: str = "") -> dict[str, Any]:
    return {"stage": stage, "department": department, "by": answer.by, "ref": answer.ref,
            "note": note}


def _reject(pid: int, order_id: int, order: OrderRequest, stage: str, reason: str,
            item_id: int, log: list[dict[str, Any]]) -> dict[str, Any]:
    """End the order with a reason and tell sales."""
    why = f"order {order.number} rejected at {stage}: {reason}"
    advance(order_id, "reject", "mktflow", reason=why)
    tasks.notice_departments(pid, item_id, ["sales"], "order.rejected", why, stage)
    log.append({"stage": "rejected", "department": stage, "by": "", "ref": "", "note": reason})
    _report(order, order.model_dump(mode="json"), None, "rejected", log)
    tasks.finish_process(pid, ProcessStatus.CANCELLED, result={"outcome": "rejected",
                                                               "stage": stage,
                                                               "reason": reason}, reason=why)
    return {"outcome": "rejected", "order": order.number, "stage": stage, "reason": reason}


def _lines_md(entry: dict[str, Any]) -> str:
    """The order's lines as a table, its head a message worded where shown."""
    columns = ["sku", "description", "quantity", "unit_price"]
    if not entry["lines"]:
        return markdown_table(entry["lines"], columns)
    return phrase("| sku | description | quantity | unit_price |\n|---|---|---|---|\n%(rows)s",
                  rows=table_rows(entry["lines"], columns))


def _report(order: OrderRequest, entry: dict[str, Any], total: Decimal | None, outcome: str,
            log: list[dict[str, Any]]) -> None:
    rows = [{"sku": x["sku"], "quantity": x["quantity"], "unit_price": x["unit_price"],
             "line_total": money(exact(x["quantity"]) * exact(x["unit_price"]))}
            for x in entry["lines"]]
    value = total if total is not None else money_sum(r["line_total"] for r in rows)
    summary = (f"# Order {order.number}: {outcome}\n\n"
               f"Customer **{entry['customer_code']}**, delivery {entry['delivery_date']}, "
               f"total **{value:,.2f}**\n\n## Stages\n\n"
               + markdown_table(log, ["stage", "department", "by", "ref", "note"]))
    publish(f"order-{order.number}", summary, rows, description=f"order {order.number}")
