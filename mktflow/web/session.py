"""The pages' session: a signed cookie saying who signed in, when, and the form token (CSRF).

The cookie ``mktflow_session`` holds ``base64url(json) "." base64url(HMAC-SHA256)``, signed
with the session key: ``MKTFLOW_WEB_SESSION_SECRET`` if set, else a random key kept in
``$MKTFLOW_DATA_DIR/web-session.key`` (created once, mode 0600; every process serving the same
data folder uses it). Changing or deleting the key signs everyone out.

It is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (another site's form post does not
carry it), ``Secure`` when the pages are served over https, and expires after
``MKTFLOW_WEB_SESSION_HOURS``. Every visitor gets one (a signed-out session still carries the
form token, so the sign-in form is protected too); signing in or out starts a new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from mktflow.domain import clock

__all__ = ["COOKIE", "Session", "SessionKeys", "load_key"]

COOKIE = "mktflow_session"


@dataclass(frozen=True)
class Session:
    """A browser's session: the member signed in (None: nobody), the form token, when it
    started (unix seconds)."""

    email: str | None
    csrf: str
    started: int

    @staticmethod
    def new(email: str | None = None, *, now: float | None = None) -> Session:
        """A fresh session with a new form token."""
        return Session(email=email, csrf=secrets.token_urlsafe(24),
                       started=int(clock.now().timestamp() if now is None else now))


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
        """The cookie value of ``session``."""
        body = json.dumps({"e": session.email, "c": session.csrf, "t": session.started},
                          separators=(",", ":")).encode()
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
            session = Session(email=fields["e"], csrf=str(fields["c"]), started=int(fields["t"]))
        except (ValueError, KeyError, TypeError):
            return None
        moment = clock.now().timestamp() if now is None else now
        if not 0 <= moment - session.started <= self.max_age_s:
            return None
        return session


def load_key(secret: str | None, data_dir: Path) -> bytes:
    """The session key: ``secret`` when given, else the data folder's key file (made once)."""
    if secret:
        return secret.encode()
    path = data_dir / "web-session.key"
    try:
        return bytes.fromhex(path.read_text("ascii").strip())
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return bytes.fromhex(path.read_text("ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key.hex() + "\n")
    return key
