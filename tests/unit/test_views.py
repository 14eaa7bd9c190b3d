"""The views people and scripts read are defined once (``mktflow.engine.views``): frozen, and
the very classes the API answers with (issue 21, "one place per idea")."""

from __future__ import annotations

import dataclasses
from typing import Any, get_args

import pytest

from mktflow.engine import views
from tests.views import work_item


def test_a_view_is_frozen_and_a_changed_copy_is_a_new_view() -> None:
    item = work_item()
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.state = "done"  # type: ignore[misc]
    done = dataclasses.replace(item, state="done")
    assert (item.state, done.state) == ("open", "done")


def test_plain_prints_what_the_command_line_always_printed() -> None:
    """A field a view has only sometimes is left out while None; every other None stays."""
    row = views.InboxHandoffRow(
        id=3, ref="H-3", kind="handoff", handoff_kind="handoff", state="offered", title="Brief",
        from_department="marketing", to_department="tech", department="tech", branch=None,
        due=None, escalation_level=0, overdue=False, process=None, process_id=None,
        step_key=None, return_count=0, offered_by=None, created_at=None, version=1)
    waiting = views.plain(row)
    assert "awaiting" not in waiting and waiting["branch"] is None
    assert list(waiting)[:3] == ["id", "ref", "kind"]  # in the fields' order
    delivered = views.plain(dataclasses.replace(row, state="delivered", awaiting="confirmation"))
    assert delivered["awaiting"] == "confirmation"
    page = views.plain(views.InboxPage(rows=[work_item(), row], next_cursor=None))
    assert [r["ref"] for r in page["rows"]] == ["W-12", "H-3"]
    assert views.plain({"n": 1, "rows": [1, "a"]}) == {"n": 1, "rows": [1, "a"]}


def _response_models() -> dict[tuple[str, str], Any]:
    from mktflow.api import _handoffs, _leads, _reads, _reports, _work

    return {(method, route.path): route.response_model
            for module in (_work, _handoffs, _reads, _leads, _reports)
            for route in module.router.routes
            for method in getattr(route, "methods", ())}


def test_the_api_answers_with_the_engines_views() -> None:
    models = _response_models()
    assert models["GET", "/work/{item}"] is views.WorkItemPublic
    assert models["POST", "/work/{item}/claim"] is views.WorkItemPublic
    assert models["GET", "/handoffs/{item}"] is views.HandoffPublic
    assert models["GET", "/processes/{reference}"] is views.ProcessPublic
    assert get_args(models["GET", "/processes"]) == (views.ProcessSummary,)
    assert models["GET", "/inbox/{department}"] is views.InboxPage
    assert get_args(models["GET", "/history/{reference}"]) == (views.HistoryEntry,)
    assert models["GET", "/org"] is views.OrganisationPublic
    assert models["GET", "/leads/{item}"] is views.LeadPublic
    assert get_args(models["GET", "/leads"]) == (views.LeadPublic,)
    assert models["GET", "/leads/funnel"] is views.LeadFunnel
    assert models["GET", "/reports/{item}"] is views.WorkReportPublic
    assert models["POST", "/reports"] is views.WorkReportPublic
    assert get_args(models["GET", "/reports"]) == (views.WorkReportPublic,)
    from mktflow.api import _schemas  # keeps only what the API alone answers

    assert not set(_schemas.__all__) & set(views.__all__)


def test_the_api_builds_each_views_schema_once_per_process(monkeypatch: Any) -> None:
    """Every API instance reuses the views' schemas (``_schemas.view_schemas``): building a
    response model out of views collects no dataclass's fields again. Fails when pydantic stops
    reading a plain dataclass's ``__pydantic_core_schema__``."""
    import pydantic._internal._generate_schema as generate
    from pydantic import TypeAdapter

    from mktflow.api._schemas import view_schemas
    from mktflow.engine.views import InboxPage, WorkItemPublic

    assert view_schemas() >= 25
    collected: list[type] = []
    real = generate.collect_dataclass_fields
    monkeypatch.setattr(generate, "collect_dataclass_fields",
                        lambda cls, *a, **k: collected.append(cls) or real(cls, *a, **k))
    adapter = TypeAdapter(list[WorkItemPublic | InboxPage])
    assert collected == []
    assert adapter.json_schema()["items"]["anyOf"]  # and it still describes both
