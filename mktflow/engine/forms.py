"""A step's form: a JSON schema (usually made from a pydantic model) and the check of its data."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel

from mktflow.domain.errors import BadInput, FormInvalid

__all__ = ["check_schema", "example_data", "schema_of", "validate_form"]


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


def example_data(schema: dict[str, Any] | None) -> dict[str, Any]:
    """The smallest data that fits a form: defaults, first choices, minimums, required fields.

    The demo answers generic steps with it; people see what a form expects.
    """
    if not schema:
        return {}
    value = _example(schema, schema.get("$defs", {}))
    return value if isinstance(value, dict) else {}


def _example(node: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "$ref" in node:
        return _example(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "default" in node:
        return node["default"]
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in node.get(key, []) if o.get("type") != "null"]
        if options:
            return _example(options[0], defs)
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        return {name: _example(props[name], defs) for name in node.get("required", [])
                if name in props}
    if kind == "array":
        item = node.get("items", {})
        return [_example(item, defs) for _ in range(node.get("minItems", 0))]
    if kind in ("integer", "number"):
        low = node.get("minimum", node.get("exclusiveMinimum", 0))
        value = low + (1 if "exclusiveMinimum" in node else 0)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if node.get("format") == "date":
        return "2027-01-15"
    if node.get("format") == "date-time":
        return "2027-01-15T12:00:00Z"
    if node.get("format") == "email":
        return "someone@example.com"
    return "x" * max(int(node.get("minLength", 0)), 1) if "pattern" not in node else "demo"
