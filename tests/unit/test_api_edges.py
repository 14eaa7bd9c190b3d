"""The API's edges without a database: content negotiation, problem bodies, the OpenAPI spec."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mktflow.api._deps import wants_html
from mktflow.api._problems import field_errors, problem_of
from mktflow.domain import errors


@pytest.mark.parametrize(("accept", "html"), [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # a browser
    ("text/html", True),
    ("*/*", False),  # curl, httpx
    (None, False),
    ("application/json", False),
    ("application/json, text/html", False),  # a tie goes to JSON
    ("text/html;q=0.5, application/json", False),
    ("application/json;q=0.1, text/html", True),
    ("text/html;q=oops", False),
])
def test_wants_html(accept: str | None, html: bool) -> None:
    assert wants_html(accept) is html


@pytest.mark.parametrize(("exc", "status", "kind", "title"), [
    (errors.TransitionRefused("cannot claim W-1: it is done"), 409, "transition-refused",
     "The action is not allowed from the item's current state"),
    (errors.NotAuthorized("x may not claim W-1"), 403, "not-authorized",
     "The actor may not perform the action on this item"),
    (errors.Conflict("changed meanwhile"), 409, "conflict",
     "Another command changed the item between read and write"),
    (errors.NotFound("W-1 does not exist"), 404, "not-found",
     "The referenced object does not exist"),
    (errors.BadInput("reason: needed"), 422, "bad-input",
     "The command's input is wrong; nothing was attempted"),
])
def test_errors_become_problems(exc: errors.MktflowError, status: int, kind: str,
                                title: str) -> None:
    response = problem_of(exc)
    body = json.loads(bytes(response.body))
    assert response.status_code == status
    assert response.media_type == "application/problem+json"
    assert body == {"type": f"urn:mktflow:problem:{kind}", "title": title,
                    "status": status, "detail": str(exc)}


def test_form_invalid_lists_its_fields() -> None:
    fields: list[dict[str, object]] = [
        {"field": "budget", "rule": "minimum", "message": "-5 is less than 0"}]
    body = json.loads(bytes(problem_of(errors.FormInvalid("W-1: bad", fields)).body))
    assert (body["status"], body["errors"]) == (422, fields)


def test_validation_errors_name_the_field_not_the_value() -> None:
    raw = [{"loc": ("body", "reason"), "msg": "Field required", "type": "missing",
            "input": {"secret": "x"}},
           {"loc": ("header", "X-Mktflow-Actor"), "msg": "Field required", "type": "missing"}]
    assert field_errors(raw) == [
        {"field": "reason", "in": "body", "rule": "missing", "message": "is required"},
        {"field": "X-Mktflow-Actor", "in": "header", "rule": "missing",
         "message": "is required"},
    ]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [r for k, v in node.items()
                for r in ([v] if k == "$ref" else _refs(v))]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_openapi_describes_every_command_body() -> None:
    from sqlalchemy import create_engine

    from mktflow.api.app import create_app
    from mktflow.config import Settings

    spec = create_app(create_engine("sqlite://"), settings=Settings(api_token=None)).openapi()
    json.dumps(spec)  # serialisable as served
    assert spec["openapi"].startswith("3.1")
    schemas = spec["components"]["schemas"]
    for ref in _refs(spec):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    bodies = {
        ("/work", "CreateWork"), ("/work/{item}/complete", "CompleteWork"),
        ("/work/{item}/assign", "AssignWork"), ("/work/{item}/cancel", "CancelWork"),
        ("/work/{item}/comment", "Comment"), ("/handoffs", "OfferHandoff"),
        ("/handoffs/{item}/reject", "RejectHandoff"),
        ("/handoffs/{item}/deliver", "DeliverHandoff"),
    }
    for path, model in bodies:
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"]["$ref"] == f"#/components/schemas/{model}", path
    assert schemas["RejectHandoff"]["required"] == ["reason"]
    claim = spec["paths"]["/work/{item}/claim"]["post"]
    assert [(p["name"], p["in"], p["required"]) for p in claim["parameters"]] == [
        ("item", "path", True), ("Idempotency-Key", "header", False)
    ]  # who acts is the member token's, never a parameter; a retry may name its first try
    for path in spec["paths"].values():  # every POST takes the key and says when it replays
        if "post" in path:
            post = path["post"]
            assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
            assert {"409", "422"} <= set(post["responses"])
            assert all("Idempotent-Replayed" in answer["headers"]
                       for status, answer in post["responses"].items() if status[0] == "2")
    assert claim["security"] == [{"memberToken": []}]
    assert "post" not in spec["paths"].get("/work/{item}", {})  # the HTML forms' door
    assert spec["components"]["securitySchemes"]["memberToken"]["scheme"] == "bearer"
    assert spec["paths"]["/health"]["get"]["security"] == []


def test_times_read_as_the_cli_reads_them() -> None:
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from mktflow.api._models import OfferHandoff

    base = {"from_department": "marketing", "to_department": "sales", "title": "Kit"}
    assert OfferHandoff.model_validate({**base, "due": "2026-12-01"}).due == datetime(
        2026, 12, 1, 23, 59, 59, tzinfo=UTC)
    assert OfferHandoff.model_validate({**base, "due": "2026-12-01T17:00"}).due == datetime(
        2026, 12, 1, 17, 0, tzinfo=UTC)
    with pytest.raises(ValidationError) as caught:
        OfferHandoff.model_validate({**base, "due": "next friday"})
    assert field_errors(caught.value.errors())[0]["field"] == "due"


def test_openapi_types_every_answer_and_every_error_is_a_problem() -> None:
    from sqlalchemy import create_engine

    from mktflow.api.app import create_app
    from mktflow.config import Settings

    spec = create_app(create_engine("sqlite://"), settings=Settings(api_token=None)).openapi()
    operations = [(path, method, op) for path, ops in spec["paths"].items()
                  for method, op in ops.items()]
    assert len(operations) == 70  # + POST /complaints/{item}/cancel
    feed = "/calendar/{secret}.ics"  # an iCalendar, proved by its secret alone
    for path, method, op in operations:
        answers = op["responses"]
        ok = [s for s in answers if s.startswith("2")]
        assert ok, (method, path)
        for status in ok:
            if path == feed:
                assert answers[status]["content"]["text/calendar"]
                continue
            if status == "204":  # a delete answers no body
                assert "content" not in answers[status], (method, path)
                continue
            schema = answers[status]["content"]["application/json"]["schema"]
            assert schema.get("$ref") or schema.get("items"), (method, path, schema)
        errors = [s for s in answers if s[0] in "45"]
        assert errors, (method, path)
        for status in errors:
            assert answers[status]["content"] == {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}, (method, path, status)
        if path not in ("/health", feed):
            assert "401" in answers and ("422" in answers or path == "/org"), (method, path)
    assert spec["paths"]["/work/{item}"]["get"]["responses"]["200"]["content"]["text/html"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["WorkItemPublic"]["properties"]["kind"] == {
        "const": "work", "title": "Kind", "type": "string"}
