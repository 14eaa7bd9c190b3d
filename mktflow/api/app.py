"""The FastAPI application: routers, the bearer-token guard, problem+json errors, /health.

Every endpoint runs an engine handler or query; the API never writes a table itself. Who acts
is the member named by ``X-Mktflow-Actor``: in production the company's SSO proxy sets it (and
the bearer token, when ``MKTFLOW_API_TOKEN`` is set), so the API trusts it only behind that proxy.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

import mktflow
from mktflow import bootstrap
from mktflow.api import _handoffs, _reads, _work
from mktflow.api._problems import PROBLEM_JSON, install_problem_handlers, problem
from mktflow.api._schemas import HealthPublic, problems
from mktflow.config import Settings, get_settings
from mktflow.domain.errors import MktflowError
from mktflow.engine import UnitOfWork, database

__all__ = ["check_database", "create_app"]

log = logging.getLogger("mktflow.api")

_DESCRIPTION = """Department inboxes and actions on work items and handoffs.

Send the acting member's e-mail in `X-Mktflow-Actor` (the SSO proxy does this in production).
Errors are RFC 9457 `application/problem+json` bodies.

Amounts of money (in `data`, process results and history entries) are JSON numbers with at
most two decimal places, exact to the cent (rounded half up): read them as decimals, e.g.
`2.68`, never as binary floats to add up."""


class _BearerToken:
    """Refuses every request except ``/health`` that lacks ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    def _carries_token(self, scope: Scope) -> bool:
        scheme, _, presented = Headers(scope=scope).get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        health = {"/health", scope.get("root_path", "") + "/health"}
        if scope["type"] != "http" or scope["path"] in health or self._carries_token(scope):
            await self.app(scope, receive, send)
            return
        # Neither the expected nor the presented token is ever echoed.
        response = problem(401, "this API needs the header Authorization: Bearer <token> "
                                "(MKTFLOW_API_TOKEN); it is missing or wrong",
                           headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)


def _problems_only(schema: dict[str, Any]) -> None:
    """Document every error answer as the problem+json body the app really sends."""
    for operation in (op for path in schema["paths"].values() for op in path.values()):
        for status, answer in operation.get("responses", {}).items():
            content = answer.get("content", {})
            if status[:1] in "45" and "application/json" in content:
                content.setdefault(PROBLEM_JSON, {})["schema"] = {
                    "$ref": "#/components/schemas/Problem"}
                del content["application/json"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(unused, None)


def _document(app: FastAPI, *, token: bool) -> None:
    """Errors as problem+json in the OpenAPI spec; with a token, that all but /health need it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            _problems_only(schema)
            if token:
                schema["components"]["securitySchemes"] = {
                    "bearerToken": {"type": "http", "scheme": "bearer",
                                    "description": "MKTFLOW_API_TOKEN"}}
                schema["security"] = [{"bearerToken": []}]
                schema["paths"]["/health"]["get"]["security"] = []
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operation_id(route: APIRoute) -> str:
    """``handoffs-accept``: a generated client names its functions ``handoffs_accept``."""
    return f"{route.tags[0]}-{route.name.rstrip('_')}" if route.tags else route.name


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
    install_problem_handlers(app)

    @app.get("/health", tags=["health"], response_model=HealthPublic,
             responses=problems(503))
    def health(request: Request) -> JSONResponse:
        """Whether the API can use its database (no token needed)."""
        try:
            check_database(request.app.state.wiring.uow())
        except MktflowError as exc:
            # The reason names the database; it goes to the log, not to anonymous callers.
            log.warning("health check failed: %s", exc)
            return problem(503, "the database cannot be used; the server log says why")
        return JSONResponse({"status": "ok"})

    for module in (_work, _handoffs, _reads):
        app.include_router(module.router)
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    if token:
        app.add_middleware(_BearerToken, token=token)
    _document(app, token=bool(token))
    return app
