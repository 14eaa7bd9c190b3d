"""Every route of the departments' pages signs people in by session, so the API's bearer-token
gate (``MKTFLOW_API_TOKEN``) must let it through: ``mktflow.web.is_page_request`` lists the
page paths by hand, and a page added without its path answered signed-in members 401 in
SSO-proxy mode (found on 2026-12-07 for six pages). This walks the pages' router instead."""

from __future__ import annotations

import re

from mktflow.web import is_page_request, pages


def test_every_route_of_the_pages_is_a_page_request_for_a_browser() -> None:
    missed = []
    for route in pages.router.routes:
        path = re.sub(r"\{[^}]+\}", "marketing", route.path)  # type: ignore[attr-defined]
        for method in sorted(route.methods):  # type: ignore[attr-defined]
            if not is_page_request(method, path, "text/html",
                                   "application/x-www-form-urlencoded", True):
                missed.append(f"{method} {route.path}")  # type: ignore[attr-defined]
    assert not missed, f"pages the API token would refuse to a signed-in member: {missed}"
    assert len(pages.router.routes) >= 20  # the walk saw the pages, not an empty router


def test_a_json_call_of_a_pages_twin_is_not_a_page_request() -> None:
    # without a browser's Accept, a GET of a list the pages also show is the JSON API's
    for path in ("/reports", "/forecast", "/dashboards/balance/2020-Q3", "/leads"):
        assert not is_page_request("GET", path, "application/json", None, False), path
    assert not is_page_request("POST", "/forecast", "application/json", "application/json",
                               False)
