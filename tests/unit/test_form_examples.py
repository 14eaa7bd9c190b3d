"""The smallest data a form accepts, as the demo uses it to answer generic steps."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mktflow.engine.forms import example_data, schema_of, validate_form


class Line(BaseModel):
    sku: str = Field(min_length=3)
    quantity: int = Field(ge=1)


class Decision(BaseModel):
    decision: Literal["keep", "adjust", "remove"]
    comment: str = ""
    due: str | None = None
    lines: list[Line] = Field(min_length=1)
    score: float = Field(gt=0)
    ok: bool


def test_example_fits_the_form_it_was_made_from() -> None:
    schema = schema_of(Decision)
    assert schema is not None
    data = example_data(schema)
    assert validate_form(schema, data, ref="W-1") == data
    assert data["decision"] == "keep" and data["lines"][0]["quantity"] == 1
    assert "comment" not in data  # only what the form requires


def test_no_form_means_no_data() -> None:
    assert example_data(None) == {}
