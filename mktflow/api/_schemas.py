"""What only the API answers: its health, and the problem+json body of every error.

The views it answers (a work item, a handoff, a process, an inbox page, an audit trail, the
organisation) are the engine's own classes, defined once in ``mktflow.engine.views`` and used
as the endpoints' response models: ``/openapi.json`` describes exactly what the engine builds.
"""

from __future__ import annotations

import dataclasses
import threading
from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from mktflow.api._problems import PROBLEM_JSON
from mktflow.engine import views

__all__ = ["FieldError", "HealthPublic", "Problem", "problems", "view_schemas"]

_schemas_lock = threading.Lock()


def view_schemas() -> int:
    """Build each view's pydantic core schema once per process and keep it on the class
    (``__pydantic_core_schema__``, which pydantic reuses for a plain dataclass as it does for
    its models); returns how many views it holds. Without it every API instance rebuilds them
    all, as its routes are first matched (about 0.1 to 0.4 s of CPU per instance on this
    machine; a test process creates hundreds). Called as the API is created, before it serves,
    so no request thread builds them (``views.field_docs`` says why that matters)."""
    with _schemas_lock:
        held = 0
        for name in views.__all__:
            view = getattr(views, name)
            if isinstance(view, type) and dataclasses.is_dataclass(view):
                if "__pydantic_core_schema__" not in view.__dict__:
                    view.__pydantic_core_schema__ = (  # type: ignore[attr-defined]
                        TypeAdapter(view).core_schema)
                held += 1
        return held


class HealthPublic(BaseModel):
    """The API can use its database."""

    status: Literal["ok"]


class FieldError(BaseModel):
    """One broken field of a request or a form."""

    field: str
    rule: str
    message: str
    in_: str | None = Field(default=None, alias="in",
                            description="Where the field was: body, query, path, header.")


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, written for a person."""

    type: str = Field(description="urn:mktflow:problem:<kind>, or about:blank.")
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(
        default=None, description="The broken fields (invalid requests and forms).")


_WHY = {
    400: "The request is wrong.",
    401: "The bearer token is missing or wrong (when MKTFLOW_API_TOKEN is set).",
    403: "The actor may not do this to this item.",
    404: "No such item, department or member.",
    409: "The item's state does not allow this, or someone changed it first.",
    422: "The request or the submitted form data does not fit; errors names the fields.",
    503: "The database cannot be used.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each an ``application/problem+json``."""
    return {status: {"model": Problem,
                     "description": _WHY.get(status, HTTPStatus(status).phrase),
                     "content": {PROBLEM_JSON: {}}}
            for status in statuses}
