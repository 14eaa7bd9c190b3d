"""A step's form: a JSON schema (usually made from a pydantic model) and the check of its data.

Forms are data, not code paths (issue 10, "Forms are data"):

- a form refers only to itself: every ``$ref`` is a JSON pointer inside the form (``#/...``)
  and must resolve there; ``$id``, ``$dynamicRef`` and ``$recursiveRef`` (which could point a
  reference elsewhere) are refused, and so is an unknown ``$schema``. ``check_schema`` refuses
  anything else when the form is made (a step is created), naming the reference; checking data
  resolves references only inside the form (``_LOCAL_ONLY``), so nothing is ever fetched,
  even for a form stored before these rules;
- ``pattern`` runs on RE2 (``google-re2``), a linear-time engine: no input can hold a worker.
  ``check_schema`` refuses a pattern RE2 cannot run (lookaround, backreferences, a repetition
  above 1000) and ``patternProperties`` (its keys would run on Python's backtracking engine
  inside jsonschema's own keywords).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import re2
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import SchemaError
from jsonschema.validators import extend
from pydantic import BaseModel
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

from mktflow.domain.errors import BadInput, FormInvalid
from mktflow.domain.inputs import EMAIL_SHAPE, json_type, rule_in_words
from mktflow.domain.words import phrase

__all__ = ["MAX_PATTERN", "check_schema", "example_data", "form_problems", "schema_of",
           "validate_form"]

#: Longest ``pattern`` a form may carry, in characters.
MAX_PATTERN = 1000
#: Meta-schemas a form may name in ``$schema`` (they ship with jsonschema; never fetched).
_META_SCHEMAS = frozenset(
    f"{base}{tail}" for base in (
        "https://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2019-09/schema",
        "http://json-schema.org/draft-07/schema", "http://json-schema.org/draft-06/schema",
        "http://json-schema.org/draft-04/schema") for tail in ("", "#"))
#: Keywords whose value is a map of subschemas, one subschema, or a list of them.
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONE = ("additionalProperties", "unevaluatedProperties", "items", "additionalItems",
               "unevaluatedItems", "contains", "propertyNames", "not", "if", "then", "else")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
_REFUSED = {
    "$id": "a form may not change its base URI ($id): its references stay inside it",
    "$dynamicRef": "a form refers only inside itself with $ref to #/...",
    "$recursiveRef": "a form refers only inside itself with $ref to #/...",
    "patternProperties": "patternProperties is not supported (its patterns would run "
                         "unbounded); name the properties",
}


def schema_of(form: type[BaseModel] | dict[str, Any] | None) -> dict[str, Any] | None:
    """The JSON schema of a pydantic form model (or a schema given as is)."""
    if form is None or isinstance(form, dict):
        return form
    return form.model_json_schema()


def _re2_options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported to the caller, not logged
    return options


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    """``pattern`` compiled by RE2; raises ``re2.error`` for what RE2 cannot run."""
    return re2.compile(pattern, options=_re2_options())


def _pattern_problem(pattern: Any) -> str | None:
    if not isinstance(pattern, str):
        return f"must be a string, got {type(pattern).__name__}"
    if len(pattern) > MAX_PATTERN:
        return f"is {len(pattern)} characters long; at most {MAX_PATTERN}"
    try:
        _compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        return (f"cannot run on a linear-time engine ({reason}): no lookaround, "
                "backreferences or repetitions above 1000")
    return None


def _subschemas(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema inside ``node`` (itself included), with where it sits (``properties.a``)."""
    if not isinstance(node, dict):
        return
    yield where, node
    for key in _SCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            for name, sub in node[key].items():
                yield from _subschemas(sub, f"{where}.{key}.{name}".lstrip("."))
    for key in _SCHEMA_ONE:
        if isinstance(node.get(key), dict):
            yield from _subschemas(node[key], f"{where}.{key}".lstrip("."))
    for key in _SCHEMA_LISTS:
        if isinstance(node.get(key), list):
            for i, sub in enumerate(node[key]):
                yield from _subschemas(sub, f"{where}.{key}.{i}".lstrip("."))


def _resolves(root: dict[str, Any], ref: str) -> bool:
    """Whether the local reference ``#/a/b`` names a schema inside ``root``."""
    node: Any = root
    for raw in ref[2:].split("/") if ref != "#" else []:
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return isinstance(node, dict | bool)


def form_problems(schema: dict[str, Any]) -> list[str]:
    """What makes a form unsafe to keep: references outside it or to nothing, keywords that
    could point elsewhere, patterns that cannot run in linear time. Each names the place."""
    problems = []
    for where, node in _subschemas(schema, ""):
        at = f" at {where}" if where else ""
        for key, refusal in _REFUSED.items():
            if key in node:
                shown = "" if key == "patternProperties" else f" {node[key]!r}"
                problems.append(f"form: {key}{shown}{at}: {refusal}")
        if "$schema" in node and (where or node["$schema"] not in _META_SCHEMAS):
            problems.append(f"form: $schema {node['$schema']!r}{at}: only a known JSON schema "
                            "draft, at the top")
        if "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
                problems.append(f"form: $ref {ref!r}{at} points outside the form: a form may "
                                "refer only to itself (#/...); nothing is ever fetched")
            elif not _resolves(schema, ref):
                problems.append(f"form: $ref {ref!r}{at} does not resolve inside the form")
        if "pattern" in node:
            why = _pattern_problem(node["pattern"])
            if why:
                problems.append(f"form: pattern {node['pattern']!r}{at} {why}")
    return problems


def check_schema(schema: dict[str, Any] | None) -> None:
    """Refuse a form that is not valid JSON schema or is not safe to keep (``form_problems``):
    BadInput naming each reference, keyword or pattern and where it sits."""
    if schema is None:
        return
    if not isinstance(schema, dict):
        raise BadInput(f"form: must be a JSON object, got {type(schema).__name__}")
    problems = form_problems(schema)  # first: they name the place
    if problems:
        raise BadInput("; ".join(problems))
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise BadInput(f"form: not a valid JSON schema: {exc.message}") from None


def _no_retrieval(uri: str) -> Any:
    """The registry's answer to any reference outside the form: it does not exist."""
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs field, not seen by mypy


#: Resolves references only inside the form being checked; retrieves nothing, ever.
_LOCAL_ONLY: Registry[Any] = Registry(retrieve=_no_retrieval)  # type: ignore[call-arg]


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    """``pattern`` on RE2: linear in the input, whatever the pattern."""
    if not validator.is_type(instance, "string"):
        return
    try:
        compiled = _compiled(pattern)
    except re2.error:
        yield ValidationError(f"the form's pattern {pattern!r} cannot be run safely")
        return
    if not compiled.search(instance):  # the rule in words; never the regex itself
        if pattern == EMAIL_SHAPE.pattern or schema.get("format") == "email":
            yield ValidationError(f"{instance!r} is not an e-mail address")
            return
        what = schema.get("title") or schema.get("description")
        yield ValidationError(f"{instance!r} does not match the expected form"
                              + (f" ({what})" if isinstance(what, str) and what else ""))


def _refuse_pattern_properties(validator: Any, value: Any, instance: Any,
                               schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "object"):
        yield ValidationError("the form uses patternProperties, which mktflow does not run")


_SafeValidator = extend(Draft202012Validator, {
    "pattern": _pattern, "patternProperties": _refuse_pattern_properties})


def _where(path: list[Any]) -> str:
    return ".".join(str(p) for p in path) or "(form)"


#: What a ``format`` asks for, in words.
_FORMATS = {"date": "a date (YYYY-MM-DD)", "date-time": "a date and time (ISO 8601)",
            "email": "an e-mail address", "time": "a time of day (HH:MM:SS)",
            "uri": "a URL", "uuid": "a UUID"}


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def _in_words(err: ValidationError) -> str:
    """A JSON-schema error in the words of people who write JSON: null, object and array,
    never Python's None, dictionary or list, nor a regex; limits as people say them (``is
    required``, ``must be at most 300 characters``: ``rule_in_words``), never ``'' is too
    short``."""
    value, rule = err.instance, err.validator
    if rule == "type":
        if value is None:
            return "is required (got null)"
        wanted = err.validator_value if isinstance(err.validator_value, list) \
            else [err.validator_value]
        return (f"must be {' or '.join(_article(str(w)) for w in wanted)}, "
                f"got {json_type(value)}")
    if rule == "format" and isinstance(value, str):
        return f"{value!r} is not {_FORMATS.get(str(err.validator_value), err.validator_value)}"
    worded = rule_in_words(str(rule), err.validator_value, value)
    if worded:
        return worded
    if rule == "additionalProperties" and isinstance(value, dict):
        known = set((err.schema or {}).get("properties") or {})
        extra = sorted(k for k in value if k not in known)
        return f"{', '.join(map(repr, extra)) or 'a field'}: not a field of this form"
    if value is None:
        return err.message.replace("None", "null", 1)
    return err.message


def validate_form(schema: dict[str, Any] | None, data: Any, *, ref: str) -> dict[str, Any]:
    """Check ``data`` against the form; refuse naming every field that breaks a rule."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FormInvalid(f"{ref}: the data must be a JSON object, got {type(data).__name__}")
    if schema is None:
        return data
    validator = _SafeValidator(schema, registry=_LOCAL_ONLY, format_checker=FormatChecker())
    try:
        errors = sorted(validator.iter_errors(data),
                        key=lambda e: list(map(str, e.absolute_path)))
    except Unresolvable as exc:  # a form stored before references were checked
        raise BadInput(phrase(
            "%(ref)s: the form refers to %(what)s outside itself; mktflow never fetches it: the "
            "step's form must be fixed", ref=ref, what=str(exc))) from None
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
            message = _in_words(err)
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
