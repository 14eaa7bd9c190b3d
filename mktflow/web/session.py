"""The pages' session cookie: which signed-in session a browser has, and the form token (CSRF).

The cookie ``mktflow_session`` holds ``base64url(json) "." base64url(HMAC-SHA256)``, signed
with the session key: ``MKTFLOW_WEB_SESSION_SECRET`` if set, else a random key kept in
``$MKTFLOW_DATA_DIR/web-session.key`` (created once, mode 0600; every process serving the same
data folder uses it). Changing or deleting the key signs everyone out. It carries one of two
things:

- **signed in**: the secret of a page session (``mktflow.engine.web_sessions``). Its row, not
  the cookie, decides on every request whether it still signs anyone in: signing out, a
  revoked token, a member who left or moved department, an operator, its lifetime end it at
  once. The form token is derived from the secret (``form_token``), so the page shows the
  one without giving away the other.
- **a visitor** (nobody signed in): a random form token only, so the sign-in form is protected
  too; no row, nothing written for a visitor's pages.

It is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (another site's form post does not
carry it), ``Secure`` when the pages are served over https, and expires after
``MKTFLOW_WEB_SESSION_HOURS``. Signing in or out always starts a new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from mktflow.domain import clock

__all__ = ["COOKIE", "Session", "SessionKeys", "form_token"]

COOKIE = "mktflow_session"


def form_token(secret: str) -> str:
    """The form token (CSRF) of the signed-in session ``secret``: an HMAC-SHA256 keyed by the
    secret, so it is the same on every page of the session and reveals nothing of it."""
    mac = hmac.new(secret.encode("utf-8", "surrogatepass"), b"mktflow form token",
                   hashlib.sha256).digest()
    return _b64(mac)


@dataclass(frozen=True)
class Session:
    """What a browser's cookie carries: the secret of its signed-in session (None: a visitor),
    the form token, and when the cookie was made (unix seconds)."""

    secret: str | None
    csrf: str
    started: int

    @staticmethod
    def visitor(*, now: float | None = None) -> Session:
        """A visitor's session: nobody signed in, a new random form token."""
        return Session(secret=None, csrf=secrets.token_urlsafe(24), started=_stamp(now))

    @staticmethod
    def signed_in(secret: str, *, now: float | None = None) -> Session:
        """The cookie of the signed-in session ``secret`` (``web_sessions.open_session``)."""
        return Session(secret=secret, csrf=form_token(secret), started=_stamp(now))


def _stamp(now: float | None) -> int:
    return int(clock.now().timestamp() if now is None else now)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionKeys:
    """Signs and reads session cookies with one key; ``max_age_s`` bounds a session's life."""

    def __init__(self, key: bytes, *, max_age_s: float) -> None:
        if len(key) < 16:
            raise ValueError("the session key must be at least 16 bytes")
        self._key = hashlib.sha256(b"mktflow-web-session\x00" + key).digest()
        self.max_age_s = max_age_s

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()

    def dump(self, session: Session) -> str:
        """The cookie value of ``session``: the secret of a signed-in session, or a visitor's
        form token (a signed-in session's is derived from its secret)."""
        fields: dict[str, object] = ({"s": session.secret} if session.secret
                                     else {"c": session.csrf})
        body = json.dumps({**fields, "t": session.started}, separators=(",", ":")).encode()
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def load(self, value: str | None, *, now: float | None = None) -> Session | None:
        """The session a cookie carries; None if it is missing, forged, garbled or expired."""
        if not value or value.count(".") != 1 or len(value) > 4096:
            return None
        body_text, mac_text = value.split(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            fields = json.loads(body)
            started = int(fields["t"])
            secret = fields.get("s")
            if isinstance(secret, str) and secret:
                session = Session.signed_in(secret, now=started)
            else:  # a visitor's (or a cookie from before sessions were rows: signed out)
                session = Session(secret=None, csrf=str(fields["c"]), started=started)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        moment = clock.now().timestamp() if now is None else now
        if not 0 <= moment - session.started <= self.max_age_s:
            return None
        return session


