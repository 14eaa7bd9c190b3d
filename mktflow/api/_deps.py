"""What every endpoint takes: a unit of work on the app's wiring, and who is acting."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from mktflow.engine import UnitOfWork

__all__ = ["ACTOR_HEADER", "Actor", "Uow", "new_uow", "wants_html"]

#: Set by the company's SSO proxy in production; by the caller (curl, scripts) otherwise.
ACTOR_HEADER = "X-Mktflow-Actor"


def new_uow(request: Request) -> UnitOfWork:
    """A unit of work on the wiring the app serves (``mktflow.bootstrap``); each engine call
    opens its own."""
    uow: UnitOfWork = request.app.state.wiring.uow()
    return uow


Uow = Annotated[UnitOfWork, Depends(new_uow)]
Actor = Annotated[str, Header(
    alias=ACTOR_HEADER, min_length=1,
    description="E-mail of the member acting (set by the SSO proxy in production).",
)]


def _q(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def wants_html(accept: str | None) -> bool:
    """Whether the client prefers an HTML page to JSON: a browser following a link does.

    Only an explicit ``text/html`` counts for HTML; ``*/*`` (curl, scripts) gets JSON, and so
    does a tie.
    """
    html = json = 0.0
    for part in (accept or "").split(","):
        media, _, params = part.partition(";")
        media = media.strip().lower()
        if media == "text/html":
            html = max(html, _q(params))
        elif media in ("application/json", "application/problem+json", "application/*", "*/*"):
            json = max(json, _q(params))
    return html > json
