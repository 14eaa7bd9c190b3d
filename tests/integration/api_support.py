"""The REST API served for real on 127.0.0.1, for tests that open the links mktflow sends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run ``app`` on uvicorn in a background thread; yield its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def member_tokens(db: Any) -> dict[str, str]:
    """A member token for every active member of ``db`` (as ``mktflow token create`` makes
    them): e-mail -> token."""
    from sqlalchemy import text

    from mktflow.engine.credentials import issue_token

    with db.engine.connect() as conn:
        emails = conn.execute(text("SELECT email FROM member WHERE active")).scalars().all()
    return {email: issue_token(db.uow(), email).token for email in emails}


def bearer(token: str) -> dict[str, str]:
    """The header that proves who acts."""
    return {"Authorization": f"Bearer {token}"}


#: Member tokens of the database ``member_api`` serves (e-mail -> token).
TOKENS: dict[str, str] = {}


@contextmanager
def member_api(db: Any, app: Any, reader: str, *, timeout: float = 60) -> Iterator[httpx.Client]:
    """``app`` served for ``db`` with a member token for every active member in ``TOKENS``; the
    client reads with ``reader``'s token (``as_member`` acts as someone else)."""
    TOKENS.clear()
    TOKENS.update(member_tokens(db))
    with serving(app) as url, httpx.Client(base_url=url, timeout=timeout,
                                           headers=bearer(TOKENS[reader])) as client:
        yield client


def as_member(email: str) -> dict[str, str]:
    """Act as ``email`` with their member token (a token nobody holds when there is none)."""
    return bearer(TOKENS.get(email, "mkt_no-such-token"))


#: The token ``open_link`` reads with: a member's of the database ``api_for_links`` serves.
_link_reader: dict[str, str] = {}


def api_for_links(db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The API served for ``db``, configured as MKTFLOW_API_URL so action links point at it."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from mktflow.engine.credentials import issue_token
    from tests.conftest import reset_caches

    _link_reader["token"] = issue_token(db.uow(), "ana.torres@example.com").token
    with serving(create_app(db.engine, settings=Settings())) as url:
        monkeypatch.setenv("MKTFLOW_API_URL", url)
        reset_caches()
        try:
            yield url
        finally:
            monkeypatch.delenv("MKTFLOW_API_URL")
            reset_caches()


def open_link(link: str, ref: str) -> dict[str, Any]:
    """Follow a link as a person's mail client would: the page (after signing in) and, for a
    script, the item ``ref`` as JSON."""
    page = httpx.get(link, headers={"Accept": "text/html"}, timeout=10, follow_redirects=True)
    assert page.status_code == 200, (link, page.status_code, page.text[:300])
    # the item's page signs the person in first, then comes back to the item
    assert page.headers["content-type"].startswith("text/html") and "Sign in" in page.text
    assert page.url.path == "/sign-in" and page.url.params["next"] == httpx.URL(link).path
    data = httpx.get(link, headers={"Accept": "application/json",
                                    **bearer(_link_reader["token"])}, timeout=10)
    assert data.status_code == 200, data.text
    body: dict[str, Any] = data.json()
    assert body["ref"] == ref, body
    return body
