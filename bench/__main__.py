"""Run the benchmarks: ``python -m bench [--quick] [--only NAME] [--out DIR] [--no-readme]``.

``make bench`` runs this; ``make bench QUICK=1`` passes ``--quick`` (the whole quick run stays
under two minutes on the 2-core machine; the test suite runs each benchmark in quick mode).

The contract of a benchmark module ``bench/<name>.py``:

    def run(quick: bool, out: Path) -> list[dict]:
        '''Measure; return result records made with bench._kit.record (figure, baseline from
        the same run, ratio, target, met, ...). ``out`` is the results folder: put any extra
        artefact there (e.g. ``out / "inbox-plan-sqlite.txt"``).'''

The runner writes the records to ``out/<name>.json`` (a list) and then, unless ``--no-readme``
or ``--out`` is given, rewrites the docs' benchmark table (``docs/benchmarks.md``) from every
``bench/results/*.json`` (``python -m bench.report``). A module that raises is reported, its
file is not written, and the run exits 1 after the others ran.

``BENCHES`` lists the modules in the order they run; a module in ``bench/`` with a ``run``
function that is not listed runs after them (alphabetically), so a new benchmark needs no
edit here.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from bench._kit import ROOT

#: The benchmarks, in the order they run (issue 12: engine, inbox, CLI start-up, then the
#: flow, hand-back, relay and waiting-runs modules).
BENCHES: list[str] = ["engine", "inbox", "cli_start", "flow_overhead", "handback", "relay",
                      "waiting_runs"]

RESULTS = ROOT / "bench" / "results"
_NOT_BENCHES = {"__main__", "_kit", "report"}


def discover() -> list[str]:
    """``BENCHES``, then every other module of ``bench/`` that has a ``run`` function."""
    names = list(BENCHES)
    for info in sorted(pkgutil.iter_modules([str(ROOT / "bench")]), key=lambda i: i.name):
        if info.name in names or info.name in _NOT_BENCHES or info.name.startswith("_"):
            continue
        text = (ROOT / "bench" / f"{info.name}.py").read_text("utf-8")
        if "\ndef run(quick" in text:
            names.append(info.name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows and runs (< 2 min)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="results folder "
                        "(default bench/results; another folder leaves the docs alone)")
    parser.add_argument("--no-readme", action="store_true",
                        help="do not rewrite the docs' benchmark table")
    args = parser.parse_args(argv)
    out: Path = args.out or RESULTS
    out.mkdir(parents=True, exist_ok=True)
    names = discover()
    unknown = [n for n in args.only if n not in names]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; known: {', '.join(names)}")
    failed = []
    for name in args.only or names:
        start = time.perf_counter()
        print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            records = module.run(args.quick, out)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        for r in records:
            r.setdefault("quick", args.quick)
            print(f"   {r['name']:<40} {r['database']:<10} {r['figure']:>10} {r['unit']:<12}"
                  f" baseline {r['baseline']:>10}  ratio {r['ratio']}  target {r['target']}"
                  f"  {'met' if r['met'] else 'MISSED'}", flush=True)
        (out / f"{name}.json").write_text(json.dumps(records, indent=2) + "\n", "utf-8")
        print(f"   ({time.perf_counter() - start:.1f} s)", flush=True)
    if args.out is None and not args.no_readme:
        from bench.report import rewrite_table

        rewrite_table()
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
