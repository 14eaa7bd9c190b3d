"""Artifacts on the flow-run page: a markdown summary, and a table where there are figures.

Keys are lowercase ``[a-z0-9-]`` (Prefect refuses others). ``read_artifacts`` reads them back
with a raw POST: on fastapi 0.154 Prefect's own client sends ``null`` filters the server
refuses, and an empty task-run filter silently drops flow-level artifacts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from mktflow.domain.money import money, money_json, money_text
from mktflow.domain.words import Phrase, figure

__all__ = ["artifact_key", "json_rows", "markdown_table", "publish", "read_artifacts",
           "table_rows"]


def artifact_key(*parts: str) -> str:
    """An artifact key from parts: lowercase letters, digits and dashes."""
    raw = "-".join(parts).lower()
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", raw)).strip("-")[:200]


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A markdown table of ``columns`` from ``rows``."""
    if not rows:
        return "_none_"
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = "".join("| " + " | ".join(_cell(r.get(c)) for c in columns) + " |\n" for r in rows)
    return head + body


def table_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """The rows of ``markdown_table(rows, columns)`` without its head, for a step's description
    whose head is a message (``phrase("| kpi | target |\n|---|---|\n%(rows)s", rows=...)``):
    a cell that is a ``Phrase`` (``word("yes")``) stays a message, and a number a figure
    (``domain.words.figure``: ``1,234.50`` in English, ``1 234,50`` in Russian), worded where
    shown; the English text is the table's as ``markdown_table`` writes it."""
    if not any(isinstance(r.get(c), Phrase) or _number(r.get(c)) for r in rows for c in columns):
        return "".join("| " + " | ".join(_cell(r.get(c)) for c in columns) + " |\n"
                       for r in rows)
    made: str = ""
    for r in rows:  # a message per row (no catalogue entry: only its cells are words)
        line = Phrase("| " + " | ".join(f"%(c{i})s" for i in range(len(columns))) + " |\n",
                      {f"c{i}": _worded_cell(r.get(c)) for i, c in enumerate(columns)})
        made = Phrase("%(first)s%(second)s", {"first": made, "second": line}) if made else line
    return made


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _worded_cell(value: Any) -> Any:
    """A cell of a worded row: a message as it is, a number as a figure written as ``_cell``
    writes it in English (an amount and a float with two decimals, grouped), else its text."""
    if isinstance(value, Phrase):
        return value
    if _number(value):
        digits = None if isinstance(value, int) else 2
        shown = money(value) if isinstance(value, Decimal) else value
        return figure(shown, digits=digits)
    return _cell(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def json_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows as a table artifact stores them (JSON): amounts (Decimal) become numbers
    with their two places (``mktflow.domain.money``)."""
    return [{k: money_json(v) if isinstance(v, Decimal) else v for k, v in r.items()}
            for r in rows]


def publish(key: str, summary: str, table: list[dict[str, Any]] | None = None,
            description: str = "", more: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """Create the summary artifact ``<key>-summary`` and, with figures, ``<key>-figures``
    (and ``<key>-<name>`` for each further table in ``more``)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(summary, key=artifact_key(key, "summary"),
                             description=description or "summary")
    tables = {"figures": table or [], **(more or {})}
    for name, rows in tables.items():
        if rows:
            create_table_artifact(json_rows(rows), key=artifact_key(key, name),
                                  description=f"{description} {name}".strip())


def read_artifacts(flow_run_id: str) -> dict[str, Any]:
    """The artifacts of a flow run by key: markdown as text, tables as lists of rows."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        response = client._client.post("/artifacts/filter", json={
            "artifacts": {"flow_run_id": {"any_": [str(flow_run_id)]}},
            "sort": "CREATED_DESC", "limit": 100, "offset": 0})
        response.raise_for_status()
    out: dict[str, Any] = {}
    for art in response.json():
        data = art.get("data")
        if art.get("type") == "table" and isinstance(data, str):
            data = json.loads(data)
        out.setdefault(art.get("key") or art["id"], data)
    return out
