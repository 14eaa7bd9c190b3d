"""`make bench QUICK=1` as the suite runs it once: every benchmark writes records with a ratio.

Not a timed test: it checks that the benchmarks run and report what the docs' benchmark table needs
(figure, baseline from the same run, ratio, target, met, database, machine, date), not how
fast anything is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import discover
from bench.report import table

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {"name", "figure", "unit", "baseline", "baseline_name", "ratio", "target", "met",
          "database", "machine", "date", "notes"}

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("name", discover())
def test_quick_bench_writes_every_record_with_its_ratio(name: str, tmp_path: Path) -> None:
    """One benchmark in quick mode (``python -m bench --quick --only NAME``): the suite runs
    each as a test of its own, so they spread over the test workers."""
    page = (ROOT / "docs" / "benchmarks.md").read_text("utf-8")
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", name,
                           "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # --out leaves the docs' table alone
    assert (ROOT / "docs" / "benchmarks.md").read_text("utf-8") == page
    # a benchmark's detail file (<name>.detail.json: its raw runs) holds no records
    files = {p.stem: p for p in tmp_path.glob("*.json") if not p.stem.endswith(".detail")}
    assert set(files) == {name}, f"{name} wrote {sorted(files)}"
    records = json.loads(files[name].read_text("utf-8"))
    assert isinstance(records, list) and records, name
    for r in records:
        assert set(r) >= FIELDS, (name, FIELDS - set(r))
        assert isinstance(r["ratio"], int | float) and r["ratio"] > 0, r
        assert r["baseline"] > 0 and isinstance(r["met"], bool), r
        assert r["quick"] is True
    if name == "inbox":
        for kind in ("sqlite", "postgresql"):
            plan = (tmp_path / f"inbox-plan-{kind}.txt").read_text("utf-8")
            assert "ix_workitem_inbox" in plan, plan[:2000]
    if name == "engine":
        assert "| engine.work_item_life (quick) | sqlite |" in table(tmp_path)
