"""What protects every page and every state-changing request.

* ``SecurityHeaders`` (ASGI middleware on the whole app, API included): every answer carries
  ``X-Frame-Options: DENY``, a Content-Security-Policy without inline script
  (``script-src 'self'``, ``frame-ancestors 'none'``, ``form-action 'self'``),
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``; and a
  state-changing request (POST, PUT, PATCH, DELETE) that a browser marks as coming from
  another site (``Origin`` of another origin, or ``Sec-Fetch-Site`` other than
  ``same-origin``) is refused with 403 before any route runs. Scripts send neither header and
  are judged by their token.
* ``form_refusal``: a page's form post must also name its origin (``Origin``, else
  ``Referer``) and carry the session's form token (CSRF).
* ``session_of`` / ``set_session``: the signed session cookie (``session.py``).
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mktflow.web.session import COOKIE, Session, SessionKeys

__all__ = ["CSP", "SecurityHeaders", "form_refusal", "origin_of", "session_of", "set_session"]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_HEADERS = {
    "x-frame-options": "DENY",
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-case, default ports dropped ('' if none)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    scheme = parts.scheme.lower()
    default = {"http": 80, "https": 443}.get(scheme)
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def _own_origins(scope: Scope, api_url: str) -> set[str]:
    """The origins the pages are served from: the request's own and ``MKTFLOW_API_URL``'s."""
    headers = Headers(scope=scope)
    scheme = scope.get("scheme", "http")
    own = {origin_of(api_url)}
    host = headers.get("host")
    if host:
        own.add(origin_of(f"{scheme}://{host}"))
    return {o for o in own if o}


def _cross_site(scope: Scope, api_url: str) -> str:
    """Why a browser's request comes from another site ('' when it does not say so)."""
    headers = Headers(scope=scope)
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() != "same-origin":
        return f"the browser says it was sent from another site (Sec-Fetch-Site: {fetch_site})"
    origin = headers.get("origin")
    if origin is not None and origin_of(origin) not in _own_origins(scope, api_url):
        return f"it was sent from another site (Origin: {origin})"
    return ""


def _refusal(detail: str) -> Response:
    """A 403 problem+json answer (the API's error shape)."""
    return JSONResponse({"type": "urn:mktflow:problem:cross-site-refused",
                         "title": "Cross-site request refused", "status": 403,
                         "detail": detail}, status_code=403,
                        media_type="application/problem+json")


class SecurityHeaders:
    """Adds the security headers to every answer; refuses cross-site state changes (403)."""

    def __init__(self, app: ASGIApp, api_url: str) -> None:
        self.app = app
        self.api_url = api_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        why = _cross_site(scope, self.api_url) if scope["method"] in _UNSAFE else ""
        if why:
            await _refusal(f"refused: {why}; act from mktflow's own pages")(
                scope, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)


def form_refusal(request: Request, session: Session | None, token: str, api_url: str) -> str:
    """Why a page's form post is refused ('' when it may go on): it must name its origin and
    carry the session's form token."""
    scope = request.scope
    why = _cross_site(scope, api_url)
    if why:
        return why
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        origin = origin_of(request.headers.get("referer", "")) or None
    if origin is None:
        return "the browser did not say which page sent the form (no Origin or Referer)"
    if origin_of(origin) not in _own_origins(scope, api_url):
        return f"the form was sent from another site ({origin})"
    if session is None or not token or not hmac.compare_digest(token, session.csrf):
        return ("the form's token does not match this browser's session (it expired, or the "
                "form came from elsewhere); reload the page and try again")
    return ""


def session_of(request: Request, keys: SessionKeys) -> Session | None:
    """The browser's session, if its cookie is valid."""
    return keys.load(request.cookies.get(COOKIE))


def set_session(response: Response, request: Request, keys: SessionKeys, session: Session,
                *, api_url: str) -> None:
    """Send ``session`` as the cookie: HttpOnly, SameSite=Lax, Secure over https."""
    secure = request.url.scheme == "https" or api_url.lower().startswith("https:")
    response.set_cookie(COOKIE, keys.dump(session), max_age=int(keys.max_age_s), path="/",
                        httponly=True, samesite="lax", secure=secure)


def forget_session(response: Response) -> None:
    """Drop the cookie (signing out)."""
    response.delete_cookie(COOKIE, path="/")


def problem_headers() -> dict[str, Any]:
    """The security headers as a dict (for tests and documentation)."""
    return dict(_HEADERS)
