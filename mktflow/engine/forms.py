"""A step's form: a JSON schema (usually made from a pydantic model) and the check of its data."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel

from mktflow.domain.errors import BadInput, FormInvalid

__all__ = ["check_schema", "schema_of", "validate_form"]


def schema_of(form: type[BaseModel] | dict[str, Any] | None) -> dict[str, Any] | None:
    """The JSON schema of a pydantic form model (or a schema given as is)."""
    if form is None or isinstance(form, dict):
        return form
    return form.model_json_schema()


def check_schema(schema: dict[str, Any] | None) -> None:
    """Refuse a form schema that is not valid JSON schema."""
    if schema is None:
        return
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise BadInput(f"form: not a valid JSON schema: {exc.message}") from None


def _where(path: list[Any]) -> str:
    return ".".join(str(p) for p in path) or "(form)"


def validate_form(schema: dict[str, Any] | None, data: Any, *, ref: str) -> dict[str, Any]:
    """Check ``data`` against the form; refuse naming every field that breaks a rule."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FormInvalid(f"{ref}: the data must be a JSON object, got {type(data).__name__}")
    if schema is None:
        return data
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return data
    details = []
    for err in errors:
        path = list(err.absolute_path)
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else err.message
            path = [*path, missing]
            message = "is required"
        else:
            message = err.message
        details.append({"field": _where(path), "rule": err.validator, "message": message})
    lines = "; ".join(f"field '{d['field']}': {d['message']}" for d in details)
    raise FormInvalid(f"{ref}: the data does not fit the form: {lines}", details)
