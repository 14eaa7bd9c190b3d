"""The page a person sees after clicking the link in a notification: the item, its history,
and one plain form per action its state allows. Server-rendered, every value escaped, no
scripts and no external assets.

The forms post back to the item's own URL (form-encoded, with an ``action`` field); that runs
the same action as the JSON endpoint, then redirects back to the page (post/redirect/get).
Who acts is the ``X-Mktflow-Actor`` header when the SSO proxy sets it, else the form's field.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError

from mktflow.api._actions import HANDOFF_ACTIONS, WORK_ACTIONS, Action, canonical, run
from mktflow.api._deps import ACTOR_HEADER
from mktflow.api._problems import field_errors, problem
from mktflow.domain.errors import BadInput, FormInvalid, MktflowError
from mktflow.domain.inputs import load_json
from mktflow.domain.model import HANDOFF_RULES, WORK_RULES
from mktflow.engine import UnitOfWork, queries

__all__ = ["PAGE_RESPONSES", "form_post", "item_page"]

#: OpenAPI note for the endpoints that answer a browser with a page.
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "description": "The item's view; an HTML page when the Accept header prefers text/html.",
    "content": {"application/json": {}, "text/html": {"schema": {"type": "string"}}},
}}

_ACTIONS = {"work": WORK_ACTIONS, "handoff": HANDOFF_ACTIONS}
_RULES = {"work": WORK_RULES, "handoff": HANDOFF_RULES}
_FACTS = {
    "work": ["department", "branch", "assignee", "owner", "priority", "due",
             "follow_up", "escalation_level", "process", "form_name", "created_by",
             "created_at", "completed_by", "completed_at"],
    "handoff": ["handoff_kind", "from_department", "to_department", "branch", "due",
                "criteria", "deliverables", "reason", "return_count", "process", "offered_by",
                "signed_by", "created_at", "accepted_at", "delivered_at", "closed_at"],
}
_JSON_FIELDS = {"data"}  # typed as JSON in a textarea
_LINE_FIELDS = {"links"}  # one value per line
_LONG_FIELDS = {"text"} | _JSON_FIELDS | _LINE_FIELDS

_STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:56rem;margin:1.5rem auto;
padding:0 1rem;color:#222}table{border-collapse:collapse;width:100%}th,td{text-align:left;
padding:.2rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}th{width:12rem}
pre{background:#f5f5f5;padding:.5rem;overflow:auto;margin:0}.error{background:#fdecea;
border:1px solid #c62828;padding:.5rem 1rem}form{border:1px solid #ccc;padding:.5rem 1rem;
margin:.6rem 0}label{display:block;margin:.3rem 0}input,textarea{width:100%;
box-sizing:border-box;font:inherit}textarea{min-height:5rem;font-family:monospace}
.state{font-weight:bold;text-transform:uppercase}"""


def _e(value: Any) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return escape("" if value is None else str(value), quote=True)


def _document(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)} — mktflow</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>")


def _error_box(detail: str, errors: list[dict[str, Any]]) -> str:
    items = "".join(f"<li><b>{_e(e.get('field'))}</b>: {_e(e.get('message'))}</li>"
                    for e in errors)
    return (f'<div class="error" role="alert"><p>{_e(detail)}</p>'
            + (f"<ul>{items}</ul>" if items else "") + "</div>")


def _facts(kind: str, view: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k.replace('_', ' '))}</th><td>{_e(view.get(k))}</td></tr>"
                   for k in _FACTS[kind] if view.get(k) not in (None, "", []))
    text = view.get("description") or ""
    return (f"<table>{rows}</table>" + (f"<p>{_e(text)}</p>" if text else ""))


def _json_block(title: str, value: Any) -> str:
    if not value:
        return ""
    pretty = json.dumps(value, indent=2, ensure_ascii=False)
    return f"<details><summary>{_e(title)}</summary><pre>{_e(pretty)}</pre></details>"


def _field(name: str, model: type[BaseModel], values: dict[str, str], hint: str) -> str:
    info = model.model_fields[name]
    label = name.replace("_", " ") + (f" <small>{_e(info.description)}</small>"
                                      if info.description else "")
    required = " required" if info.is_required() else ""
    value = values.get(name, "")
    if name in _LONG_FIELDS:
        placeholder = hint if name in _JSON_FIELDS else "one per line" if name in _LINE_FIELDS \
            else ""
        return (f'<label>{label}<textarea name="{name}" placeholder="{_e(placeholder)}"'
                f"{required}>{_e(value)}</textarea></label>")
    kind = {"to": "email", "priority": "number"}.get(name, "text")
    placeholder = "2026-12-01T17:00+01:00" if name in ("due", "follow_up") else ""
    return (f'<label>{label}<input type="{kind}" name="{name}" value="{_e(value)}" '
            f'placeholder="{placeholder}"{required}></label>')


def _form(action: str, spec: Action, actor: str, fixed_actor: bool,
          values: dict[str, str], hint: str) -> str:
    body = spec.body
    fields = "".join(_field(n, body, values, hint) for n in body.model_fields) if body else ""
    who = (f"<p>acting as <b>{_e(actor)}</b></p>" if fixed_actor else
           f'<label>Your e-mail<input type="email" name="actor" value="{_e(actor)}" '
           f"required></label>")
    return (f'<form method="post"><input type="hidden" name="action" value="{_e(action)}">'
            f"{who}{fields}<button type=\"submit\">{_e(action)}</button></form>")


def _forms(kind: str, view: dict[str, Any], request: Request, values: dict[str, str]) -> str:
    header_actor = request.headers.get(ACTOR_HEADER)
    actor = header_actor or values.get("actor") or request.query_params.get("actor", "")
    properties = (view.get("form_schema") or {}).get("properties") or {}
    hint = json.dumps(dict.fromkeys(properties)) if properties else "{}"
    allowed = {r.action for r in _RULES[kind] if view["state"] in r.sources}
    # the complete form starts from the step's draft, the answer the Prefect UI shows too
    draft = {"data": json.dumps(view["draft"], indent=2, ensure_ascii=False)} \
        if view.get("draft") else {}
    forms = [_form(a, spec, actor, bool(header_actor),
                   values if values.get("action") == a else draft if a == "complete" else {},
                   hint)
             for a, spec in _ACTIONS[kind].items() if a in allowed]
    return "".join(forms) or "<p>Nothing more can be done with this item.</p>"


def _history(entries: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{_e(h['at'])}</td><td>{_e(h['actor'])}</td><td>{_e(h['action'])}</td>"
        f"<td>{_e(h['from_state'])} → {_e(h['to_state'])}</td><td>{_e(h['reason'])}</td>"
        f"<td>{_e(h['data'])}</td></tr>" for h in entries)
    return ("<table><tr><th>when</th><th>who</th><th>action</th><th>state</th><th>why</th>"
            f"<th>data</th></tr>{rows}</table>")


def item_page(
    request: Request, uow: UnitOfWork, kind: str, reference: str, *, status: int = 200,
    error: str = "", errors: list[dict[str, Any]] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """The item's page; after a refused form post, with the refusal and what was typed."""
    try:
        view = queries.show(uow, canonical(kind, reference))
        trail = queries.history(uow, view["ref"])
    except MktflowError as exc:
        body = f"<h1>{_e(reference)}</h1>{_error_box(str(exc), [])}"
        return HTMLResponse(_document(reference, body), status_code=exc.http_status)
    body = "".join([
        f"<h1>{_e(view['ref'])} · {_e(view['title'])}</h1>",
        _error_box(error, errors or []) if error else "",
        f'<p class="state">{_e(view["state"])}</p>',
        _facts(kind, view),
        _json_block("form", view.get("form_schema")),
        _json_block("draft", view.get("draft")),
        _json_block("data", view.get("data")),
        "<h2>Act</h2>", _forms(kind, view, request, values or {}),
        "<h2>History</h2>", _history(trail),
    ])
    return HTMLResponse(_document(f"{view['ref']} {view['title']}", body), status_code=status)


def _body_of(spec: Action, fields: dict[str, str]) -> BaseModel | None:
    """The action's request body from the form's text fields."""
    if spec.body is None:
        return None
    values: dict[str, Any] = {}
    for name in spec.body.model_fields:
        raw = fields.get(name, "").strip()
        if not raw:
            continue
        if name in _JSON_FIELDS:
            try:
                values[name] = load_json(raw, field=name)  # the one JSON rule of every door
            except BadInput as exc:
                raise FormInvalid(str(exc), [{"field": name, "rule": "json",
                                              "message": str(exc)}]) from None
        elif name in _LINE_FIELDS:
            values[name] = [line.strip() for line in raw.splitlines() if line.strip()]
        else:
            values[name] = raw
    return spec.body.model_validate(values)


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's fields (``application/x-www-form-urlencoded``); no multipart needed."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
            "application/x-www-form-urlencoded"):
        return {}
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace")))


def form_post(
    request: Request, uow: UnitOfWork, kind: str, reference: str, fields: dict[str, str],
) -> Response:
    """Run the form's action; back to the page on success, the page with the refusal if not."""
    # A browser marks a form posted from another site; refuse it, or any page on the web could
    # act with the signed-in person's SSO session.
    if request.headers.get("sec-fetch-site") == "cross-site":
        return problem(403, "forms may be posted only from mktflow's own pages")
    action = fields.get("action", "")
    actor = request.headers.get(ACTOR_HEADER) or fields.get("actor", "").strip()
    try:
        spec = _ACTIONS[kind].get(action)
        if spec is None:
            raise BadInput(f"action: unknown action {action!r}")
        if not actor:
            raise BadInput("actor: give the e-mail of the member acting")
        run(uow, kind, reference, action, actor, _body_of(spec, fields))
    except MktflowError as exc:
        return item_page(request, uow, kind, reference, status=exc.http_status,
                         error=str(exc), errors=getattr(exc, "errors", None), values=fields)
    except ValidationError as exc:
        errors = field_errors(exc.errors())
        return item_page(request, uow, kind, reference, status=422,
                         error="the form is not filled in correctly", errors=errors,
                         values=fields)
    return RedirectResponse("?" + urlencode({"actor": actor}), status_code=303)
