"""A step's JSON schema as form fields people fill in, and a posted form back as typed data.

Three pure steps, no web framework in them (so they are tested in milliseconds):

* ``raw_from_data(schema, data)``: the step's draft (JSON) as the strings the inputs show; a
  required list that needs rows (``minItems``) gets blank rows up to that number (at most 20);
* ``raw_from_post(schema, pairs)``: the posted inputs (``kpis.0.target=1200``, …) as the same
  nested strings; ``add_row`` / ``remove_row`` change the lists of rows in it;
* ``data_from_raw(schema, raw)``: typed JSON data (numbers, booleans, dates, choices, nested
  objects and lists of objects) and, per field, what could not be read (``{"kpis.0.target":
  "must be a number"}``);
* ``conditional_errors(schema, data, errors)``: the errors of a rule that holds only for some
  answers (a reason required to reject) worded as that rule, and none while the answer it
  depends on is not given;
* ``fields(schema, raw, errors)``: the tree of ``Field`` the templates render, each with what
  was typed and its error (the engine's ``FormInvalid`` errors name fields by the same dotted
  path, ``kpis.0.target``, so they land beside the input that caused them).

Input names are dotted paths (``budget_lines.2.amount``); list rows are numbered from 0 and
renumbered densely when read back. What the schema describes and this module cannot show as
fields (``oneOf`` between objects, free-form maps) is passed through unchanged, shown read-only.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mktflow.domain.words import joined

__all__ = [
    "Field",
    "add_row",
    "conditional_errors",
    "data_from_raw",
    "empty_row",
    "error_paths",
    "field_names",
    "fields",
    "raw_from_data",
    "raw_from_post",
    "remove_row",
    "texts_of",
    "translated",
]

Raw = Any  # str for a scalar input, dict[str, Raw] for an object, list[Raw] for a list

#: Input names the page itself uses; never part of the step's data.
_OWN = {"action", "csrf"}
_INDEX = re.compile(r"^(0|[1-9][0-9]{0,3})$")  # a row number; at most 10 000 rows
_PASS = "__json"  # the input that carries a part the form cannot edit, unchanged


@dataclass
class Field:
    """One input (or group of inputs) of a form, as a template renders it.

    ``kind``: ``text``, ``textarea``, ``number``, ``integer``, ``date``, ``datetime``,
    ``email``, ``choice``, ``boolean``, ``object``, ``list`` or ``fixed`` (shown, not edited).
    ``value`` is what the input shows (a string); ``children`` the fields of an object,
    ``rows`` the rows of a list (each an object ``Field`` or a scalar one).
    """

    name: str
    label: str
    kind: str
    required: bool = False
    description: str = ""
    value: str = ""
    error: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    rows: list[Field] = field(default_factory=list)
    item_label: str = ""  # a list's word for one row ("KPI", "Budget line")
    attrs: dict[str, str] = field(default_factory=dict)  # min, max, step, minlength, …

    @property
    def id(self) -> str:
        """The HTML id of the input (``f-kpis-0-target``)."""
        return "f-" + (self.name.replace(".", "-") or "form")


# --- reading the schema --------------------------------------------------------------------


def _resolve(node: Any, root: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """``node`` with local ``$ref``, ``allOf`` of one and ``anyOf [X, null]`` unwrapped; a
    nullable node gets ``"nullable": True``."""
    if not isinstance(node, dict) or depth > 20:
        return {}
    if "$ref" in node and isinstance(node["$ref"], str) and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) \
                if isinstance(target, dict) else {}
        merged = {**_resolve(target, root, depth + 1),
                  **{k: v for k, v in node.items() if k != "$ref"}}
        return merged
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if isinstance(options, list):
            real = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            if len(real) == 1:
                inner = _resolve(real[0], root, depth + 1)
                rest = {k: v for k, v in node.items() if k != key}
                return {**inner, **rest, "nullable": len(real) < len(options)
                        or inner.get("nullable", False)}
    if isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
        rest = {k: v for k, v in node.items() if k != "allOf"}
        return {**_resolve(node["allOf"][0], root, depth + 1), **rest}
    kind = node.get("type")
    if isinstance(kind, list):
        real = [k for k in kind if k != "null"]
        if len(real) == 1:
            return {**node, "type": real[0], "nullable": "null" in kind}
    return node


def _kind(node: dict[str, Any]) -> str:
    """What input a resolved schema node becomes."""
    if "enum" in node or "const" in node:
        return "choice"
    kind = node.get("type")
    if kind == "object" or (kind is None and "properties" in node):
        return "object" if isinstance(node.get("properties"), dict) and not (
            node.get("additionalProperties") not in (None, False)) else "fixed"
    if kind == "array":
        items = node.get("items")
        return "list" if isinstance(items, dict) else "fixed"
    if kind in ("number", "integer", "boolean"):
        return str(kind)
    if kind == "string":
        fmt = node.get("format")
        if fmt in ("date", "date-time", "email"):
            return {"date-time": "datetime"}.get(fmt, fmt)
        return "textarea" if _long(node) else "text"
    return "fixed"


def _long(node: dict[str, Any]) -> bool:
    words = " ".join(str(node.get(k, "")) for k in ("title", "description")).lower()
    return any(w in words for w in ("lessons", "explanation", "comment", "note", "message",
                                    "results", "reason", "why", "description", "adjustments",
                                    "positioning", "market need", "concept"))


def _label(name: str, node: dict[str, Any]) -> str:
    title = node.get("title")
    if isinstance(title, str) and title.strip():
        text = title.strip()
        # pydantic titles every field ("Budget Lines"): read as a sentence ("Budget lines")
        text = text[:1] + text[1:].lower() if text.istitle() else text
    else:
        words = name.replace("_", " ").replace("-", " ").strip()
        text = (words[:1].upper() + words[1:]) if words else name
    return re.sub(r"\b[Kk]pi(s?)\b", r"KPI\1", text)


def _choices(node: dict[str, Any]) -> list[Any]:
    return list(node["enum"]) if "enum" in node else [node.get("const")]


def _choice_label(value: Any) -> str:
    text = "" if value is None else str(value).replace("_", " ").replace("-", " ")
    return text[:1].upper() + text[1:]


# --- data -> strings -------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def raw_from_data(schema: dict[str, Any] | None, data: Any) -> dict[str, Raw]:
    """The draft (or any data fitting the form) as the strings its inputs show."""
    root = schema or {}
    value = _raw_of(root, root, data if isinstance(data, dict) else {})
    return value if isinstance(value, dict) else {}


def _raw_of(node: dict[str, Any], root: dict[str, Any], value: Any,
            required: bool = True) -> Raw:
    node = _resolve(node, root)
    kind = _kind(node)
    if kind == "object":
        given = value if isinstance(value, dict) else {}
        props, needed = node["properties"], set(node.get("required", []))
        return {k: _raw_of(props[k], root, given.get(k, props[k].get("default")
                                                    if isinstance(props[k], dict) else None),
                           k in needed)
                for k in props}
    if kind == "list":
        rows = value if isinstance(value, list) else []
        least = node.get("minItems")
        # a list that needs rows (minItems) starts with them: nothing to "Add" before typing
        missing = max(least - len(rows), 0) if isinstance(least, int) and required \
            and not node.get("nullable") else 0
        return [_raw_of(node["items"], root, row) for row in [*rows, *[None] * min(missing, 20)]]
    if kind == "fixed":
        return {_PASS: json.dumps(value, ensure_ascii=False)} if value is not None else {}
    if kind == "boolean":
        return "true" if value is True else "false" if value is False else ""
    return _text(value)


def empty_row(schema: dict[str, Any] | None, list_node: dict[str, Any]) -> Raw:
    """A new row of a list: the item's defaults, else blank inputs."""
    root = schema or {}
    return _raw_of(_resolve(list_node, root).get("items", {}), root, None)


# --- posted pairs -> strings -------------------------------------------------------------------


def raw_from_post(schema: dict[str, Any] | None, pairs: Iterable[tuple[str, str]]
                  ) -> dict[str, Raw]:
    """The posted inputs as nested strings shaped by the schema; rows renumbered from 0.

    A name the schema does not have is ignored; when a name comes twice (a checkbox after its
    hidden ``false``), the last value counts.
    """
    flat: dict[tuple[str, ...], str] = {}
    for name, value in pairs:
        if name in _OWN or name.startswith("_"):
            continue
        flat[tuple(name.split("."))] = value
    root = schema or {}
    value = _collect(root, root, (), flat)
    return value if isinstance(value, dict) else {}


def _collect(node: dict[str, Any], root: dict[str, Any], prefix: tuple[str, ...],
             flat: dict[tuple[str, ...], str]) -> Raw:
    node = _resolve(node, root)
    kind = _kind(node)
    if kind == "object":
        return {k: _collect(v, root, (*prefix, k), flat)
                for k, v in node["properties"].items()}
    if kind == "list":
        depth = len(prefix)
        indices = sorted({int(key[depth]) for key in flat
                          if len(key) > depth and key[:depth] == prefix
                          and _INDEX.match(key[depth])})
        return [_collect(node["items"], root, (*prefix, str(i)), flat) for i in indices]
    if kind == "fixed":
        kept = flat.get((*prefix, _PASS))
        return {_PASS: kept} if kept is not None else {}
    return flat.get(prefix, "")


def _at(raw: Raw, path: list[str]) -> Raw:
    for part in path:
        if isinstance(raw, dict):
            raw = raw.get(part)
        elif isinstance(raw, list) and part.isdigit() and int(part) < len(raw):
            raw = raw[int(part)]
        else:
            return None
    return raw


def _node_at(schema: dict[str, Any], path: list[str]) -> dict[str, Any] | None:
    node = _resolve(schema, schema)
    for part in path:
        kind = _kind(node)
        if kind == "object" and part in node["properties"]:
            node = _resolve(node["properties"][part], schema)
        elif kind == "list" and part.isdigit():
            node = _resolve(node["items"], schema)
        else:
            return None
    return node


def add_row(schema: dict[str, Any] | None, raw: dict[str, Raw], name: str) -> str | None:
    """Append a blank row to the list ``name`` (``budget_lines``); the new row's name
    (``budget_lines.3``), or None when ``name`` is not a list of the form."""
    root = schema or {}
    path = name.split(".") if name else []
    node = _node_at(root, path)
    rows = _at(raw, path)
    if node is None or _kind(node) != "list" or not isinstance(rows, list):
        return None
    rows.append(empty_row(root, node))
    return f"{name}.{len(rows) - 1}"


def remove_row(raw: dict[str, Raw], name: str) -> str | None:
    """Remove the row ``name`` (``kpis.2``); the list's name, or None when there is no such
    row."""
    *path, last = name.split(".") if name else [""]
    rows = _at(raw, path)
    if not isinstance(rows, list) or not last.isdigit() or int(last) >= len(rows):
        return None
    del rows[int(last)]
    return ".".join(path)


# --- strings -> typed data -----------------------------------------------------------------------


def data_from_raw(schema: dict[str, Any] | None, raw: dict[str, Raw]
                  ) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed data from the inputs, and per dotted field name what could not be read.

    Blank inputs: a text stays ``""``; a nullable field becomes ``null``; a blank number, date
    or choice is left out (and, when the form requires it, reported ``is required``); blank
    rows of a list of texts are dropped. Numbers must be finite.
    """
    root = schema or {}
    errors: dict[str, str] = {}
    node = _resolve(root, root)
    if _kind(node) != "object":
        return {}, errors
    value = _typed(node, root, raw, "", True, errors)
    return (value if isinstance(value, dict) else {}), errors


_MISSING = object()


def _typed(node: dict[str, Any], root: dict[str, Any], raw: Raw, name: str, required: bool,
           errors: dict[str, str]) -> Any:
    node = _resolve(node, root)
    kind = _kind(node)
    if kind == "object":
        given = raw if isinstance(raw, dict) else {}
        needed = set(node.get("required", []))
        out: dict[str, Any] = {}
        for key, child in node["properties"].items():
            value = _typed(child, root, given.get(key, ""), _join(name, key), key in needed,
                           errors)
            if value is not _MISSING:
                out[key] = value
        return out
    if kind == "list":
        rows = raw if isinstance(raw, list) else []
        item = _resolve(node["items"], root)
        scalar = _kind(item) not in ("object", "list", "fixed")
        values = []
        for i, row in enumerate(rows):
            if scalar and isinstance(row, str) and not row.strip():
                continue  # a blank row of a list of texts is no entry
            value = _typed(item, root, row, _join(name, str(i)), True, errors)
            if value is not _MISSING:
                values.append(value)
        return values
    if kind == "fixed":
        kept = raw.get(_PASS) if isinstance(raw, dict) else None
        if kept is None:
            return _MISSING
        try:
            return json.loads(kept)
        except ValueError:
            errors[name] = "could not be kept as it was; reload the page"
            return _MISSING
    text = raw if isinstance(raw, str) else ""
    return _scalar(node, kind, text, name, required, errors)


def _scalar(node: dict[str, Any], kind: str, text: str, name: str, required: bool,
            errors: dict[str, str]) -> Any:
    nullable = bool(node.get("nullable"))
    if kind == "boolean":
        if text == "" and nullable:
            return None
        return text.lower() in ("true", "on", "yes", "1")
    stripped = text.strip()
    if stripped == "" and kind in ("text", "textarea"):
        return None if nullable else ""
    if stripped == "":
        if nullable:
            return None
        if required:
            errors[name] = "is required" if kind != "choice" else "is required (choose one)"
        return _MISSING
    if kind in ("number", "integer"):
        try:
            number = float(stripped.replace(",", "")) if kind == "number" else int(stripped)
        except ValueError:
            errors[name] = "must be a whole number" if kind == "integer" else "must be a number"
            return _MISSING
        if not math.isfinite(number):
            errors[name] = "must be a finite number"
            return _MISSING
        if isinstance(number, float) and number.is_integer() and "." not in stripped \
                and "e" not in stripped.lower():
            return int(number)  # "1200" reads as 1200, as typed
        return number
    if kind == "choice":
        for option in _choices(node):
            if _text(option) == stripped:
                return option
        errors[name] = "is not one of the choices"
        return _MISSING
    return text if kind in ("text", "textarea") else stripped


def _join(name: str, key: str) -> str:
    return f"{name}.{key}" if name else key


# --- strings + errors -> fields to render -------------------------------------------------


def fields(schema: dict[str, Any] | None, raw: dict[str, Raw],
           errors: dict[str, str] | None = None) -> list[Field]:
    """The top-level fields of the form, each carrying what was typed and its error."""
    root = schema or {}
    node = _resolve(root, root)
    if _kind(node) != "object":
        return []
    top = _field(node, root, "", "", raw, True, errors or {})
    return top.children


def _attrs(node: dict[str, Any], kind: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if kind in ("number", "integer"):
        attrs["step"] = "1" if kind == "integer" else "any"
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if isinstance(node.get(key), int | float):
                attrs[attr] = _text(node[key])
        attrs["inputmode"] = "numeric" if kind == "integer" else "decimal"
    if kind in ("text", "textarea", "email"):
        for key, attr in (("minLength", "minlength"), ("maxLength", "maxlength")):
            if isinstance(node.get(key), int):
                attrs[attr] = str(node[key])
    return attrs


def _field(node: dict[str, Any], root: dict[str, Any], key: str, name: str, raw: Raw,
           required: bool, errors: dict[str, str]) -> Field:
    node = _resolve(node, root)
    kind = _kind(node)
    description = node.get("description") if isinstance(node.get("description"), str) else ""
    out = Field(name=name, label=_label(key, node), kind=kind, required=required,
                description=description or "", error=errors.get(name, ""),
                attrs=_attrs(node, kind))
    if kind == "object":
        given = raw if isinstance(raw, dict) else {}
        needed = set(node.get("required", []))
        out.children = [_field(child, root, k, _join(name, k), given.get(k, ""), k in needed,
                               errors) for k, child in node["properties"].items()]
    elif kind == "list":
        item = _resolve(node["items"], root)
        out.item_label = _singular(out.label)  # a row reads as its list's word: "KPI 2"
        rows = raw if isinstance(raw, list) else []
        out.rows = [_field(item, root, "", _join(name, str(i)), row, True, errors)
                    for i, row in enumerate(rows)]
        for i, row_field in enumerate(out.rows):
            row_field.label = f"{out.item_label} {i + 1}"
    elif kind == "fixed":
        kept = raw.get(_PASS, "") if isinstance(raw, dict) else ""
        out.value = kept
    elif kind == "choice":
        options = _choices(node)
        out.choices = [(_text(o), _choice_label(o)) for o in options]
        out.value = raw if isinstance(raw, str) else ""
    else:
        out.value = raw if isinstance(raw, str) else ""
    return out


def translated(tree: list[Field], gettext: Callable[[str], str]) -> list[Field]:
    """``tree`` with its labels, hints and choices in a language (``gettext``: the page's
    catalogue; a text it lacks stays as the form names it); what was typed is kept as typed.
    Changes the fields in place and returns them."""
    for f in tree:
        f.label, f.description = gettext(f.label), gettext(f.description) if f.description \
            else ""
        f.choices = [(value, gettext(label)) for value, label in f.choices]
        translated(f.children, gettext)
        if f.kind == "list":
            f.item_label = gettext(f.item_label)
            translated(f.rows, gettext)
            for i, row in enumerate(f.rows):
                row.label = f"{f.item_label} {i + 1}"
    return tree


def texts_of(schema: dict[str, Any] | None) -> list[str]:
    """Every text a form shows of its own (labels, a list's row word, hints, choices), in the
    order it shows them: what a catalogue must translate for the form to read in a language."""
    root = schema or {}
    found: list[str] = []

    def walk(node: dict[str, Any], key: str, depth: int) -> None:
        node = _resolve(node, root)
        kind = _kind(node)
        if key:
            found.append(_label(key, node))
        if isinstance(node.get("description"), str) and node["description"].strip():
            found.append(node["description"])
        if depth > 20:
            return
        if kind == "object":
            for k, child in node.get("properties", {}).items():
                walk(child, k, depth + 1)
        elif kind == "list":
            if key:
                found.append(_singular(_label(key, node)))
            walk(node["items"], "", depth + 1)
        elif kind == "choice":
            found.extend(_choice_label(o) for o in _choices(node))

    walk(root, "", 0)
    return [t for t in dict.fromkeys(found) if t]


def _singular(label: str) -> str:
    words = label.split(" ")
    last = words[-1]
    if last.lower().endswith("ies"):
        last = last[:-3] + "y"
    elif last.lower().endswith("s") and not last.lower().endswith("ss"):
        last = last[:-1]
    return " ".join([*words[:-1], last])


def error_paths(errors: Iterable[dict[str, Any]]) -> dict[str, str]:
    """The engine's ``FormInvalid.errors`` (``[{field, message}]``) as ``{field: message}``."""
    found: dict[str, str] = {}
    for err in errors:
        where = str(err.get("field") or "")
        said = err.get("message") or err.get("rule") or "is not valid"
        message = said if isinstance(said, str) else str(said)  # a Phrase stays one
        found[where] = joined([found[where], message]) if where in found else message
    return found


def field_names(items: Iterable[Field]) -> set[str]:
    """Every name in a tree of fields (to tell which errors have an input to sit beside)."""
    names: set[str] = set()
    for f in items:
        names.add(f.name)
        names |= field_names(f.children)
        names |= field_names(f.rows)
    return names


def _conditions(root: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The form's top-level ``if``/``then`` rules (on the form itself or in its ``allOf``)."""
    found = [root, *[r for r in root.get("allOf", []) if isinstance(r, dict)]]
    return [(r["if"], r["then"]) for r in found
            if isinstance(r.get("if"), dict) and isinstance(r.get("then"), dict)]


def _holds(condition: dict[str, Any], data: dict[str, Any]) -> bool:
    for name, node in (condition.get("properties") or {}).items():
        value = data.get(name)
        if isinstance(node, dict) and (("enum" in node and value not in node["enum"])
                                       or ("const" in node and value != node["const"])):
            return False
    return True


def _too_short(message: str) -> bool:
    return message.startswith("must be at least ") and " character" in message


def conditional_errors(schema: dict[str, Any] | None, data: dict[str, Any],
                       errors: dict[str, str]) -> dict[str, str]:
    """``errors`` with those of a rule that holds only for some answers (JSON Schema
    ``if``/``then`` at the form's top, e.g. a reason of at least 3 characters to reject)
    worded as that rule: ``is required when Decision is Reject``. While an answer the rule
    depends on is not given, its errors are left out: that answer's own error says what is
    missing. Only "is required" and "must be at least N characters" errors are reworded or
    left out."""
    root = schema or {}
    props = _resolve(root, root).get("properties") or {}
    out = dict(errors)
    for condition, then in _conditions(root):
        on = [n for n in (condition.get("properties") or {}) if n in props]
        given, listed = then.get("properties"), then.get("required")
        rules: dict[str, Any] = given if isinstance(given, dict) else {}
        needed: list[str] = listed if isinstance(listed, list) else []
        for name in {*needed, *rules}:
            message = out.get(name, "")
            if not (message == "is required" or _too_short(message)):
                continue
            if any(data.get(n) in (None, "") for n in on):
                del out[name]
                continue
            if not _holds(condition, data):
                continue
            when = " and ".join(f"{_label(n, _resolve(props[n], root))} is "
                                f"{_choice_label(data.get(n))}" for n in on)
            rule = rules.get(name)
            least = rule.get("minLength") if isinstance(rule, dict) else None
            blank = not str(data.get(name) or "").strip()
            out[name] = (f"is required when {when}" if blank or not isinstance(least, int)
                         else f"needs at least {least} characters when {when}")
    return out
