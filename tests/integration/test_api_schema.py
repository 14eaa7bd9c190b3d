"""The served OpenAPI document against the served API, fuzzed with schemathesis (issue 11).

Every operation of the document, on SQLite and PostgreSQL, gets a fixed number of generated
requests that fit the document and as many that break it (derandomized: the same ones every
run): no answer may be a 5xx, and every status and
content type the API answers must be in the document (every 4xx is problem+json, documented).
Bounded in time: about 75 s for both databases here
(``.venv/bin/pytest -q -p no:cacheprovider tests/integration/test_api_schema.py``).
"""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from tests.integration.api_support import bearer, member_tokens, serving

ANA = "ana.torres@example.com"  # the marketing head: most actions get past "who acts"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
EXAMPLES = 15


def test_no_5xx_and_nothing_undocumented(db: Any) -> None:
    """Every request acts as the marketing head, with her member token."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    ana = bearer(member_tokens(db)[ANA])
    failures: list[str] = []
    with serving(create_app(db.engine, settings=Settings())) as url:
        # one item of each kind, so that paths like /work/1 also reach real rows
        httpx.post(f"{url}/work", headers=ana, timeout=10,
                   json={"department": "marketing", "title": "Seed"}).raise_for_status()
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20
        for operation, mode in ((o, m) for o in operations for m in schemathesis.GenerationMode):

            @given(case=operation.as_strategy(mode))
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def fuzz(case: Any) -> None:
                case.headers = {**(case.headers or {}), **ana}
                case.call_and_validate(base_url=url, checks=CHECKS, timeout=30)

            try:
                fuzz()
            except Unsatisfiable:  # nothing in this operation can be made invalid
                continue
            except Exception as exc:  # collect every operation's failure, then report all
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:2000]}")
    assert failures == []
