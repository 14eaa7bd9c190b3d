"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.api_support import api_for_links


@pytest.fixture
def links_api(db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """mktflow's API served for ``db`` on 127.0.0.1 and set as MKTFLOW_API_URL: links open."""
    yield from api_for_links(db, monkeypatch)
