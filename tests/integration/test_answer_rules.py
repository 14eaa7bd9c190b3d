"""A step's answer is accepted only if it passes the process's rules for its form, not just
the form's schema (mktflow.engine.answers): a campaign plan ending before it starts, charging
an unknown budget line, with a KPI named twice, or with an activity owner who is not an active
member is refused before the step is done, at every door (engine, CLI, REST, the page's
*Check answers* and its complete), naming the field path; nothing is written. ``mktflow run``
refuses a request naming a non-member, each bad field named, before any flow run exists."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mktflow.domain.errors import FormInvalid
from mktflow.engine import campaigns, processes, products, queries, work
from mktflow.engine.steps import complete_step
from mktflow.i18n.words import in_language
from tests.dates import days_ahead
from tests.integration.web_support import Browser

OLGA = "olga.petrova@example.com"  # marketing specialist, the campaign's owner
MARCO = "marco.rossi@example.com"
NOBODY = "nobody@example.com"


def _plan() -> dict[str, Any]:
    from mktflow.prefect.registry import example

    return copy.deepcopy(example("campaign")["plan"])


def _bad(case: str) -> tuple[dict[str, Any], str]:
    """A plan breaking one rule, and the message naming its field."""
    plan = _plan()
    if case == "owner":
        plan["activities"][0]["owner"] = NOBODY
        return plan, f"activities.0.owner: {NOBODY} is not an active member"
    if case == "dates":
        plan["start"], plan["end"] = days_ahead(60), days_ahead(30)
        return plan, f"end: {days_ahead(30)} is before start {days_ahead(60)}"
    if case == "budget_line":
        plan["activities"][1]["budget_line"] = "radio"
        return plan, ("activities.1.budget_line: 'Social ads' charges unknown budget line "
                      "'radio' (the plan has tasting, ads)")
    plan["kpis"][1]["name"] = plan["kpis"][0]["name"]
    return plan, "kpis.1.name: KPI 'new customers' is named twice"


CASES = ["owner", "dates", "budget_line", "kpi"]


def _plan_step(db: Any, process_id: int | None = None) -> int:
    from flows.campaign import CampaignPlan

    item = work.create_work_item(
        db.engine_uow(), actor_email="mktflow", department="marketing", title="Plan campaign",
        form_schema=CampaignPlan.model_json_schema(), form_name="CampaignPlan", assignee=OLGA,
        process_id=process_id, step_key="plan-1" if process_id else None)
    assert item.id is not None
    return item.id


def _untouched(db: Any, item_id: int, audits: int) -> None:
    view = queries.show(db.uow(), f"W-{item_id}")
    assert view.state == "claimed" and view.data is None and view.completed_by is None
    assert db.count("auditentry") == audits  # nothing written


@pytest.mark.parametrize("case", CASES)
def test_the_engine_refuses_a_plan_breaking_a_rule_naming_the_field(db: Any, case: str) -> None:
    item_id = _plan_step(db)
    plan, message = _bad(case)
    audits = db.count("auditentry")
    with pytest.raises(FormInvalid) as refused:
        complete_step(db.uow(), item_id, actor_email=OLGA, data=plan)
    assert message in str(refused.value) and f"W-{item_id}" in str(refused.value)
    field = message.split(":")[0]
    assert {"field": field, "rule": "process rule",
            "message": message.split(": ", 1)[1]} in refused.value.errors
    _untouched(db, item_id, audits)
    assert complete_step(db.uow(), item_id, actor_email=OLGA, data=_plan()).state == "done"


def test_an_owner_who_has_left_is_refused_and_every_problem_is_named(db: Any) -> None:
    from mktflow.engine.organisation import load_organisation, read_organisation_file

    spec = read_organisation_file(None, demo=True)
    left = spec.model_copy(update={"members": [m for m in spec.members
                                               if m.email.lower() != MARCO]})
    load_organisation(db.engine_uow(), left, source="test: marco left")
    item_id = _plan_step(db)
    plan = _plan()  # activity 0 is marco's
    plan["start"], plan["end"] = days_ahead(60), days_ahead(30)
    with pytest.raises(FormInvalid) as refused:
        complete_step(db.uow(), item_id, actor_email=OLGA, data=plan)
    fields = [e["field"] for e in refused.value.errors]
    assert fields == ["end", "activities.0.owner"]
    assert f"activities.0.owner: {MARCO} is not an active member" in str(refused.value)


def test_cli_refuses_with_exit_2_and_the_step_stays_held(db: Any, cli: Any) -> None:
    item_id = _plan_step(db)
    for case in CASES:
        plan, message = _bad(case)
        result = cli("work", "complete", f"W-{item_id}", "--as", OLGA, "--data",
                     json.dumps(plan))
        assert result.exit_code == 2, result.stdout
        assert message in result.stderr
        assert "state: claimed" in cli("work", "show", f"W-{item_id}").stdout
    done = cli("work", "complete", f"W-{item_id}", "--as", OLGA, "--data", json.dumps(_plan()))
    assert done.exit_code == 0, done.stderr


@pytest.fixture
def api(db: Any) -> Iterator[httpx.Client]:
    """The API for ``db`` on uvicorn in a background thread, reading with Olga's token."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import member_api

    with member_api(db, create_app(db.engine, settings=Settings()), OLGA,
                    timeout=10) as client:
        yield client


def _fields(plan: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The plan as the page's form posts it (``activities.0.owner=...``)."""
    pairs: list[tuple[str, str]] = []
    items = plan.items() if isinstance(plan, dict) else enumerate(plan)
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, dict | list):
            pairs += _fields(value, f"{name}.")  # type: ignore[arg-type]
        else:
            pairs.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
    return pairs


def test_rest_and_page_refuse_before_the_step_is_done(db: Any, api: httpx.Client) -> None:
    item_id = _plan_step(db)
    for case in CASES:
        plan, message = _bad(case)
        r = api.post(f"/work/{item_id}/complete", json={"data": plan})
        assert r.status_code == 422 and message in r.text, r.text
        assert api.get(f"/work/{item_id}").json()["state"] == "claimed"
    olga = Browser(str(api.base_url).rstrip("/"))
    olga.sign_in(db, OLGA)
    olga.get(f"/work/{item_id}")
    plan, message = _bad("owner")
    checked = olga.post(f"/work/{item_id}", [*_fields(plan), ("action", "check")])
    assert checked.status_code == 422, checked.text
    assert "The answers fit the form." not in checked.text
    assert f"{NOBODY} is not an active member" in checked.text
    assert 'id="e-f-activities-0-owner"' in checked.text  # marked beside the field
    plan, _ = _bad("dates")
    completed = olga.post(f"/work/{item_id}", [*_fields(plan), ("action", "complete")])
    assert completed.status_code == 422 and f"is before start {days_ahead(60)}" in completed.text
    assert api.get(f"/work/{item_id}").json()["state"] == "claimed"
    fine = olga.post(f"/work/{item_id}", [*_fields(_plan()), ("action", "check")])
    assert fine.status_code == 200 and "The answers fit the form." in fine.text
    olga.client.close()


def test_tracking_and_allocations_name_the_process_own_kpis_and_lines(db: Any) -> None:
    from flows.campaign import Tracking
    from flows.new_product_development import Allocations

    p = processes.start_process(db.uow(), process="campaign", business_key="CMP-R1",
                                owner_email=OLGA)
    assert p.id is not None
    campaigns.record_plan(db.engine_uow(), process_id=p.id, code="CMP-R1", plan=_plan(),
                          actor_email=OLGA, owner_email=OLGA)
    tracking = work.create_work_item(
        db.engine_uow(), actor_email="mktflow", department="marketing", title="Actuals",
        form_schema=Tracking.model_json_schema(), form_name="Tracking", assignee=OLGA,
        process_id=p.id, step_key="tracking-1")
    assert tracking.id is not None
    with pytest.raises(FormInvalid, match=r"actuals\.1\.name: 'leads' is not a KPI of campaign "
                                          r"CMP-R1 \(it has new customers, cost per lead\)"):
        complete_step(db.uow(), tracking.id, actor_email=OLGA, data={"actuals": [
            {"name": "new customers", "actual": 1}, {"name": "leads", "actual": 2}]})
    assert queries.show(db.uow(), f"W-{tracking.id}").state == "claimed"

    q = processes.start_process(db.uow(), process="new-product-development",
                                business_key="NP-R1", owner_email=OLGA)
    assert q.id is not None
    products.record_proposal(
        db.engine_uow(), process_id=q.id, code="NP-R1", name="Tea", proposal={
            "market_need": "Cold tea", "target_customers": "Grocers", "positioning": "Premium",
            "forecast_units": 1000, "forecast_revenue": 5000},
        budget_lines=[{"code": "tooling", "title": "Tooling", "department": "production",
                       "amount": 100}], owner_email=OLGA, actor_email=OLGA)
    alloc = work.create_work_item(
        db.engine_uow(), actor_email="mktflow", department="finance", title="Allocate",
        form_schema=Allocations.model_json_schema(), form_name="Allocations",
        process_id=q.id, step_key="budget-allocation-1")
    assert alloc.id is not None
    finance = "omar.haddad@example.com"
    work.claim(db.uow(), alloc.id, actor_email=finance)
    with pytest.raises(FormInvalid, match=r"allocations\.0\.code: project NP-R1 has no budget "
                                          r"line 'moulds' \(it has tooling\)"):
        complete_step(db.uow(), alloc.id, actor_email=finance,
                      data={"allocations": [{"code": "moulds", "amount": 5}]})
    done = complete_step(db.uow(), alloc.id, actor_email=finance,
                         data={"allocations": [{"code": "tooling", "amount": 100}]})
    assert done.state == "done"


def test_run_refuses_a_request_naming_non_members_field_by_field(cli: Any) -> None:
    from mktflow.prefect.registry import example

    request = example("campaign")
    request["owner"] = "ghost@example.com"
    request["plan"]["activities"][1]["owner"] = NOBODY
    request["plan"]["end"] = "2020-01-01"  # long gone: before any start
    result = cli("run", "campaign", "--params", json.dumps(request), "--json")
    assert result.exit_code == 2, result.stdout
    error = json.loads(result.stdout)["error"]
    assert "field 'owner': ghost@example.com is not an active member" in error
    assert f"field 'plan.activities.1.owner': {NOBODY} is not an active member" in error
    assert "field 'plan.end': 2020-01-01 is before start" in error
    assert "plan.activities.0.owner" not in error  # marco is a member
    npd = example("new-product-development")
    npd["owner"], npd["gate_approvers"] = "mktflow", [npd["gate_approvers"][0], NOBODY]
    refused = cli("run", "new-product-development", "--params", json.dumps(npd), "--json")
    assert refused.exit_code == 2
    error = json.loads(refused.stdout)["error"]
    assert f"field 'gate_approvers.1': {NOBODY} is not an active member" in error
    assert "field 'owner': mktflow is the process engine, not a member" in error


def test_the_examples_pass_the_request_rules(db: Any) -> None:
    from mktflow.engine.answers import request_problems
    from mktflow.prefect.registry import PROCESSES, example

    with db.uow() as u:
        for name, spec in PROCESSES.items():
            assert request_problems(u.session, name, example(name)) == [], name
            del spec


def test_work_show_prints_a_steps_description(db: Any, cli: Any) -> None:
    item = work.create_work_item(
        db.engine_uow(), actor_email="mktflow", department="marketing", title="Plan again",
        description="The plan was sent back: end: 2020-01-01 is before start 2020-02-01",
        assignee=OLGA)
    text = cli("work", "show", f"W-{item.id}").stdout
    assert "description: The plan was sent back: end: 2020-01-01 is before start" in text


def test_the_flows_second_check_reads_the_organisation_now_and_puts_its_reason_on_record(
        db: Any, cli: Any) -> None:
    """What flows/campaign.py does after the plan step: the rules again (a member may have
    left since the answer was accepted), and a comment whose REASON says why it asks again."""
    from mktflow.engine.organisation import load_organisation, read_organisation_file
    from mktflow.prefect import tasks

    p = processes.start_process(db.uow(), process="campaign", business_key="CMP-R2",
                                owner_email=OLGA)
    assert p.id is not None
    item_id = _plan_step(db, process_id=p.id)
    plan = _plan()
    assert complete_step(db.uow(), item_id, actor_email=OLGA, data=plan).state == "done"
    assert tasks.answer_problems.fn(p.id, item_id, "CampaignPlan", plan) == []
    spec = read_organisation_file(None, demo=True)
    load_organisation(db.engine_uow(), spec.model_copy(update={"members": [
        m for m in spec.members if m.email.lower() != MARCO]}), source="test: marco left")
    problems = tasks.answer_problems.fn(p.id, item_id, "CampaignPlan", plan)
    assert problems == [f"activities.0.owner: {MARCO} is not an active member"]
    # a rule's problem stays a message through the task (worded where the comment is shown)
    assert in_language(problems[0], "zh") == f"activities.0.owner: {MARCO} 不是在职成员"
    tasks.comment.fn(item_id, "The plan was sent back: " + problems[0], reason=problems[0])
    history = cli("history", f"W-{item_id}")
    row = [line for line in history.stdout.splitlines() if "comment" in line][-1]
    assert f"{MARCO} is not an active member" in row, history.stdout
    assert queries.history(db.uow(), f"W-{item_id}")[-1].reason == problems[0]


def test_an_order_whose_total_the_books_cannot_hold_is_refused_at_entry(db: Any) -> None:
    from flows.order_handling import OrderEntry

    sales = "carlos.mendez@example.com"
    item = work.create_work_item(
        db.engine_uow(), actor_email="mktflow", department="sales", title="Record order",
        form_schema=OrderEntry.model_json_schema(), form_name="OrderEntry", assignee=sales)
    assert item.id is not None
    entry = {"customer_code": "C-1", "delivery_date": days_ahead(35),
             "lines": [{"sku": "TEA", "quantity": 1_000_000, "unit_price": 1_000_000}]}
    with pytest.raises(FormInvalid, match=r"lines: the order's total 1,000,000,000,000\.00 is "
                                          r"more than an amount may be"):
        complete_step(db.uow(), item.id, actor_email=sales, data=entry)
    entry["lines"][0]["quantity"] = 10
    assert complete_step(db.uow(), item.id, actor_email=sales, data=entry).state == "done"
