"""The departments' pages (a tasklist in the browser), served by the REST API's app.

``install(app, settings)`` adds them to a FastAPI app: the routes of ``pages`` (sign-in,
"My work", a department's queue, handoffs, a head's load, the forms of each item's page),
the static files (``/static/mktflow.css``; no script, no CDN) and ``SecurityHeaders`` (frame
and content-security headers on every answer, cross-site state changes refused). The API's
``GET /work/{id}``, ``GET /handoffs/{id}``, ``GET /inbox/{department}``, ``GET /leads[/L-n]`` and
``GET /calendar``, ``GET /reports``, ``GET /meetings[/M-n]`` and ``GET /complaints[/C-n]``
answer a browser (``Accept: text/html``) with ``item_page`` / ``inbox_page`` / ``leads_page`` /
``lead_page`` / ``calendar_page`` / ``reports_page`` / ``meetings_page`` / ``meeting_page`` /
``complaints_page`` / ``complaint_page``, and
``GET /processes/{ref}`` with ``process_page``, ``GET /dashboards/campaigns/{code}`` and
``/dashboards/periods/{period}`` with ``campaign_dashboard_page`` / ``period_dashboard_page``.
A calendar feed (``/calendar/<secret>.ics``) proves itself by its secret, so it passes as the
pages do.

    schema → fields, posted form → typed data ........ mktflow.web.forms
    session cookie (HttpOnly, SameSite=Lax) .......... mktflow.web.session
      naming a session row the server checks ......... mktflow.engine.web_sessions
    origin + CSRF checks, security headers ........... mktflow.web._guard
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from mktflow.config import Settings
from mktflow.web._guard import SecurityHeaders
from mktflow.web.pages import (
    WebState,
    calendar_page,
    campaign_dashboard_page,
    complaint_page,
    complaints_page,
    inbox_page,
    item_page,
    lead_page,
    leads_page,
    meeting_page,
    meetings_page,
    period_dashboard_page,
    process_page,
    reports_page,
    router,
    work_balance_page,
)

__all__ = ["PAGE_RESPONSES", "calendar_page", "campaign_dashboard_page", "complaint_page",
           "complaints_page", "inbox_page", "install", "is_page_request", "item_page",
           "lead_page", "leads_page", "meeting_page", "meetings_page", "period_dashboard_page",
           "process_page", "reports_page", "work_balance_page"]

STATIC = Path(__file__).resolve().parent / "static"

#: OpenAPI note for the API endpoints that answer a browser with a page.
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "description": "JSON; a page of the departments' tasklist when the Accept header prefers "
                   "text/html (a browser following a notification's link).",
    "content": {"application/json": {}, "text/html": {"schema": {"type": "string"}}},
}}

_PAGE_PATHS = re.compile(r"^/(|my-work|my-work/digest|my-reports|training|department|sign-out"
                         r"|sign-in(/[^/]+)?|static/.*|complaints/new|leads/new"
                         r"|inbox/[^/]+/(handoffs|load|views|bulk)|calendar/[^/]+\.ics)$")
_ITEM_PATHS = re.compile(r"^/((work|handoffs|complaints|leads)/[^/]+|calendar)$")
_HTML_GETS = re.compile(r"^/((work|handoffs|inbox|processes|complaints|meetings|leads)/[^/]+"
                        r"|leads"
                        r"|complaints|meetings|calendar|reports|forecast"
                        r"|dashboards/(campaigns|periods|balance)/[^/]+)$")


def is_page_request(method: str, path: str, accept: str | None, content_type: str | None,
                    wants_html: bool) -> bool:
    """Whether a request is for the pages, which sign people in themselves (by session) rather
    than by the API's bearer token: the pages' own paths, a browser's GET of an item or queue,
    and an item page's form post."""
    if _PAGE_PATHS.match(path):
        return True
    if method == "GET" and wants_html and _HTML_GETS.match(path):
        return True
    form = (content_type or "").split(";")[0].strip().lower()
    return method == "POST" and form == "application/x-www-form-urlencoded" and bool(
        _ITEM_PATHS.match(path))


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the pages from ``app``: routes, static files, security headers."""
    app.state.web = WebState(settings)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders, api_url=settings.api_url)
