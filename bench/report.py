"""Rewrite the docs' benchmark table from ``bench/results/*.json``: ``python -m bench.report``.

The table sits between the markers ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` in
``docs/benchmarks.md``; everything else is left as it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench._kit import ROOT

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def table(results: Path) -> str:
    """The markdown table (with date and machine) of every record in ``results``."""
    records: list[dict[str, Any]] = []
    for path in sorted(results.glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        records += data if isinstance(data, list) else [data]
    # a benchmark's detail file (``<name>.detail.json``: raw runs) holds no records
    records = [r for r in records if isinstance(r, dict) and "name" in r and "figure" in r]
    if not records:
        return "(no results yet: run `make bench`)"
    lines = ["| benchmark | database | figure | baseline | ratio | target | met | date | notes |",
             "|---|---|---|---|---|---|---|---|---|"]
    machines = []
    for r in records:
        if r.get("machine") and r["machine"] not in machines:
            machines.append(r["machine"])
        quick = " (quick)" if r.get("quick") else ""
        lines.append(
            f"| {r['name']}{quick} | {r['database']} | {_number(r['figure'])} {r['unit']} | "
            f"{_number(r['baseline'])} ({r['baseline_name']}) | {_number(r['ratio'])}x | "
            f"{r['target']} | {'yes' if r['met'] else '**no**'} | {r['date']} | "
            f"{r.get('notes', '')} |")
    lines += ["", "Machine (load average when each benchmark started): "
              + "; ".join(machines)]
    return "\n".join(lines)


#: The page of the docs site the table is written to.
PAGE = ROOT / "docs" / "benchmarks.md"


def rewrite_table(page: Path = PAGE, results: Path | None = None) -> bool:
    """Replace the block between the markers; False if the page has no markers."""
    text = page.read_text("utf-8")
    if BEGIN not in text or END not in text:
        print(f"{page}: no {BEGIN} ... {END} block; table not written", file=sys.stderr)
        return False
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    body = table(results or ROOT / "bench" / "results")
    page.write_text(f"{head}{BEGIN}\n{body}\n{END}{tail}", "utf-8")
    return True


if __name__ == "__main__":
    sys.exit(0 if rewrite_table() else 1)
