"""Which forms are safe to keep (issue 10, "Forms are data"): references stay inside the form,
patterns run on a linear-time engine; every step form the flows ship passes."""

from __future__ import annotations

import importlib
import inspect
import time
from typing import Any

import pytest
from pydantic import BaseModel

from mktflow.domain.errors import BadInput, FormInvalid
from mktflow.engine.forms import check_schema, form_problems, validate_form
from mktflow.prefect.steps import StepForm


class Line(BaseModel):
    sku: str
    quantity: int


class Order(BaseModel):
    lines: list[Line]  # pydantic writes a local $ref to #/$defs/Line


def _flow_forms() -> list[type[BaseModel]]:
    forms = []
    for name in ("campaign", "order_handling", "new_product_development"):
        module = importlib.import_module(f"flows.{name}")
        forms += [obj for obj in vars(module).values()
                  if inspect.isclass(obj) and issubclass(obj, StepForm) and obj is not StepForm]
    return forms


def test_local_refs_and_every_shipped_step_form_pass() -> None:
    check_schema(Order.model_json_schema())
    forms = _flow_forms()
    assert len(forms) >= 5
    for form in forms:
        check_schema(form.model_json_schema())
    data = {"lines": [{"sku": "A-1", "quantity": 2}]}
    assert validate_form(Order.model_json_schema(), data, ref="W-1") == data


@pytest.mark.parametrize(("schema", "words"), [
    ({"$ref": "https://evil.example/s.json"}, "$ref 'https://evil.example/s.json' points outside"),
    ({"$ref": "other.json#/x"}, "points outside"),
    ({"items": [{"$ref": "#/nowhere"}]}, "$ref '#/nowhere' at items.0 does not resolve"),
    ({"properties": {"a": {"$dynamicRef": "#meta"}}}, "$dynamicRef '#meta' at properties.a"),
    ({"$schema": "https://evil.example/meta"}, "$schema 'https://evil.example/meta'"),
    ({"properties": {"a": {"pattern": "x" * 1001}}}, "at most 1000"),
    ({"properties": {"a": {"pattern": 5}}}, "must be a string"),
])
def test_unsafe_forms_are_named(schema: dict[str, Any], words: str) -> None:
    problems = form_problems(schema)
    assert any(words in p for p in problems), problems
    with pytest.raises(BadInput):
        check_schema(schema)


def test_data_named_like_keywords_is_not_a_reference() -> None:
    # a property called "$ref", and "$ref" inside an enum value, are data, not references
    schema = {"type": "object", "properties": {"$ref": {"type": "string"},
                                               "kind": {"enum": [{"$ref": "http://x"}]}}}
    assert form_problems(schema) == []


def test_a_pathological_pattern_is_linear() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string",
                                                        "pattern": "^(a+)+$"}}}
    check_schema(schema)
    started = time.monotonic()
    with pytest.raises(FormInvalid) as caught:
        validate_form(schema, {"code": "a" * 10_000 + "!"}, ref="W-1")
    assert time.monotonic() - started < 0.5
    assert caught.value.errors[0]["field"] == "code"
