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

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(1500)]


#: The benchmarks that run on one shared bench data folder and ``mktflow serve``
#: (``bench._records.shared_folder``): run in one process, as ``make bench`` runs them, they
#: set it up once (a local Prefect server and serve's start, about 20 s of CPU each time).
SHARED_FOLDER = ("flow_overhead", "handback", "waiting_runs", "many_campaigns")


def _groups() -> list[tuple[str, ...]]:
    """Each benchmark alone, except those of ``SHARED_FOLDER``, together and first."""
    alone = [(name,) for name in discover() if name not in SHARED_FOLDER]
    return [SHARED_FOLDER, *alone]


@pytest.mark.parametrize("names", _groups(), ids="+".join)
def test_quick_bench_writes_every_record_with_its_ratio(names: tuple[str, ...],
                                                        tmp_path: Path) -> None:
    """Benchmarks in quick mode (``python -m bench --quick --only NAME ...``): the suite runs
    each group as a test of its own, so they spread over the test workers."""
    page = (ROOT / "docs" / "benchmarks.md").read_text("utf-8")
    only = [arg for name in names for arg in ("--only", name)]
    done = _run_bench([sys.executable, "-m", "bench", "--quick", *only, "--out", str(tmp_path)],
                      timeout=400 * len(names))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # --out leaves the docs' table alone
    assert (ROOT / "docs" / "benchmarks.md").read_text("utf-8") == page
    # a benchmark's detail file (<name>.detail.json: its raw runs) holds no records
    files = {p.stem: p for p in tmp_path.glob("*.json") if not p.stem.endswith(".detail")}
    assert set(files) == set(names), f"{names} wrote {sorted(files)}"
    for name in names:
        records = json.loads(files[name].read_text("utf-8"))
        assert isinstance(records, list) and records, name
        for r in records:
            assert set(r) >= FIELDS, (name, FIELDS - set(r))
            assert isinstance(r["ratio"], int | float) and r["ratio"] > 0, r
            assert r["baseline"] > 0 and isinstance(r["met"], bool), r
            assert r["quick"] is True
    if "inbox" in names:
        for kind in ("sqlite", "postgresql"):
            plan = (tmp_path / f"inbox-plan-{kind}.txt").read_text("utf-8")
            assert "ix_workitem_inbox" in plan, plan[:2000]
    if "engine" in names:
        assert "| engine.work_item_life (quick) | sqlite |" in table(tmp_path)


def _run_bench(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a bench command in a session of its own, its data folders in a scratch TMPDIR of
    its own (short: a forkserver's socket lives there too). When it overruns ``timeout`` (s),
    its whole process group is killed and the local Prefect servers of its data folders
    stopped: a killed bench process runs no exit handler, and its ``mktflow serve`` and Prefect
    server would otherwise go on beside the later tests."""
    import os
    import shutil
    import signal
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="mktflow-qb-"))
    try:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True,
                                # a local Prefect server's first start on a loaded 2-core
                                # machine overran the default 120 s once (CI, 2026-12-07)
                                env={**os.environ, "TMPDIR": str(scratch),
                                     "MKTFLOW_PREFECT_START_TIMEOUT_S": "300"})
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as overran:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            for folder in scratch.glob("mktflow-bench-*"):
                subprocess.run([sys.executable, "-m", "mktflow.cli", "server", "stop"],
                               cwd=ROOT, env={**os.environ, "MKTFLOW_DATA_DIR": str(folder)},
                               capture_output=True, timeout=120)
            raise AssertionError(
                f"the bench ran over {timeout:.0f} s:\n{out[-3000:]}{err[-3000:]}") from overran
        return subprocess.CompletedProcess(args, proc.returncode, out, err)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
