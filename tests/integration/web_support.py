"""A browser on the departments' pages, as httpx: cookies kept, forms posted with their
origin and the page's form token."""

from __future__ import annotations

import re
from typing import Any

import httpx

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Browser:
    """An httpx client that behaves as a browser on the pages: it keeps cookies, says where
    its forms come from (Origin) and sends each page's form token back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(base_url=url, timeout=10, headers={"Accept": BROWSER})
        self.csrf = ""

    def get(self, path: str, **kw: Any) -> httpx.Response:
        r = self.client.get(path, **kw)
        self._remember(r)
        return r

    def _remember(self, r: httpx.Response) -> None:
        found = re.search(r'name="csrf" value="([^"]+)"', r.text)
        if found:
            self.csrf = found.group(1)

    def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]],
             *, follow: bool = True, **headers: str) -> httpx.Response:
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        if not any(k == "csrf" for k, _ in pairs):
            pairs.append(("csrf", self.csrf))
        r = self.client.post(path, content=httpx.QueryParams(pairs).__str__(),
                             headers={"Origin": self.url, "Sec-Fetch-Site": "same-origin",
                                      "Content-Type": "application/x-www-form-urlencoded",
                                      **headers}, follow_redirects=follow)
        self._remember(r)
        return r

    def sign_in(self, db: Any, email: str) -> None:
        from mktflow.engine.credentials import issue_token

        token = issue_token(db.uow(), email).token
        self.get("/sign-in")
        r = self.post("/sign-in", {"token": token, "next": "/my-work"})
        assert r.status_code == 200 and "Signed in as" in r.text and email in r.text, r.text


def sign_in_code(db: Any, email: str, *, count: int = 1, timeout: float = 10) -> str:
    """The code of the newest one-time link queued for ``email``, once ``count`` of them are
    queued (the pages queue a link after they have answered), made as the relay makes it: from
    the message's nonce with the sign-in key (the outbox holds no code)."""
    import json
    import time

    from sqlalchemy import text

    from mktflow.config import get_settings
    from mktflow.domain.sign_in import code_for
    from mktflow.store.keys import sign_in_key

    deadline = time.monotonic() + timeout
    while True:
        with db.engine.connect() as conn:
            payloads = conn.execute(text(
                "SELECT payload FROM outboxmessage WHERE event = 'member.sign_in_link' "
                "AND recipient_email = :e ORDER BY created_at, id"), {"e": email}).scalars().all()
        nonces = list(dict.fromkeys(
            (p if isinstance(p, dict) else json.loads(p))["sign_in"]["nonce"] for p in payloads))
        if len(nonces) >= count:
            return code_for(sign_in_key(get_settings()), nonces[-1])
        assert time.monotonic() < deadline, f"{len(nonces)} sign-in links for {email}, not {count}"
        time.sleep(0.02)
