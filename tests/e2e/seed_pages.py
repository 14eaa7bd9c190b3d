"""What the accessibility tests need on the served data, made in one process (a few seconds
rather than one ``mktflow`` command each): run as ``python -m tests.e2e.seed_pages`` in the
served environment, it prints one JSON object:

* ``tokens``: member e-mail → a member token (``ANA``, the marketing head, and ``RAJ``, a supply
  specialist);
* ``work``: ``{"form": id, "open": id, "overdue": id, "walk": id}``: in marketing, a step held by
  Ana whose form has every kind of input the pages draw (``FORM``) and whose description has a
  table, an open step in the queue and an overdue one at escalation level 1 (important and
  urgent: seed 000's balance of work); in supply, an open
  step with a short form (``WALK_FORM``) for the keyboard walk;
* ``handoffs``: ``{"to_marketing": id, "to_supply": id}``: handoffs offered, not yet answered;
* ``lead``: the id of a lead marketing gathered;
* ``meeting``: the reference of this quarter's planning meeting, its minutes sent (M-n; held
  as ``tests.integration.test_meetings.hold`` holds it);
* ``complaint``: the id of a complaint case customer service opened;
* ``year``: this year by the served clock (its dashboard, ``/dashboards/periods/<year>``).

Due times count from the injected clock (``uow.now()``), never from a written date.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

ANA = "ana.torres@example.com"  # marketing head: sees every page, the load page too
RAJ = "raj.patel@example.com"  # supply specialist: the keyboard walk

#: A step's form with every input the pages draw: text, long text, number, integer, date,
#: date-time, e-mail, yes/no, a choice, a group, a list of groups, a list of texts and a part
#: the page keeps as it is.
FORM: dict[str, Any] = {
    "type": "object", "title": "Launch checklist", "required": ["headline", "budget"],
    "properties": {
        "headline": {"type": "string", "title": "Headline", "description": "What people see"},
        "notes": {"type": "string", "title": "Notes"},
        "budget": {"type": "number", "title": "Budget", "minimum": 0},
        "samples": {"type": "integer", "title": "Samples"},
        "starts": {"type": "string", "format": "date", "title": "Starts"},
        "meets": {"type": "string", "format": "date-time", "title": "Meets"},
        "contact": {"type": "string", "format": "email", "title": "Contact"},
        "approved": {"type": "boolean", "title": "Approved"},
        "channel": {"enum": ["tv", "radio", "web"], "title": "Channel"},
        "stand": {"type": "object", "title": "Stand",
                  "properties": {"width": {"type": "number", "title": "Width"}}},
        "lines": {"type": "array", "title": "Budget lines", "items": {
            "type": "object", "title": "Budget line", "properties": {
                "code": {"type": "string", "title": "Code", "pattern": "^[a-z]+$"},
                "amount": {"type": "number", "title": "Amount"}}}},
        "tags": {"type": "array", "title": "Tags", "items": {"type": "string", "title": "Tag"}},
        "extra": {"type": "object", "title": "Extra", "additionalProperties": True},
    },
}
DRAFT = {"headline": "Spring tasting", "lines": [{"code": "tv", "amount": 100}],
         "tags": ["launch"], "extra": {"kept": "as it is"}}
#: The keyboard walk's form: one required text and a number.
WALK_FORM: dict[str, Any] = {
    "type": "object", "title": "Stock count", "required": ["summary"],
    "properties": {"summary": {"type": "string", "title": "Summary"},
                   "units": {"type": "integer", "title": "Units", "minimum": 0}}}


def seed() -> dict[str, Any]:
    """Make the items, handoffs, lead and tokens on this process's wiring; their ids."""
    from mktflow import bootstrap
    from mktflow.engine import complaints, handoffs, leads
    from mktflow.engine.credentials import issue_token
    from mktflow.engine.work import create_work_item
    from mktflow.store.tables import WorkItem

    now = bootstrap.uow().now()
    soon, late = now + timedelta(days=5), now - timedelta(hours=2)

    def step(department: str, title: str, **more: Any) -> int:
        made = create_work_item(bootstrap.uow(), actor_email=ANA if department == "marketing"
                                else RAJ, department=department, title=title,
                                due_at=more.pop("due_at", soon), **more)
        assert made.id is not None
        return made.id

    def offer(frm: str, to: str, title: str, who: str) -> int:
        made = handoffs.offer(bootstrap.uow(), actor_email=who, from_department=frm,
                              to_department=to, title=title, due_at=soon,
                              criteria="fits a 2 m aisle")
        assert made.id is not None
        return made.id

    def escalated(item_id: int) -> int:  # as the SLA sweep leaves an overdue step
        uow = bootstrap.uow()
        with uow:
            row = uow.session.get(WorkItem, item_id)
            assert row is not None
            row.escalation_level = 1
            uow.commit()
        return item_id

    return {
        "tokens": {email: issue_token(bootstrap.uow(), email).token for email in (ANA, RAJ)},
        "year": str(bootstrap.uow().now().year),  # this year's dashboard
        "work": {
            "form": step("marketing", "Check the launch", form_schema=FORM,
                         form_name="LaunchChecklist", draft=DRAFT, assignee=ANA,
                         description="Read the **brief** first.\n\n| kpi | target |\n"
                                     "|---|---:|\n| leads | 1,200 |"),
            "open": step("marketing", "Book the tasting stand", form_schema=WALK_FORM),
            "overdue": escalated(step("marketing", "Send the samples", due_at=late,
                                      priority=90, important=True, urgent=True)),
            "walk": step("supply", "Count the stand's stock", form_schema=WALK_FORM),
        },
        "handoffs": {
            "to_marketing": offer("tech", "marketing", "Stand drawings",
                                  "hana.kim@example.com"),
            "to_supply": offer("marketing", "supply", "Samples for the stand", ANA),
        },
        "lead": leads.gather(bootstrap.uow(), actor_email=ANA, company="Corner Shop Ltd",
                             contact="buyer@example.com", channel="fair").id,
        "meeting": _meeting(),
        "complaint": complaints.open_complaint(bootstrap.uow(), actor_email=ANA,
                                               customer="CUST-SHOP", customer_name="Corner Shop",
                                               text="The stand's samples arrived warm").id,
    }


def _meeting() -> str:
    """This quarter's planning meeting, held and its minutes sent, on this process's wiring."""
    from mktflow import bootstrap
    from mktflow.domain import clock
    from tests.integration.test_meetings import hold

    class Wired:  # what ``hold`` asks of a test database
        uow = staticmethod(bootstrap.uow)
        engine_uow = staticmethod(bootstrap.engine_uow)

    meeting, _ = hold(Wired, clock)
    return f"M-{meeting}"


if __name__ == "__main__":
    print(json.dumps(seed()))
