"""The served OpenAPI document against the served API, fuzzed with schemathesis (issue 11).

Every operation of the document, on PostgreSQL, gets a fixed number of generated
requests that fit the document and as many that break it (derandomized: the same ones every
run): no answer may be a 5xx; every status and content type the API answers must be in the
document (every 4xx is problem+json, documented) and every answer body fit its schema; a
request that fits the document is not refused 400/422 (schemathesis ST202: the document
declares every constraint the server checks) and one that breaks it is refused (ST201).
Run it alone: ``.venv/bin/pytest -q -p no:cacheprovider tests/integration/test_api_schema.py``.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from mktflow.domain import clock as clocks
from mktflow.domain.desk import DUE_BANDS
from mktflow.domain.inputs import MULTILINE_PATTERN, NAME_MAX
from tests.integration.api_support import bearer, member_tokens, serving

ANA = "ana.torres@example.com"  # the marketing head: most actions get past "who acts"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          positive_data_acceptance, negative_data_rejection, response_schema_conformance]
EXAMPLES = 8


def _only_what_time_and_state_allow(case: Any) -> None:
    """A schema-valid request the document cannot tell from a refused one, made acceptable:
    a due or follow-up time already past ("from now on" changes by the minute, and no JSON
    Schema says it) is moved a month ahead, and an ``Idempotency-Key`` gets a value of its own
    (a key names one request; the fuzzer draws few, and a key sent with another request is
    refused 422 by design), and a handoff offered by a department to itself goes to another
    (no JSON Schema compares two fields), and a work report's period is today's (one that has
    not begun is refused, and "not yet" changes by the day), and a step's ``form_schema`` is
    one a form can be made of, not any object (the document says so in words: a JSON Schema of
    mktflow's forms), and form data keeps only keys and texts that the document's description
    allows at every depth (its ``propertyNames`` states the top level only; a nested key with
    U+000B was drawn), and a calendar asked for a month and a quarter at once keeps the month
    (either alone is a period; no JSON Schema relates two query parameters), and a forecast is
    of the next quarter (one that has begun is refused, and "begun" changes by the day) with a
    few starts of each kind (the document's largest plans each cost a simulation of seconds;
    the simulation's size is tests/unit/test_forecast.py's business, not the document's).
    Everything else the document states."""
    if isinstance(case.query, dict) and {"month", "quarter"} <= case.query.keys():
        del case.query["quarter"]
    if case.headers and any(h.lower() == "idempotency-key" for h in case.headers):
        case.headers = {h: v for h, v in case.headers.items() if h.lower() != "idempotency-key"}
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    if isinstance(case.body, dict):
        ahead = (clocks.now() + timedelta(days=30)).isoformat()
        for name in ("due", "follow_up"):
            if isinstance(case.body.get(name), str) and case.body[name] not in DUE_BANDS:
                case.body[name] = ahead  # a saved view's due band is no time: left alone
        if isinstance(case.body.get("period"), str):  # a report's period that has not begun
            case.body["period"] = clocks.now().date().isoformat()
        if isinstance(case.body.get("data"), dict):
            case.body["data"] = _plain_text_at_every_depth(case.body["data"])
        if isinstance(case.body.get("form_schema"), dict):
            case.body["form_schema"] = {"type": "object"}
        if case.body.get("from_department") == case.body.get("to_department") is not None:
            case.body["to_department"] = case.body["from_department"] + "x"
        if isinstance(case.body.get("quarter"), str):  # a forecast's quarter that has begun
            case.body["quarter"] = "next"
        if isinstance(case.body.get("plan"), dict):  # a forecast's starts, a few of each
            case.body["plan"] = {kind: [min(n, 3) for n in starts] if isinstance(starts, list)
                                 else min(starts, 3) if isinstance(starts, int) else starts
                                 for kind, starts in case.body["plan"].items()}


def _plain_text_at_every_depth(value: Any) -> Any:
    """``value`` without the keys and texts form data may not hold at any depth: keys longer
    than ``NAME_MAX`` or with a control character, texts with a control character other than
    line breaks and tabs (the rule the document's ``data`` description states in words)."""
    if isinstance(value, dict):
        return {k: _plain_text_at_every_depth(v) for k, v in value.items()
                if len(k) <= NAME_MAX and re.search(MULTILINE_PATTERN, k)}
    if isinstance(value, list):
        return [_plain_text_at_every_depth(v) for v in value]
    if isinstance(value, str) and not re.search(MULTILINE_PATTERN, value):
        return ""
    return value


def test_no_5xx_and_nothing_undocumented(pg_db: Any) -> None:
    """Every request acts as the marketing head, with her member token.

    On PostgreSQL only (a team's database): whether the API answers as its document says does
    not depend on the database, and what does (the limits of what each database stores: NUL
    characters, integers beyond 64 bits, times out of range, over-long texts, ids beyond the
    tables) is checked on both in ``test_inputs.py``. Until 2026-12-07 it ran on both, each
    run the suite's largest in-process test (docs: Development → Tests)."""
    db = pg_db
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    ana = bearer(member_tokens(db)[ANA])
    failures: list[str] = []
    with serving(create_app(db.engine, settings=Settings())) as url:
        # one item of each kind, so that paths like /work/1 also reach real rows
        httpx.post(f"{url}/work", headers=ana, timeout=60,
                   json={"department": "marketing", "title": "Seed"}).raise_for_status()
        # the document read by the test's own client, with the patience a busy machine needs
        schema = schemathesis.openapi.from_dict(
            httpx.get(f"{url}/openapi.json", timeout=120).raise_for_status().json())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20
        for operation, mode in ((o, m) for o in operations for m in schemathesis.GenerationMode):

            @given(case=operation.as_strategy(mode))
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def fuzz(case: Any) -> None:
                case.headers = {**(case.headers or {}), **ana}
                if case.meta.generation.mode.is_positive:
                    _only_what_time_and_state_allow(case)
                case.call_and_validate(base_url=url, checks=CHECKS, timeout=30)

            try:
                fuzz()
            except Unsatisfiable:  # nothing in this operation can be made invalid
                continue
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
                detail = re.search(r'"detail":"((?:[^"\\]|\\.)*)"', str(exc))
                failures.append(f"{operation.label} ({mode.value}): "
                                f"{detail.group(1) if detail else str(exc)[:600]}")
    assert failures == [], "\n".join(failures)
