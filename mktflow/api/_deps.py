"""What every endpoint takes: a unit of work on the app's wiring, and who is acting.

Who acts is proven, never declared (issue 10):

- ``Authorization: Bearer mkt_…`` (a member token, ``mktflow token create``) acts as that
  member; no header changes it.
- (The web pages prove their own session cookie, in ``mktflow.web``; the API's routes take no
  cookie.)
- Only in SSO-proxy mode (``MKTFLOW_TRUST_PROXY_HEADER=true``): the proxy signs people in and
  names them in ``X-Mktflow-Actor``, with ``Authorization: Bearer <MKTFLOW_API_TOKEN>`` when
  that token is set (the API refuses to listen beyond 127.0.0.1 in this mode without it).

Anything else is 401 ``NotAuthenticated`` (problem+json, ``WWW-Authenticate: Bearer``).
"""

from __future__ import annotations

import hmac
import types
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mktflow.config import Settings
from mktflow.domain.actors import IdentifiedBy
from mktflow.domain.errors import BadInput, NotAuthenticated
from mktflow.engine import UnitOfWork
from mktflow.engine.credentials import TOKEN_PREFIX, member_for_token

__all__ = ["ACTOR_HEADER", "Actor", "Reader", "Uow", "identify", "new_uow", "single_query_values",
           "wants_html"]

#: Set by the company's SSO proxy, trusted only in SSO-proxy mode (MKTFLOW_TRUST_PROXY_HEADER).
ACTOR_HEADER = "X-Mktflow-Actor"

_NO_CREDENTIAL = ("who is acting is not proven: send Authorization: Bearer <your member token> "
                  "(an operator makes one with `mktflow token create --member YOU`)")

#: Documents the bearer scheme in the OpenAPI spec; the checks are ``identify``'s.
_bearer = HTTPBearer(
    auto_error=False, scheme_name="memberToken",
    description="A personal member token (`mktflow token create --member EMAIL`); in SSO-proxy "
                "mode the proxy's MKTFLOW_API_TOKEN with X-Mktflow-Actor instead.")


def new_uow(request: Request) -> UnitOfWork:
    """A unit of work on the wiring the app serves (``mktflow.bootstrap``); each engine call
    opens its own. Its audit entries say how ``identify`` proved the member (read when an
    entry is written: by then the request's credential has been checked). A request sent with
    an ``Idempotency-Key`` has its key's stamp put on it (``mktflow.api._idempotency``): the
    change it commits marks the key, in its transaction."""
    uow: UnitOfWork = request.app.state.wiring.uow(
        identified_by=lambda: getattr(request.state, "identified_by", None))
    uow.request = getattr(request.state, "idempotency", None)
    return uow


Uow = Annotated[UnitOfWork, Depends(new_uow)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def identify(request: Request, *, need_member: bool = True) -> str | None:
    """The e-mail of the member the request proves, by the rules in this module's docstring.

    With ``need_member`` False (reads), SSO-proxy mode may answer a request that carries the
    shared token but names nobody: None. Raises NotAuthenticated otherwise; never echoes a
    token. Notes how the member was proved in ``request.state.identified_by``
    (``IdentifiedBy``), which the request's units of work record on their audit entries.
    """
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    presented = presented.strip() if scheme.lower() == "bearer" else ""
    if presented.startswith(TOKEN_PREFIX):
        member = member_for_token(new_uow(request), presented)
        request.state.identified_by = IdentifiedBy.MEMBER_TOKEN
        return member
    settings = _settings(request)
    if not settings.trust_proxy_header:
        raise NotAuthenticated(_NO_CREDENTIAL)
    shared = settings.api_token.get_secret_value() if settings.api_token else ""
    if shared and not hmac.compare_digest(presented.encode(), shared.encode()):
        raise NotAuthenticated("this API needs the header Authorization: Bearer <token> (a "
                               "member token, or MKTFLOW_API_TOKEN from the SSO proxy); it is "
                               "missing or wrong")
    actor = _header_text(request.headers.get(ACTOR_HEADER, "")).strip()
    if actor:
        request.state.identified_by = IdentifiedBy.SSO_PROXY
        return actor
    if need_member:
        raise NotAuthenticated(f"SSO-proxy mode: the proxy names who acts in {ACTOR_HEADER}; "
                               "it is missing")
    return None


def _header_text(value: str) -> str:
    """A header's text as the proxy sent it: UTF-8 (``josé@…``). Starlette hands header bytes
    over decoded as latin-1, so they are re-read as UTF-8. Raises BadInput when they are not
    UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise BadInput(f"{ACTOR_HEADER}: the member's e-mail must be sent as UTF-8") from None


def acting_member(
    request: Request,
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str:
    """The member a state-changing request acts as (401 unless proven)."""
    member = identify(request, need_member=True)
    assert member is not None
    return member


def reading_member(
    request: Request,
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str | None:
    """Who reads (401 unless a credential is presented); None: the proxy named nobody."""
    return identify(request, need_member=False)


def reader_unless_page(
    request: Request,
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str | None:
    """Who reads, as ``reading_member``; None without asking for a credential when a browser
    asks for the route's page (``wants_html``): the pages sign people in themselves."""
    if wants_html(request.headers.get("accept")):
        return None
    return identify(request, need_member=False)


Actor = Annotated[str, Depends(acting_member)]
Reader = Annotated[str | None, Depends(reading_member)]
#: The reader of a list route that is also a page (``GET /leads``, ``/reports``, ``/calendar``).
PageOrReader = Annotated[str | None, Depends(reader_unless_page)]


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


def _takes_many(annotation: Any) -> bool:
    """Whether a query parameter's type takes several values (``list[str] | None``)."""
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (Union, types.UnionType):
        return any(_takes_many(a) for a in get_args(annotation))
    return False


def single_query_values(request: Request) -> None:
    """Refuse, 422 naming the parameter, a query parameter that the route takes once but the
    request gives more than once (``?campaign=a&campaign=b``): FastAPI would keep the last one
    and drop the others without a word. Parameters that take a list (``?state=open&state=
    claimed``) may repeat. Every router of the API depends on it (``create_app``)."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    given = [name for name, _ in request.query_params.multi_items()]
    once = {f.alias for f in dependant.query_params if not _takes_many(f.field_info.annotation)}
    repeated = sorted({n for n in given if n in once and given.count(n) > 1})
    if repeated:
        raise RequestValidationError([
            {"type": "value_error", "loc": ("query", name), "input": None,
             "msg": "must be given once (it was given more than once)"} for name in repeated])
