"""mktflow's exception tree, and malformed requests, as RFC 9457 problem+json responses.

Each ``MktflowError`` class carries its ``http_status``; its type URI and title come from the
class, its detail is the error's message (written for a person). ``FormInvalid`` and request
validation errors add ``errors``: one ``{"field", "rule", "message"}`` per broken field.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from mktflow.domain.errors import (
    ConfigError,
    FormInvalid,
    MktflowError,
    OutcomeUnknown,
    TooManyRequests,
    Unavailable,
)
from mktflow.domain.inputs import plain_error

__all__ = [
    "PROBLEM_JSON",
    "field_errors",
    "install_problem_handlers",
    "on_validation_error",
    "problem",
    "problem_of",
]

PROBLEM_JSON = "application/problem+json"
_PLACES = {"body", "query", "path", "header", "cookie"}
log = logging.getLogger("mktflow.api")


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem+json response; ``title`` defaults to the status phrase; ``extra`` adds
    extension members (RFC 9457 §3.2)."""
    body: dict[str, Any] = {"type": type_, "title": title or HTTPStatus(status).phrase,
                            "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def problem_of(exc: MktflowError) -> JSONResponse:
    """The problem response for one of mktflow's own errors.

    A ``ConfigError`` is the server's (a setting, its database): 503, and its message, which
    may name a file or a host, goes to the log only. ``Unavailable`` (and ``DatabaseTimeout``)
    and ``TooManyRequests`` add ``Retry-After``. ``OutcomeUnknown`` adds ``refs``: the items to
    look at before trying again.
    """
    cls = type(exc)
    title = (cls.__doc__ or cls.__name__).strip().splitlines()[0].rstrip(".")
    errors = exc.errors if isinstance(exc, FormInvalid) else None
    status, detail, headers = exc.http_status, str(exc), None
    if isinstance(exc, ConfigError):
        log.error("configuration error: %s", exc)
        status, detail = 503, "the server cannot use its database or settings; its log says why"
    if isinstance(exc, Unavailable | TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after_s)}
    if status == 401:  # RFC 9110: a 401 says how to authenticate.
        headers = {"WWW-Authenticate": "Bearer"}
    extra = {"refs": exc.refs} if isinstance(exc, OutcomeUnknown) else None
    return problem(status, detail, title=title, headers=headers,
                   type_=f"urn:mktflow:problem:{_slug(cls.__name__)}", errors=errors,
                   extra=extra)


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's error list in FormInvalid's shape; the submitted values are not echoed."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        # FastAPI says where first ("body", "header", ...); "in" keeps that, "field" the name.
        where, path = (loc[0], loc[1:]) if loc[:1] and loc[0] in _PLACES else ("body", loc)
        out.append({"field": ".".join(path) or "(body)", "in": where,
                    "rule": err.get("type", ""), "message": plain_error(err, echo=False)})
    return out


def _invalid_request(errors: list[dict[str, Any]]) -> JSONResponse:
    lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, f"the request does not fit the API: {lines}",
                   title="The request does not fit the API's schema",
                   type_="urn:mktflow:problem:request-invalid", errors=errors)


async def _on_mktflow_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MktflowError)
    return problem_of(exc)


async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _invalid_request(field_errors(exc.errors()))


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the server log only: it may name tables, paths or settings.
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "an unexpected error occurred; the server log has the details")


def install_problem_handlers(app: Any) -> None:
    """Answer every error the app raises with a problem+json body."""
    app.add_exception_handler(MktflowError, _on_mktflow_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
