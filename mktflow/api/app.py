"""The FastAPI application: routers, who is acting, problem+json errors, /health.

Every endpoint runs an engine handler or query; the API never writes a table itself. Who acts
is proven by a member token (``Authorization: Bearer mkt_…``) or, only in SSO-proxy mode
(``MKTFLOW_TRUST_PROXY_HEADER=true``), named by the proxy in ``X-Mktflow-Actor`` next to the
shared ``MKTFLOW_API_TOKEN`` (``mktflow.api._deps``). ``check_exposure`` refuses to listen
beyond 127.0.0.1 in proxy mode without that token.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

import mktflow
from mktflow import bootstrap, web
from mktflow.api import (
    _calendar,
    _complaints,
    _dashboards,
    _digest,
    _forecast,
    _handoffs,
    _leads,
    _meetings,
    _reads,
    _reports,
    _training,
    _views,
    _work,
)
from mktflow.api._deps import ACTOR_HEADER, single_query_values, wants_html
from mktflow.api._idempotency import IdempotencyKeys
from mktflow.api._idempotency import document as document_idempotency
from mktflow.api._limits import RequestLimits
from mktflow.api._notes import Notes
from mktflow.api._problems import PROBLEM_JSON, install_problem_handlers, problem, problem_of
from mktflow.api._schemas import HealthPublic, problems, view_schemas
from mktflow.config import Settings, get_settings
from mktflow.domain.errors import ConfigError, DatabaseTimeout, MktflowError
from mktflow.engine import UnitOfWork, database
from mktflow.engine.credentials import TOKEN_PREFIX

__all__ = ["check_database", "check_exposure", "create_app"]

log = logging.getLogger("mktflow.api")

_DESCRIPTION = """Department inboxes and actions on work items and handoffs.

Every request but `/health` proves who is acting with `Authorization: Bearer <member token>`
(an operator makes one: `mktflow token create --member EMAIL`); no header changes who that is.
Behind the company's SSO proxy (`MKTFLOW_TRUST_PROXY_HEADER=true`) the proxy sends the shared
`MKTFLOW_API_TOKEN` and names the member in `X-Mktflow-Actor` instead.
Errors are RFC 9457 `application/problem+json` bodies.

Every POST takes an optional `Idempotency-Key` header (IETF draft "The Idempotency-Key HTTP
Header Field"): a retry with the same key and the same body gets the first answer (with
`Idempotent-Replayed: true`), never a second change; keys are kept 24 hours by default
(`MKTFLOW_IDEMPOTENCY_KEY_HOURS`). A change whose database answer was lost and could not be
checked is answered 503 with problem type `outcome-unknown` and the items to look at (`refs`).

Amounts of money (in `data`, process results and history entries) are JSON numbers with at
most two decimal places, exact to the cent (rounded half up): read them as decimals, e.g.
`2.68`, never as binary floats to add up."""


class _BearerToken:
    """SSO-proxy mode with a shared token: refuses every request except ``/health`` that lacks
    ``Authorization: Bearer <token>`` (the shared token, or a member token, which the routes
    check)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    def _carries_token(self, scope: Scope) -> bool:
        scheme, _, presented = Headers(scope=scope).get("authorization", "").partition(" ")
        presented = presented.strip()
        return scheme.lower() == "bearer" and (presented.startswith(TOKEN_PREFIX) or
                                               hmac.compare_digest(presented.encode(),
                                                                   self._token))

    @staticmethod
    def _page(scope: Scope) -> bool:
        """The departments' pages sign people in by session, not by this token."""
        headers = Headers(scope=scope)
        return web.is_page_request(scope["method"], scope["path"], headers.get("accept"),
                                   headers.get("content-type"),
                                   wants_html(headers.get("accept")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        health = {"/health", scope.get("root_path", "") + "/health"}
        if scope["type"] != "http" or scope["path"] in health or self._carries_token(scope) \
                or self._page(scope):
            await self.app(scope, receive, send)
            return
        # Neither the expected nor the presented token is ever echoed.
        response = problem(401, "this API needs the header Authorization: Bearer <token> "
                                "(MKTFLOW_API_TOKEN); it is missing or wrong",
                           headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)


#: What any operation may answer besides its own errors (request gate, busy database).
_EVERY_OPERATION = {"503": "The database is busy, did not answer in time (Retry-After) or is "
                           "unusable, and nothing was done; or (problem type outcome-unknown) "
                           "a change's answer was lost and could not be checked."}
_WITH_BODY = {"413": "The request body is larger than MKTFLOW_API_MAX_BODY_BYTES.",
              "422": "The body is not JSON mktflow accepts, or breaks a rule."}
_WITH_QUERY = {"422": "A query parameter holds a character mktflow does not accept."}


def _problems_only(schema: dict[str, Any]) -> None:
    """Document every error answer as the problem+json body the app really sends."""
    problem_body = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operation in (op for path in schema["paths"].values() for op in path.values()):
        in_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
        extra = (_EVERY_OPERATION | (_WITH_QUERY if in_query else {})
                 | (_WITH_BODY if "requestBody" in operation else {}))
        for status, description in extra.items():
            operation.setdefault("responses", {}).setdefault(
                status, {"description": description, "content": dict(problem_body)})
        for status, answer in operation.get("responses", {}).items():
            content = answer.get("content", {})
            if status[:1] in "45" and "application/json" in content:
                content.setdefault(PROBLEM_JSON, {})["schema"] = {
                    "$ref": "#/components/schemas/Problem"}
                del content["application/json"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(unused, None)


def _document(app: FastAPI, *, proxy: bool) -> None:
    """Errors as problem+json in the OpenAPI spec; every path but /health needs a member token
    (in SSO-proxy mode, or the proxy's token and header)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            _problems_only(schema)
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schema["security"] = [{"memberToken": []}]
            if proxy:
                schemes["proxyActor"] = {
                    "type": "apiKey", "in": "header", "name": ACTOR_HEADER,
                    "description": "SSO-proxy mode: the member the proxy signed in, with "
                                   "MKTFLOW_API_TOKEN as the bearer token"}
                schema["security"].append({"memberToken": [], "proxyActor": []})
            schema["paths"]["/health"]["get"]["security"] = []
            document_idempotency(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operation_id(route: APIRoute) -> str:
    """``handoffs-accept``: a generated client names its functions ``handoffs_accept``."""
    return f"{route.tags[0]}-{route.name.rstrip('_')}" if route.tags else route.name


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse (ConfigError) to listen on ``host`` beyond the loopback in SSO-proxy mode
    without ``MKTFLOW_API_TOKEN``: anyone reaching the port could name any member."""
    if settings.trust_proxy_header and settings.api_token is None and not _is_loopback(host):
        raise ConfigError(
            f"MKTFLOW_TRUST_PROXY_HEADER=true trusts {ACTOR_HEADER}, and without "
            f"MKTFLOW_API_TOKEN anyone reaching {host} could act as any member: set "
            "MKTFLOW_API_TOKEN (the SSO proxy sends it), or listen on 127.0.0.1, or turn proxy "
            "mode off (members then use their own tokens)")


def check_database(uow: UnitOfWork | None = None) -> None:
    """Raise ConfigError unless the database answers and holds mktflow's tables (default: the
    process's wiring)."""
    database.check_ready(uow if uow is not None else bootstrap.uow())


def create_app(engine: Engine | None = None, *, settings: Settings | None = None) -> FastAPI:
    """The mktflow REST API on ``engine`` (default: the process's wiring, ``mktflow.bootstrap``)."""
    app = FastAPI(title="mktflow", version=mktflow.__version__, description=_DESCRIPTION,
                  generate_unique_id_function=_operation_id)
    settings = settings or get_settings()
    # A caller's engine (a test's, a host's) replaces only the database of the wiring.
    app.state.wiring = bootstrap.wiring() if engine is None else bootstrap.Wiring(
        settings=get_settings(), database=engine)
    app.state.settings = settings  # who-is-acting reads it (mktflow.api._deps)
    view_schemas()  # the views' schemas, built once per process before any request thread
    install_problem_handlers(app)
    _calendar.install(app)  # a browser's calendar page with a bad month: the page says why

    @app.get("/health", tags=["health"], response_model=HealthPublic,
             responses=problems(503))
    def health(request: Request) -> JSONResponse:
        """Whether the API can use its database (no token needed). A database that does not
        answer is answered within about twice MKTFLOW_DB_CONNECT_TIMEOUT_S."""
        try:
            check_database(request.app.state.wiring.uow())
        except DatabaseTimeout as exc:  # names the deadline and its setting, never the host
            log.warning("health check failed: %s", exc)
            return problem_of(exc)
        except MktflowError as exc:
            # The reason names the database; it goes to the log, not to anonymous callers.
            log.warning("health check failed: %s", exc)
            return problem(503, "the database cannot be used; the server log says why")
        return JSONResponse({"status": "ok"})

    for module in (_work, _handoffs, _leads, _complaints, _reports, _meetings, _views,
                   _calendar, _dashboards, _digest, _forecast, _reads, _training):
        app.include_router(module.router, dependencies=[Depends(single_query_values)])
    app.add_middleware(IdempotencyKeys)  # inside RequestLimits: bodies within the limit
    app.add_middleware(RequestLimits, max_bytes=settings.api_max_body_bytes)
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    if token and settings.trust_proxy_header:
        app.add_middleware(_BearerToken, token=token)
    elif token:
        log.warning("MKTFLOW_API_TOKEN is set but MKTFLOW_TRUST_PROXY_HEADER is not: the shared "
                    "token proves nobody; every request needs a member token")
    web.install(app, settings)  # the departments' pages; its security headers wrap everything
    app.add_middleware(Notes)
    _document(app, proxy=settings.trust_proxy_header)
    return app
